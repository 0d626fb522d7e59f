/**
 * The buffer-ownership suite: what becomes of an op whose buffer is
 * transferred (detached) around it, each scenario in a child process
 * where a crash or a heap corruption is possible.
 *
 * - memory from allocAligned transferred while reads or a recv are in
 *   flight, every copy collected: no crash, and the bytes land;
 * - a plain buffer transferred in the same turn as its readAt or recv:
 *   that op rejects with ERR_INVALID_STATE (never a 0 that reads as the end
 *   of the file or the peer's shutdown), the other ops of the turn
 *   complete;
 * - a plain buffer transferred while its recv waits (its clone kept
 *   alive): the recv rejects with ERR_INVALID_STATE rather than report
 *   bytes the caller cannot see.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import type { BackendName } from '@overlapped/common';

import { runNodeChild, type TestApi } from '../harness.js';

const transferChild = fileURLToPath(new URL('../../fixtures/transfer-child.mjs', import.meta.url));

const SCENARIOS: Array<[scenario: string, title: string]> = [
  ['aligned-read', 'allocAligned memory transferred and collected while reads are in flight: no crash, the bytes land'],
  ['aligned-recv', 'allocAligned memory transferred and collected while a recv waits: no crash, the bytes land'],
  ['plain-before-flush', 'a buffer transferred in the same turn as its readAt or recv: ERR_INVALID_STATE, never 0; the turn\'s other ops complete'],
  ['plain-in-flight', 'a buffer transferred while its recv waits: ERR_INVALID_STATE, not data'],
];

/**
 * Defines the buffer-ownership suite for `backend` on `api`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * defineBufferSuite({ describe, it }, 'io_uring');
 * ```
 */
export function defineBufferSuite(api: TestApi, backend: BackendName, options: { timeoutMs?: number } = {}): void {
  const timeout = options.timeoutMs ?? 90_000;
  api.describe(`buffers transferred around their ops [${backend}]`, () => {
    for (const [scenario, title] of SCENARIOS) {
      api.it(title, async () => {
        const { code, signal, output } = await runNodeChild(transferChild, [backend, scenario], 60_000);
        assert.ok(code === 0 && signal === null && /^ok /m.test(output), `${scenario} ended with ${signal ?? `exit code ${code}`}:\n${output.slice(-3000)}`);
      }, timeout);
    }
  });
}
