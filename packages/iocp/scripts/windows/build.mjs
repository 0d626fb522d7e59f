#!/usr/bin/env node
// Cross-compiles the addon for win32-x64 with mingw-w64 and writes it to
// prebuilds/win32-x64/ under the name prebuildify --napi gives it.
//
//   node build.mjs              build the addon into prebuilds/win32-x64/
//   node build.mjs --stress     also build native/test/backend_stress_win.exe
//                               into the cache and print its path
//
// Sources: native/addon.cc + native/common/*.cc + native/win/*.cc. The addon
// is linked statically (no libstdc++/libwinpthread DLLs) and imports
// Node-API from "node.exe" through a delay-load import library made from
// node-api-headers' def file; native/win/delay_load_hook.cc points that
// import at the host process, whatever its file name. The build fails if
// the import table names a DLL other than the system's and node.exe.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDON_DEFINES, addonSources, nativeSources } from '../build-from-source.mjs';
import { generateOpTable } from '../op-table.mjs';
import { cacheRoot } from './fetch-node.mjs';

export const IOCP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NATIVE_ROOT = join(IOCP_ROOT, 'native');

const CXX = 'x86_64-w64-mingw32-g++-posix';
const DLLTOOL = 'x86_64-w64-mingw32-dlltool';
const OBJDUMP = 'x86_64-w64-mingw32-objdump';
const NM = 'x86_64-w64-mingw32-nm';
const STRIP = 'x86_64-w64-mingw32-strip';

const COMPILE_FLAGS = ['-std=c++17', '-O2', '-Wall', '-Wextra', '-fexceptions', '-static'];
const SYSTEM_LIBRARIES = ['-lws2_32', '-lmswsock', '-lntdll'];

// DLLs that ship with every supported Windows. Anything else in the import
// table (libstdc++-6.dll, libwinpthread-1.dll, libgcc_s_seh-1.dll, ...) would
// not be there on a user's machine.
const SYSTEM_DLLS = new Set([
  'kernel32.dll',
  'msvcrt.dll',
  'ws2_32.dll',
  'mswsock.dll',
  'advapi32.dll',
  'ntdll.dll',
  'user32.dll',
  'bcrypt.dll',
  'shell32.dll',
  'ole32.dll',
]);
const HOST_DLL = 'node.exe';

/** The file name prebuildify 6 gives a --napi build: the package name, '/' as '+'. */
export function prebuildFileName() {
  let packageName = '@overlapped/iocp';
  const manifest = join(IOCP_ROOT, 'package.json');
  if (existsSync(manifest)) packageName = JSON.parse(readFileSync(manifest, 'utf8')).name || packageName;
  return `${packageName.replace(/\//g, '+')}.node`;
}

/** Where the Windows prebuild goes: the folder node-gyp-build looks in for win32 on x64. */
export function prebuildPath() {
  return join(IOCP_ROOT, 'prebuilds', 'win32-x64', prebuildFileName());
}

function run(command, args, options = {}) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`${command} failed (${error.status ?? error.code}):\n${output}`, { cause: error });
  }
}

/**
 * Node-API headers and the def file, resolved the way packages/iocp's own
 * code would resolve its devDependencies.
 *
 * @example
 *   const { includeDirs, nodeApiDef } = resolveNodeApi();
 */
export function resolveNodeApi() {
  const requireFromIocp = createRequire(join(IOCP_ROOT, 'package.json'));
  let addonApiDir;
  let headers;
  try {
    addonApiDir = dirname(requireFromIocp.resolve('node-addon-api/package.json'));
    headers = requireFromIocp('node-api-headers');
  } catch (error) {
    throw new Error(
      'node-addon-api and node-api-headers must be installed as devDependencies of packages/iocp',
      { cause: error },
    );
  }
  return {
    includeDirs: [addonApiDir, headers.include_dir],
    nodeApiDef: headers.def_paths.node_api_def,
  };
}

