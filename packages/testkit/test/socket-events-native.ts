// The native event driver (io_uring and threadpool sockets: readiness on
// the JS thread's event loop), driven through its internal boundary
// (EventDriver / EventConnection / EventSink) with node:net peers: bytes on
// the wire, half-close, resets, backpressure, GC and worker teardown.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { BackendName } from '@overlapped/common';
import { describe, expect, it } from 'vitest';

import { socketDriverFor } from '../../socket/dist/backends.js';
import { nativeEventDriver as eventDriverFor } from '../../socket/dist/native-events.js';
import type { EventConnection, EventSink } from '../../socket/dist/event-driver.js';
import { binding, type NativeSocketDriver } from '../../socket/dist/native.js';
import type { NativeEventDriver } from '../../socket/dist/native-events.js';
import { TO_END } from '../../socket/dist/send-file.js';

const socketDist = fileURLToPath(new URL('../../socket/dist/', import.meta.url));

interface Peer {
  connection: EventConnection;
  closed: Promise<Error | undefined>;
  ended: Promise<void>;
}

type Handlers = Partial<Omit<EventSink, 'closed' | 'end'>> & {
  end?: (connection: EventConnection) => void;
  data?: (view: Uint8Array, connection: EventConnection) => void;
  writable?: (connection: EventConnection) => void;
};

// A server whose every accepted socket runs on the event driver with `handlers`.
async function eventServer(backend: BackendName, handlers: (accepted: number) => Handlers) {
  const driver = eventDriverFor(backend);
  if (!driver) throw new Error(`no native event driver for ${backend}`);
  const peers: Peer[] = [];
  let closedCount = 0;
  const listener = await socketDriverFor(backend).listen(
    { host: '127.0.0.1', family: 4, port: 0, backlog: 511, acceptDepth: 4, multishot: true },
    (accepted) => {
      const socket = accepted.open(() => closedCount++);
      const own = handlers(peers.length);
      let connection!: EventConnection;
      let closed!: (error: Error | undefined) => void;
      let ended!: () => void;
      const peer: Peer = {
        connection: undefined as unknown as EventConnection,
        closed: new Promise((resolve) => (closed = resolve)),
        ended: new Promise((resolve) => (ended = resolve)),
      };
      connection = driver.open(socket, {
        data: (view) => own.data?.(view, connection),
        writable: () => own.writable?.(connection),
        end: () => {
          ended();
          own.end?.(connection);
        },
        closed: (error) => closed(error),
      });
      peer.connection = connection;
      peers.push(peer);
    },
  );
  return { driver, listener, peers, port: listener.address.port, closedCount: () => closedCount };
}

const echo = () => ({
  data: (view: Uint8Array, connection: EventConnection) => {
    connection.write(view);
  },
  end: (connection: EventConnection) => connection.close(),
});

function clientOf(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

// Sends `bytes`, half-closes, and collects what comes back until the server's FIN.
function roundTrip(socket: net.Socket, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
    socket.end(bytes);
  });
}

function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error('timed out'));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

// The inode behind descriptor `fd`, or undefined when it is closed.
function inodeOf(fd: number): number | undefined {
  try {
    return fstatSync(fd).ino;
  } catch {
    return undefined;
  }
}

// A client socket on the event driver, connected to a node:net peer that
// never reads (a sendFile to it stays in flight), and the peer.
async function stalledPair(backend: BackendName, sink: EventSink) {
  const peers: net.Socket[] = [];
  const peerServer = net.createServer({ pauseOnConnect: true }, (peer) => {
    peer.on('error', () => undefined);
    peers.push(peer);
  });
  await new Promise<void>((resolve) => peerServer.listen(0, '127.0.0.1', resolve));
  const port = (peerServer.address() as net.AddressInfo).port;
  const socket = (await socketDriverFor(backend).connect('127.0.0.1', 4, port, undefined)) as unknown as NativeSocketDriver;
  const connection = eventDriverFor(backend)!.open(socket, sink);
  await waitFor(() => peers.length === 1);
  const close = () => {
    for (const peer of peers) peer.destroy();
    return new Promise<void>((resolve) => peerServer.close(() => resolve()));
  };
  return { socket, connection, handle: socket.handOver(), peer: peers[0]!, close };
}

