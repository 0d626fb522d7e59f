import { execFile } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { type EchoBenchReport, resolveOptions, runEchoBench } from '../src/index.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A node:net server whose per-connection behaviour is `handle`; resolves with its port. */
async function serve(handle: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    handle(socket);
  });
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as Server['close'];
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const echo = (socket: Socket) => socket.on('data', (d) => socket.write(d));

/** Echoes faithfully until `after` bytes have passed, then lets `corrupt` alter what follows. */
function echoThenCorrupt(after: number, corrupt: (chunk: Buffer) => Buffer) {
  let seen = 0;
  let done = false;
  return (socket: Socket) =>
    socket.on('data', (d: Buffer) => {
      seen += d.length;
      if (!done && seen > after) {
        done = true;
        socket.write(corrupt(Buffer.from(d)));
      } else socket.write(d);
    });
}

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function checkShape(r: EchoBenchReport) {
  expect(r.roundTrips).toBeGreaterThan(0);
  expect(r.totalRoundTrips).toBeGreaterThanOrEqual(r.roundTrips);
  expect(r.seconds).toBeGreaterThan(0);
  expect(r.roundTripsPerSecond).toBeCloseTo(r.roundTrips / r.seconds, 6);
  expect(r.mibPerSecond).toBeCloseTo((r.roundTrips * r.size) / r.seconds / 1048576, 6);
  const { p50, p90, p99, max } = r.latencyMs;
  expect(p50).toBeGreaterThan(0);
  expect(p50).toBeLessThanOrEqual(p90);
  expect(p90).toBeLessThanOrEqual(p99);
  expect(p99).toBeLessThanOrEqual(max);
  expect(r.client.cpuSeconds).toBeGreaterThanOrEqual(0);
}