/**
 * Makes a delay-load import library for "node.exe" from node-api-headers'
 * def file (napi_* and node_api_* only: no libuv, no V8).
 */
export function makeDelayImportLibrary(nodeApiDef, workDir) {
  const library = join(workDir, 'libnode_api_delay.a');
  run(DLLTOOL, ['--input-def', nodeApiDef, '--output-delaylib', library, '--dllname', HOST_DLL]);
  return library;
}

// Maps a virtual address to a file offset through the PE section table.
function peSections(image) {
  const peHeader = image.readUInt32LE(0x3c);
  if (image.toString('latin1', peHeader, peHeader + 4) !== 'PE\0\0') throw new Error('Not a PE file');
  const sectionCount = image.readUInt16LE(peHeader + 6);
  const optionalHeaderSize = image.readUInt16LE(peHeader + 20);
  const optionalHeader = peHeader + 24;
  const imageBase = image.readBigUInt64LE(optionalHeader + 24);
  const sections = [];
  for (let i = 0; i < sectionCount; i++) {
    const entry = optionalHeader + optionalHeaderSize + i * 40;
    sections.push({
      virtualAddress: image.readUInt32LE(entry + 12),
      rawSize: image.readUInt32LE(entry + 16),
      rawOffset: image.readUInt32LE(entry + 20),
    });
  }
  const offsetOfRva = (rva) => {
    const section = sections.find((s) => rva >= s.virtualAddress && rva < s.virtualAddress + s.rawSize);
    if (!section) throw new Error(`RVA 0x${rva.toString(16)} is in no section`);
    return section.rawOffset + (rva - section.virtualAddress);
  };
  return { imageBase, offsetOfRva };
}

/**
 * The DLLs a PE file delay-loads. GNU ld leaves the Delay Import Directory
 * entry of the PE header empty (the thunks reach their descriptor directly,
 * so loading works regardless), so the descriptors are found through their
 * symbols, __DELAY_IMPORT_DESCRIPTOR_*, in the not yet stripped file.
 */
export function delayImportedDlls(unstrippedFile) {
  const symbols = run(NM, [unstrippedFile], { maxBuffer: 64 * 1024 * 1024 });
  const image = readFileSync(unstrippedFile);
  const { imageBase, offsetOfRva } = peSections(image);
  const names = new Set();
  for (const match of symbols.matchAll(/^([0-9a-f]+) \w __DELAY_IMPORT_DESCRIPTOR_\S+$/gm)) {
    const descriptor = offsetOfRva(Number(BigInt(`0x${match[1]}`) - imageBase));
    // ImgDelayDescr: grAttrs, rvaDLLName, ... (dlattrRva: names are RVAs).
    const nameOffset = offsetOfRva(image.readUInt32LE(descriptor + 4));
    names.add(image.toString('latin1', nameOffset, image.indexOf(0, nameOffset)).toLowerCase());
  }
  return [...names].sort();
}

/** The DLLs a PE file imports at load time, as objdump reports them (lower case). */
export function importedDlls(file) {
  const dump = run(OBJDUMP, ['-p', file], { maxBuffer: 64 * 1024 * 1024 });
  const names = new Set();
  for (const match of dump.matchAll(/^\s*DLL Name:\s*(\S+)/gm)) names.add(match[1].toLowerCase());
  return [...names].sort();
}

/**
 * Throws unless every imported DLL is a system DLL, and node.exe is imported
 * only lazily (a load-time import of node.exe would bind to that file name
 * and fail in a renamed host). Returns both lists.
 */
