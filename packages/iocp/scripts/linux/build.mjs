#!/usr/bin/env node
// Builds the Linux prebuilds, prebuilds/linux-x64/ and prebuilds/linux-arm64/
// (cross-built), against glibc 2.17 (see toolchain.mjs). Each file appears
// only once it has passed the checks of ../prebuilds.mjs: the right format
// and CPU, no symbol version above the floor, only the allowed system
// libraries, nothing imported but Node-API and versioned system symbols,
// nothing exported but the module's entry points.
//
//   node scripts/linux/build.mjs [x64] [arm64]      (default: both)

import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDON_DEFINES, addonSources, compileAddon, CXX_FLAGS, NATIVE_ROOT, nodeApiIncludeDirs } from '../build-from-source.mjs';
import { ADDON_EXPORTS, binaryFormat, linuxPrebuildProblems, prebuildPath } from '../prebuilds.mjs';
import { generateOpTable } from '../op-table.mjs';
import { compilerFor, ensureSysroot, stageIncludes } from './toolchain.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const MACHINE = { x64: 'x86-64', arm64: 'aarch64' };

/**
 * Builds and checks prebuilds/linux-<arch>/@overlapped+iocp.node; returns
 * its path and size. Throws ToolchainUnavailable when a tool is missing.
 *
 * @example
 *   const { path, bytes } = await buildLinuxPrebuild('arm64');
 */
export async function buildLinuxPrebuild(arch) {
  await generateOpTable();
  const { cxx, cc, libDir } = compilerFor(arch);
  const sysroot = ensureSysroot(arch);
  const workDir = mkdtempSync(join(tmpdir(), `overlapped-linux-${arch}-`));
  try {
    const include = stageIncludes(arch, workDir);
    const exportsList = join(workDir, 'exports.map');
    writeFileSync(exportsList, `{ global: ${ADDON_EXPORTS.join('; ')}; local: *; };\n`);
    const compileFlags = [
      `--sysroot=${sysroot}`,
      '-isystem',
      include,
      '-O2',
      '-fPIC',
      '-pthread',
      '-fvisibility=hidden',
      '-ffunction-sections',
      '-fdata-sections',
      ...CXX_FLAGS,
      ...ADDON_DEFINES,
      `-I${NATIVE_ROOT}`,
      ...nodeApiIncludeDirs().map((dir) => `-I${dir}`),
    ];
    const sysrootLibs = [join(sysroot, 'usr', 'lib64'), join(sysroot, 'lib64'), join(sysroot, 'usr', 'lib'), join(sysroot, 'lib')];
    const linkFlags = [
      `--sysroot=${sysroot}`,
      // g++ would otherwise find crt files and glibc in the build machine's
      // multiarch folders, which lie outside the sysroot; its own libstdc++.a
      // comes first, before the sysroot's gcc 4.8 one.
      `-B${join(sysroot, 'usr', 'lib64')}`,
      `-L${libDir}`,
      ...sysrootLibs.map((dir) => `-L${dir}`),
      '-shared',
      '-pthread',
      '-static-libstdc++',
      '-Wl,--exclude-libs,ALL',
      `-Wl,--version-script=${exportsList}`,
      '-Wl,--gc-sections',
      '-Wl,--as-needed',
      '-Wl,-z,now',
      '-Wl,-z,noexecstack',
      '-s',
      // dlsym (the event driver finds the process's libuv): libdl before glibc 2.34.
      '-ldl',
    ];
    const staged = join(workDir, 'out', 'overlapped.node');
    await compileAddon({
      cxx,
      cc,
      compileFlags,
      linkFlags,
      sources: [...addonSources('linux'), join(HERE, 'glibc-compat.c')],
      output: staged,
    });
    const format = binaryFormat(staged);
    const problems =
      format.format === 'ELF' && format.machine === MACHINE[arch]
        ? linuxPrebuildProblems(staged)
        : [`is ${format.format} ${format.machine}, expected ELF ${MACHINE[arch]}`];
    if (problems.length > 0) throw new Error(`the linux-${arch} prebuild fails its checks:\n  ${problems.join('\n  ')}`);
    const output = prebuildPath(`linux-${arch}`);
    mkdirSync(dirname(output), { recursive: true });
    copyFileSync(staged, `${output}.tmp`);
    renameSync(`${output}.tmp`, output);
    return { path: output, bytes: statSync(output).size };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arches = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['x64', 'arm64'];
  for (const arch of arches) {
    const started = Date.now();
    try {
      const { path, bytes } = await buildLinuxPrebuild(arch);
      process.stdout.write(`${path} (${(bytes / 1024).toFixed(0)} KiB, glibc 2.17+), built in ${Date.now() - started} ms\n`);
    } catch (error) {
      process.stderr.write(`linux/build.mjs: ${error.message}\n`);
      process.exitCode = 1;
    }
  }
}
