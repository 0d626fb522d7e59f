#!/usr/bin/env node
// Builds the native core for this machine with prebuildify (N-API, so one
// binary serves every Node version) and, where the mingw-w64 toolchain is
// installed, the win32-x64 prebuild too. OVERLAPPED_REQUIRE_WIN32=1 makes a
// missing toolchain an error instead of a notice.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

// Build against the running Node's own headers where they are installed
// (<prefix>/include/node), instead of downloading a headers tarball.
const env = { ...process.env };
const prefix = dirname(dirname(process.execPath));
if (!env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
  env.npm_config_nodedir = prefix;
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`build-native: ${command} ${args.join(' ')} failed (${result.status ?? result.signal})`);
    process.exit(1);
  }
}

if (process.platform !== 'win32') {
  const prebuildify = join(dirname(require.resolve('prebuildify/package.json')), 'bin.js');
  // binding.gyp lives in native/ so that package managers do not try a
  // from-source build on install; the prebuild lands in prebuilds/.
  run(process.execPath, [
    prebuildify, '--napi', '--strip', '--name', '@overlapped/iocp', '--out', root,
    '--target', `node@${process.versions.node}`, join(root, 'native'),
  ]);
}

// Only Node-API may cross the addon boundary: no libuv, V8 or node:: symbol.
if (process.platform === 'linux') {
  const prebuild = join(root, 'prebuilds', `linux-${process.arch}`, '@overlapped+iocp.node');
  const nm = spawnSync('nm', ['-D', '--undefined-only', prebuild], { encoding: 'utf8' });
  if (nm.status === 0) {
    const foreign = nm.stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/).pop())
      .filter((name) => name && /^(uv_|_ZN2v8|_ZN4node|node_)/.test(name));
    if (foreign.length > 0) {
      console.error(`build-native: ${prebuild} imports symbols beyond Node-API: ${foreign.join(', ')}`);
      process.exit(1);
    }
  }
}

const windowsBuild = join(root, 'scripts', 'windows', 'build.mjs');
const hasMingw = spawnSync('x86_64-w64-mingw32-g++-posix', ['--version'], { stdio: 'ignore' }).status === 0;
if (process.platform !== 'win32' && existsSync(windowsBuild) && existsSync(join(root, 'native', 'win'))) {
  if (hasMingw) {
    run(process.execPath, [windowsBuild]);
  } else if (process.env.OVERLAPPED_REQUIRE_WIN32 === '1') {
    console.error('build-native: x86_64-w64-mingw32-g++-posix not found and OVERLAPPED_REQUIRE_WIN32=1');
    process.exit(1);
  } else {
    console.log('build-native: win32-x64 prebuild skipped (install g++-mingw-w64-x86-64 to build it)');
  }
}
