// A backend is probed once per process: on io_uring a probe sets up and tears
// down a ring, which must not happen again for every file a server opens.
import { describe, expect, it } from 'vitest';

import { nativeCandidates } from '../src/index.js';
import { tryLoadNativeCore } from '../src/load.js';

const core = tryLoadNativeCore();

describe.runIf(!('error' in core))('native backend probes', () => {
  it('run once per backend, however many times the ladder is walked', () => {
    if ('error' in core) return;
    const binding = core.binding as { probe: (name: string) => unknown };
    const original = binding.probe;
    const calls = new Map<string, number>();
    binding.probe = (name: string) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return original.call(binding, name);
    };
    try {
      const first = nativeCandidates().map((c) => ({ name: c.name, outcome: c.probe() }));
      for (let i = 0; i < 50; i++) {
        // Each walk answers as the first did.
        expect(nativeCandidates().map((c) => ({ name: c.name, outcome: c.probe() }))).toEqual(first);
      }
    } finally {
      binding.probe = original;
    }
    for (const [name, count] of calls) expect(count, name).toBeLessThanOrEqual(1);
  });
});
