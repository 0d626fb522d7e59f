/**
 * The bad-argument suite: the matrix of packages/testkit/src/bad-arguments
 * (every public entry x every kind of bad argument) run on one backend in
 * a child process, where a crash cannot take the test runner down. Each
 * entry is one test that lists the rows that failed: a wrong or untyped
 * error, a crash (the row the child died in), a call that never settled,
 * or a companion op of the same turn that did not complete with its bytes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { BackendName } from '@overlapped/common';

import { badArgumentRows, rowName } from '../bad-arguments/rows.js';
import type { TestApi } from '../harness.js';

const childScript = fileURLToPath(new URL('../../fixtures/bad-arguments-child.mjs', import.meta.url));

/** Children started at most: after a crash the next one goes on from the row after it. */
const MAX_CHILDREN = 8;
const CHILD_LIMIT_MS = 5 * 60_000;

interface ChildRun {
  events: Array<{ row: number; start?: true; failure?: string }>;
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

function runChild(backend: BackendName, from: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, backend, String(from)], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const events: ChildRun['events'] = [];
      for (const line of stdout.split('\n')) {
        if (line.startsWith('{')) events.push(JSON.parse(line));
        else if (line.trim() !== '') output += `${line}\n`;
      }
      resolve({ events, code, signal, output });
    });
  });
}

/** Row index -> undefined when it passed, else what went wrong; plus how the last child ended. */
async function runMatrix(backend: BackendName, count: number): Promise<{ failures: Map<number, string | undefined>; exit: string | undefined }> {
  const failures = new Map<number, string | undefined>();
  let exit: string | undefined;
  let from = 0;
  for (let children = 0; from < count && children < MAX_CHILDREN; children++) {
    const run = await runChild(backend, from);
    let current: number | undefined;
    let last = from - 1;
    for (const event of run.events) {
      if (event.start) {
        current = event.row;
      } else {
        failures.set(event.row, event.failure);
        current = undefined;
        last = event.row;
      }
    }
    const how = run.signal ?? `exit code ${run.code}`;
    const clean = run.code === 0 && run.signal === null;
    const tail = run.output.slice(-3000);
    if (current !== undefined) {
      failures.set(current, `the child process died (${how}) in this row:\n${tail}`);
      from = current + 1;
    } else {
      from = last + 1;
      if (!clean) exit = `the child process ended with ${how} after row ${last}:\n${tail}`;
      if (from < count && clean) exit = `the child process stopped after row ${last}:\n${tail}`;
      if (from >= count || clean) break;
    }
  }
  return { failures, exit };
}

/**
 * Defines the bad-argument suite for `backend` on `api`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * defineBadArgumentSuite({ describe, it }, 'threadpool');
 * ```
 */
export function defineBadArgumentSuite(api: TestApi, backend: BackendName, options: { timeoutMs?: number } = {}): void {
  const timeout = options.timeoutMs ?? CHILD_LIMIT_MS;
  const rows = badArgumentRows();
  const byEntry = new Map<string, number[]>();
  rows.forEach((row, index) => byEntry.set(row.entry, [...(byEntry.get(row.entry) ?? []), index]));
  let matrix: ReturnType<typeof runMatrix> | undefined;
  const results = () => (matrix ??= runMatrix(backend, rows.length));

  api.describe(`bad arguments [${backend}]`, () => {
    for (const [entry, indexes] of byEntry) {
      api.it(`${entry}: ${indexes.length} cases, each a typed error or a checked success, the same turn's other op intact`, async () => {
        const { failures } = await results();
        const failed: string[] = [];
        for (const index of indexes) {
          if (failures.has(index) && failures.get(index) === undefined) continue;
          const row = rows[index]!;
          const line = `  ${rowName(row)}: ${failures.has(index) ? failures.get(index) : 'not run'}`;
          const known = row.known !== undefined && (row.known.backends === undefined || row.known.backends.includes(backend));
          // A known failure is said, and left to whoever owns it.
          if (known) console.log(`[${backend}] known failure (${row.known!.reason}):\n${line}`);
          else failed.push(line);
        }
        assert.equal(failed.length, 0, `${failed.length} of ${indexes.length} cases failed on ${backend}:\n${failed.join('\n')}`);
      }, timeout);
    }
    api.it('the child process that ran them exits cleanly', async () => {
      const { exit } = await results();
      assert.equal(exit, undefined, exit);
    }, timeout);
  });
}
