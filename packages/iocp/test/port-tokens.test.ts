// The native Port's op tokens: JS issues them as negative safe integers,
// one per op, and the core refuses any other number before it starts the
// op (its table of ops in flight finds an op by its integer id).
import { OpKinds } from '@overlapped/common';
import { describe, expect, it } from 'vitest';

import { loadNativeCore } from '../src/load.js';

const core = loadNativeCore();
const backends = core.backends().filter((name) => name !== 'iocp' && core.probe(name).available);

describe.each(backends)('native Port tokens [%s]', (backend) => {
  it('refuses a token that is not a negative integer, in submit and in submitBatch', async () => {
    let wakes = 0;
    const port = new core.Port(backend, 1, 1, 64, () => wakes++);
    try {
      for (const token of [-1.5, 0, 1, Number.NaN, -(2 ** 60), Number.NEGATIVE_INFINITY]) {
        expect(() => port.submit(OpKinds.nop, token, 0, -1, -1, 0, null, null, 0, 0), `token ${token}`).toThrow(/negative integers/);
        const fields = new Float64Array([OpKinds.nop, token, 0, -1, -1, 0]);
        const refused = port.submitBatch(fields, 1, [null], false) as Array<[number, string, string]> | undefined;
        expect(refused, `token ${token}`).toEqual([[0, 'ERR_INVALID_ARG_VALUE', 'submitBatch: op tokens are unique negative integers']]);
      }
      expect(port.opsInFlight()).toBe(0);
      // A good token starts, and a second op with the same token is refused.
      port.submit(OpKinds.nop, -7, 0, -1, -1, 0, null, null, 0, 0);
      expect(() => port.submit(OpKinds.nop, -7, 0, -1, -1, 0, null, null, 0, 0)).toThrow(/negative integers/);
      expect(port.cancel(-7.5)).toBe(false);
      await expect.poll(() => (port.drain() > 0 ? 'drained' : port.opsInFlight())).toBe('drained');
      expect(port.opsInFlight()).toBe(0);
    } finally {
      port.destroy();
    }
  });
});
