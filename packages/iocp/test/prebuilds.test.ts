// The prebuilds as shipped: each one's format and CPU, and for the Linux
// ones what they ask of the user's system (symbol versions read with
// readelf): nothing above glibc 2.17, only glibc's libraries and
// libgcc_s, nothing imported but Node-API and versioned system symbols.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// @ts-expect-error: a plain ESM script without types
import { binaryFormat, linuxPrebuildProblems, prebuildPath, PROMISED_PREBUILDS } from '../scripts/prebuilds.mjs';
// @ts-expect-error: a plain ESM script without types
import { isSet } from '../scripts/env.mjs';

const haveReadelf = spawnSync('readelf', ['--version'], { stdio: 'ignore' }).status === 0;
const required = isSet(process.env['OVERLAPPED_REQUIRE_PREBUILDS']);
// This machine's own prebuild is always built; the cross-built ones only
// where their compiler is installed, unless every prebuild is required.
const mustExist = (folder: string) => required || folder === `${process.platform}-${process.arch}`;

describe('the prebuilds', () => {
  for (const { folder, format, machine } of PROMISED_PREBUILDS as Array<{ folder: string; format: string; machine: string }>) {
    const path: string = prebuildPath(folder);
    const present = existsSync(path);
    it.skipIf(!present && !mustExist(folder))(`${folder} is ${format} ${machine}, 64-bit`, () => {
      expect(present, `${path} was not built`).toBe(true);
      expect(binaryFormat(path)).toEqual({ format, machine, bits: 64 });
    });
    if (format !== 'ELF') continue;
    it.skipIf((!present && !mustExist(folder)) || !haveReadelf)(
      `${folder} needs nothing above glibc 2.17 and imports only Node-API and the system's libraries`,
      () => {
        expect(linuxPrebuildProblems(path)).toEqual([]);
      },
    );
  }
});

describe.skipIf(process.platform !== 'linux' || !haveReadelf)('the Linux prebuild check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'overlapped-floor-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds what a library built against the build machine\'s own glibc and libstdc++ asks for', () => {
    // What a plain build on a recent system gives: a glibc symbol above
    // the floor (getrandom, 2.25), the shared libstdc++, a libuv import and
    // a leaked export.
    const source = join(dir, 'probe.cc');
    writeFileSync(
      source,
      [
        '#include <sys/random.h>',
        '#include <string>',
        'extern "C" int uv_default_loop();',
        'extern "C" __attribute__((visibility("default"))) int probe_export(const char* s) {',
        '  char byte;',
        '  return static_cast<int>(std::string(s).size() + getrandom(&byte, 1, 0)) + uv_default_loop();',
        '}',
        '',
      ].join('\n'),
    );
    const output = join(dir, 'probe.so');
    execFileSync('g++', ['-shared', '-fPIC', '-O1', source, '-o', output]);
    const problems: string[] = linuxPrebuildProblems(output);
    expect(problems).toContain('needs libstdc++.so.6');
    expect(problems.some((p) => /^imports getrandom@GLIBC_2\.\d+, above GLIBC_2\.17$/.test(p))).toBe(true);
    expect(problems).toContain('imports uv_default_loop, which is neither Node-API nor a versioned system symbol');
    expect(problems).toContain('exports probe_export');
    expect(problems.some((p) => p.startsWith('imports ') && p.includes('@GLIBCXX_'))).toBe(true);
  });
});

describe('the pack guard (prepack, prepublishOnly)', () => {
  const guard = fileURLToPath(new URL('../scripts/prebuilds.mjs', import.meta.url));
  const all = (PROMISED_PREBUILDS as Array<{ folder: string }>).every(({ folder }) => existsSync(prebuildPath(folder)));
  const hostPrebuild: string = prebuildPath(`${process.platform}-${process.arch}`);
  const root = mkdtempSync(join(tmpdir(), 'overlapped-guard-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const runGuard = (env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [guard, 'check', '--root', root], {
      encoding: 'utf8',
      env: { ...process.env, OVERLAPPED_ALLOW_PARTIAL_PACK: '', ...env },
    });

  it.runIf(existsSync(hostPrebuild))('refuses a package missing a prebuild, or carrying one for the wrong CPU', () => {
    mkdirSync(join(root, 'prebuilds', 'linux-x64'), { recursive: true });
    mkdirSync(join(root, 'prebuilds', 'linux-arm64'), { recursive: true });
    copyFileSync(hostPrebuild, join(root, 'prebuilds', 'linux-x64', '@overlapped+iocp.node'));
    copyFileSync(hostPrebuild, join(root, 'prebuilds', 'linux-arm64', '@overlapped+iocp.node'));
    const run = runGuard();
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/prebuilds\/win32-x64 missing/);
    expect(run.stderr).toMatch(/prebuilds\/linux-arm64 is ELF x86-64 \(64-bit\), expected ELF aarch64/);
    expect(run.stderr).toMatch(/Refusing to pack/);
    // Test tarballs on a machine without every cross compiler: a notice.
    expect(runGuard({ OVERLAPPED_ALLOW_PARTIAL_PACK: '1' }).status).toBe(0);
    expect(runGuard({ OVERLAPPED_ALLOW_PARTIAL_PACK: '0' }).status).toBe(1);
  });

  it.runIf(all)('passes the package as built here, with every prebuild', () => {
    const run = spawnSync(process.execPath, [guard, 'check'], { encoding: 'utf8', env: { ...process.env, OVERLAPPED_ALLOW_PARTIAL_PACK: '' } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/prebuilds together: \d+ KiB/);
  });
});
