#!/usr/bin/env node
// The suites on the lowest Node version `engines` names: the binary comes
// from the npm package node-<platform>-<arch> of that exact version, cached
// outside the repository, and runs vitest over the common package's tests
// and the testkit conformance suites (io_uring, threadpool, portable), with
// its folder first on PATH so that child processes the tests start run on
// it too. A version that cannot be fetched or run is a failure, not a skip:
// `engines` is a promise.
//
//   node scripts/lowest-node.mjs [--summary FILE]
//
// Writes { version, passed, failed, skipped } to FILE.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { enginesRange, lowestVersion, root } from './packages.mjs';

const { values } = parseArgs({ options: { summary: { type: 'string' } } });
const { ensureNode } = await import(join(root, 'packages', 'iocp', 'scripts', 'windows', 'fetch-node.mjs'));

let version = '?';
function finish(summary) {
  if (values.summary) {
    mkdirSync(dirname(values.summary), { recursive: true });
    writeFileSync(values.summary, JSON.stringify({ version, ...summary }));
  }
  process.exit(summary.failed > 0 || summary.passed === 0 ? 1 : 0);
}

let node;
try {
  version = lowestVersion(enginesRange());
  node = ensureNode(version);
  const reported = spawnSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).stdout?.trim();
  if (reported !== `v${version}`) throw new Error(`${node} reports ${reported || 'nothing'}, not v${version}`);
} catch (error) {
  console.error(`\n[node ${version}] cannot run the suites on the lowest Node engines names: ${error.message}`);
  finish({ passed: 0, failed: 1, skipped: 0 });
}

console.log(`\nthe suites on Node ${version}, the lowest version engines.node names (${node})`);
const report = join(root, '.artifacts', 'vitest-lowest-node.json');
rmSync(report, { force: true });
mkdirSync(dirname(report), { recursive: true });
const vitest = spawnSync(
  node,
  [
    join(root, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--project',
    'common',
    '--project',
    'testkit',
    '--reporter=dot',
    '--reporter=json',
    `--outputFile.json=${report}`,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}` } },
);
if (!existsSync(report)) {
  console.error(`[node ${version}] vitest wrote no report (exit ${vitest.status ?? vitest.signal})`);
  finish({ passed: 0, failed: 1, skipped: 0 });
}
const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(readFileSync(report, 'utf8'));
finish({ passed: numPassedTests, failed: numFailedTests + (vitest.status === 0 ? 0 : numFailedTests === 0 ? 1 : 0), skipped: numPendingTests + numTodoTests });
