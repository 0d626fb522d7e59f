#!/usr/bin/env node
/**
 * overlapped-bench: runs the benchmark scenarios side by side and prints
 * ratios; `--json FILE` also writes them as JSON.
 *
 *   overlapped-bench demo                 a short run of every scenario
 *   overlapped-bench run [--rounds N] [--count N] [--echo-seconds S] [--only NAME] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import type { ScenarioResult } from './harness.js';
import { echoScenarios, type EchoScenarioResult } from './scenarios/echo.js';
import { portDelivery } from './scenarios/port-delivery.js';

const usage = `usage: overlapped-bench <demo|run> [--rounds N] [--count N] [--echo-seconds S] [--only NAME] [--json FILE]

  demo   a short run of every scenario (what \`npm run demo\` shows)
  run    the full benchmark: more rounds, more completions per round

  --only port-delivery|echo   run one scenario
  --echo-seconds S            seconds per echo round (demo 1, run 3)

Every scenario runs its contenders alternately and reports each contender's
median and its ratio to the scenario's baselines; the echo servers run in
child processes under the echo-bench load generator.`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string' },
      count: { type: 'string' },
      json: { type: 'string' },
      only: { type: 'string' },
      'echo-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || (command !== 'demo' && command !== 'run')) {
    console.log(usage);
    return values.help ? 0 : 2;
  }
  const quick = command === 'demo';
  const rounds = Number(values.rounds ?? (quick ? 3 : 7));
  const count = Number(values.count ?? (quick ? 400_000 : 2_000_000));
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(count) || count < 1000 || count % 2 !== 0) {
    console.error('--rounds must be a positive integer and --count an even integer >= 1000');
    return 2;
  }
  const only = values.only;
  if (only !== undefined && only !== 'port-delivery' && only !== 'echo') {
    console.error("--only must be 'port-delivery' or 'echo'");
    return 2;
  }
  const echoSeconds = Number(values['echo-seconds'] ?? (quick ? 1 : 3));
  if (!(echoSeconds > 0 && echoSeconds <= 60)) {
    console.error('--echo-seconds must be a number in (0, 60]');
    return 2;
  }
  console.log(`overlapped-bench ${command}: Node ${process.version}, ${process.platform}-${process.arch}`);
  const results: Array<ScenarioResult | EchoScenarioResult> = [];
  if (only === undefined || only === 'port-delivery') results.push(await portDelivery({ count, rounds, log: console.log }));
  if (only === undefined || only === 'echo') {
    if (process.platform === 'linux') {
      const echoRounds = Number(values.rounds ?? (quick ? 2 : 5));
      results.push(...(await echoScenarios({ sizes: [64, 16384], connections: 50, seconds: echoSeconds, warmup: quick ? 0.3 : 0.5, rounds: echoRounds, log: console.log })));
    } else {
      console.log('\necho: skipped (the load generator and the server CPU figures need Linux)');
    }
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