function runChild(source: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
    env: { ...process.env, OVERLAPPED_SOCKET_DIST: socketDist },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function defineNativeEventSuite(backend: BackendName): void {
  // The driver this backend's event sockets get (the first test checks it).
  const expected = backend === 'io_uring' && process.env.OVERLAPPED_EVENT_DRIVER !== 'poll' ? 'uring' : 'poll';
  describe(`native event driver [${backend}]`, () => {
    it(`is the ${expected} driver`, () => {
      expect(eventDriverFor(backend)?.kind).toBe(expected);
    });

    it('echoes byte-exact from 1 B to 1 MiB', async () => {
      const server = await eventServer(backend, echo);
      try {
        for (const size of [1, 100, 4096, 65_536, 300_001, 1 << 20]) {
          const bytes = randomBytes(size);
          const back = await roundTrip(await clientOf(server.port), bytes);
          expect(back.length).toBe(size);
          expect(back.equals(bytes)).toBe(true);
        }
        await waitFor(() => server.closedCount() === 6);
        for (const peer of server.peers) expect(await peer.closed).toBeUndefined();
      } finally {
        await server.listener.close();
      }
    });

    it('receives into memory that starts on a page boundary', async () => {
      // The kernel copies received bytes much slower to memory off a cache line.
      const driver = eventDriverFor(backend) as NativeEventDriver;
      expect(binding().eventsMemoryPageOffset!(driver.index)).toBe(0);
    });

    // The 'uring' driver's wakes (the 'poll' driver has no eventfd).
    if (expected === 'uring') {
      it("wakes once per message in a ping-pong: a wake's own completions make no second, empty wake", async () => {
        const driver = eventDriverFor(backend) as NativeEventDriver;
        const server = await eventServer(backend, echo);
        try {
          const socket = await clientOf(server.port);
          let received = 0;
          let back = () => {};
          socket.on('data', (chunk) => {
            received += chunk.length;
            if (received % 64 === 0) back();
          });
          // One message at a time: each echo is back before the next goes out,
          // so every wake has exactly one message to deliver.
          const before = binding().eventsWakes!(driver.index);
          const messages = 300;
          for (let i = 1; i <= messages; i++) {
            const echoed = new Promise<void>((resolve) => (back = resolve));
            socket.write(Buffer.alloc(64, i));
            await echoed;
          }
          expect(received).toBe(messages * 64);
          // A wake the last echo's completions would make comes on the next turns.
          await new Promise((resolve) => setTimeout(resolve, 20));
          const [wakes, empty] = binding().eventsWakes!(driver.index).map((count, i) => count - before[i]!);
          expect(wakes).toBeGreaterThanOrEqual(messages);
          // Each message's CQE signals the eventfd once more when this thread
          // reaps it: drained before the wake ends, it makes no wake of its own.
          expect(empty).toBeLessThan(messages / 10);
          socket.destroy();
        } finally {
          await server.listener.close();
        }
      });
    }

    it('puts every read of a batch on a cache line, with odd-sized messages on several connections', async () => {
      const offsets: number[] = [];
      const server = await eventServer(backend, () => ({
        data: (view, connection) => {
          offsets.push(view.byteOffset);
          connection.write(view);
        },
        end: (connection) => connection.close(),
      }));
      try {
        const sockets = await Promise.all(Array.from({ length: 4 }, () => clientOf(server.port)));
        const received = sockets.map(() => [] as Buffer[]);
        sockets.forEach((socket, i) => socket.on('data', (chunk) => received[i]!.push(chunk)));
        const sent = sockets.map(() => [] as Buffer[]);
        for (let round = 0; round < 20; round++) {
          // Written in one turn: the server's sockets are readable together,
          // and one batch reads them one after the other.
          sockets.forEach((socket, i) => {
            const message = randomBytes(1000 + round * 7 + i);
            sent[i]!.push(message);
            socket.write(message);
          });
          const expected = sent.map((messages) => messages.reduce((sum, message) => sum + message.length, 0));
          await waitFor(() => received.every((chunks, i) => chunks.reduce((sum, chunk) => sum + chunk.length, 0) === expected[i]));
        }
        received.forEach((chunks, i) => expect(Buffer.concat(chunks).equals(Buffer.concat(sent[i]!))).toBe(true));
        expect(offsets.length).toBeGreaterThanOrEqual(80);
        // The views start at the driver's memory plus a multiple of 64.
        expect(new Set(offsets.map((offset) => offset % 64))).toEqual(new Set([offsets[0]! % 64]));
        for (const socket of sockets) socket.destroy();
        await waitFor(() => server.closedCount() === 4);
      } finally {
        await server.listener.close();
      }
    });

    it('serves 200 connections at once', async () => {
      const server = await eventServer(backend, echo);
      try {
        const sockets = await Promise.all(Array.from({ length: 200 }, () => clientOf(server.port)));
        const payloads = sockets.map((_, i) => randomBytes(1000 + i * 37));
        const backs = await Promise.all(sockets.map((socket, i) => roundTrip(socket, payloads[i]!)));
        backs.forEach((back, i) => expect(back.equals(payloads[i]!)).toBe(true));
        await waitFor(() => server.closedCount() === 200);
      } finally {
        await server.listener.close();
      }
    });

    it('half-closes both ways: the peer FIN arrives as end, end() sends ours after the queue', async () => {
      const tail = randomBytes(2 << 20);
      const server = await eventServer(backend, () => ({
        end: (connection) => {
          connection.write(new TextEncoder().encode('bye:'));
          connection.write(tail);
          connection.end();
        },
      }));
      try {
        const socket = await clientOf(server.port);
        const back = await roundTrip(socket, new Uint8Array([1, 2, 3]));
        expect(back.subarray(0, 4).toString()).toBe('bye:');
        expect(back.subarray(4).equals(tail)).toBe(true);
        const peer = server.peers[0]!;
        await peer.ended;
        peer.connection.close();
        expect(await peer.closed).toBeUndefined();
      } finally {
        await server.listener.close();
      }
    });

    it('reports a peer reset as ECONNRESET, and reset() resets the peer', async () => {
      const server = await eventServer(backend, () => ({}));
      try {
        const first = await clientOf(server.port);
        await waitFor(() => server.peers.length === 1);
        first.write('x');
        await new Promise((resolve) => setTimeout(resolve, 20));
        first.resetAndDestroy();
        const error = (await server.peers[0]!.closed) as NodeJS.ErrnoException;
        expect(error.code).toBe('ECONNRESET');
        expect(error.syscall).toBe('read');

        const second = await clientOf(server.port);
        await waitFor(() => server.peers.length === 2);
        const seen = new Promise<NodeJS.ErrnoException>((resolve) => second.once('error', resolve));
        server.peers[1]!.connection.reset();
        expect(await server.peers[1]!.closed).toBeUndefined();
        expect((await seen).code).toBe('ECONNRESET');
        await waitFor(() => server.closedCount() === 2);
      } finally {
        await server.listener.close();
      }
    });

    it('queues natively for a client that never reads, then drains byte-exact', async () => {
      let writable = 0;
      const server = await eventServer(backend, () => ({ writable: () => writable++ }));
      try {
        const socket = await clientOf(server.port);
        socket.pause();
        await waitFor(() => server.peers.length === 1);
        const connection = server.peers[0]!.connection;
        const chunk = randomBytes(1 << 20);
        let queued = 0;
        for (let i = 0; i < 16; i++) queued = connection.write(chunk);
        expect(queued).toBeGreaterThan(0);
        expect(writable).toBe(0);
        const received: Buffer[] = [];
        let total = 0;
        socket.on('data', (data) => {
          received.push(data);
          total += data.length;
        });
        socket.resume();
        await waitFor(() => total === 16 << 20, 30_000);
        await waitFor(() => writable === 1);
        const all = Buffer.concat(received);
        for (let i = 0; i < 16; i++) expect(all.subarray(i << 20, (i + 1) << 20).equals(chunk)).toBe(true);
        connection.close();
        socket.destroy();
      } finally {
        await server.listener.close();
      }
    });

    it('pause() stops data events until resume()', async () => {
      const seen: number[] = [];
      const server = await eventServer(backend, () => ({ data: (view) => seen.push(view.length), end: (connection) => connection.close() }));
      try {
        const socket = await clientOf(server.port);
        await waitFor(() => server.peers.length === 1);
        const connection = server.peers[0]!.connection;
        connection.pause();
        socket.write(randomBytes(5000));
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(seen).toEqual([]);
        connection.resume();
        await waitFor(() => seen.reduce((a, b) => a + b, 0) === 5000);
        socket.destroy();
        await server.peers[0]!.closed;
      } finally {
        await server.listener.close();
      }
    });

    it('connects out on the event driver too', async () => {
      const server = await eventServer(backend, echo);
      try {
        const driver = eventDriverFor(backend)!;
        const socket = await socketDriverFor(backend).connect('127.0.0.1', 4, server.port, undefined);
        const received: Buffer[] = [];
        let closed!: (error: Error | undefined) => void;
        const done = new Promise<Error | undefined>((resolve) => (closed = resolve));
        const connection = driver.open(socket, {
          data: (view) => received.push(Buffer.from(view)),
          writable: () => {},
          end: () => connection.close(),
          closed,
        });
        const bytes = randomBytes(100_000);
        connection.write(bytes);
        connection.end();
        expect(await done).toBeUndefined();
        expect(Buffer.concat(received).equals(bytes)).toBe(true);
      } finally {
        await server.listener.close();
      }
    });

    it('keeps receiving through GC with the sockets unreferenced', async () => {
      const server = await eventServer(backend, echo);
      try {
        const sockets = await Promise.all(Array.from({ length: 20 }, () => clientOf(server.port)));
        server.peers.length = 0;
        const payloads = sockets.map(() => randomBytes(200_000));
        const backs = sockets.map((socket, i) => roundTrip(socket, payloads[i]!));
        for (let i = 0; i < 5; i++) {
          (globalThis as { gc?: () => void }).gc?.();
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        (await Promise.all(backs)).forEach((back, i) => expect(back.equals(payloads[i]!)).toBe(true));
        await waitFor(() => server.closedCount() === 20);
      } finally {
        await server.listener.close();
      }
    });

    it('a close while a sendFile of the socket is in flight leaves its descriptor open until the op let go of it', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'overlapped-events-native-'));
      const path = join(dir, 'body.bin');
      writeFileSync(path, randomBytes(16 << 20));
      try {
        for (const how of ['reset', 'peer reset'] as const) {
          let atClose: { inode: number | undefined; settled: boolean } | undefined;
          let settled = false;
          let closed!: () => void;
          const gone = new Promise<void>((resolve) => (closed = resolve));
          const pair = await stalledPair(backend, {
            data: () => {},
            writable: () => {},
            // The op may take the peer's reset first: the driver then reads the end.
            end: () => pair.connection.close(),
            closed: () => {
              atClose = { inode: inodeOf(pair.handle), settled };
              closed();
            },
          });
          const inode = inodeOf(pair.handle);
          expect(inode).toBeDefined();
          // As the event socket does: the driver hears that an op holds the handle.
          const release = pair.connection.lend?.();
          const sending = pair.socket.sendFile({ file: path, position: 0, length: TO_END, head: new Uint8Array(0), onProgress: undefined }, undefined);
          const outcome = sending.then(
            (sent) => ({ sent }),
            (error: NodeJS.ErrnoException) => ({ code: error.code }),
          );
          void outcome.then(() => (settled = true));
          // The file fills the socket buffers and the op waits for room.
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(settled ? await outcome : undefined).toBeUndefined();
          if (how === 'reset') pair.connection.reset();
          else pair.peer.resetAndDestroy();
          await gone;
          // The op ended with the close, or on its own first (the peer's
          // reset reaches it too): until then the number is still this socket's.
          if (!atClose!.settled) expect(atClose!.inode).toBe(inode);
          expect((await outcome).sent).toBeUndefined();
          release?.();
          await waitFor(() => inodeOf(pair.handle) !== inode);
          await pair.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('event sockets reset under their sendFiles while new sockets and files open: no byte reaches any of them', async () => {
      const { listen } = await import('../../socket/dist/index.js');
      const dir = mkdtempSync(join(tmpdir(), 'overlapped-events-native-'));
      const path = join(dir, 'body.bin');
      writeFileSync(path, randomBytes(8 << 20));
      // Victims: sockets and files opened as the event sockets die, which
      // may get their descriptor numbers. None of them is ever written to.
      let foreign = 0;
      const victims: net.Socket[] = [];
      const victimServer = net.createServer((socket) => {
        victims.push(socket);
        socket.on('data', (chunk) => (foreign += chunk.length));
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => victimServer.listen(0, '127.0.0.1', resolve));
      const victimPort = (victimServer.address() as net.AddressInfo).port;
      const files: number[] = [];
      let settled = 0;
      try {
        for (let round = 0; round < 6; round++) {
          const server = await listen({
            backend,
            port: 0,
            handlers: {
              open: (socket) => {
                void socket.sendFile(path).then(
                  () => settled++,
                  () => settled++,
                );
              },
            },
          });
          const clients = await Promise.all(
            Array.from({ length: 8 }, async () => {
              const client = await clientOf(server.address().port);
              client.pause();
              client.on('error', () => undefined);
              return client;
            }),
          );
          await waitFor(() => server.accepted === 8);
          // The sendFiles fill the sockets' buffers and wait for room.
          await new Promise((resolve) => setTimeout(resolve, 30));
          for (const client of clients) {
            client.resetAndDestroy();
            const victim = net.connect(victimPort, '127.0.0.1');
            victim.on('data', (chunk) => (foreign += chunk.length));
            victim.on('error', () => undefined);
            victims.push(victim);
            files.push(openSync(join(dir, `victim-${files.length}`), 'w'));
          }
          await waitFor(() => server.connections === 0);
          await server.close();
        }
        await waitFor(() => settled === 48);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(foreign).toBe(0);
        for (const fd of files) expect(fstatSync(fd).size).toBe(0);
      } finally {
        for (const victim of victims) victim.destroy();
        for (const fd of files) closeSync(fd);
        await new Promise((resolve) => victimServer.close(resolve));
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('lets the process exit once its event sockets are closed, and not before', () => {
      const child = runChild(`
        const dist = process.env.OVERLAPPED_SOCKET_DIST;
        const { socketDriverFor } = await import(dist + 'backends.js');
        const { nativeEventDriver: eventDriverFor } = await import(dist + 'native-events.js');
        const backend = ${JSON.stringify(backend)};
        const driver = eventDriverFor(backend);
        const listener = await socketDriverFor(backend).listen({ host: '127.0.0.1', family: 4, port: 0, backlog: 16, acceptDepth: 1, multishot: true }, (accepted) => {
          const connection = driver.open(accepted.open(() => {}), {
            data: (view) => connection.write(view), writable() {}, end: () => connection.close(),
            closed: () => { console.log('server closed'); listener.close(); },
          });
        });
        const socket = await socketDriverFor(backend).connect('127.0.0.1', 4, listener.address.port, undefined);
        let got = 0;
        const connection = driver.open(socket, {
          data: (view) => { got += view.length; if (got === 3) connection.end(); },
          writable() {}, end: () => connection.close(), closed: () => console.log('client closed', got),
        });
        connection.write(new Uint8Array([1, 2, 3]));
      `);
      expect(child.stderr).toBe('');
      expect(child.stdout).toContain('client closed 3');
      expect(child.stdout).toContain('server closed');
      expect(child.status).toBe(0);
    });

    it('survives a worker terminated with event sockets open, some just reset: no connection record is left', () => {
      const child = runChild(`
        import { Worker } from 'node:worker_threads';
        const { binding } = await import(process.env.OVERLAPPED_SOCKET_DIST + 'native.js');
        const worker = new Worker(\`
          const { parentPort } = await import('node:worker_threads');
          const dist = process.env.OVERLAPPED_SOCKET_DIST;
          const { socketDriverFor } = await import(dist + 'backends.js');
          const { nativeEventDriver: eventDriverFor } = await import(dist + 'native-events.js');
          const backend = ${JSON.stringify(backend)};
          const driver = eventDriverFor(backend);
          const sink = { data() {}, writable() {}, end() {}, closed() {} };
          const listener = await socketDriverFor(backend).listen({ host: '127.0.0.1', family: 4, port: 0, backlog: 64, acceptDepth: 1, multishot: true }, (accepted) => {
            const connection = driver.open(accepted.open(() => {}), { ...sink, data: (view) => connection.write(view) });
          });
          const connections = [];
          for (let i = 0; i < 10; i++) {
            const connection = driver.open(await socketDriverFor(backend).connect('127.0.0.1', 4, listener.address.port, undefined), sink);
            connection.write(new Uint8Array(1 << 20));
            connections.push(connection);
          }
          // Closed just before the end: their ops are still being cancelled.
          for (const connection of connections.slice(5)) connection.reset();
          parentPort.postMessage('ready');
        \`, { eval: true, env: process.env });
        await new Promise((resolve) => worker.once('message', resolve));
        console.log('exit', await worker.terminate());
        console.log('records', binding().eventsRecords());
      `);
      expect(child.stderr).toBe('');
      expect(child.stdout).toContain('exit 1');
      expect(child.stdout).toContain('records 0');
      expect(child.status).toBe(0);
    });
  });
}
