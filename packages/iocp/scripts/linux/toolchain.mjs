// What a Linux prebuild is built with, so that it loads on every glibc
// system Node 20 runs on (glibc 2.17 and later):
//   - Debian's g++ (x86-64) or g++-aarch64-linux-gnu (arm64), C++17;
//   - the glibc 2.17 sysroot of the npm packages
//     @napi-rs/cross-toolchain-x64-target-* (pinned by version and
//     integrity, cached outside the repository): headers and libraries
//     of glibc 2.17, so nothing newer can be linked to;
//   - the kernel's uapi headers of Debian (linux-libc-dev, or
//     linux-libc-dev-arm64-cross) in place of the sysroot's 3.10 ones,
//     which predate io_uring; the backend probes at run time what the
//     running kernel offers;
//   - libstdc++ and its helpers linked in statically and kept private.
// g++'s own C++ headers were configured for Debian's newer glibc; the
// wrapper written by cxxConfigShim() turns off the three features they
// would take from it (pthread_cond_clockwait, pthread_mutex_clocklock,
// pthread_rwlock_clock*: glibc 2.30), and glibc-compat.c supplies what the
// static libstdc++ reads of glibc 2.32 (__libc_single_threaded).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureNpmCacheEntry, extractMember } from '../npm-cache.mjs';

/** Per target CPU: the toolchain's names and the sysroot package. */
export const LINUX_TARGETS = {
  x64: {
    gnuTriple: 'x86_64-linux-gnu',
    sysrootTriple: 'x86_64-unknown-linux-gnu',
    sysrootPackage: '@napi-rs/cross-toolchain-x64-target-x86_64',
    sysrootVersion: '1.0.0',
    sysrootIntegrity: 'sha512-lecoghCfoTAX9MLFcIx9/nL9M8xdkZ9n8Pki8qjKUNzjiq1zbECdEbzIZAMMHRtrXxifK9dAyYuh8gSxNbr2og==',
    // Debian's uapi headers: linux/ and asm-generic/ are the same for
    // every CPU, asm/ is not.
    uapi: { linux: '/usr/include/linux', 'asm-generic': '/usr/include/asm-generic', asm: '/usr/include/x86_64-linux-gnu/asm' },
    uapiPackage: 'linux-libc-dev',
    compilerPackage: 'g++',
  },
  arm64: {
    gnuTriple: 'aarch64-linux-gnu',
    sysrootTriple: 'aarch64-unknown-linux-gnu',
    sysrootPackage: '@napi-rs/cross-toolchain-x64-target-aarch64',
    sysrootVersion: '1.0.3',
    sysrootIntegrity: 'sha512-EMFcy/ahFsmCY3BI1tMC3wRUYZ+cDuILg7nP1micaKXW1tO1+RvUB1CC6QYe+cv2W4Tuz9wr3qcFExWyjgWf2w==',
    uapi: {
      linux: '/usr/aarch64-linux-gnu/include/linux',
      'asm-generic': '/usr/aarch64-linux-gnu/include/asm-generic',
      asm: '/usr/aarch64-linux-gnu/include/asm',
    },
    uapiPackage: 'linux-libc-dev-arm64-cross',
    compilerPackage: 'g++-aarch64-linux-gnu',
  },
};

const MACHINE_ARCH = { x64: 'x64', arm64: 'arm64' };

/** Thrown when a tool a target needs is not installed; says what to install. */
export class ToolchainUnavailable extends Error {}

/**
 * The compiler, strip and the folder of the static libstdc++ for `arch`:
 * the plain names on a machine of that CPU, the GNU triple's otherwise.
 */
export function compilerFor(arch) {
  const target = LINUX_TARGETS[arch];
  const native = process.platform === 'linux' && MACHINE_ARCH[process.arch] === arch;
  const prefix = native ? '' : `${target.gnuTriple}-`;
  const cxx = `${prefix}g++`;
  const cc = `${prefix}gcc`;
  if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new ToolchainUnavailable(`${cxx} not found (apt-get install ${target.compilerPackage})`);
  }
  const libstdcxx = execFileSync(cxx, ['-print-file-name=libstdc++.a'], { encoding: 'utf8' }).trim();
  if (!libstdcxx.startsWith('/')) throw new ToolchainUnavailable(`${cxx} has no static libstdc++ (libstdc++.a)`);
  return { cxx, cc, libDir: dirname(libstdcxx) };
}

/**
 * The cached glibc 2.17 sysroot for `arch`, fetched first if needed. Only
 * the sysroot of the package's toolchain is kept (its gcc 4.8 is not used).
 *
 * @example
 *   const sysroot = ensureSysroot('arm64'); // ~/.cache/overlapped/sysroot-aarch64-unknown-linux-gnu-1.0.3
 */
export function ensureSysroot(arch) {
  const target = LINUX_TARGETS[arch];
  const dir = ensureNpmCacheEntry({
    name: target.sysrootPackage,
    version: target.sysrootVersion,
    integrity: target.sysrootIntegrity,
    folder: `sysroot-${target.sysrootTriple}-${target.sysrootVersion}`,
    marker: join('usr', 'include', 'stdio.h'),
    unpack: (tarball, staging) => {
      const inner = join(staging, 'toolchain.tar.xz');
      extractMember(tarball, `package/${target.sysrootTriple}.tar.xz`, inner);
      execFileSync('tar', ['-xJf', inner, '-C', staging, '--strip-components=3', `./${target.sysrootTriple}/sysroot`], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      execFileSync('rm', ['-f', inner]);
    },
  });
  return dir;
}

/**
 * Writes into `workDir` the include folder a build puts before the
 * sysroot's: Debian's kernel uapi headers (as links) and the libstdc++
 * configuration wrapper. Returns its path.
 */
export function stageIncludes(arch, workDir) {
  const target = LINUX_TARGETS[arch];
  const include = join(workDir, 'include');
  mkdirSync(join(include, 'bits'), { recursive: true });
  for (const [name, source] of Object.entries(target.uapi)) {
    if (!existsSync(join(source, name === 'linux' ? 'io_uring.h' : '.'))) {
      throw new ToolchainUnavailable(`${source} not found (apt-get install ${target.uapiPackage})`);
    }
    symlinkSync(source, join(include, name));
  }
  writeFileSync(join(include, 'bits', 'c++config.h'), cxxConfigShim());
  return include;
}

/** The wrapper around g++'s bits/c++config.h described at the top. */
export function cxxConfigShim() {
  return [
    '// Generated by scripts/linux/toolchain.mjs: the glibc of the sysroot (2.17)',
    '// lacks what these would call.',
    '#ifndef OVERLAPPED_CXX_CONFIG_WRAPPER',
    '#define OVERLAPPED_CXX_CONFIG_WRAPPER',
    '#include_next <bits/c++config.h>',
    '#undef _GLIBCXX_USE_PTHREAD_COND_CLOCKWAIT',
    '#undef _GLIBCXX_USE_PTHREAD_MUTEX_CLOCKLOCK',
    '#undef _GLIBCXX_USE_PTHREAD_RWLOCK_CLOCKLOCK',
    '#endif',
    '',
  ].join('\n');
}
