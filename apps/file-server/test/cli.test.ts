// The command line in a child process: --help, exit 2 with one line on bad
// arguments, exit 1 with a Node-shaped message when it cannot start, and
// exit 0 on SIGTERM / SIGINT after finishing the response in flight.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { httpGet } from './client.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'overlapped-file-server-cli-'));
  writeFileSync(join(root, 'hello.txt'), 'hello\n');
  writeFileSync(join(root, 'big.bin'), Buffer.alloc(32 * 1024 * 1024, 7));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts the CLI on port 0; resolves with the child and its port once it prints the listening line. */
function startCli(args: string[]): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, [cli, '--root', root, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${stdout} ${stderr}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /listening http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), output: () => stdout + stderr });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stdout} ${stderr}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('file-server command line', () => {
  it('prints its usage with --help and exits 0', () => {
    const { status, stdout } = run(['--help']);
    expect(status).toBe(0);
    expect(stdout).toContain('--root DIR');
    expect(stdout).toContain('--follow-symlinks');
  });

  it('exits 2 with one line on bad arguments', () => {
    for (const args of [
      [],
      ['--root', root, '--port', 'abc'],
      ['--root', root, '--port', '70000'],
      ['--root', root, '--backend', 'nope'],
      ['--root', root, '--bogus'],
      ['--root', root, 'extra'],
      ['--root', root, '--header-timeout', '0'],
    ]) {
      const { status, stderr } = run(args);
      expect({ args, status, lines: stderr.trim().split('\n').length }).toEqual({ args, status: 2, lines: 1 });
      expect(stderr).toMatch(/^file-server: /);
    }
  });

  it('exits 1 with a Node-shaped message when it cannot start', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const inUse = run(['--root', root, '--port', String(port)]);
      expect(inUse.status).toBe(1);
      expect(inUse.stderr.trim()).toBe(`file-server: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
    } finally {
      taken.close();
    }
    const missing = run(['--root', join(root, 'missing'), '--port', '0']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('ENOENT: no such file or directory');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}: finishes the response in flight, prints the counters with --log, exits 0`, async () => {
      const { child, port, output } = await startCli(['--log']);
      const hello = await httpGet(port, '/hello.txt');
      expect([hello.status, hello.body.toString()]).toEqual([200, 'hello\n']);
      // The signal once the response has begun: the download still completes.
      const download = new Promise<{ status: number; length: number }>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/big.bin', agent: false }, (res) => {
          child.kill(signal);
          let length = 0;
          res.on('data', (chunk: Buffer) => (length += chunk.length));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, length }));
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
      const [code, got] = await Promise.all([exited(child), download.catch((error: Error) => error)]);
      expect(code).toBe(0);
      expect(got).toMatchObject({ status: 200, length: 32 * 1024 * 1024 });
      expect(output()).toContain('"GET /hello.txt" 200');
      expect(output()).toMatch(new RegExp(`${signal}: closed; counters accepted=2 open=0 refused=0 requests=2 `));
    });
  }
});
