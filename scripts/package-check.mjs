#!/usr/bin/env node
// The package check: the public packages as a user gets them from npm.
// Packs every public package (scripts/pack.mjs, which also checks the
// tarballs' contents), installs the tarballs with plain npm into a fresh
// folder outside the workspace, then:
//   - loads the installed native core with PREBUILDS_ONLY=1;
//   - type-checks (tsc from the workspace, strict) the READMEs' TypeScript
//     examples and a TypeScript consumer (scripts/consumer) with
//     `moduleResolution: node16` and with `bundler`, the JavaScript examples
//     with checkJs (node16), and the CommonJS examples and consumer with
//     `nodenext`, the one resolution under which CommonJS may require() an
//     ES module;
//   - runs every example of every README verbatim (scripts/readme-examples.mjs)
//     and the consumers on the lowest Node version `engines` names, on the
//     native backend, then again with OVERLAPPED_BACKEND=portable;
//   - runs publint and @arethetypeswrong/cli over each tarball.
//
//   node scripts/package-check.mjs [--summary FILE] [--keep]
//
// Writes { passed, failed, notRun: [{ example, reason }] } to FILE; exits 1
// when a check failed.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { checkTarballs, packPublicPackages } from './pack.mjs';
import { enginesRange, lowestVersion, root } from './packages.mjs';
import { extractExamples, readmePaths } from './readme-examples.mjs';

const { values } = parseArgs({ options: { summary: { type: 'string' }, keep: { type: 'boolean' } } });
const { ensureNode } = await import(join(root, 'packages', 'iocp', 'scripts', 'windows', 'fetch-node.mjs'));

