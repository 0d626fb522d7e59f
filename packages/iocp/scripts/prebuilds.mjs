#!/usr/bin/env node
// The prebuilds this package promises, and the checks each must pass before
// it is built into prebuilds/, packed or published:
//   - the file's format and CPU (ELF x86-64, ELF aarch64, PE x86-64), read
//     from its header;
//   - for the Linux ones, what it asks of the system's dynamic linker: only
//     the libraries every glibc system has, no symbol version above the
//     floor (glibc 2.17, libgcc_s GCC_4.2.0; libstdc++ is linked in
//     statically and kept private), and every other import a Node-API
//     function. Read with readelf (binutils).
//
//   node scripts/prebuilds.mjs check [--root DIR]   (the prepack/prepublishOnly guard)
//
// The guard fails unless every promised prebuild is there and passes, and
// when all of them together weigh 2 MiB or more. The test suites pack the
// packages to test what users install, on machines that may lack a cross
// compiler; they set OVERLAPPED_ALLOW_PARTIAL_PACK=1, which turns the
// guard's failure into a notice (never set it to publish).

import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isSet } from './env.mjs';

export const IOCP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PREBUILD_FILE = '@overlapped+iocp.node';

/** Every prebuild a published package carries: folder, file format and CPU. */
export const PROMISED_PREBUILDS = [
  { folder: 'linux-x64', format: 'ELF', machine: 'x86-64' },
  { folder: 'linux-arm64', format: 'ELF', machine: 'aarch64' },
  { folder: 'win32-x64', format: 'PE', machine: 'x86-64' },
];

/** The highest symbol version a Linux prebuild may need, per version prefix. */
export const LINUX_FLOOR = { GLIBC: '2.17', GCC: '4.2.0' };
/** Libraries a Linux prebuild may link to: glibc's and libgcc_s, which Node itself needs. */
export const LINUX_LIBRARIES = [
  'libc.so.6',
  'libm.so.6',
  'libpthread.so.0',
  'libdl.so.2',
  'librt.so.1',
  'libgcc_s.so.1',
  'ld-linux-x86-64.so.2',
  'ld-linux-aarch64.so.1',
];
/** The only symbols a prebuild exports: its Node-API module entry points. */
export const ADDON_EXPORTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];
export const MAX_PREBUILDS_BYTES = 2 * 1024 * 1024;

const ELF_MACHINES = { 3: 'x86', 40: 'arm', 62: 'x86-64', 183: 'aarch64' };
const PE_MACHINES = { 0x14c: 'x86', 0x8664: 'x86-64', 0xaa64: 'aarch64' };

/** The path of the prebuild in `folder` (e.g. 'linux-x64'). */
export function prebuildPath(folder, root = IOCP_ROOT) {
  return join(root, 'prebuilds', folder, PREBUILD_FILE);
}

/**
 * A binary's format and CPU from its header: `{ format: 'ELF' | 'PE' |
 * 'unknown', machine, bits }`.
 *
 * @example
 *   binaryFormat('prebuilds/linux-arm64/@overlapped+iocp.node'); // { format: 'ELF', machine: 'aarch64', bits: 64 }
 */
