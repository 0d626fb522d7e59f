/**
 * Bun and Deno, the other runtimes a user would pick, as the bench finds
 * them: the npm packages `bun` and `deno` (dev dependencies of this app)
 * carry each platform's binary in an optional dependency
 * (`@oven/bun-<platform>`, `@deno/<platform>`), which the package manager
 * installs only where it fits. The bench runs the binary itself, never the
 * packages' Node wrappers, so that the process it measures is the runtime.
 *
 * Each package's postinstall script (allowed in the root package.json's
 * `pnpm.onlyBuiltDependencies`) moves or links the binary into the main
 * package; where it did not run, the binary is still in the platform
 * package. Both places are tried, and a binary counts only if
 * `--version` runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A runtime found here, or the reason it is not. */
export type Runtime =
  /** `version`: the version number its `--version` printed ("1.4.5"). */
  | { available: true; name: string; path: string; version: string }
  | { available: false; name: string; reason: string };

const require = createRequire(import.meta.url);

function packageDir(name: string, from?: string): string | undefined {
  try {
    const resolver = from ? createRequire(join(from, 'package.json')) : require;
    return dirname(resolver.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function isMusl(): boolean {
  if (process.platform !== 'linux') return false;
  // Node's report names the glibc it runs on, if any.
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return !report.header?.glibcVersionRuntime;
}

// The platform packages each runtime ships, by Node's platform and arch.
function bunPlatformPackage(): string | undefined {
  const arch = { x64: 'x64', arm64: 'aarch64' }[process.arch as string];
  const os = { linux: 'linux', darwin: 'darwin', win32: 'windows', freebsd: 'freebsd' }[process.platform as string];
  if (!arch || !os) return undefined;
  return `@oven/bun-${os}-${arch}${os === 'linux' && isMusl() ? '-musl' : ''}`;
}

function denoPlatformPackage(): string | undefined {
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch as string];
  if (!arch) return undefined;
  if (process.platform === 'linux') return isMusl() ? undefined : `@deno/linux-${arch}-glibc`;
  if (process.platform === 'darwin' || process.platform === 'win32') return `@deno/${process.platform}-${arch}`;
  return undefined;
}

function find(
  name: string,
  packageName: string,
  platformPackage: string | undefined,
  paths: (main: string, platform: string | undefined) => string[],
): Runtime {
  const main = packageDir(packageName);
  if (!main) return { available: false, name, reason: `the npm package ${packageName} is not installed` };
  if (!platformPackage) {
    return { available: false, name, reason: `${packageName} ships no binary for ${process.platform}-${process.arch}` };
  }
  const platform = packageDir(platformPackage, main);
  const tried: string[] = [];
  const candidates = paths(main, platform);
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const result = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    if (result.status === 0) {
      // "1.4.5" from Bun; "deno 2.9.6 (stable, release, ...)" and more lines from Deno.
      const version = /\d+\.\d+\.\d+\S*/.exec(result.stdout)?.[0] ?? result.stdout.trim();
      return { available: true, name, path, version };
    }
    tried.push(`${path}: ${result.error?.message ?? `exit ${result.status}`}`);
  }
  const why =
    tried.length > 0
      ? tried.join('; ')
      : platform
        ? `none at ${candidates.join(' or ')}`
        : `${platformPackage} is not installed (an optional dependency of ${packageName})`;
  return { available: false, name, reason: `no working ${name} binary: ${why}` };
}

let bun: Runtime | undefined;
let deno: Runtime | undefined;

/**
 * The Bun binary of the `bun` package, or why there is none.
 *
 * @example
 * ```ts
 * const bun = findBun();
 * if (bun.available) spawn(bun.path, ['server.js']);
 * else console.log(`Bun skipped: ${bun.reason}`);
 * ```
 */
export function findBun(): Runtime {
  const exe = process.platform === 'win32' ? 'bun.exe' : 'bun';
  // After the postinstall script: bin/bun.exe (on every platform) is the
  // binary; before it, a placeholder script that fails.
  bun ??= find('Bun', 'bun', bunPlatformPackage(), (main, platform) => [
    join(main, 'bin', 'bun.exe'),
    ...(platform ? [join(platform, 'bin', exe)] : []),
  ]);
  return bun;
}

/**
 * The Deno binary of the `deno` package, or why there is none.
 *
 * @example
 * ```ts
 * const deno = findDeno();
 * if (deno.available) console.log(deno.version); // "2.9.6"
 * ```
 */
export function findDeno(): Runtime {
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
  deno ??= find('Deno', 'deno', denoPlatformPackage(), (main, platform) => [
    join(main, exe),
    ...(platform ? [join(platform, exe)] : []),
  ]);
  return deno;
}
