#!/usr/bin/env node
// The Windows suite: the testkit conformance suites on the iocp backend,
// run by the Windows node.exe under Wine against what users install: the
// packed tarballs of common, iocp (dist + the win32-x64 prebuild), portable, socket
// and testkit, unpacked into a fresh node_modules, with PREBUILDS_ONLY=1 so
// that nothing but the shipped prebuild can load. The file server's suite
// (apps/file-server/test/windows.ts, compiled beside them) runs in the same
// process and is counted in the same summary, as are the backend's own
// checks without Node (backend_stress_win.exe), run after it.
//
//   node scripts/windows-suite.mjs [--summary FILE] [--volume N]
//
// When Wine, the mingw-w64 build or the Windows node.exe is missing it
// writes { skipped: true, reason } and exits 0; the test command fails on
// that only if OVERLAPPED_REQUIRE_BACKENDS names iocp.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installPacked } from './packed-packages.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { summary: { type: 'string' }, volume: { type: 'string' }, suites: { type: 'string' } } });
const summaryFile = values.summary;

function finish(summary, code = 0) {
  if (summaryFile) writeFileSync(summaryFile, JSON.stringify(summary));
  process.exit(code);
}

function skip(reason) {
  console.log(`\n[iocp] Windows suite skipped: ${reason}`);
  finish({ skipped: true, reason });
}

const iocpRoot = join(root, 'packages', 'iocp');
const prebuildDir = join(iocpRoot, 'prebuilds', 'win32-x64');
if (spawnSync('wine', ['--version'], { stdio: 'ignore' }).status !== 0) skip('wine is not installed (apt-get install wine64)');
if (!existsSync(prebuildDir) || !readdirSync(prebuildDir).some((f) => f.endsWith('.node'))) {
  skip('no win32-x64 prebuild (apt-get install g++-mingw-w64-x86-64, then build)');
}

const { ensureWindowsNode } = await import(join(iocpRoot, 'scripts', 'windows', 'fetch-node.mjs'));
const { runWindowsNode } = await import(join(iocpRoot, 'scripts', 'windows', 'wine-node.mjs'));
try {
  ensureWindowsNode(process.version);
} catch (error) {
  skip(`the Windows node.exe ${process.version} could not be fetched: ${error.message}`);
}

const work = mkdtempSync(join(tmpdir(), 'overlapped-windows-suite-'));
let outcome;
try {
  const modules = installPacked(work);
  const shipped = readdirSync(join(modules, '@overlapped', 'iocp', 'prebuilds', 'win32-x64'));
  console.log(`\n[iocp] Windows suite: node.exe ${process.version} under Wine, prebuild ${shipped.join(', ')}`);

  // Compiled under `work`, so that it imports the packed packages.
  const fileServer = join(work, 'file-server');
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'apps', 'file-server', 'tsconfig.windows.json'), '--outDir', fileServer],
    { stdio: 'inherit' },
  );
  writeFileSync(join(fileServer, 'package.json'), '{ "type": "module" }\n');

  const summaryInside = join(work, 'summary.json');
  const args = ['--expose-gc', join(modules, '@overlapped', 'testkit', 'windows', 'run.mjs'), '--summary', summaryInside, '--wine'];
  args.push('--extra', join(fileServer, 'test', 'windows.js'));
  if (values.volume) args.push('--volume', values.volume);
  // `--suites sendfile,forward`: a part of the suite (while working on it).
  if (values.suites) args.push('--suites', values.suites);
  const result = await runWindowsNode({
    args,
    cwd: work,
    env: { PREBUILDS_ONLY: '1', OVERLAPPED_BACKEND: '' },
    timeoutMs: 20 * 60_000,
  });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  if (existsSync(summaryInside)) {
    const summary = JSON.parse(readFileSync(summaryInside, 'utf8'));
    outcome = { summary, code: summary.failed > 0 || result.status !== 0 ? 1 : 0 };
  } else {
    console.error(`[iocp] node.exe exited ${result.status ?? (result.timedOut ? 'on timeout' : result.signal)} without a summary`);
    outcome = { summary: { backend: 'iocp', passed: 0, failed: 1 }, code: 1 };
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// The backend's own checks without Node (native/test/backend_stress_win.cc:
// exactly-once delivery under load, Stop, the error table, a stray packet
// of a continuing op's later step), counted in the same summary.
if (!values.suites) {
  const { buildBackendStress } = await import(join(iocpRoot, 'scripts', 'windows', 'build.mjs'));
  const { runWindowsExecutable } = await import(join(iocpRoot, 'scripts', 'windows', 'wine-node.mjs'));
  const result = await runWindowsExecutable({ executable: buildBackendStress(), args: ['200000'], timeoutMs: 5 * 60_000 });
  process.stdout.write(`\n[iocp] backend checks without Node (backend_stress_win.exe under Wine)\n${result.stdout}`);
  process.stderr.write(result.stderr);
  const counts = /(\d+) passed, (\d+) failed/.exec(result.stdout);
  const passed = counts ? Number(counts[1]) : 0;
  const failed = counts ? Number(counts[2]) : 1;
  outcome.summary.passed += passed;
  outcome.summary.failed += failed;
  if (failed > 0 || result.status !== 0) outcome.code = 1;
}
finish(outcome.summary, outcome.code);
