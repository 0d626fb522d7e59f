/**
 * The copy itself: checks before anything is written, the copy through
 * @overlapped/file's copyFile with the progress bar fed from onProgress, the
 * optional read-back comparison, the summary line, and the exit code.
 */
import { lstat, rm, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';

import { type BackendName, resolveBackendRequest, selectBackend } from '@overlapped/common';
import { nativeCandidates } from '@overlapped/iocp';

import { ExitCode, type Options } from './args.js';
import { overlappedFile, type OverlappedFileModule } from './file-api.js';
import { ProgressBar } from './progress.js';

const MiB = 1024 * 1024;

/** Where ocopy writes: the summary to stdout, messages and the bar to stderr. */
export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

class Mismatch extends Error {}

function isAbort(error: unknown): boolean {
  const e = error as { name?: unknown; code?: unknown };
  return e?.name === 'AbortError' || e?.code === 'ABORT_ERR';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Reads `source` and `destination` back in chunks and compares them; throws
 * Mismatch at the first difference.
 */
async function verifyCopy(
  file: OverlappedFileModule,
  options: Options,
  backend: BackendName,
  signal: AbortSignal,
): Promise<void> {
  const [sourceStats, copyStats] = await Promise.all([stat(options.source), stat(options.destination)]);
  const size = sourceStats.size;
  if (copyStats.size !== size) {
    throw new Mismatch(`${options.destination} is ${copyStats.size} bytes, ${options.source} is ${size}`);
  }
  // Large reads whatever the copy's chunk size: the comparison is not what
  // the options tune.
  const chunkSize = Math.min(Math.max(options.chunkSize, MiB), 4 * MiB);
  const source = await file.open(options.source, { disposition: 'open-existing', access: 'read', backend });
  try {
    const destination = await file.open(options.destination, { disposition: 'open-existing', access: 'read', backend });
    try {
      const a = Buffer.allocUnsafe(chunkSize);
      const b = Buffer.allocUnsafe(chunkSize);
      for (let position = 0; position < size; position += chunkSize) {
        const length = Math.min(chunkSize, size - position);
        const [readA, readB] = await Promise.all([
          source.readAt(a, position, { length, signal }),
          destination.readAt(b, position, { length, signal }),
        ]);
        if (readA !== length || readB !== length) {
          throw new Mismatch(`short read at ${position}: ${readA} and ${readB} of ${length} bytes`);
        }
        if (a.compare(b, 0, length, 0, length) !== 0) {
          let at = 0;
          while (a[at] === b[at]) at++;
          throw new Mismatch(`the files differ at byte ${position + at}`);
        }
      }
    } finally {
      await destination.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * Copies `options.source` to `options.destination` and returns the exit
 * code; `signal` aborts the copy (SIGINT, SIGTERM, SIGHUP), which cancels the operations in
 * flight and removes the partial destination. `fileModule` stands in for
 * @overlapped/file (loaded when not given).
 *
 * @example
 * ```ts
 * const code = await runCopy(
 *   { source: 'a.bin', destination: 'b.bin', queueDepth: 8, chunkSize: 1 << 20, backend: undefined, verify: true, force: false },
 *   { stdout: process.stdout, stderr: process.stderr },
 *   new AbortController().signal,
 * );
 * ```
 */
export async function runCopy(
  options: Options,
  io: Io,
  signal: AbortSignal,
  fileModule?: OverlappedFileModule,
): Promise<number> {
  const fail = (message: string, code: number): number => {
    io.stderr.write(`ocopy: ${message}\n`);
    return code;
  };

  // Checks first: nothing is written unless the copy can start.
  let sourceStats: Stats;
  try {
    sourceStats = await stat(options.source);
  } catch (error) {
    return fail(describe(error), ExitCode.ioError);
  }
  if (sourceStats.isDirectory()) return fail(`EISDIR: '${options.source}' is a directory`, ExitCode.ioError);
  let before: Stats | undefined;
  try {
    before = await statOrUndefined(options.destination);
  } catch (error) {
    return fail(describe(error), ExitCode.ioError);
  }
  if (before) {
    if (before.isDirectory()) return fail(`EISDIR: '${options.destination}' is a directory`, ExitCode.ioError);
    // A symbolic link is written through: what it leads to must not be the source.
    const target = before.isSymbolicLink() ? await stat(options.destination).catch(() => undefined) : before;
    if (target !== undefined && target.dev === sourceStats.dev && target.ino === sourceStats.ino) {
      return fail(`'${options.source}' and '${options.destination}' are the same file`, ExitCode.ioError);
    }
    if (!options.force) {
      return fail(`EEXIST: '${options.destination}' exists; pass --force to overwrite it`, ExitCode.ioError);
    }
  }

  let backend: BackendName;
  try {
    const requested = resolveBackendRequest(options.backend);
    // nativeCandidates() holds this platform's backends only: passing one
    // of them over is a fallback worth its warning.
    backend = selectBackend(requested, [...nativeCandidates(), { name: 'portable', probe: () => ({ available: true }) }]).name;
  } catch (error) {
    return fail(describe(error), ExitCode.ioError);
  }
  const file = fileModule ?? overlappedFile;

  const size = sourceStats.size;
  const bar = new ProgressBar(io.stderr, size);
  let copied = 0;
  let bytes = size;
  const start = process.hrtime.bigint();
  try {
    bar.update(0, true);
    ({ backend, bytes } = await file.copyFile(options.source, options.destination, {
      queueDepth: options.queueDepth,
      chunkSize: options.chunkSize,
      backend,
      signal,
      onProgress: (bytes) => {
        copied = bytes;
        bar.update(copied);
      },
    }));
    bar.update(bytes, true);
  } catch (error) {
    bar.clear();
    // The destination is ours to remove when ocopy made it or changed it:
    // it did not exist before, or bytes went into it, or its size moved.
    const after = await statOrUndefined(options.destination).catch(() => undefined);
    if (after && (!before || copied > 0 || after.size !== before.size)) await rm(options.destination, { force: true });
    if (isAbort(error) || signal.aborted) return fail('interrupted; the partial copy was removed', ExitCode.interrupted);
    return fail(describe(error), ExitCode.ioError);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  bar.clear();

  if (options.verify) {
    try {
      await verifyCopy(file, options, backend, signal);
    } catch (error) {
      if (error instanceof Mismatch) return fail(`verify failed: ${error.message}`, ExitCode.verifyMismatch);
      if (isAbort(error) || signal.aborted) return fail('interrupted while verifying', ExitCode.interrupted);
      return fail(describe(error), ExitCode.ioError);
    }
  }
  const rate = seconds > 0 ? bytes / MiB / seconds : 0;
  io.stdout.write(
    `copied ${bytes} bytes in ${seconds.toFixed(3)} s, ${rate.toFixed(1)} MiB/s, backend ${backend}${options.verify ? ', verified' : ''}\n`,
  );
  return ExitCode.ok;
}
