#!/usr/bin/env node
/**
 * overlapped-bench: runs the benchmark scenarios side by side and prints
 * ratios; `--json FILE` also writes them as JSON.
 *
 *   overlapped-bench demo                 a short run of every scenario
 *   overlapped-bench run [--rounds N] [--count N] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import type { ScenarioResult } from './harness.js';
import { portDelivery } from './scenarios/port-delivery.js';

const usage = `usage: overlapped-bench <demo|run> [--rounds N] [--count N] [--json FILE]

  demo   a short run of every scenario (what \`npm run demo\` shows)
  run    the full benchmark: more rounds, more completions per round

Every scenario runs its contenders alternately in one process and reports
each contender's median rate and its ratio to the scenario's baseline.`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string' },
      count: { type: 'string' },
      json: { type: 'string' },
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
  console.log(`overlapped-bench ${command}: Node ${process.version}, ${process.platform}-${process.arch}`);
  const results: ScenarioResult[] = [];
  results.push(await portDelivery({ count, rounds, log: console.log }));
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
