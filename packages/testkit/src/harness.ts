/**
 * The few test-runner calls the suites use, so that one suite runs on
 * vitest (Linux, in the workspace) and on node:test (the Windows node.exe,
 * against packed tarballs). Assertions come from node:assert in both.
 */
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
