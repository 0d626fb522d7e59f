#!/usr/bin/env node
/**
 * overlapped-bench: runs the benchmark scenarios side by side and prints
 * ratios; `--json FILE` also writes them as JSON.
 *
 *   overlapped-bench demo                 a short run of every scenario but file-server
 *   overlapped-bench run [--rounds N] [--count N] [--scenario LIST] [--file-size MiB] [--echo-seconds S] [--echo-servers LIST] [--http-seconds S] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import * as file from '@overlapped/file';

import type { ScenarioResult } from './harness.js';
import { fileCopy } from './scenarios/file-copy.js';
import { MiB } from './scenarios/file-fixture.js';
import { fileRandomRead } from './scenarios/file-random-read.js';
import { fileWrite } from './scenarios/file-write.js';
import { BUN_LISTEN, echoScenarios, type EchoScenarioResult } from './scenarios/echo.js';
import { fileServerScenarios, type FileServerScenarioResult } from './scenarios/file-server.js';
import { portDelivery } from './scenarios/port-delivery.js';

const SCENARIOS = ['port-delivery', 'file-random-read', 'file-write', 'file-copy', 'echo', 'file-server'] as const;
type ScenarioName = (typeof SCENARIOS)[number];
// The demo leaves out file-server (its large file and wrk make it long)
// unless asked for by name.
const DEMO_SCENARIOS: readonly ScenarioName[] = SCENARIOS.filter((name) => name !== 'file-server');

const usage = `usage: overlapped-bench <demo|run> [options]

  demo   a short run of every scenario but file-server (what \`npm run demo\` shows)
  run    the full benchmark: more rounds, more work per round

options:
  --rounds N         rounds per scenario (demo 3, run 5)
  --count N          port-delivery completions per round (demo 400000, run 2000000)
  --reads N          file-random-read reads per round (demo 40000, run 200000)
  --file-size MiB    size of the file scenarios' file, a multiple of 8 (demo 256, run 1024)
  --scenario LIST    comma-separated subset of: ${SCENARIOS.join(', ')}
  --echo-seconds S   seconds per echo round (demo 1, run 3)
  --echo-servers L   comma-separated parts of the overlapped echo servers' names to run
                     ("forward", "js (io_uring)", "events"); the C servers, net and Bun.listen always run
  --http-seconds S   whole seconds per file-server round (demo 1, run 3)
  --json FILE        also write the results as JSON

Every scenario runs its contenders alternately in one process and reports
each contender's median rate and its ratio to the scenario's baseline (the
median of the ratios within each round). The
file scenarios make their file once under the temp directory and keep it;
fio (apt-get install fio) is a contender of file-random-read when installed.
The echo servers run in child processes under the echo-bench load generator
(Linux only). file-server needs wrk (apt-get install wrk) and has nginx as a
contender when installed (apt-get install nginx-light); Bun and Deno come
from the bench's dev dependencies, each skipped with the reason where it
cannot run.`;

function positiveInteger(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : Number.NaN;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string' },
      count: { type: 'string' },
      reads: { type: 'string' },
      'file-size': { type: 'string' },
      scenario: { type: 'string' },
      json: { type: 'string' },
      'echo-seconds': { type: 'string' },
      'echo-servers': { type: 'string' },
      'http-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || (command !== 'demo' && command !== 'run')) {
    console.log(usage);
    return values.help ? 0 : 2;
  }
  const quick = command === 'demo';
  const rounds = positiveInteger(values.rounds, quick ? 3 : 5);
  const count = positiveInteger(values.count, quick ? 400_000 : 2_000_000);
  const reads = positiveInteger(values.reads, quick ? 40_000 : 200_000);
  const fileSizeMiB = positiveInteger(values['file-size'], quick ? 256 : 1024);
  const selected = (values.scenario?.split(',') ?? [...(quick ? DEMO_SCENARIOS : SCENARIOS)]) as ScenarioName[];
  const unknown = selected.filter((name) => !SCENARIOS.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
    return 2;
  }
  if (!(rounds > 0) || !(count >= 1000) || count % 2 !== 0 || !(reads >= 1000) || !(fileSizeMiB > 0) || fileSizeMiB % 8 !== 0) {
    console.error(
      '--rounds must be a positive integer, --count an even integer >= 1000, --reads an integer >= 1000, --file-size a multiple of 8',
    );
    return 2;
  }
  const echoSeconds = Number(values['echo-seconds'] ?? (quick ? 1 : 3));
  if (!(echoSeconds > 0 && echoSeconds <= 60)) {
    console.error('--echo-seconds must be a number in (0, 60]');
    return 2;
  }
  const httpSeconds = Number(values['http-seconds'] ?? (quick ? 1 : 3));
  if (!(Number.isInteger(httpSeconds) && httpSeconds > 0 && httpSeconds <= 60)) {
    console.error('--http-seconds must be a whole number of seconds from 1 to 60');
    return 2;
  }
  console.log(`overlapped-bench ${command}: Node ${process.version}, ${process.platform}-${process.arch}`);
  const log = console.log;
  const fileSize = fileSizeMiB * MiB;
  const results: Array<ScenarioResult | EchoScenarioResult | FileServerScenarioResult> = [];
  for (const name of selected) {
    const started = process.hrtime.bigint();
    if (name === 'port-delivery') results.push(await portDelivery({ count, rounds, log }));
    if (name === 'file-random-read') results.push(await fileRandomRead({ fileSize, count: reads, depth: 64, rounds, file, log }));
    if (name === 'file-write') results.push(await fileWrite({ fileSize, chunkSize: MiB, depth: 8, rounds, file, log }));
    if (name === 'file-copy') results.push(await fileCopy({ fileSize, rounds, file, log }));
    if (name === 'echo') {
      if (process.platform === 'linux') {
        const echoRounds = positiveInteger(values.rounds, quick ? 2 : 5);
        // Of the other runtimes, the demo runs Bun.listen only, to stay short.
        const runtimes = quick ? [BUN_LISTEN] : undefined;
        const only = values['echo-servers']?.split(',').map((part) => part.trim()).filter(Boolean);
        const settings = { sizes: [64, 16384], connections: 50, seconds: echoSeconds, warmup: quick ? 0.3 : 0.5, rounds: echoRounds, runtimes, only, log };
        results.push(...(await echoScenarios(settings)));
      } else {
        log('\necho: skipped (the load generator and the server CPU figures need Linux)');
      }
    }
    if (name === 'file-server') {
      if (process.platform === 'linux') {
        const httpRounds = positiveInteger(values.rounds, quick ? 2 : 5);
        const settings = { largeSize: fileSize, connections: 50, seconds: httpSeconds, warmup: 1, rounds: httpRounds, log };
        results.push(...(await fileServerScenarios(settings)));
      } else {
        log('\nfile-server: skipped (the server CPU figures need Linux)');
      }
    }
    log(`  (${name}: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s)`);
  }
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify({ node: process.version, platform: process.platform, results }, null, 2)}\n`);
    console.log(`\nwrote ${values.json}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
