/**
 * The two C echo servers the echo scenario measures everything against (the
 * io_uring reference and the epoll floor): a figure against them means
 * something only if they are correct echo servers themselves.
 */
import { connect, type Socket } from 'node:net';

import { buildC, runEchoBench } from '@overlapped/echo-bench';
import { afterEach, describe, expect, it } from 'vitest';

import { startServer, type ServerProcess } from '../src/servers/child.js';

const SERVERS = [
  { name: 'echo-uring', source: new URL('../reference/echo-uring.c', import.meta.url) },
  { name: 'echo-epoll', source: new URL('../reference/echo-epoll.c', import.meta.url) },
];

const running: ServerProcess[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of running.splice(0)) await server.stop();
});

async function start(name: string, source: URL): Promise<ServerProcess> {
  const server = await startServer(buildC(source, name), ['0', '127.0.0.1', '16384']);
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

describe.runIf(process.platform === 'linux').each(SERVERS)('$name', ({ name, source }) => {
  it('echoes messages from 1 byte to 1 MiB, pipelined, byte for byte, and exits 0 on SIGTERM', async () => {
    const server = await start(name, source);
    for (const size of [1, 64, 65536 + 3, 1024 * 1024]) {
      const r = await runEchoBench({ port: server.port, connections: 4, size, pipeline: 3, warmup: 0, duration: 0.3 });
      expect(r.ok, `${size} B: ${r.error}`).toBe(true);
      expect(r.roundTrips).toBeGreaterThan(0);
    }
    running.splice(running.indexOf(server), 1);
    expect(await server.stop()).toBe(0);
  });

  it('on the peer shutdown echoes what came before it, then ends the connection', async () => {
    const server = await start(name, source);
    const socket = await open(server.port);
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    const ended = new Promise<void>((resolve) => socket.on('end', resolve));
    socket.end(Buffer.from('last words'));
    await ended;
    expect(Buffer.concat(received).toString()).toBe('last words');
  });

  it('a client that sends and never reads stalls only itself', async () => {
    const server = await start(name, source);
    const stalled = await open(server.port);
    stalled.pause();
    // Far more than the two sockets' buffers hold: the server's send to this
    // client cannot finish while it does not read.
    const chunk = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < 16; i++) stalled.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stalled.writableLength).toBeGreaterThan(0);
    const r = await runEchoBench({ port: server.port, connections: 2, size: 64, pipeline: 1, warmup: 0, duration: 0.3 });
    expect(r.ok, r.error).toBe(true);
    expect(r.roundTrips).toBeGreaterThan(100);
  });
});
