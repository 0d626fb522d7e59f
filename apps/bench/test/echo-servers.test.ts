/**
 * The echo servers the echo scenario measures the project against: the two
 * C servers (the io_uring reference and the epoll floor), Node's `net`, and
 * the other runtimes' (Bun's `Bun.listen` and `node:net`, Deno's
 * `Deno.listen`, started as the bench starts them). A figure against them
 * means something only if they are correct echo servers themselves.
 */
import { connect, type Socket } from 'node:net';

import { buildC, runEchoBench } from '@overlapped/echo-bench';
import { afterEach, describe, expect, it } from 'vitest';

import { BUN_NET, runtimeEchoServers, type ServerSpec } from '../src/scenarios/echo.js';
import { benchScript, startServer, type ServerProcess } from '../src/servers/child.js';

const linux = process.platform === 'linux';

// The C servers build on Linux only; the Node and runtime servers are the
// bench's compiled scripts (dist/, built before the tests run).
function cServer(name: string, source: string): () => ServerSpec {
  return () => ({ name, command: buildC(new URL(source, import.meta.url), name), args: ['0', '127.0.0.1', '16384'] });
}

const runtimes = runtimeEchoServers(16384);
// `backpressure`: whether the server stops reading from a client that does not
// read its echo (Node's `net` echo, as users write it, keeps reading and
// buffers without bound).
const SERVERS: Array<{ name: string; spec: () => ServerSpec; backpressure: boolean }> = [
  ...(linux
    ? [
        { name: 'echo-uring', spec: cServer('echo-uring', '../reference/echo-uring.c'), backpressure: true },
        { name: 'echo-epoll', spec: cServer('echo-epoll', '../reference/echo-epoll.c'), backpressure: true },
      ]
    : []),
  {
    name: 'node net',
    spec: () => ({
      name: 'node net',
      command: process.execPath,
      args: [benchScript('servers/net-echo.js'), '0', '127.0.0.1'],
    }),
    backpressure: false,
  },
  ...runtimes.specs.map((spec) => ({ name: spec.name, spec: () => spec, backpressure: spec.name !== BUN_NET })),
];

const running: ServerProcess[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of running.splice(0)) await server.stop();
});

async function start(spec: ServerSpec): Promise<ServerProcess> {
  const server = await startServer(spec.command, spec.args);
  running.push(server);
  return server;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.on('error', reject);
    sockets.push(socket);
  });
}

describe.each(SERVERS)('$name', ({ spec, backpressure }) => {
  it('echoes messages from 1 byte to 1 MiB, pipelined, byte for byte, and exits 0 on SIGTERM', async () => {
    const server = await start(spec());
    for (const size of [1, 64, 65536 + 3, 1024 * 1024]) {
      // Bounded by a count, not a time: a busy machine only makes it slower.
      const r = await runEchoBench({ port: server.port, connections: 4, size, pipeline: 3, warmup: 0, duration: 60, maxRoundTrips: 24 });
      expect(r.ok, `${size} B: ${r.error}`).toBe(true);
      expect(r.roundTrips).toBeGreaterThanOrEqual(24);
    }
    running.splice(running.indexOf(server), 1);
    expect(await server.stop()).toBe(0);
  });

  it('on the peer shutdown echoes what came before it, then ends the connection', async () => {
    const server = await start(spec());
    const socket = await open(server.port);
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    const ended = new Promise<void>((resolve) => socket.on('end', resolve));
    socket.end(Buffer.from('last words'));
    await ended;
    expect(Buffer.concat(received).toString()).toBe('last words');
  });

  it('gives a client that stopped reading every byte back, in order, once it reads again', async () => {
    const server = await start(spec());
    const socket = await open(server.port);
    socket.pause();
    // More than the two sockets' buffers hold: the server's writes to this
    // client come up short and the rest must wait for it to read.
    const sent = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < sent.length; i += 4) sent.writeUInt32LE(i, i);
    socket.write(sent);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const received: Buffer[] = [];
    let length = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        received.push(d);
        length += d.length;
        if (length >= sent.length) resolve();
      });
      socket.resume();
    });
    expect(Buffer.concat(received).equals(sent)).toBe(true);
  });

  it('a client that sends and never reads stalls only itself', async () => {
    const server = await start(spec());
    const stalled = await open(server.port);
    stalled.pause();
    // Far more than the two sockets' buffers hold.
    const chunk = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < 16; i++) stalled.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The server's sends to this client cannot finish, so it stops reading.
    if (backpressure) expect(stalled.writableLength).toBeGreaterThan(0);
    const r = await runEchoBench({ port: server.port, connections: 2, size: 64, pipeline: 1, warmup: 0, duration: 60, maxRoundTrips: 200 });
    expect(r.ok, r.error).toBe(true);
    expect(r.roundTrips).toBeGreaterThanOrEqual(200);
  });
});

describe('the other runtimes', () => {
  it('each runs here or is skipped with a reason', () => {
    for (const { name, reason } of runtimes.skipped) {
      expect(reason, name).toMatch(/\w/);
      console.log(`${name} skipped: ${reason}`);
    }
    expect(runtimes.specs.length + runtimes.skipped.length).toBe(3);
  });
});
