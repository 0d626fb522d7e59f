/**
 * Runs the bad-argument rows on one backend, in this process: each row's
 * call with its companion op in the same turn, the outcome judged against
 * the row. The suite runs this in a child process, where a crash is
 * possible (fixtures/bad-arguments-child.mjs).
 */
import { inspect } from 'node:util';

import { type BackendName, isOverlappedError } from '@overlapped/common';

import { createMatrixContext, type MatrixContext } from './context.js';
import { badArgumentRows, type Expect, type Row } from './rows.js';

/** How long a row's call may take to settle before it counts as never settling. */
const SETTLE_LIMIT_MS = 15_000;

type Outcome =
  | { kind: 'returned' | 'resolved'; value: unknown }
  | { kind: 'threw' | 'rejected'; error: unknown }
  | { kind: 'unsettled' };

const TYPE_ERROR_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_STATE']);

function bounded<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${SETTLE_LIMIT_MS} ms`)), SETTLE_LIMIT_MS);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

// What a call returned, short enough for a report line.
function describeValue(value: unknown): string {
  const shown = inspect(value, { depth: 0, breakLength: Infinity });
  return shown.length > 160 ? `${shown.slice(0, 157)}...` : shown;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `a non-error (${inspect(error)})`;
  const code = (error as { code?: unknown }).code;
  return `${error.name}${code === undefined ? ' without a code' : ` ${String(code)}`}: ${error.message}`;
}

// Whether `error` is the typed error `code` asks for: the code, the class
// Node gives it, a syscall on a system error, and made by overlapped.
function judgeError(error: unknown, code: string): string | undefined {
  if (!(error instanceof Error)) return `threw ${describeError(error)}`;
  const actual = (error as { code?: unknown }).code;
  if (actual !== code) return `${describeError(error)} (expected ${code})`;
  if (TYPE_ERROR_CODES.has(code) && !(error instanceof TypeError)) return `${describeError(error)} is not a TypeError`;
  if ((code === 'ERR_OUT_OF_RANGE' || code === 'ERR_SOCKET_BAD_PORT') && !(error instanceof RangeError)) return `${describeError(error)} is not a RangeError`;
  if (/^E[A-Z]+$/.test(code) && typeof (error as { syscall?: unknown }).syscall !== 'string') return `${describeError(error)} has no syscall`;
  if (code.startsWith('ERR_') && !isOverlappedError(error)) return `${describeError(error)} was not made by overlapped`;
  return undefined;
}

async function judge(expect: Expect, outcome: Outcome, ctx: MatrixContext, fixture: unknown): Promise<string | undefined> {
  if ('either' in expect) {
    const failures: string[] = [];
    for (const option of expect.either) {
      const failure = await judge(option, outcome, ctx, fixture);
      if (failure === undefined) return undefined;
      failures.push(failure);
    }
    return failures.join('; or ');
  }
  if (outcome.kind === 'unsettled') return 'the call never settled';
  if ('system' in expect) {
    if (!('error' in outcome)) return `${outcome.kind} ${describeValue(outcome.value)} instead of failing with a system error`;
    const actual = (outcome.error as { code?: unknown }).code;
    return typeof actual === 'string' && /^E[A-Z0-9]+$/.test(actual) ? judgeError(outcome.error, actual) : `${describeError(outcome.error)} is not a system error`;
  }
  if ('code' in expect) {
    if ('error' in outcome) return judgeError(outcome.error, expect.code);
    return `${outcome.kind} ${describeValue(outcome.value)} instead of failing with ${expect.code}`;
  }
  if ('error' in outcome) return `${outcome.kind} ${describeError(outcome.error)} instead of working`;
  try {
    await bounded(Promise.resolve(expect.works(outcome.value, ctx, fixture)), 'the check');
    return undefined;
  } catch (error) {
    return `worked, but ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * Runs one row; returns what went wrong, or undefined.
 *
 * @example
 * ```ts
 * const ctx = await createMatrixContext('threadpool');
 * const failure = await runBadArgumentRow(ctx, badArgumentRows()[0]!);
 * await ctx.close();
 * ```
 */
export async function runBadArgumentRow(ctx: MatrixContext, row: Row): Promise<string | undefined> {
  let fixture: unknown;
  try {
    fixture = await bounded(Promise.resolve(row.prepare?.(ctx)), 'the preparation');
  } catch (error) {
    await ctx.endRow();
    return `could not prepare: ${describeError(error)}`;
  }
  // The companion op and the call go in the same turn, so that they are
  // flushed to the backend together.
  const companion = ctx.companion(row.area);
  let outcome: Outcome;
  try {
    const value = row.run(ctx, fixture);
    if (value instanceof Promise) {
      outcome = await bounded(
        value.then(
          (resolved): Outcome => ({ kind: 'resolved', value: resolved }),
          (error: unknown): Outcome => ({ kind: 'rejected', error }),
        ),
        'the call',
      ).catch((): Outcome => ({ kind: 'unsettled' }));
    } else {
      outcome = { kind: 'returned', value };
    }
  } catch (error) {
    outcome = { kind: 'threw', error };
  }
  const expect = typeof row.expect === 'function' ? row.expect(ctx) : row.expect;
  const failure = await judge(expect, outcome, ctx, fixture);
  const companionFailure = await bounded(companion, 'the companion op').catch((error: Error) => error.message);
  await ctx.endRow();
  if (failure !== undefined && companionFailure !== undefined) return `${failure}; and ${companionFailure}`;
  return failure ?? companionFailure;
}

/**
 * Runs the rows from index `from` on `backend`, telling `report` when each
 * starts and how it ended. Exceptions nobody caught while a row ran fail
 * that row.
 *
 * @example
 * ```ts
 * await runBadArgumentRows('io_uring', 0, (event) => console.log(JSON.stringify(event)));
 * ```
 */
export async function runBadArgumentRows(
  backend: BackendName,
  from: number,
  report: (event: { row: number; start?: true; failure?: string }) => void,
): Promise<void> {
  const rows = badArgumentRows();
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const ctx = await createMatrixContext(backend);
  try {
    for (let index = from; index < rows.length; index++) {
      report({ row: index, start: true });
      let failure = await runBadArgumentRow(ctx, rows[index] as Row);
      // Let a stray microtask or callback of the row surface before judging it.
      await new Promise((resolve) => setImmediate(resolve));
      if (uncaught.length > 0) {
        const stray = uncaught.splice(0).map(describeError).join('; ');
        failure = `${failure === undefined ? '' : `${failure}; `}uncaught: ${stray}`;
      }
      report(failure === undefined ? { row: index } : { row: index, failure });
    }
  } finally {
    // Closing must not wait forever on an op a row left counted in flight.
    await bounded(ctx.close(), 'closing the files, sockets and port the rows used');
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
}
