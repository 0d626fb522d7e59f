#!/usr/bin/env node
// Checks @overlapped/iocp as packed for publishing, and as installed by a
// user on a machine no prebuild fits:
//   1. the tarball (packed without any override, so the prepack guard
//      runs) carries every promised prebuild, each of the right format and
//      CPU, the native sources and the from-source build script; its size
//      and the prebuilds' are printed;
//   2. common, iocp, portable and file, packed, installed with plain npm
//      into a fresh folder; with the prebuilds removed, @overlapped/file
//      falls back to portable with one warning that says how to build from
//      source; the README's steps (node scripts/build-from-source.mjs in
//      the installed package) build the core, which then loads, and the
//      file runs on a native backend with no warning.
//
//   node scripts/check-packed.mjs [--summary FILE]
//
// Writes { passed, failed } (or { skipped: true, reason } where a promised
// prebuild was not built here and OVERLAPPED_REQUIRE_PREBUILDS is not set).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isSet } from './env.mjs';
import { binaryFormat, checkPrebuilds, IOCP_ROOT, PREBUILD_FILE, PROMISED_PREBUILDS } from './prebuilds.mjs';

const REPO_ROOT = join(IOCP_ROOT, '..', '..');
const { values } = parseArgs({ options: { summary: { type: 'string' } } });
const results = { passed: 0, failed: 0 };

function finish(summary) {
  if (values.summary) writeFileSync(values.summary, JSON.stringify(summary));
  console.log(`[packed] ${summary.skipped ? `skipped: ${summary.reason}` : `${summary.passed} passed, ${summary.failed} failed`}`);
  process.exit(summary.failed > 0 ? 1 : 0);
}

function check(title, ok, detail = '') {
  results[ok ? 'passed' : 'failed']++;
  const more = !ok && detail ? `\n  ${detail.trim().replace(/\n/g, '\n  ')}` : '';
  console.log(`[packed] ${ok ? 'ok' : 'FAILED'}: ${title}${more}`);
}

const missing = checkPrebuilds().prebuilds.filter((p) => p.problems.length > 0);
if (missing.length > 0 && !isSet(process.env.OVERLAPPED_REQUIRE_PREBUILDS)) {
  finish({ skipped: true, reason: `prebuilds not built here: ${missing.map((p) => p.folder).join(', ')}` });
}

const { packageManager } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
function pack(name, destination) {
  const result = spawnSync('npx', ['--yes', packageManager, 'pack', '--pack-destination', destination], {
    cwd: join(REPO_ROOT, 'packages', name),
    encoding: 'utf8',
  });
  const tarball = readdirSync(destination).find((f) => f.startsWith(`overlapped-${name}-`));
  return { ok: result.status === 0 && tarball !== undefined, tarball: tarball && join(destination, tarball), output: `${result.stdout}${result.stderr}` };
}

function run(command, args, options) {
  return spawnSync(command, args, { encoding: 'utf8', timeout: 10 * 60_000, ...options });
}

