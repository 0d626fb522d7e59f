#!/usr/bin/env node
// Runs every test suite and says, per backend, how many tests ran:
//   - native: the backends' own stress tests, plain and under sanitizers;
//   - asan: the addon built with ASan+UBSan under the testkit suites;
//   - vitest: the packages' own tests and the testkit conformance suites on
//     io_uring, threadpool and portable (whichever run here);
//   - the packed @overlapped/iocp: every promised prebuild inside, its size,
//     and a from-source build in a plain npm install (packages/iocp/scripts/check-packed.mjs);
//   - the Windows suite: the same testkit suites under the Windows node.exe
//     (Wine on Linux) against the packed win32-x64 prebuild;
//   - the arm64 suite, at the same time: the same suites under the arm64
//     Node (qemu-user) against the packed linux-arm64 prebuild, one row per
//     backend that ran there ("arm64/threadpool", ...);
//   - the same vitest suites on the lowest Node version `engines` names;
//   - the package check: the packed packages installed with plain npm, every
//     README example and a TypeScript consumer run against them, publint
//     and attw;
//   - the changesets dry run: `changeset version` and pack, on a copy.
// OVERLAPPED_REQUIRE_BACKENDS=io_uring,threadpool,portable,iocp,arm64 makes a
// skipped backend (or the skipped arm64 suite) a failure (CI sets it), as
// OVERLAPPED_REQUIRE_PREBUILDS=1 does for a promised prebuild not built.
// The last line reads "N passed, N failed, N skipped".
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = join(root, '.artifacts');
mkdirSync(artifacts, { recursive: true });
const required = (process.env.OVERLAPPED_REQUIRE_BACKENDS ?? '').split(',').map((s) => s.trim()).filter(Boolean);

const rows = new Map(); // suite -> { passed, failed, skipped }
function add(suite, status, count = 1) {
  const row = rows.get(suite) ?? { passed: 0, failed: 0, skipped: 0 };
  row[status] += count;
  rows.set(suite, row);
}

// Runs vitest (`filters` narrow it to some test files) with a JSON report
// beside the usual output, and counts each test in the row `rowOf(file)`
// names. Returns vitest's exit and whether it wrote a report.
const vitestBin = join(root, 'node_modules', 'vitest', 'vitest.mjs');
function runVitest(reportName, rowOf, { filters = [], env = process.env } = {}) {
  const reportFile = join(artifacts, reportName);
  rmSync(reportFile, { force: true });
  const run = spawnSync(
    process.execPath,
    [vitestBin, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...filters],
    { cwd: root, stdio: 'inherit', env },
  );
  if (!existsSync(reportFile)) return { run, reported: false };
  for (const file of JSON.parse(readFileSync(reportFile, 'utf8')).testResults) {
    const suite = rowOf(file.name);
    for (const test of file.assertionResults) {
      add(suite, test.status === 'passed' ? 'passed' : test.status === 'failed' ? 'failed' : 'skipped');
    }
    if (file.assertionResults.length === 0 && file.status === 'failed') add(suite, 'failed');
  }
  return { run, reported: true };
}

const { run: vitest, reported } = runVitest('vitest.json', (name) => {
  const match = /\.([a-z_]+)\.test\.ts$/.exec(name);
  return match ? match[1] : name.replace(`${root}/`, '').split('/').slice(0, 2).join('/');
});
if (!reported) {
  console.error(`vitest wrote no report (exit ${vitest.status ?? vitest.signal})`);
  process.exit(1);
}

