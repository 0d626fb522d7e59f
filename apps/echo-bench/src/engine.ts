/**
 * The native engine: native/echo-load.c, compiled with `cc -O2` on first use
 * into a directory under the system temp folder named after a hash of the
 * source, so that an edited source is rebuilt and an unchanged one is not.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { codedError } from '@overlapped/common';

/**
 * Compiles a single C file with `cc -O2` (once per source content) and
 * returns the path of the executable.
 *
 * @example
 * ```ts
 * const exe = buildC(new URL('../native/echo-load.c', import.meta.url), 'echo-load');
 * ```
 */
export function buildC(source: URL | string, name: string): string {
  const sourcePath = typeof source === 'string' ? source : fileURLToPath(source);
  const text = readFileSync(sourcePath);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `overlapped-${name}-${hash}`);
  const exe = join(dir, name);
  if (existsSync(exe)) return exe;
  mkdirSync(dir, { recursive: true });
  // Build under a private name, then rename: two processes building at once
  // each produce a whole file, and the rename is atomic.
  const partial = `${exe}.${process.pid}`;
  const cc = process.env['CC'] ?? 'cc';
  try {
    execFileSync(cc, ['-O2', '-o', partial, sourcePath], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw codedError('ERR_ECHO_BENCH_BUILD', `could not build ${name} with ${cc} -O2: ${stderr || String(error)}`);
  }
  renameSync(partial, exe);
  return exe;
}

/**
 * The load generator's executable, built on first use.
 *
 * @example
 * ```ts
 * const exe = engineExecutable(); // '/tmp/overlapped-echo-load-<hash>/echo-load'
 * ```
 */
export function engineExecutable(): string {
  return buildC(new URL('../native/echo-load.c', import.meta.url), 'echo-load');
}
