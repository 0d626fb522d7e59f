// Runs the testkit conformance suites (port, file, socket, forward, events, sendfile, lifecycle, file fuzz, socket soak,
// buffers, bad arguments) under
// node:test in a Node other than
// the one running the repository's tests, against the installed (packed)
// packages: the Windows node.exe under Wine (iocp, scripts/windows-suite.mjs)
// and the arm64 Node under qemu-user (scripts/arm64-suite.mjs). Each
// backend named is probed first; one that cannot run is reported with the
// reason and left out. Writes to the file given with --summary:
//   { passed, failed, skippedTests, backends: { name: { passed, failed } }, unavailable: { name: reason } }
// or { skipped: true, reason } when none of them can run.
//
//   node --expose-gc run.mjs --summary summary.json [--backends iocp] [--suites port,file,socket,forward,events,sendfile,lifecycle,fuzz,soak,buffers,bad-arguments]
//     [--volume N] [--exec-path FILE] [--extra FILE ...]
//
// --extra: a module with more suites (the file server's), whose
// `defineSuites(api, backend)` is called beside the testkit's, counted alike.
// --exec-path: the program that starts this Node, for the suites that
// spawn children with process.execPath (under qemu-user, a launcher script).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
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
  defineSocketEventsSuite,
  defineSocketForwardSuite,
  defineSocketSendfileSuite,
  defineSocketSuite,
} from '@overlapped/testkit';

const { values } = parseArgs({
  options: {
    summary: { type: 'string' },
    volume: { type: 'string' },
    backends: { type: 'string', default: 'iocp' },
    suites: { type: 'string', default: 'port,file,socket,forward,events,sendfile,lifecycle,fuzz,soak,buffers,bad-arguments' },
    'exec-path': { type: 'string' },
    // Set by the Linux side that starts this Node under Wine: the suites
    // then expect what Wine does where it differs from Windows.
    wine: { type: 'boolean', default: false },
    extra: { type: 'string', multiple: true, default: [] },
  },
});
if (values['exec-path']) process.execPath = values['exec-path'];

const counts = { defined: 0, passed: 0, failed: 0, skippedTests: 0 };
const perBackend = {};
const unavailable = {};

// The suites' TestApi on node:test; each body is counted as it settles.
function apiFor(backend) {
  const own = (perBackend[backend] = { defined: 0, passed: 0 });
  return {
    describe: (name, body) => describe(name, body),
    it: (name, body, timeout) => {
      counts.defined++;
      own.defined++;
      it(name, { timeout: timeout ?? 120_000 }, async () => {
        try {
          await body();
          counts.passed++;
          own.passed++;
        } catch (error) {
          counts.failed++;
          throw error;
        }
      });
    },
  };
}

const extraSuites = await Promise.all(values.extra.map((file) => import(pathToFileURL(resolve(file)).href)));
const volume = values.volume ? Number(values.volume) : undefined;
// The emulated runs (Wine's IOCP through wineserver, qemu's translated
// code) are slow: a smaller file volume keeps them quick.
const suites = new Set(values.suites.split(',').map((name) => name.trim()));
const fileVolume = volume === undefined ? 1000 : Math.max(200, Math.min(2000, Math.floor(volume / 100)));
for (const backend of values.backends.split(',').map((name) => name.trim()).filter(Boolean)) {
  const availability = backendAvailability(backend);
  if (!availability.available) {
    unavailable[backend] = availability.reason;
    console.log(`[${backend}] skipped: ${availability.reason}`);
    continue;
  }
  const api = apiFor(backend);
  if (suites.has('port')) definePortSuite(api, backend, { volume });
  if (suites.has('file')) defineFileSuite(api, backend, { volume: fileVolume, wine: values.wine });
  if (suites.has('socket')) defineSocketSuite(api, backend);
  if (suites.has('forward')) defineSocketForwardSuite(api, backend);
  if (suites.has('events')) defineSocketEventsSuite(api, backend);
  if (suites.has('sendfile')) defineSocketSendfileSuite(api, backend);
  // Each worker starts a Node thread in the emulator: fewer rounds.
  if (suites.has('lifecycle')) defineLifecycleSuite(api, backend, { rounds: 4 });
  // The same seeds and count as on Linux (test/fuzz-seeds.ts): about 10 s a seed under Wine.
  if (suites.has('fuzz')) defineFileFuzzSuite(api, backend, { seeds: [1, 2, 3], ops: 10_000 });
  // Each connection costs wineserver round trips: a smaller soak.
  if (suites.has('soak')) defineSocketSoakSuite(api, backend, { connections: 120, concurrency: 40 });
  if (suites.has('buffers')) defineBufferSuite(api, backend);
  if (suites.has('bad-arguments')) defineBadArgumentSuite(api, backend);
  for (const extra of extraSuites) extra.defineSuites(api, backend);
}

if (Object.keys(perBackend).length === 0) {
  const reason = Object.entries(unavailable)
    .map(([name, why]) => `${name}: ${why}`)
    .join('; ');
  if (values.summary) writeFileSync(values.summary, JSON.stringify({ skipped: true, reason }));
  process.exit(0);
}

after(() => {
  // A test that timed out never settled its body: it counts as failed.
  const backends = Object.fromEntries(
    Object.entries(perBackend).map(([name, own]) => [name, { passed: own.passed, failed: own.defined - own.passed }]),
  );
  const summary = { passed: counts.passed, failed: counts.defined - counts.passed, skippedTests: 0, backends, unavailable };
  for (const [name, row] of Object.entries(backends)) console.log(`[${name}] ${row.passed} passed, ${row.failed} failed`);
  if (values.summary) writeFileSync(values.summary, JSON.stringify(summary));
});