// The native backends on their own, without Node: the stress test built
// plainly, with ASan+UBSan and with TSan, the io_uring probe under seccomp
// filters, the threadpool-only source set of non-Linux POSIX systems, and
// the socket ops with real clients (plain, ASan+UBSan, TSan).
const nativeTests = join(root, 'packages', 'iocp', 'native', 'test');
const haveToolchain = ['make', 'g++'].every((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0);
if (process.platform === 'linux' && haveToolchain) {
  console.log('\nnative backend tests (no Node): stress, ASan+UBSan, TSan, probe, posix-only, sockets');
  for (const target of ['run', 'run-asan', 'run-tsan', 'run-probe', 'run-posix-only', 'run-sockets']) {
    const make = spawnSync('make', ['-s', '-C', nativeTests, target], { stdio: 'inherit' });
    add('native', make.status === 0 ? 'passed' : 'failed');
  }
} else {
  console.log('\n[native] skipped: needs Linux with make and g++');
  add('native', 'skipped');
}

// The addon built with ASan+UBSan under the testkit's port, file, socket,
// forward, events, native event driver, sendfile, lifecycle, buffer and bad-argument suites on io_uring and threadpool (the
// backends this machine runs natively), and the socket and forward suites with io_uring's sockets on the first ring. Node is not instrumented: the sanitizer runtimes are
// preloaded, leak checking is off (Node does not free its heap at exit), and
// each report is also written to a log file, so that a report in any
// process (vitest's forks, the suites' child processes and workers) fails
// the row. On Linux the row fails when it cannot run.
const asanSuites = ['port', 'file', 'socket', 'socket-forward', 'socket-events', 'socket-events-native', 'socket-loop-recv', 'socket-sendfile', 'lifecycle', 'buffers', 'bad-arguments'].flatMap((suite) =>
  ['io_uring', 'threadpool'].map((backend) => `packages/testkit/test/${suite}.${backend}.test.ts`),
).concat(['packages/testkit/test/socket-shared-ring.io_uring.test.ts']);
if (process.platform === 'linux') {
  console.log('\nthe addon under ASan+UBSan: testkit port, file, socket, forward, events, native event driver, loop recvs, sendfile, lifecycle, buffer and bad-argument suites on io_uring and threadpool, and the socket and forward suites on io_uring with the sockets on the first ring');
  const outcome = runUnderSanitizers();
  if (outcome.error) {
    console.error(`[asan] ${outcome.error}`);
    add('asan', 'failed');
  }
} else {
  console.log('\n[asan] skipped: the sanitizer build of the addon runs on Linux');
  add('asan', 'skipped');
}

function runUnderSanitizers() {
  const make = haveToolchain && spawnSync('make', ['-s', '-C', nativeTests, 'addon-asan'], { stdio: 'inherit' });
  if (!make || make.status !== 0) return { error: 'the sanitizer build of the addon failed (needs make and g++)' };
  const runtimes = ['libasan.so', 'libubsan.so'].map(
    (name) => spawnSync('g++', [`-print-file-name=${name}`], { encoding: 'utf8' }).stdout.trim(),
  );
  if (!runtimes.every((path) => path.startsWith('/') && existsSync(path))) return { error: `sanitizer runtimes not found: ${runtimes.join(', ')}` };
  const addon = join(nativeTests, 'build', 'addon-asan', 'overlapped.node');
  const logs = join(artifacts, 'sanitizer-logs');
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });
  const env = {
    ...process.env,
    OVERLAPPED_ADDON_PATH: addon,
    LD_PRELOAD: runtimes.join(' '),
    ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:abort_on_error=1:log_path=${join(logs, 'asan')}`,
    UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:log_path=${join(logs, 'ubsan')}`,
  };
  // The run proves nothing unless the instrumented addon is the one loaded.
  const check = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `
      const { loadNativeCore } = await import(${JSON.stringify(join(root, 'packages', 'iocp', 'dist', 'index.js'))});
      loadNativeCore();
      const loaded = process.report.getReport().sharedObjects;
      process.exit(loaded.includes(${JSON.stringify(addon)}) && loaded.some((path) => path.includes('libasan')) ? 0 : 1);
    `],
    { env, stdio: 'inherit' },
  );
  if (check.status !== 0) return { error: `node did not load ${addon} with the ASan runtime` };

  const { run, reported } = runVitest('vitest-asan.json', () => 'asan', { filters: asanSuites, env });
  const reports = readdirSync(logs);
  for (const name of reports) {
    console.error(`\n[asan] sanitizer report ${name}:\n${readFileSync(join(logs, name), 'utf8')}`);
  }
  console.log(`[asan] sanitizer reports: ${reports.length}`);
  if (reports.length > 0) return { error: `${reports.length} sanitizer report(s)` };
  if (!reported || run.status !== 0) return { error: `vitest under the sanitizers exited ${run.status ?? run.signal}` };
  return {};
}

// The suites below write a summary file: { passed, failed, skippedTests }
// or { skipped, reason }.
function summaryOf(summaryFile, status, name) {
  if (existsSync(summaryFile)) return JSON.parse(readFileSync(summaryFile, 'utf8'));
  console.error(`the ${name} suite wrote no summary (exit ${status})`);
  return { passed: 0, failed: 1 };
}
function addSummary(row, summary) {
  if (summary.skipped) {
    add(row, 'skipped');
    console.log(`\n[${row}] skipped: ${summary.reason}`);
    return;
  }
  add(row, 'passed', summary.passed);
  add(row, 'failed', summary.failed);
  add(row, 'skipped', summary.skippedTests ?? 0);
}