const checks = { passed: 0, failed: 0, notRun: [] };
let lastRecord = performance.now();
function record(ok, title, detail = '') {
  checks[ok ? 'passed' : 'failed']++;
  const seconds = ((performance.now() - lastRecord) / 1000).toFixed(1);
  lastRecord = performance.now();
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${title} (${seconds} s)`);
  if (detail && !ok) console.log(detail.replace(/^/gm, '       | ').trimEnd());
}

/** Runs a command; its output is kept for the report. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20, ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  const status = result.error ? `${result.error.code ?? result.error.message}` : result.status ?? result.signal;
  return { ok: result.status === 0, output, status };
}

const work = mkdtempSync(join(tmpdir(), 'overlapped-package-check-'));
try {
  const version = lowestVersion(enginesRange());
  const node = ensureNode(version);
  console.log(`\npackage check: tarballs installed with npm, examples on Node ${version} (the lowest engines.node names)`);

  // 1. Pack, and check what is inside.
  const packed = packPublicPackages(join(work, 'tarballs'));
  const { problems, notes } = checkTarballs(packed);
  for (const note of notes) console.log(`  note ${note}`);
  record(problems.length === 0, 'tarball contents: LICENSE, README, manifest fields, source maps, prebuilds', problems.join('\n'));

  // 2. Install the tarballs as a user would: plain npm, a fresh folder.
  const app = join(work, 'app');
  mkdirSync(join(app, 'examples'), { recursive: true });
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
  const typesNode = JSON.parse(readFileSync(join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version;
  const install = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...packed.map((p) => p.tarball), `@types/node@${typesNode}`], { cwd: app });
  record(install.ok, 'npm install of the tarballs (no workspace)', install.output);
  if (!install.ok) throw new Error('nothing to check without an install');

  const nativeEnv = { ...process.env, PREBUILDS_ONLY: '1' };
  delete nativeEnv.OVERLAPPED_BACKEND;
  const probe = run(node, ['--input-type=module', '-e', "import { loadNativeCore } from '@overlapped/iocp'; console.log(loadNativeCore().backends().join(', '))"], { cwd: app, env: nativeEnv });
  record(probe.ok, `the installed prebuild loads on Node ${version} (backends: ${probe.output.trim().split('\n').pop()})`, probe.output);

  // 3. The READMEs' examples and the consumers, written into the app.
  const examples = [];
  for (const readme of readmePaths()) {
    try {
      examples.push(...extractExamples(readme));
    } catch (error) {
      record(false, `examples of ${readme}`, error.message);
    }
  }
  const runnable = [];
  for (const example of examples) {
    if (example.kind === 'not-run') {
      checks.notRun.push({ example: `${example.readme}:${example.line}`, reason: example.reason });
      continue;
    }
    const file = join('examples', `${example.id}.${example.kind}`);
    writeFileSync(join(app, file), example.code);
    // TypeScript is run as tsc (node16) emits it, beside the other outputs.
    const runs = example.kind === 'ts' ? join('out', file.replace(/\.ts$/, '.js')) : file;
    runnable.push({ title: `${example.readme}:${example.line} (${example.kind})`, runs, nativeOnly: example.nativeOnly });
  }
  cpSync(join(root, 'scripts', 'consumer'), join(app, 'consumer'), { recursive: true });
  runnable.push({ title: 'TypeScript consumer (ESM)', runs: join('out', 'consumer', 'consumer.js') });
  runnable.push({ title: 'TypeScript consumer (CommonJS)', runs: join('out', 'consumer', 'consumer.cjs') });

  // 4. Type-check: strict, as a user's project would, against the installed packages.
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const strict = { strict: true, target: 'ES2022', types: ['node'], skipLibCheck: false, rootDir: '.' };
  const configs = {
    // The JavaScript examples too (checkJs): what an editor would flag in them.
    node16: { ...strict, module: 'node16', moduleResolution: 'node16', outDir: 'out', allowJs: true, checkJs: true },
    bundler: { ...strict, module: 'esnext', moduleResolution: 'bundler', noEmit: true },
    nodenext: { ...strict, module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out', allowJs: true, checkJs: true },
  };
  for (const [resolution, compilerOptions] of Object.entries(configs)) {
    // CommonJS can require() these ES modules under nodenext only.
    const include = {
      node16: ['examples/*.ts', 'examples/*.mjs', 'consumer/*.ts'],
      bundler: ['examples/*.ts', 'consumer/*.ts'],
      nodenext: ['examples/*.cjs', 'consumer/*.cts'],
    }[resolution];
    writeFileSync(join(app, `tsconfig.${resolution}.json`), JSON.stringify({ compilerOptions, include }, null, 2));
    const compiled = run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], { cwd: app });
    const what = {
      node16: 'the ES module examples (JavaScript with checkJs) and the consumer',
      bundler: 'the TypeScript examples and the consumer',
      nodenext: 'the CommonJS examples and consumer',
    }[resolution];
    record(compiled.ok, `tsc --moduleResolution ${resolution}: ${what}`, compiled.output);
  }

  // 5. Run everything: native first, then portable, in a scratch folder
  // that is also their os.tmpdir(), so what they write goes with it.
  const scratch = join(work, 'scratch');
  mkdirSync(scratch);
  for (const backend of ['native', 'portable']) {
    console.log(`  examples on ${backend === 'native' ? 'the native backend (PREBUILDS_ONLY=1)' : 'OVERLAPPED_BACKEND=portable'}:`);
    const env = { ...(backend === 'native' ? nativeEnv : { ...process.env, OVERLAPPED_BACKEND: 'portable' }), TMPDIR: scratch };
    for (const { title, runs, nativeOnly } of runnable) {
      if (backend === 'portable' && nativeOnly) {
        console.log(`  --   ${title}: native only (${nativeOnly})`);
        continue;
      }
      const result = run(node, [join(app, runs)], { cwd: scratch, env, timeout: 60_000 });
      record(result.ok, `${title} [${backend}]${result.ok ? '' : ` exited ${result.status}`}`, result.output);
      if (result.ok && backend === 'native' && process.env.OVERLAPPED_EXAMPLES_VERBOSE) console.log(result.output.replace(/^/gm, '       > ').trimEnd());
    }
  }

  // 6. publint and attw over each tarball.
  const bin = (name) => join(root, 'node_modules', '.bin', name);
  for (const { name, tarball } of packed) {
    const lint = run(bin('publint'), ['run', '--strict', '--level', 'suggestion', tarball]);
    record(lint.ok, `publint ${name}`, lint.output);
    // require() of these ES modules works on every Node version engines
    // names (require(esm)); attw's node16-from-CJS column models the older
    // Node that could only import() them, which engines rules out.
    const types = run(bin('attw'), [tarball, '--format', 'ascii', '--ignore-rules', 'cjs-resolves-to-esm'], { env: { ...process.env, NO_COLOR: '1' } });
    record(types.ok, `attw ${name}`, types.output);
  }

  for (const { example, reason } of checks.notRun) console.log(`  not run: ${example}: ${reason}`);
} catch (error) {
  record(false, 'package check', error.stack ?? String(error));
} finally {
  if (values.keep) console.log(`  kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

console.log(`package check: ${checks.passed} passed, ${checks.failed} failed, ${checks.notRun.length} examples not run`);
if (values.summary) {
  mkdirSync(dirname(values.summary), { recursive: true });
  writeFileSync(values.summary, JSON.stringify(checks));
}
process.exit(checks.failed > 0 ? 1 : 0);
