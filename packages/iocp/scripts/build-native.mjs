#!/usr/bin/env node
// Builds the native core's prebuilds (Node-API, so one binary serves every
// Node version):
//   - on Linux, linux-x64 and linux-arm64 against glibc 2.17
//     (scripts/linux/build.mjs; arm64 with g++-aarch64-linux-gnu), and
//     win32-x64 with mingw-w64 (scripts/windows/build.mjs);
//   - first, the op table's generated files (scripts/op-table.mjs);
//   - on other POSIX systems, which no prebuild serves, a from-source build
//     into native/build/Release (scripts/build-from-source.mjs).
// A prebuild for this machine's own CPU must build. The others are skipped
// with a notice where their cross compiler is missing, unless
// OVERLAPPED_REQUIRE_PREBUILDS=1 (every promised prebuild must build) or,
// for win32-x64 alone, OVERLAPPED_REQUIRE_WIN32=1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFromSource } from './build-from-source.mjs';
import { isSet } from './env.mjs';
import { buildLinuxPrebuild } from './linux/build.mjs';
import { generateOpTable } from './op-table.mjs';
import { ToolchainUnavailable } from './linux/toolchain.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requireAll = isSet(process.env.OVERLAPPED_REQUIRE_PREBUILDS);
const requireWin32 = requireAll || isSet(process.env.OVERLAPPED_REQUIRE_WIN32);

function fail(message) {
  console.error(`build-native: ${message}`);
  process.exit(1);
}

// The op table's generated header first (it writes only what changed).
try {
  for (const path of await generateOpTable()) console.log(`build-native: generated ${path}`);
} catch (error) {
  fail(`op table: ${error.message}`);
}

if (process.platform === 'linux') {
  for (const arch of ['x64', 'arm64']) {
    try {
      const { path, bytes } = await buildLinuxPrebuild(arch);
      console.log(`build-native: ${path} (${(bytes / 1024).toFixed(0)} KiB, glibc 2.17+)`);
    } catch (error) {
      const optional = error instanceof ToolchainUnavailable && arch !== process.arch && !requireAll;
      if (!optional) fail(`linux-${arch} prebuild: ${error.message}`);
      console.log(`build-native: linux-${arch} prebuild skipped: ${error.message}`);
    }
  }
} else if (process.platform !== 'win32') {
  try {
    console.log(`build-native: ${await buildFromSource()} (no prebuild serves ${process.platform}-${process.arch})`);
  } catch (error) {
    fail(error.message);
  }
}

const windowsBuild = join(root, 'scripts', 'windows', 'build.mjs');
const hasMingw = spawnSync('x86_64-w64-mingw32-g++-posix', ['--version'], { stdio: 'ignore' }).status === 0;
if (process.platform !== 'win32' && existsSync(windowsBuild) && existsSync(join(root, 'native', 'win'))) {
  if (hasMingw) {
    const result = spawnSync(process.execPath, [windowsBuild], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) fail(`win32-x64 prebuild failed (${result.status ?? result.signal})`);
  } else if (requireWin32) {
    fail('x86_64-w64-mingw32-g++-posix not found (apt-get install g++-mingw-w64-x86-64) and the win32-x64 prebuild is required');
  } else {
    console.log('build-native: win32-x64 prebuild skipped (install g++-mingw-w64-x86-64 to build it)');
  }
}