// The packed @overlapped/iocp.
const packedSummary = join(artifacts, 'packed-summary.json');
rmSync(packedSummary, { force: true });
const packed = spawnSync(process.execPath, [join(root, 'packages', 'iocp', 'scripts', 'check-packed.mjs'), '--summary', packedSummary], {
  cwd: root,
  stdio: 'inherit',
});
addSummary('packed', summaryOf(packedSummary, packed.status ?? packed.signal, 'packed'));

// The arm64 suite runs while the Windows suite does (each emulator keeps
// about one core busy); its output is printed once it is done.
const arm64Suite = join(root, 'scripts', 'arm64-suite.mjs');
const arm64Summary = join(artifacts, 'arm64-summary.json');
const arm64Log = join(artifacts, 'arm64-suite.log');
rmSync(arm64Summary, { force: true });
const arm64Out = openSync(arm64Log, 'w');
const arm64Done = new Promise((resolveDone) => {
  const child = spawn(process.execPath, [arm64Suite, '--summary', arm64Summary], { cwd: root, stdio: ['ignore', arm64Out, arm64Out] });
  child.once('error', () => resolveDone(null));
  child.once('exit', (code, signal) => resolveDone(code ?? signal));
});

// The Windows suite.
const windowsSuite = join(root, 'scripts', 'windows-suite.mjs');
if (existsSync(windowsSuite)) {
  const summaryFile = join(artifacts, 'windows-summary.json');
  rmSync(summaryFile, { force: true });
  const windows = spawnSync(process.execPath, [windowsSuite, '--summary', summaryFile], { cwd: root, stdio: 'inherit' });
  addSummary('iocp', summaryOf(summaryFile, windows.status ?? windows.signal, 'Windows'));
}

const arm64Status = await arm64Done;
closeSync(arm64Out);
console.log('\n> the arm64 suite (qemu-user), run alongside the Windows suite:');
process.stdout.write(readFileSync(arm64Log, 'utf8'));
const arm64 = summaryOf(arm64Summary, arm64Status, 'arm64');
if (arm64.skipped || !arm64.backends) {
  addSummary('arm64', arm64);
} else {
  for (const [backend, row] of Object.entries(arm64.backends)) {
    add(`arm64/${backend}`, 'passed', row.passed);
    add(`arm64/${backend}`, 'failed', row.failed);
  }
  for (const [backend, reason] of Object.entries(arm64.unavailable ?? {})) {
    console.log(`[arm64/${backend}] not run under qemu-user: ${reason}`);
  }
  // A failure the rows do not show (threadpool missing, a crash).
  if (arm64Status !== 0 && !(arm64.failed > 0)) add('arm64', 'failed');
}

// Scripts that write a summary { passed, failed, skipped? } of their own:
// each is one row; a script that writes none has failed.
function summaryRow(script, row) {
  const summaryFile = join(artifacts, `${script.replace(/\.mjs$/, '')}-summary.json`);
  rmSync(summaryFile, { force: true });
  const result = spawnSync(process.execPath, [join(root, 'scripts', script), '--summary', summaryFile], { cwd: root, stdio: 'inherit' });
  if (!existsSync(summaryFile)) {
    console.error(`${script} wrote no summary (exit ${result.status ?? result.signal})`);
    add(row(), 'failed');
    return;
  }
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
  add(row(summary), 'passed', summary.passed);
  add(row(summary), 'failed', summary.failed || (result.status === 0 ? 0 : 1));
  add(row(summary), 'skipped', summary.skipped ?? 0);
}
summaryRow('lowest-node.mjs', (summary) => `node-${summary?.version ?? 'lowest'}`);
summaryRow('package-check.mjs', () => 'packages');
summaryRow('changeset-dry-run.mjs', () => 'changesets');

console.log('\nTests per suite and backend:');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const [suite, row] of [...rows].sort()) {
  console.log(`  ${suite.padEnd(22)} ${String(row.passed).padStart(5)} passed ${String(row.failed).padStart(4)} failed ${String(row.skipped).padStart(4)} skipped`);
  passed += row.passed;
  failed += row.failed;
  skipped += row.skipped;
}
// A required name is met by its row, or (arm64) by its rows "name/<backend>".
const missing = required.filter((backend) => {
  const own = [...rows].filter(([suite]) => suite === backend || suite.startsWith(`${backend}/`)).map(([, row]) => row);
  return own.length === 0 || own.some((row) => row.skipped > 0) || own.every((row) => row.passed === 0);
});
if (missing.length > 0) {
  console.error(`\nRequired backends that did not run in full: ${missing.join(', ')}`);
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || missing.length > 0 || vitest.status !== 0 ? 1 : 0);
