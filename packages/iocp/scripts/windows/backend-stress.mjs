#!/usr/bin/env node
// Builds native/test/backend_stress_win.cc with native/win/*.cc into a
// Windows console program and runs it under Wine: completions posted from
// 4 threads + the main thread through the iocp backend (4 workers,
// concurrency 2), checked for exactly-once delivery and the concurrency
// limit. Runs before any JS layer exists.
//
//   node backend-stress.mjs [completions=1000000] [--timeout-ms=600000]
//
// Under Wine every post and every reap is a round trip to wineserver: 1M
// completions take about 8 s here. Speed is measured on Linux; this is for
// behaviour.

import { buildBackendStress } from './build.mjs';
import { runWindowsExecutable } from './wine-node.mjs';

const timeoutArg = process.argv.find((arg) => arg.startsWith('--timeout-ms='));
const timeoutMs = timeoutArg ? Number(timeoutArg.split('=')[1]) : 600_000;
const completions = process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? '1000000';

const executable = buildBackendStress();
const result = await runWindowsExecutable({ executable, args: [completions], timeoutMs });
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
if (result.timedOut) {
  process.stderr.write(`backend-stress: timed out after ${timeoutMs} ms\n`);
  process.exitCode = 124;
} else {
  process.stdout.write(`backend-stress: wine run took ${(result.elapsedMs / 1000).toFixed(1)} s\n`);
  process.exitCode = result.status ?? 1;
}
