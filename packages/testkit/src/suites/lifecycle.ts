/**
 * The lifecycle suite: worker_threads terminated with ops in flight, on
 * every backend. Each scenario runs in a child process
 * (fixtures/lifecycle-child.mjs), since what it guards against is the whole
 * process dying: rounds of several workers, each with ports of its own
 * (file, socket or a bare completion port) and ops in flight, terminated
 * together a few milliseconds after they start (the first of each round as
 * soon as it is online, wherever it is in loading the packages), while the
 * main thread does file and socket I/O on the same backend and checks every
 * byte. The child then checks that the workers' files and sockets were
 * closed (and on Linux that descriptors and threads are back to where they
 * were) and must exit by itself with code 0.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import type { BackendName } from '@overlapped/common';

import { runNodeChild, type TestApi } from '../harness.js';

/** Scale of the lifecycle suite. */
export interface LifecycleSuiteOptions {
  /** Rounds of terminated workers per scenario (default 8). */
  rounds?: number;
  /** Workers started and terminated together per round (default 3). */
  workers?: number;
  /** Per-test timeout in ms (default 120 s). */
  timeoutMs?: number;
}

const lifecycleChild = fileURLToPath(new URL('../../fixtures/lifecycle-child.mjs', import.meta.url));

/** What the child reports on its last line. */
interface LifecycleSummary {
  terminated: number;
  running: number;
  mainFileOps: number;
  mainSocketBytes: number;
  resources?: { baseline: { fds: number; threads: number }; after: { fds: number; threads: number } };
}

/**
 * Defines the lifecycle suite for `backend` on `api`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * defineLifecycleSuite({ describe, it }, 'io_uring', { rounds: 8 });
 * ```
 */
export function defineLifecycleSuite(api: TestApi, backend: BackendName, options: LifecycleSuiteOptions = {}): void {
  const rounds = options.rounds ?? 8;
  const workers = options.workers ?? 3;
  const timeout = options.timeoutMs ?? 120_000;
  const { describe, it } = api;

  describe(`worker_threads lifecycle [${backend}]`, () => {
    const scenarios = {
      file: 'file reads and writes',
      socket: 'socket accepts, connects, recvs and sends',
      port: 'posts from JS and native threads and nop ops on a port of their own',
    } as const;
    for (const [scenario, what] of Object.entries(scenarios)) {
      it(`survives workers terminated with ${what} in flight, and closes what they opened`, async () => {
        const outcome = await runNodeChild(lifecycleChild, [backend, scenario, String(rounds), String(workers)], timeout - 5_000);
        assert.equal(outcome.signal, null, `the child died of ${outcome.signal}:\n${outcome.output}`);
        assert.equal(outcome.code, 0, `the child exited with ${outcome.code}:\n${outcome.output}`);
        const line = /^lifecycle (\{.*\})$/m.exec(outcome.output);
        assert.ok(line, `no summary line:\n${outcome.output}`);
        const summary = JSON.parse(line[1]!) as LifecycleSummary;
        assert.equal(summary.terminated, rounds * workers, outcome.output);
        // Every worker but each round's early one ran its ops before it was terminated.
        assert.equal(summary.running, rounds * (workers - 1), outcome.output);
        assert.ok(summary.mainFileOps > 0 && summary.mainSocketBytes > 0, outcome.output);
        if (process.platform === 'linux') {
          assert.ok(summary.resources, outcome.output);
          assert.ok(summary.resources.after.fds <= summary.resources.baseline.fds, outcome.output);
          assert.ok(summary.resources.after.threads <= summary.resources.baseline.threads, outcome.output);
        }
      }, timeout);
    }
  });
}