export function verifyImports(unstrippedFile, { expectHost = true } = {}) {
  const loadTime = importedDlls(unstrippedFile);
  const delayed = delayImportedDlls(unstrippedFile);
  const isSystem = (name) => SYSTEM_DLLS.has(name) || name.startsWith('api-ms-win-');
  const problems = [
    ...loadTime.filter((name) => !isSystem(name)).map((name) => `${name} (load-time)`),
    ...delayed.filter((name) => !isSystem(name) && name !== HOST_DLL).map((name) => `${name} (delay-loaded)`),
  ];
  if (expectHost && !delayed.includes(HOST_DLL)) problems.push(`no delay-load import of ${HOST_DLL}`);
  if (problems.length > 0) {
    throw new Error(`${basename(unstrippedFile)} has imports a user's machine may not satisfy: ${problems.join(', ')}`);
  }
  return { loadTime, delayed };
}

/**
 * Compiles and links a Windows binary. With `nodeApi`, the binary is a
 * Node-API addon (a DLL) importing node.exe lazily; otherwise a console
 * program.
 */
export function compileWindowsBinary({ sources, output, nodeApi = false, workDir }) {
  const args = [...COMPILE_FLAGS];
  if (nodeApi) {
    const { includeDirs, nodeApiDef } = resolveNodeApi();
    args.push('-shared', ...ADDON_DEFINES);
    for (const dir of includeDirs) args.push(`-I${dir}`);
    args.push(...sources, makeDelayImportLibrary(nodeApiDef, workDir));
  } else {
    args.push(...sources);
  }
  args.push(...SYSTEM_LIBRARIES, '-o', output);
  run(CXX, args, { cwd: NATIVE_ROOT });
  return output;
}

function stripInto(unstrippedFile, output) {
  mkdirSync(dirname(output), { recursive: true });
  run(STRIP, ['--strip-all', '-o', `${output}.tmp`, unstrippedFile]);
  renameSync(`${output}.tmp`, output);
}

function withWorkDir(action) {
  const workDir = mkdtempSync(join(tmpdir(), 'overlapped-win-build-'));
  try {
    return action(workDir);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * Builds the addon into prebuilds/win32-x64/ and returns its path and
 * imported DLLs. The file appears only once it has passed the import check.
 *
 * @example
 *   const { path, imports } = buildAddon();
 */
export function buildAddon({ output = prebuildPath() } = {}) {
  return withWorkDir((workDir) => {
    const unstripped = join(workDir, basename(output));
    compileWindowsBinary({ sources: addonSources('win32'), output: unstripped, nodeApi: true, workDir });
    const imports = verifyImports(unstripped);
    stripInto(unstripped, output);
    return { path: output, imports };
  });
}

/** Builds a small Node-API addon from `sources` (for the delay-load check). */
export function buildTestAddon({ sources, output }) {
  return withWorkDir((workDir) => {
    const unstripped = join(workDir, basename(output));
    compileWindowsBinary({ sources, output: unstripped, nodeApi: true, workDir });
    const imports = verifyImports(unstripped);
    stripInto(unstripped, output);
    return { path: output, imports };
  });
}

/** Builds the backend's Windows console check; returns the .exe's path. */
export function buildBackendStress({ output = join(cacheRoot(), 'bin', 'backend_stress_win.exe') } = {}) {
  const sources = [join(NATIVE_ROOT, 'test', 'backend_stress_win.cc'), ...nativeSources('win')];
  return withWorkDir((workDir) => {
    const unstripped = join(workDir, basename(output));
    compileWindowsBinary({ sources, output: unstripped, workDir });
    verifyImports(unstripped, { expectHost: false });
    stripInto(unstripped, output);
    return output;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  try {
    await generateOpTable();
    if (process.argv.includes('--stress')) {
      process.stdout.write(`${buildBackendStress()}\n`);
    } else {
      const { path, imports } = buildAddon();
      process.stdout.write(
        `${path}\nimports: ${imports.loadTime.join(', ')}; delay-loaded: ${imports.delayed.join(', ')}\n` +
          `built in ${Date.now() - started} ms\n`,
      );
    }
  } catch (error) {
    process.stderr.write(`build.mjs: ${error.message}\n`);
    process.exitCode = 1;
  }
}
