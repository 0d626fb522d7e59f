#!/usr/bin/env node
// Packs every public package with `pnpm pack` (so each package's own pack
// scripts run, as on publish) and checks what users would get:
//   - LICENSE (the repository's) and README.md in every tarball;
//   - repository (with directory), homepage, bugs and engines in every
//     manifest, and no `workspace:` range left in its dependencies;
//   - every source map's sources shipped beside it (maps and "go to
//     definition" resolve into `src/`);
//   - every promised prebuild in @overlapped/iocp, whose size it prints.
//
//   node scripts/pack.mjs [--dest DIR]      (default: a fresh temporary folder)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { pnpm, publicPackages, root } from './packages.mjs';

/**
 * The prebuild folders @overlapped/iocp promises: a tarball without any of
 * them must not be published.
 */
export const REQUIRED_PREBUILDS = ['linux-x64', 'linux-arm64', 'win32-x64'];

/**
 * Packs each public package of the workspace at `base` into `dest` with
 * `pnpm pack`; returns `[{ name, folder, tarball }]` in dependency order.
 *
 * @example
 *   const packed = packPublicPackages('/tmp/tarballs');
 */
export function packPublicPackages(dest, base = root) {
  mkdirSync(dest, { recursive: true });
  return publicPackages(base).map(({ name, folder, dir }) => {
    const before = new Set(readdirSync(dest));
    execFileSync(pnpm(), ['pack', '--pack-destination', dest], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const made = readdirSync(dest).filter((file) => !before.has(file) && file.endsWith('.tgz'));
    if (made.length !== 1) throw new Error(`pnpm pack in packages/${folder} made ${made.length} tarballs`);
    return { name, folder, tarball: join(dest, made[0]) };
  });
}

/** The paths inside a tarball, without the leading `package/`. */
export function tarballFiles(tarball) {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((line) => line.startsWith('package/') && !line.endsWith('/'))
    .map((line) => line.slice('package/'.length));
}

/** One file of a tarball as text. */
export function tarballText(tarball, file) {
  return execFileSync('tar', ['-xzOf', tarball, `package/${file}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/**
 * Checks packed tarballs (as returned by {@link packPublicPackages}); returns
 * `{ problems, notes }`, each a list of sentences. `expectVersion`, when
 * given, is the version every manifest must carry.
 *
 * @example
 *   const { problems } = checkTarballs(packPublicPackages(dir));
 *   if (problems.length) process.exit(1);
 */
export function checkTarballs(packed, { expectVersion } = {}) {
  const problems = [];
  const notes = [];
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  for (const { name, tarball } of packed) {
    const files = tarballFiles(tarball);
    const shipped = new Set(files);
    const problem = (text) => problems.push(`${name}: ${text}`);

    if (!shipped.has('LICENSE')) problem('no LICENSE');
    else if (tarballText(tarball, 'LICENSE') !== license) problem("LICENSE differs from the repository's");
    if (!shipped.has('README.md')) problem('no README.md');

    const manifest = JSON.parse(tarballText(tarball, 'package.json'));
    if (!manifest.repository?.url || !manifest.repository?.directory) problem('no repository.url and repository.directory');
    if (!manifest.homepage) problem('no homepage');
    if (!manifest.bugs?.url) problem('no bugs.url');
    if (!manifest.engines?.node) problem('no engines.node');
    if (expectVersion && manifest.version !== expectVersion) problem(`version ${manifest.version}, expected ${expectVersion}`);
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [dependency, range] of Object.entries(manifest[field] ?? {})) {
        if (String(range).startsWith('workspace:')) problem(`${field}.${dependency} is still '${range}'`);
      }
    }

    for (const map of files.filter((file) => file.endsWith('.map'))) {
      const { sources = [] } = JSON.parse(tarballText(tarball, map));
      for (const source of sources) {
        const resolved = posix.normalize(posix.join(posix.dirname(map), source));
        if (!shipped.has(resolved)) problem(`${map} points at ${resolved}, which is not shipped`);
      }
    }

    if (name === '@overlapped/iocp') {
      for (const target of REQUIRED_PREBUILDS) {
        const present = files.some((file) => file.startsWith(`prebuilds/${target}/`) && file.endsWith('.node'));
        if (!present) problem(`no prebuilds/${target}/*.node`);
      }
      const kib = (statSync(tarball).size / 1024).toFixed(0);
      notes.push(`${name}: tarball ${kib} KiB, prebuilds ${files.filter((f) => f.startsWith('prebuilds/')).join(', ')}`);
    }
  }
  return { problems, notes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { dest: { type: 'string' } } });
  const dest = values.dest ?? mkdtempSync(join(tmpdir(), 'overlapped-pack-'));
  const packed = packPublicPackages(dest);
  const { problems, notes } = checkTarballs(packed);
  for (const { tarball } of packed) console.log(tarball);
  for (const note of notes) console.log(`note: ${note}`);
  for (const problem of problems) console.error(`problem: ${problem}`);
  process.exit(problems.length > 0 ? 1 : 0);
}