const work = mkdtempSync(join(tmpdir(), 'overlapped-packed-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
try {
  // 1. The tarball as published.
  const iocp = pack('iocp', tarballs);
  check('@overlapped/iocp packs (its prepack guard passes)', iocp.ok, iocp.ok ? '' : iocp.output);
  if (iocp.ok) checkPacked(iocp.tarball);
} finally {
  rmSync(work, { recursive: true, force: true });
}
finish(results);

function checkPacked(tarball) {
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
  let prebuildBytes = 0;
  for (const { folder, format, machine } of PROMISED_PREBUILDS) {
    const entry = `package/prebuilds/${folder}/${PREBUILD_FILE}`;
    const inside = listing.includes(entry);
    const found = inside ? binaryFormat(join(unpacked, 'prebuilds', folder, PREBUILD_FILE)) : undefined;
    if (inside) prebuildBytes += statSync(join(unpacked, 'prebuilds', folder, PREBUILD_FILE)).size;
    check(
      `the tarball carries prebuilds/${folder} (${format} ${machine})`,
      inside && found.format === format && found.machine === machine,
      inside ? `found ${found.format} ${found.machine}` : `${entry} is not in the tarball`,
    );
  }
  for (const entry of ['package/scripts/build-from-source.mjs', 'package/native/binding.gyp', 'package/native/addon.cc']) {
    check(`the tarball carries ${entry.slice('package/'.length)}`, listing.includes(entry));
  }
  check('the tarball leaves out native tests and builds', !listing.some((e) => /^package\/native\/(test|build)\//.test(e)));
  const tarballBytes = statSync(tarball).size;
  console.log(
    `[packed] @overlapped/iocp tarball: ${(tarballBytes / 1024).toFixed(0)} KiB packed; ` +
      `prebuilds ${(prebuildBytes / 1024).toFixed(0)} KiB unpacked (limit 2048 KiB)`,
  );
  check('the prebuilds together weigh under 2 MiB', prebuildBytes < 2 * 1024 * 1024);

  // 2. Installed with plain npm, prebuilds removed, built from source.
  if (process.platform === 'linux') {
    const packed = [tarball];
    for (const name of ['common', 'portable', 'file']) {
      const result = pack(name, tarballs);
      check(`@overlapped/${name} packs`, result.ok, result.ok ? '' : result.output);
      packed.push(result.tarball);
    }
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const install = run('npm', ['install', '--no-audit', '--no-fund', ...packed], { cwd: app });
    check('npm installs the tarballs', install.status === 0, install.status === 0 ? '' : install.stderr);
    const installed = join(app, 'node_modules', '@overlapped', 'iocp');
    rmSync(join(installed, 'prebuilds'), { recursive: true, force: true });
    const probe = join(app, 'probe.mjs');
    writeFileSync(
      probe,
      [
        "import { open } from '@overlapped/file';",
        "const path = new URL('./probe.bin', import.meta.url);",
        "const file = await open(path.pathname, { disposition: 'create-always', access: 'read-write' });",
        "await file.writeAt(Buffer.from('overlapped'), 4096);",
        'const back = Buffer.alloc(10);',
        'await file.readAt(back, 4096);',
        'console.log(JSON.stringify({ backend: file.backend, data: back.toString() }));',
        'await file.close();',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, OVERLAPPED_BACKEND: '', PREBUILDS_ONLY: '' };
    const before = run(process.execPath, [probe], { cwd: app, env });
    const warnings = before.stderr.split('\n').filter((line) => line.includes('OVERLAPPED_BACKEND_FALLBACK'));
    check(
      'without a prebuild, the file falls back to portable with one warning naming the build step',
      before.status === 0 &&
        JSON.parse(before.stdout).backend === 'portable' &&
        warnings.length === 1 &&
        before.stderr.includes(`node ${join(installed, 'scripts', 'build-from-source.mjs')}`),
      `${before.stdout}${before.stderr}`,
    );
    const started = Date.now();
    const build = run(process.execPath, ['scripts/build-from-source.mjs'], { cwd: installed });
    check(
      `node scripts/build-from-source.mjs builds the core in the installed package (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      build.status === 0 && existsSync(join(installed, 'native', 'build', 'Release', 'overlapped.node')),
      build.status === 0 ? '' : `${build.stdout}${build.stderr}`,
    );
    const after = run(process.execPath, [probe], { cwd: app, env });
    const outcome = after.status === 0 ? JSON.parse(after.stdout) : {};
    const warned = after.stderr.includes('OVERLAPPED_BACKEND_FALLBACK');
    check(
      'the from-source core loads: the file runs on a native backend, bytes intact, no warning',
      outcome.data === 'overlapped' &&
        // threadpool only where this kernel refuses io_uring, and then says so.
        (outcome.backend === 'io_uring' ? !warned : outcome.backend === 'threadpool' && /io_uring cannot run/.test(after.stderr)),
      `${after.stdout}${after.stderr}`,
    );
  }
}