export function binaryFormat(file) {
  const header = Buffer.alloc(4096);
  const fd = openSync(file, 'r');
  let length;
  try {
    length = readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (length >= 20 && header.toString('latin1', 0, 4) === '\x7fELF') {
    const bits = header[4] === 2 ? 64 : 32;
    const machine = header[5] === 1 ? header.readUInt16LE(18) : header.readUInt16BE(18);
    return { format: 'ELF', machine: ELF_MACHINES[machine] ?? `e_machine ${machine}`, bits };
  }
  if (length >= 0x40 && header.toString('latin1', 0, 2) === 'MZ') {
    const pe = header.readUInt32LE(0x3c);
    if (pe + 6 <= length && header.toString('latin1', pe, pe + 4) === 'PE\0\0') {
      const machine = header.readUInt16LE(pe + 4);
      return { format: 'PE', machine: PE_MACHINES[machine] ?? `machine 0x${machine.toString(16)}`, bits: machine === 0x14c ? 32 : 64 };
    }
  }
  return { format: 'unknown', machine: 'unknown', bits: 0 };
}

function compareVersions(a, b) {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/**
 * What a Linux ELF asks of the dynamic linker, read with readelf: the
 * libraries it needs, its undefined dynamic symbols (with version and
 * binding) and the symbols it exports.
 *
 * @example
 *   const { needed, imports, exports } = linuxImports('prebuilds/linux-x64/@overlapped+iocp.node');
 */
export function linuxImports(file) {
  const readelf = (args) => execFileSync('readelf', [...args, file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const needed = [...readelf(['-d', '-W']).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const imports = [];
  const exports = [];
  // "  12: 0000000000000000  0 FUNC  GLOBAL DEFAULT  UND memcpy@GLIBC_2.14 (3)"
  for (const line of readelf(['--dyn-syms', '-W']).split('\n')) {
    const match = /^\s*\d+:\s+[0-9a-f]+\s+\d+\s+(\w+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\S+)(?:\s+\(\d+\))?$/.exec(line);
    if (!match) continue;
    const [, , bind, , ndx, full] = match;
    if (bind === 'LOCAL') continue;
    const at = full.indexOf('@');
    const name = at < 0 ? full : full.slice(0, at);
    const version = at < 0 ? undefined : full.slice(full.lastIndexOf('@') + 1);
    if (ndx === 'UND') imports.push({ name, version, weak: bind === 'WEAK' });
    else exports.push(name);
  }
  return { needed, imports, exports };
}

/**
 * Why a Linux prebuild would not load on every system Node 20 runs on
 * (glibc 2.17+), or would reach past Node-API: an empty list when it is fine.
 *
 * @example
 *   linuxPrebuildProblems('prebuilds/linux-x64/@overlapped+iocp.node'); // []
 */
export function linuxPrebuildProblems(file) {
  const { needed, imports, exports } = linuxImports(file);
  const problems = [];
  for (const library of needed) {
    if (!LINUX_LIBRARIES.includes(library)) problems.push(`needs ${library}`);
  }
  for (const { name, version, weak } of imports) {
    if (version) {
      const [, prefix, number] = /^([A-Z]+)_([\d.]+)$/.exec(version) ?? [];
      const floor = LINUX_FLOOR[prefix];
      if (!floor) problems.push(`imports ${name}@${version} (no ${prefix ?? version} symbols are allowed)`);
      else if (compareVersions(number, floor) > 0) problems.push(`imports ${name}@${version}, above ${prefix}_${floor}`);
    } else if (!weak && !/^(napi|node_api)_/.test(name)) {
      // Unversioned and not Node-API: nothing on the user's system promises it.
      problems.push(`imports ${name}, which is neither Node-API nor a versioned system symbol`);
    }
  }
  for (const name of exports) {
    if (!ADDON_EXPORTS.includes(name)) problems.push(`exports ${name}`);
  }
  return problems;
}

/**
 * Every promised prebuild under `root`, each with its size and problems
 * (missing, wrong format or CPU, above the Linux floor).
 *
 * @example
 *   const { prebuilds, totalBytes } = checkPrebuilds();
 *   prebuilds.filter((p) => p.problems.length > 0); // []
 */
export function checkPrebuilds(root = IOCP_ROOT) {
  let totalBytes = 0;
  const prebuilds = PROMISED_PREBUILDS.map(({ folder, format, machine }) => {
    const path = prebuildPath(folder, root);
    if (!existsSync(path)) return { folder, path, bytes: 0, problems: [`missing: ${path}`] };
    const bytes = statSync(path).size;
    totalBytes += bytes;
    const found = binaryFormat(path);
    const problems = [];
    if (found.format !== format || found.machine !== machine || found.bits !== 64) {
      problems.push(`is ${found.format} ${found.machine} (${found.bits}-bit), expected ${format} ${machine} (64-bit)`);
    } else if (format === 'ELF') {
      problems.push(...linuxPrebuildProblems(path));
    }
    return { folder, path, bytes, problems };
  });
  return { prebuilds, totalBytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { root: { type: 'string' } } });
  if (positionals[0] !== 'check') {
    process.stderr.write('usage: node scripts/prebuilds.mjs check [--root DIR]\n');
    process.exit(2);
  }
  const { prebuilds, totalBytes } = checkPrebuilds(values.root ? resolve(values.root) : IOCP_ROOT);
  let failed = false;
  for (const { folder, bytes, problems } of prebuilds) {
    process.stdout.write(`prebuilds/${folder}: ${(bytes / 1024).toFixed(0)} KiB${problems.length ? '' : ', ok'}\n`);
    for (const problem of problems) process.stderr.write(`  prebuilds/${folder} ${problem}\n`);
    failed ||= problems.length > 0;
  }
  process.stdout.write(`prebuilds together: ${(totalBytes / 1024).toFixed(0)} KiB (limit ${MAX_PREBUILDS_BYTES / 1024} KiB)\n`);
  if (totalBytes >= MAX_PREBUILDS_BYTES) {
    process.stderr.write('the prebuilds together weigh more than the limit\n');
    failed = true;
  }
  if (failed && isSet(process.env.OVERLAPPED_ALLOW_PARTIAL_PACK)) {
    process.stderr.write('packing without every promised prebuild (OVERLAPPED_ALLOW_PARTIAL_PACK is set): not for publishing\n');
  } else if (failed) {
    process.stderr.write(
      'Refusing to pack @overlapped/iocp without every promised prebuild (linux-x64, linux-arm64, win32-x64). ' +
        'Build them with OVERLAPPED_REQUIRE_PREBUILDS=1 node scripts/build-native.mjs.\n',
    );
    process.exit(1);
  }
}
