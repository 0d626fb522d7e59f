// Runs the testkit conformance suites on the iocp backend under node:test,
// in the Windows node.exe, against the installed (packed) packages. Writes
// { passed, failed, skippedTests } to the file given with --summary.
//
//   node --expose-gc run.mjs --summary summary.json [--volume N]
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { parseArgs } from 'node:util';

import {
  backendAvailability,
  defineBadArgumentSuite,
  defineBufferSuite,
  defineFileFuzzSuite,
  defineFileSuite,
  defineLifecycleSuite,
  definePortSuite,
  defineSocketSoakSuite,
  defineSocketSuite,
} from '@overlapped/testkit';

const { values } = parseArgs({ options: { summary: { type: 'string' }, volume: { type: 'string' } } });
const backend = 'iocp';
const counts = { defined: 0, passed: 0, failed: 0, skippedTests: 0 };

// The suites' TestApi on node:test; each body is counted as it settles.
const api = {
  describe: (name, body) => describe(name, body),
  it: (name, body, timeout) => {
    counts.defined++;
    it(name, { timeout: timeout ?? 120_000 }, async () => {
      try {
        await body();
        counts.passed++;
      } catch (error) {
        counts.failed++;
        throw error;
      }
    });
  },
};

const availability = backendAvailability(backend);
if (!availability.available) {
  console.log(`[${backend}] skipped: ${availability.reason}`);
  if (values.summary) writeFileSync(values.summary, JSON.stringify({ skipped: true, reason: availability.reason }));
  process.exit(0);
}

const volume = values.volume ? Number(values.volume) : undefined;
definePortSuite(api, backend, { volume });
// Wine's IOCP runs through wineserver: a smaller file volume keeps it quick.
defineFileSuite(api, backend, { volume: volume === undefined ? 1000 : Math.max(200, Math.min(2000, Math.floor(volume / 100))) });
defineSocketSuite(api, backend);
// Each worker starts a Windows node.exe thread under Wine: fewer rounds.
defineLifecycleSuite(api, backend, { rounds: 4 });
// The same seeds and count as on Linux (test/fuzz-seeds.ts): about 10 s a seed under Wine.
defineFileFuzzSuite(api, backend, { seeds: [1, 2, 3], ops: 10_000 });
// Each connection costs wineserver round trips: a smaller soak.
defineSocketSoakSuite(api, backend, { connections: 120, concurrency: 40 });
defineBufferSuite(api, backend);
defineBadArgumentSuite(api, backend);

after(() => {
  // A test that timed out never settled its body: it counts as failed.
  const failed = counts.defined - counts.passed;
  const summary = { backend, passed: counts.passed, failed, skippedTests: 0 };
  console.log(`[${backend}] ${summary.passed} passed, ${summary.failed} failed`);
  if (values.summary) writeFileSync(values.summary, JSON.stringify(summary));
});
