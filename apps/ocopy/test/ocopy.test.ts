/**
 * ocopy end to end: the built CLI (dist/cli.js) runs as a child process on
 * files under the temp directory; the bytes of every copy are compared with
 * the source's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { nativeCandidates } from '@overlapped/iocp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseCommandLine, parseSize } from '../src/args.js';
import { runCopy } from '../src/copy.js';
import { overlappedFile, type OverlappedFileModule } from '../src/file-api.js';
import { formatProgress } from '../src/progress.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
const backends = [
  ...nativeCandidates()
    .filter((candidate) => candidate.probe().available)
    .map((candidate) => candidate.name as string),
  'portable',
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ocopy-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function ocopy(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function makeFile(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('arguments', () => {
  it('--help prints the usage and the exit codes, exit 0', () => {
    const { status, stdout } = ocopy('--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^usage: ocopy \[options\] <src> <dst>/);
    for (const option of ['--queue-depth', '--chunk-size', '--backend', '--verify', '--force']) expect(stdout).toContain(option);
    for (const code of ['0 ', '1 ', '2 ', '3 ', '129 ', '130 ', '143 ']) expect(stdout).toContain(`\n  ${code}`);
  });

  it.each([
    [[], /expected <src> and <dst>, got 0 paths/],
    [['only-one'], /got 1 path$/m],
    [['a', 'b', 'c'], /got 3 paths/],
    [['--queue-depth', '0', 'a', 'b'], /--queue-depth must be an integer from 1 to 1024, got '0'/],
    [['--queue-depth', 'many', 'a', 'b'], /--queue-depth .* got 'many'/],
    [['--chunk-size', '1.5M', 'a', 'b'], /--chunk-size .* got '1.5M'/],
    [['--chunk-size', '0', 'a', 'b'], /--chunk-size .* got '0'/],
    [['--chunk-size', '2G', 'a', 'b'], /--chunk-size .* got '2G'/],
    [['--backend', 'epoll', 'a', 'b'], /--backend must be one of auto, .* got 'epoll'/],
    [['--bogus', 'a', 'b'], /Unknown option '--bogus'/],
  ])('%j is a usage error: exit 2, nothing written', (args, message) => {
    const destination = join(dir, 'usage-dst');
    const { status, stderr, stdout } = ocopy(...(args as string[]).map((a) => (a === 'b' ? destination : a)));
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain("Try 'ocopy --help'");
    expect(stdout).toBe('');
    expect(existsSync(destination)).toBe(false);
  });

  it('parses sizes with binary units', () => {
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('64K')).toBe(65536);
    expect(parseSize('64k')).toBe(65536);
    expect(parseSize('1M')).toBe(1048576);
    expect(parseSize('4MiB')).toBe(4 * 1048576);
    expect(parseSize('1G')).toBe(1073741824);
    for (const bad of ['', 'M', '1.5M', '-1', '1T', '1 MB x']) expect(parseSize(bad)).toBeUndefined();
  });

  it('maps the options onto the copy', () => {
    const parsed = parseCommandLine(['-q', '32', '-c', '256K', '-b', 'threadpool', '--verify', '-f', 'x', 'y']);
    expect(parsed).toEqual({
      kind: 'copy',
      options: { source: 'x', destination: 'y', queueDepth: 32, chunkSize: 262144, backend: 'threadpool', verify: true, force: true },
    });
  });
});

describe('checks before the copy', () => {
  it('a missing source: the ENOENT message with its path, exit 1, no destination', () => {
    const source = join(dir, 'does-not-exist');
    const destination = join(dir, 'enoent-dst');
    const { status, stderr, stdout } = ocopy(source, destination);
    expect(status).toBe(1);
    expect(stderr).toContain(`ENOENT: no such file or directory, stat '${source}'`);
    expect(stdout).toBe('');
    expect(existsSync(destination)).toBe(false);
  });

  it('a directory as source is EISDIR, exit 1', () => {
    const source = join(dir, 'a-directory');
    mkdirSync(source, { recursive: true });
    const { status, stderr } = ocopy(source, join(dir, 'eisdir-dst'));
    expect(status).toBe(1);
    expect(stderr).toContain('EISDIR');
  });

  it('refuses to overwrite an existing destination without --force: exit 1, destination intact', () => {
    const source = makeFile('refuse-src', randomBytes(1000));
    const destination = makeFile('refuse-dst', Buffer.from('keep me'));
    const { status, stderr } = ocopy(source, destination);
    expect(status).toBe(1);
    expect(stderr).toContain(`EEXIST: '${destination}' exists; pass --force to overwrite it`);
    expect(readFileSync(destination, 'utf8')).toBe('keep me');
  });

  it('refuses to copy a file onto itself, even with --force', () => {
    const bytes = randomBytes(5000);
    const source = makeFile('self', bytes);
    const { status, stderr } = ocopy('--force', source, source);
    expect(status).toBe(1);
    expect(stderr).toContain('are the same file');
    expect(readFileSync(source).equals(bytes)).toBe(true);
  });

  it.each(backends)('refuses to copy a file onto a hard link or a symlink to it, even with --force, on %s', (backend) => {
    const bytes = randomBytes(5000);
    const source = makeFile(`linked-${backend}`, bytes);
    const hard = join(dir, `linked-${backend}-hard`);
    const soft = join(dir, `linked-${backend}-soft`);
    linkSync(source, hard);
    symlinkSync(source, soft);
    for (const destination of [hard, soft]) {
      const { status, stderr } = ocopy('--force', '--backend', backend, source, destination);
      expect(status).toBe(1);
      expect(stderr).toContain('are the same file');
      expect(readFileSync(source).equals(bytes)).toBe(true);
    }
  });

  it('an explicit backend that cannot run here is exit 1', () => {
    const other = process.platform === 'win32' ? 'io_uring' : 'iocp';
    const source = makeFile('backend-src', randomBytes(10));
    const { status, stderr } = ocopy('--backend', other, source, join(dir, 'backend-dst'));
    expect(status).toBe(1);
    expect(stderr).toMatch(new RegExp(`The ${other} backend cannot run here`));
  });
});

describe('copies', () => {
  const SUMMARY = /^copied (\d+) bytes in \d+\.\d{3} s, \d+\.\d MiB\/s, backend ([a-z_]+)(, verified)?\n$/;

  it.each(backends)('copies byte for byte on %s: sizes around the chunk size, several depths', (backend) => {
    const chunk = 64 * 1024;
    for (const [size, depth] of [
      [0, 1],
      [1, 1],
      [chunk - 1, 4],
      [chunk, 4],
      [chunk * 3 + 17, 2],
      [5 * 1024 * 1024 + 12345, 16],
    ] as const) {
      const bytes = randomBytes(size);
      const source = makeFile(`copy-${backend}-${size}-src`, bytes);
      const destination = join(dir, `copy-${backend}-${size}-dst`);
      const { status, stdout, stderr } = ocopy('--backend', backend, '-c', '64K', '-q', String(depth), source, destination);
      expect(stderr).toBe('');
      expect(status).toBe(0);
      const summary = SUMMARY.exec(stdout);
      expect(summary?.[1]).toBe(String(size));
      expect(summary?.[2]).toBe(backend);
      expect(readFileSync(destination).equals(bytes)).toBe(true);
    }
  });

  it('--verify reads both back: exit 0 and the summary says verified', () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    const source = makeFile('verify-src', bytes);
    const destination = join(dir, 'verify-dst');
    const { status, stdout } = ocopy('--verify', '--chunk-size', '1M', source, destination);
    expect(status).toBe(0);
    expect(stdout).toMatch(/, verified\n$/);
    expect(readFileSync(destination).equals(bytes)).toBe(true);
  });

  it('--force overwrites a longer destination with exactly the source', () => {
    const bytes = randomBytes(10_000);
    const source = makeFile('force-src', bytes);
    const destination = makeFile('force-dst', randomBytes(50_000));
    const { status } = ocopy('--force', source, destination);
    expect(status).toBe(0);
    expect(readFileSync(destination).equals(bytes)).toBe(true);
  });

  it('--verify finds a copy that differs: exit 3 and the offset of the first difference', async () => {
    const file = overlappedFile;
    const bytes = randomBytes(200_000);
    const source = makeFile('mismatch-src', bytes);
    const destination = join(dir, 'mismatch-dst');
    // A copyFile that damages one byte of what it wrote: verify must see it.
    const damaging: OverlappedFileModule = {
      open: file.open,
      async copyFile(from, to, options) {
        const result = await file.copyFile(from, to, options);
        const copied = readFileSync(to);
        copied[150_001] = (copied[150_001] as number) ^ 0xff;
        writeFileSync(to, copied);
        return result;
      },
    };
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCopy(
      { source, destination, queueDepth: 4, chunkSize: 65536, backend: undefined, verify: true, force: false },
      { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t), isTTY: false } },
      new AbortController().signal,
      damaging,
    );
    expect(code).toBe(3);
    expect(err.join('')).toContain('verify failed: the files differ at byte 150001');
    expect(out).toEqual([]);
  });

  it('--verify finds a copy of another length: exit 3', async () => {
    const file = overlappedFile;
    const source = makeFile('length-src', randomBytes(70_000));
    const destination = join(dir, 'length-dst');
    // A copyFile that leaves one byte too many: verify must see it.
    const longer: OverlappedFileModule = {
      open: file.open,
      async copyFile(from, to, options) {
        const result = await file.copyFile(from, to, options);
        writeFileSync(to, Buffer.from([1]), { flag: 'a' });
        return result;
      },
    };
    const err: string[] = [];
    const code = await runCopy(
      { source, destination, queueDepth: 2, chunkSize: 4096, backend: undefined, verify: true, force: false },
      { stdout: { write: () => true }, stderr: { write: (t: string) => err.push(t), isTTY: false } },
      new AbortController().signal,
      longer,
    );
    expect(code).toBe(3);
    expect(err.join('')).toContain(`verify failed: ${destination} is 70001 bytes, ${source} is 70000`);
  });

  it('draws no progress bar when stderr is not a terminal', () => {
    const source = makeFile('quiet-src', randomBytes(2 * 1024 * 1024));
    const { status, stderr } = ocopy('-c', '4K', source, join(dir, 'quiet-dst'));
    expect(status).toBe(0);
    expect(stderr).toBe('');
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s cancels the copy: exit %i and the partial destination is removed', async (signal, exitCode) => {
    // A sparse 1 GiB source copied 4 KiB at a time, one in flight: the copy
    // takes seconds, and the signal goes as soon as the destination grows.
    const source = join(dir, `${signal}-src`);
    writeFileSync(source, '');
    truncateSync(source, 1024 * 1024 * 1024);
    const destination = join(dir, `${signal}-dst`);
    const child = spawn(process.execPath, [cli, '-c', '4K', '-q', '1', source, destination], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!(existsSync(destination) && statSync(destination).size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(existsSync(destination) && statSync(destination).size > 0).toBe(true);
    child.kill(signal);
    const code = await exited;
    rmSync(source, { force: true });
    expect(code).toBe(exitCode);
    expect(stderr).toContain('interrupted; the partial copy was removed');
    expect(existsSync(destination)).toBe(false);
  });
});

describe('progress bar', () => {
  it('formats the fraction, the amounts and the rate to the width', () => {
    const line = formatProgress(512 * 1024 * 1024, 1024 * 1024 * 1024, 2, 80);
    expect(line).toMatch(/^\[#+-+\]  50%  512\.0\/1024\.0 MiB  256\.0 MiB\/s$/);
    expect(line.length).toBeLessThanOrEqual(80);
    expect(formatProgress(0, 0, 0, 80)).toMatch(/^\[#+\] 100%  0\.0\/0\.0 MiB$/);
  });
});
