#!/usr/bin/env node
// Builds the native core from the sources this package ships, for a
// machine no prebuild fits, with the C++ compiler already installed (g++ or
// clang++, C++17; no Python, no node-gyp, nothing downloaded). The result,
// native/build/Release/overlapped.node, is loaded in preference to the
// prebuilds (unless PREBUILDS_ONLY is set).
//
//   node scripts/build-from-source.mjs          (from the installed package's folder)
//
// CXX picks the compiler (default c++). The Linux and win32 prebuilds are
// built by the repository's own scripts (scripts/linux/build.mjs,
// scripts/windows/build.mjs) from the same source lists as this script.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const IOCP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const NATIVE_ROOT = join(IOCP_ROOT, 'native');

/** Flags every build of the addon compiles with, whatever the compiler (as native/binding.gyp). */
export const ADDON_DEFINES = ['-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS'];
export const CXX_FLAGS = ['-std=c++17', '-fexceptions', '-Wall', '-Wextra', '-Wno-unused-parameter'];

/** The `.cc` files of native/<folder>, sorted, less `except`. */
export function nativeSources(folder, except = []) {
  const dir = join(NATIVE_ROOT, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cc') && !except.includes(name))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * The addon's sources for a platform, by the folder rule of
 * native/binding.gyp: addon.cc and common/, then win/ on Windows, linux/
 * plus posix/ (less the registry and poll readiness linux/ replaces) on
 * Linux, posix/ alone elsewhere.
 *
 * @example
 *   addonSources('linux'); // ['/…/native/addon.cc', '/…/native/common/port.cc', …]
 */
export function addonSources(platform = process.platform) {
  const shared = [join(NATIVE_ROOT, 'addon.cc'), ...nativeSources('common')];
  if (platform === 'win32') return [...shared, ...nativeSources('win')];
  if (platform === 'linux') {
    return [...shared, ...nativeSources('linux'), ...nativeSources('posix', ['registry_posix.cc', 'poll_readiness.cc'])];
  }
  return [...shared, ...nativeSources('posix')];
}

/**
 * The include folders of node-addon-api (napi.h) and node-api-headers
 * (node_api.h), both dependencies of this package.
 */
export function nodeApiIncludeDirs() {
  const requireFromIocp = createRequire(join(IOCP_ROOT, 'package.json'));
  try {
    return [
      dirname(requireFromIocp.resolve('node-addon-api/package.json')),
      requireFromIocp('node-api-headers').include_dir,
    ];
  } catch (error) {
    throw new Error('node-addon-api and node-api-headers must be installed beside @overlapped/iocp', { cause: error });
  }
}

function run(command, args) {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(command, args, { cwd: NATIVE_ROOT, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', (error) =>
      rejectRun(error.code === 'ENOENT' ? new Error(`${command} is not installed`, { cause: error }) : error),
    );
    child.once('close', (code, signal) => {
      if (code === 0) {
        process.stderr.write(stderr);
        resolveRun();
      } else {
        rejectRun(new Error(`${command} ${args.slice(-3).join(' ')} failed (${code ?? signal}):\n${stderr.trim()}`));
      }
    });
  });
}

/**
 * Compiles `sources` (C++; `.c` files with `cc`) into objects, `jobs` at a
 * time, and links them with `linkFlags` into `output`, which appears only
 * once the link has succeeded.
 *
 * @example
 *   await compileAddon({ cxx: 'c++', compileFlags: ['-O2', '-fPIC'], linkFlags: ['-shared'],
 *     sources: addonSources(), output: 'native/build/Release/overlapped.node' });
 */
export async function compileAddon({ cxx, cc = 'cc', compileFlags, linkFlags, sources, output, jobs = 2 }) {
  const workDir = mkdtempSync(join(tmpdir(), 'overlapped-compile-'));
  try {
    const objects = sources.map((source, i) => join(workDir, `${i}-${basename(source)}.o`));
    let next = 0;
    const worker = async () => {
      while (next < sources.length) {
        const i = next++;
        const source = sources[i];
        // A C source takes the same flags less the C++ standard.
        const isC = source.endsWith('.c');
        const flags = isC ? compileFlags.filter((flag) => !flag.startsWith('-std=c++')) : compileFlags;
        await run(isC ? cc : cxx, [...flags, '-c', source, '-o', objects[i]]);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
    const linked = join(workDir, basename(output));
    await run(cxx, [...objects, ...linkFlags, '-o', linked]);
    mkdirSync(dirname(output), { recursive: true });
    renameSync(linked, output);
    return output;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Where a from-source build lands: the path the loader tries first. */
export function fromSourceOutput() {
  return join(NATIVE_ROOT, 'build', 'Release', 'overlapped.node');
}

/**
 * Builds native/build/Release/overlapped.node for this machine with the
 * installed compiler (CXX, default c++).
 *
 * @example
 *   await buildFromSource(); // '/…/node_modules/@overlapped/iocp/native/build/Release/overlapped.node'
 */
export async function buildFromSource({ cxx = process.env.CXX || 'c++', cc = process.env.CC || 'cc' } = {}) {
  if (process.platform === 'win32') {
    throw new Error('on Windows, build with node-gyp: npx node-gyp rebuild --directory native');
  }
  const compileFlags = ['-O2', '-fPIC', '-pthread', ...CXX_FLAGS, ...ADDON_DEFINES, `-I${NATIVE_ROOT}`];
  for (const dir of nodeApiIncludeDirs()) compileFlags.push(`-I${dir}`);
  const linkFlags =
    process.platform === 'darwin'
      ? ['-bundle', '-undefined', 'dynamic_lookup', '-pthread']
      : ['-shared', '-pthread', '-Wl,-z,now', '-ldl'];
  return compileAddon({ cxx, cc, compileFlags, linkFlags, sources: addonSources(), output: fromSourceOutput() });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  try {
    const output = await buildFromSource();
    process.stdout.write(`${output}\nbuilt in ${Date.now() - started} ms\n`);
  } catch (error) {
    process.stderr.write(`build-from-source: ${error.message}\n`);
    process.exitCode = 1;
  }
}
