import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { type EchoCounters, type EchoServerFactory, resolveServerOptions, runEchoServer } from '../src/index.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** A node:net echo server with the counters shape, standing in for createEchoServer. */
const netFactory: EchoServerFactory = async (o) => {
  const counters: EchoCounters = { accepted: 0, active: 0, bytesIn: 0, bytesOut: 0, resets: 0, errors: 0, refused: 0, timeouts: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    counters.accepted++;
    counters.active++;
    sockets.add(socket);
    socket.on('data', (d) => {
      counters.bytesIn += d.length;
      socket.write(d, () => (counters.bytesOut += d.length));
    });
    socket.on('error', () => counters.resets++);
    socket.on('close', () => {
      counters.active--;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host, resolve));
  return {
    backend: 'net',
    address: () => server.address() as AddressInfo,
    counters: () => ({ ...counters }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
};

/** Sends `payload` to port, reads it all back, closes. */
async function echoOnce(port: number, payload: Buffer): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= payload.length) resolve();
    });
    socket.write(payload);
  });
  socket.end();
  await new Promise((resolve) => socket.on('close', resolve));
  return Buffer.concat(chunks);
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

describe('runEchoServer', () => {
  it('prints the bound address, counters periodically, and the final counters after the signal', async () => {
    const lines: string[] = [];
    const ac = new AbortController();
    let port = 0;
    const listening = new Promise<void>((resolve) => {
      void runEchoServer(
        { port: 0, mode: 'js' },
        { factory: netFactory, signal: ac.signal, statsInterval: 20, log: (l) => lines.push(l), onListening: (a) => ((port = a.port), resolve()) },
      ).then((final) => finals.push(final));
    });
    const finals: EchoCounters[] = [];
    await listening;
    expect(port).toBeGreaterThan(0);
    expect(lines[0]).toBe(`listening 127.0.0.1:${port} mode=js backend=net`);
    const payload = pattern(100_000);
    expect((await echoOnce(port, payload)).equals(payload)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.some((l) => /^counters accepted=1 active=\d bytesIn=100000 bytesOut=100000 resets=0 errors=0 refused=0 timeouts=0$/.test(l))).toBe(true);
    ac.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(finals).toEqual([{ accepted: 1, active: 0, bytesIn: 100000, bytesOut: 100000, resets: 0, errors: 0, refused: 0, timeouts: 0 }]);
    expect(lines.at(-1)).toBe('closed; final counters accepted=1 active=0 bytesIn=100000 bytesOut=100000 resets=0 errors=0 refused=0 timeouts=0');
    // Closed means closed: nothing listens there any more.
    await expect(echoOnce(port, Buffer.from('x'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects invalid options with ERR_* codes', () => {
    expect(() => resolveServerOptions({ port: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveServerOptions({ mode: 'fast' as 'js' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => resolveServerOptions({ backend: 'epoll' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => resolveServerOptions({ bufferSize: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveServerOptions({ threads: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(resolveServerOptions({})).toEqual({
      host: '127.0.0.1', port: 7000, mode: 'native', bufferSize: 16384, maxConnections: 10000, idleTimeout: 0, backend: 'auto', threads: 0,
    });
  });
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI; resolves once it prints "listening". */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  exited.finally(() => clearTimeout(killer));
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /^listening [\d.]+:(\d+) /m.exec(stdout);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((e) => reject(new Error(`exited ${e.code}: ${e.stderr}`)));
  });
  // Tests that expect an early exit never await `listening`.
  listening.catch(() => {});
  return { child, exited, listening };
}

describe('the echo-server command', () => {
  it('exits 2 with the usage on bad arguments', async () => {
    for (const args of [['--mode', 'fast'], ['--port=-1'], ['--port', 'x'], ['--backend', 'epoll'], ['--bogus'], ['--stats-interval', '-1']]) {
      const { exited } = startCli(args);
      const { code, stderr } = await exited;
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(/^echo-server: [^]+\n\nusage: echo-server/);
    }
  });

  for (const mode of ['native', 'js', 'events'] as const) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${mode} mode: echoes, then closes on ${signal} with exit 0 and the final counters`, async () => {
        const { child, exited, listening } = startCli(['--port', '0', '--mode', mode, '--stats-interval', '0']);
        const port = await listening;
        const payload = pattern(300_000);
        expect((await echoOnce(port, payload)).equals(payload)).toBe(true);
        expect((await echoOnce(port, Buffer.from('hello'))).toString()).toBe('hello');
        child.kill(signal);
        const { code, stdout } = await exited;
        expect(code).toBe(0);
        const final = /closed; final counters (.*)$/m.exec(stdout)?.[1] ?? '';
        expect(final).toMatch(/\baccepted=2\b/);
        expect(final).toMatch(/\bactive=0\b/);
        expect(final).toMatch(/\bbytesIn=300005\b/);
        expect(final).toMatch(/\bbytesOut=300005\b/);
        expect(final).toMatch(/\berrors=0\b/);
        await expect(echoOnce(port, Buffer.from('x'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      });
    }
  }
});
