#!/usr/bin/env node
// The two commands a new user runs, `npm run demo` and `npm test`, land
// here. Nothing needs installing by hand first: pnpm comes through npx at
// the version pinned in package.json's packageManager, then the workspace is
// installed, built (turbo: native core, then TypeScript) and run.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { enginesRange, satisfies } from './packages.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const engines = enginesRange();
if (!satisfies(process.version, engines)) {
  console.error(`overlapped needs Node ${engines} (engines in package.json); this is Node ${process.version}`);
  process.exit(1);
}
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', COREPACK_ENABLE_STRICT: '0' };

function step(title, command, args) {
  console.log(`\n> ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (result.status !== 0) {
    console.error(`\n${title} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
}

function pnpm(title, args) {
  step(title, npx, ['--yes', packageManager, ...args]);
}

const task = process.argv[2];
if (task !== 'demo' && task !== 'test') {
  console.error('usage: node scripts/run.mjs demo|test');
  process.exit(2);
}

pnpm('install the workspace', ['install', '--frozen-lockfile']);
pnpm('build the packages', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
if (task === 'test') {
  step('run the tests on every backend', process.execPath, [join(root, 'scripts', 'test.mjs'), ...process.argv.slice(3)]);
} else {
  step('run the demo', process.execPath, [join(root, 'apps', 'bench', 'dist', 'cli.js'), 'demo', ...process.argv.slice(3)]);
}
