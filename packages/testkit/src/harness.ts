/**
 * The few test-runner calls the suites use, so that one suite runs on
 * vitest (Linux, in the workspace) and on node:test (the Windows node.exe,
 * against packed tarballs). Assertions come from node:assert in both.
 */
import { spawn } from 'node:child_process';

export interface TestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void> | void, timeoutMs?: number): void;
}

/** Whether the test process may call `gc()` (node --expose-gc). */
export function canForceGc(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

/** Runs a full, synchronous garbage collection; needs --expose-gc. */
export function forceGc(): void {
  (globalThis as unknown as { gc: () => void }).gc();
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves when `condition()` holds, polling every few milliseconds; rejects
 * with `what` after `timeoutMs`, so no wait is unbounded.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

/** How a child process ended, with its stdout and stderr interleaved. */
export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Runs `node script ...args` in a child process with this process's
 * environment and resolves with how it ended; rejects, after killing it,
 * if it runs longer than `timeoutMs`. For scenarios that may crash the
 * process: a signal or an unexpected exit code is the test's failure.
 *
 * @example
 * ```ts
 * const outcome = await runNodeChild(fixture, ['io_uring', 'file'], 60_000);
 * assert.equal(outcome.code, 0, outcome.output);
 * ```
 */
export function runNodeChild(script: string, args: string[], timeoutMs: number): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${script} ${args.join(' ')} ran for more than ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}