describe('echo-bench against a node:net echo server', () => {
  it('reports round trips, MiB/s and ordered latency percentiles for a faithful server', async () => {
    const port = await serve(echo);
    const r = await runEchoBench({ port, connections: 4, size: 1000, pipeline: 4, warmup: 0.1, duration: 0.4 });
    expect(r.ok).toBe(true);
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ host: '127.0.0.1', port, connections: 4, size: 1000, pipeline: 4 });
    checkShape(r);
  });

  it('says when the measured window opens and closes, once each, in that order', async () => {
    const port = await serve(echo);
    const events: string[] = [];
    let roundTripsAtStart = -1;
    let served = 0;
    const r = await runEchoBench(
      { port, connections: 2, size: 64, warmup: 0.2, duration: 0.3 },
      { onWindow: (e) => { events.push(e); if (e === 'start') roundTripsAtStart = served; } },
    );
    served = r.totalRoundTrips;
    expect(r.ok).toBe(true);
    expect(events).toEqual(['start', 'end']);
    expect(roundTripsAtStart).toBe(0);
    // The warm-up's round trips are outside the window.
    expect(r.totalRoundTrips).toBeGreaterThan(r.roundTrips);
  });

  it('checks messages from 1 byte to 1 MiB, pipelined, split across reads', async () => {
    const port = await serve(echo);
    for (const size of [1, 7, 65536 + 3, 1024 * 1024]) {
      // Bounded by a count, not a time: a busy machine only makes it slower.
      const r = await runEchoBench({ port, connections: 3, size, pipeline: 3, warmup: 0, duration: 60, maxRoundTrips: 18 });
      expect(r.ok, r.error).toBe(true);
      expect(r.roundTrips).toBeGreaterThanOrEqual(18);
    }
  });

  it('catches a server that flips one bit, and says which message and offset', async () => {
    const port = await serve(
      echoThenCorrupt(5000, (chunk) => {
        chunk[chunk.length >> 1] = (chunk[chunk.length >> 1] as number) ^ 0x10;
        return chunk;
      }),
    );
    const r = await runEchoBench({ port, connections: 1, size: 100, pipeline: 2, warmup: 0, duration: 2 });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^connection 0: byte mismatch in message \d+ at offset \d+: expected \d+, got \d+$/);
  });

  it('catches a server that drops a byte, repeats a message or swaps two bytes', async () => {
    const drop = await serve(echoThenCorrupt(3000, (c) => c.subarray(1)));
    const repeat = await serve(
      echoThenCorrupt(3000, (c) => Buffer.concat([c, Buffer.from(c)])),
    );
    const swap = await serve(
      echoThenCorrupt(3000, (c) => {
        if (c.length >= 2 && c[0] !== c[1]) [c[0], c[1]] = [c[1] as number, c[0] as number];
        else c[0] = (c[0] as number) + 1;
        return c;
      }),
    );
    for (const port of [drop, repeat, swap]) {
      const r = await runEchoBench({ port, connections: 1, size: 64, pipeline: 1, warmup: 0, duration: 2 });
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/byte mismatch|never sent|timed out/);
    }
  });

  it('fails when the server closes a connection in the middle of the run', async () => {
    let bytes = 0;
    const port = await serve((socket) =>
      socket.on('data', (d) => {
        bytes += d.length;
        if (bytes > 10_000) socket.destroy();
        else socket.write(d);
      }),
    );
    const r = await runEchoBench({ port, connections: 2, size: 100, warmup: 0, duration: 2 });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/closed the connection|receive failed|send failed/);
  });

  it('fails with connect refused when nothing listens', async () => {
    const port = await serve(echo);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const r = await runEchoBench({ port, connections: 1, warmup: 0, duration: 1 });
    expect(r.ok).toBe(false);
    expect(r.error).toBe('connection 0: connect failed: Connection refused');
    expect(r.roundTrips).toBe(0);
  });

  it('stops at --max-round-trips', async () => {
    const port = await serve(echo);
    const r = await runEchoBench({ port, connections: 2, size: 64, pipeline: 2, warmup: 0, duration: 20, maxRoundTrips: 500 });
    expect(r.ok).toBe(true);
    // The run stops issuing at 500; messages already in flight still come back and are checked.
    expect(r.totalRoundTrips).toBeGreaterThanOrEqual(500);
    expect(r.totalRoundTrips).toBeLessThanOrEqual(500 + 2 * 2);
    expect(r.seconds).toBeLessThan(10);
  });

  it('rejects invalid options with ERR_* codes before connecting', () => {
    expect(() => resolveOptions({ port: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveOptions({ port: 70000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveOptions({ port: 1, connections: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveOptions({ port: 1, size: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveOptions({ port: 1, pipeline: 2000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveOptions({ port: 1, duration: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveOptions({ port: 1, host: 'example.com' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => resolveOptions({ port: '80' as unknown as number })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(resolveOptions({ port: 9 })).toEqual({
      host: '127.0.0.1', port: 9, connections: 50, size: 64, pipeline: 1, warmup: 1, duration: 5, maxRoundTrips: 0,
    });
  });
});

describe('the echo-bench command', () => {
  it('prints the report as JSON with --json and exits 0 on a faithful server', async () => {
    const port = await serve(echo);
    const { code, stdout } = await runCli(['--port', String(port), '--connections', '3', '--size', '256', '--duration', '0.3', '--warmup', '0', '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as EchoBenchReport;
    expect(r.ok).toBe(true);
    checkShape(r);
  });

  it('exits 1 and says where on a corrupting server', async () => {
    const port = await serve(echoThenCorrupt(2000, (c) => Buffer.alloc(c.length, 0xaa)));
    const { code, stdout } = await runCli(['--port', String(port), '--connections', '1', '--duration', '2', '--warmup', '0']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAILED: connection 0: byte mismatch in message/);
  });

  it('exits 2 with the usage on bad arguments', async () => {
    for (const args of [[], ['--port', 'x'], ['--port', '80', '--size', '0'], ['--port', '80', '--bogus'], ['--port', '80', '--host', '::1']]) {
      const { code, stderr } = await runCli(args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(/^echo-bench: .+\n\nusage: echo-bench/);
    }
  });
});
