/**
 * Stream semantics of one socket, on every backend: several receives and
 * several sends in flight keep the stream's order (each receive gets the
 * bytes that follow the previous call's), and a send that fails or is
 * aborted says how much of it the socket took. Peers are node:net sockets
 * where the test is about one side; loops are bounded in bytes and time.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';

import type { BackendName } from '@overlapped/common';
import { connect, type Socket } from '@overlapped/socket';

import { sleep, type TestApi } from '../harness.js';
import { bounded, connectedPair, HOST, pattern } from './socket-helpers.js';

/** A small deterministic generator (xorshift32), so a failure can be replayed. */
export function randomSource(seed: number): (below: number) => number {
  let x = seed >>> 0 || 1;
  return (below: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % below;
  };
}

/**
 * Writes `data` on a node:net socket in chunks of random sizes with small
 * pauses between some of them (a turn of the event loop, or a millisecond),
 * so that a reader keeps finding the socket empty and then ready again.
 */
export async function streamWithPauses(socket: net.Socket, data: Buffer, seed: number): Promise<void> {
  const random = randomSource(seed);
  let at = 0;
  while (at < data.length) {
    const size = Math.min(data.length - at, 1 + random(64 * 1024));
    const more = socket.write(data.subarray(at, at + size));
    at += size;
    if (!more) await new Promise<void>((resolve) => socket.once('drain', resolve));
    const pause = random(4);
    if (pause === 0) await sleep(1);
    else if (pause === 1) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Receives `total` bytes on `socket` with `depth` receives kept in flight
 * (a new one starts as soon as one settles), into buffers of random sizes;
 * returns the results joined in call order, as an app that reads a stream
 * this way would.
 */
export async function recvInFlight(socket: Socket, total: number, depth: number, seed: number): Promise<Buffer> {
  const random = randomSource(seed);
  const results: Buffer[] = [];
  let requested = 0; // bytes asked for by the receives still in flight
  let received = 0;
  let ended = false;
  let failure: unknown;
  let inFlight = 0;
  await new Promise<void>((resolve) => {
    const settle = () => {
      if (inFlight === 0 && (ended || failure !== undefined || received >= total)) resolve();
    };
    const start = () => {
      // Never ask for more than is left, so every receive completes.
      while (inFlight < depth && !ended && failure === undefined && received + requested < total) {
        const size = Math.min(total - received - requested, 1 + random(32 * 1024));
        const buffer = Buffer.alloc(size);
        const index = results.length;
        results.push(Buffer.alloc(0));
        inFlight++;
        requested += size;
        socket.recv(buffer).then(
          (n) => {
            inFlight--;
            requested -= size;
            received += n;
            if (n === 0) ended = true;
            results[index] = buffer.subarray(0, n);
            start();
            settle();
          },
          (error: unknown) => {
            inFlight--;
            requested -= size;
            failure ??= error;
            settle();
          },
        );
      }
    };
    start();
  });
  if (failure !== undefined) throw failure;
  return Buffer.concat(results);
}

/** Index of the first byte where `a` and `b` differ, or -1. */
function firstDifference(a: Buffer, b: Buffer): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

function assertSameStream(received: Buffer, sent: Buffer, what: string): void {
  const at = firstDifference(received, sent);
  assert.equal(at, -1, `${what}: ${received.length} of ${sent.length} bytes, first difference at byte ${at}`);
}

/**
 * A node:net server on 127.0.0.1 that hands each connection to `serve`
 * and keeps it in `peers`; `close()` destroys them and stops listening.
 */
async function netServer(
  serve: (peer: net.Socket) => void,
): Promise<{ port: number; peers: net.Socket[]; close: () => Promise<void> }> {
  const peers: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (peer) => {
    peers.push(peer);
    serve(peer);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  const close = () => {
    for (const peer of peers) peer.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port, peers, close };
}

/**
 * Adds the stream-order tests to the socket suite of `backend`.
 *
 * @example
 * ```ts
 * defineSocketStreamTests({ describe, it }, 'io_uring');
 * ```
 */
export function defineSocketStreamTests(api: TestApi, backend: BackendName): void {
  const { it } = api;
  const timeout = 60_000;
  const total = 4 << 20;

  for (const depth of [2, 4]) {
    it(`keeps stream order with ${depth} receives in flight`, async () => {
      const data = pattern(total, 300 + depth);
      const server = await netServer((peer) => {
        peer.on('error', () => {});
        void streamWithPauses(peer, data, depth).then(() => peer.end());
      });
      const socket = await connect({ host: HOST, port: server.port, backend });
      try {
        const received = await recvInFlight(socket, total, depth, 400 + depth);
        assertSameStream(received, data, `${depth} receives in flight`);
        assert.equal(await socket.recv(Buffer.alloc(16)), 0, 'the peer ended after its data');
      } finally {
        await socket.close();
        await server.close();
      }
    }, timeout);
  }

  it('takes no bytes for a receive aborted while others are in flight, and ends them all on close', async () => {
    const { server, client, peer } = await connectedPair(backend);
    try {
      const first = Buffer.alloc(5);
      const second = Buffer.alloc(5);
      const third = Buffer.alloc(5);
      const controller = new AbortController();
      const receives = [
        peer.recv(first),
        peer.recv(second, { signal: controller.signal }),
        peer.recv(third),
      ];
      await sleep(20);
      controller.abort();
      await assert.rejects(receives[1]!, { name: 'AbortError' });
      await client.send(Buffer.from('abcdefghij'));
      assert.deepEqual(await Promise.all([receives[0], receives[2]]), [5, 5]);
      assert.equal(Buffer.concat([first, third]).toString(), 'abcdefghij', 'the aborted receive took bytes');
      assert.ok(second.every((byte) => byte === 0));
      // Close ends every receive in flight, waiting or not.
      const pending = [peer.recv(first), peer.recv(second), peer.recv(third)];
      const ended = pending.map((p) => p.then(() => 'resolved', (error: { code?: string }) => error.code));
      await sleep(10);
      await peer.close();
      assert.deepEqual(await Promise.all(ended), ['ERR_SOCKET_CLOSED', 'ERR_SOCKET_CLOSED', 'ERR_SOCKET_CLOSED']);
      await client.close();
    } finally {
      await server.close();
    }
  }, timeout);

  it('says how much of an aborted send the socket took, and drops a waiting one whole', async () => {
    const server = await netServer((peer) => {
      peer.pause(); // reads nothing until the sends were aborted
    });
    const socket = await connect({ host: HOST, port: server.port, backend });
    try {
      const data = pattern(32 << 20, 601);
      const first = new AbortController();
      const second = new AbortController();
      const big = socket.send(data, { signal: first.signal });
      const bigSettled = big.then(
        () => undefined,
        (error: unknown) => error,
      );
      const waiting = socket.send(Buffer.from('never sent'), { signal: second.signal });
      await sleep(100);
      // The second send waits behind the first: it rejects at once, having sent nothing.
      second.abort();
      await assert.rejects(waiting, (error: unknown) => {
        assert.equal((error as Error).name, 'AbortError');
        assert.equal((error as { bytesWritten?: number }).bytesWritten, 0);
        return true;
      });
      first.abort();
      const error = (await bounded(bigSettled, 20_000, 'the aborted send')) as { name?: string; bytesWritten?: number } | undefined;
      assert.equal(error?.name, 'AbortError', 'a 32 MiB send to a peer that reads nothing is still in flight after 100 ms');
      const taken = error.bytesWritten;
      assert.ok(typeof taken === 'number' && taken > 0 && taken < data.length, `bytesWritten ${taken}`);
      // The socket stays usable: the peer gets exactly what was taken, then
      // what follows (which waits for room, so the peer reads meanwhile).
      const ending = socket.send(Buffer.from('END')).then(() => socket.shutdown());
      const peer = server.peers[0]!;
      const chunks: Buffer[] = [];
      peer.on('data', (chunk: Buffer) => chunks.push(chunk));
      const peerEnded = new Promise<void>((resolve, reject) => {
        peer.once('end', resolve);
        peer.once('error', reject);
        peer.resume();
      });
      await bounded(Promise.all([peerEnded, ending]), 20_000, () => `the peer's end (it got ${chunks.reduce((n, c) => n + c.length, 0)} B)`);
      const received = Buffer.concat(chunks);
      assertSameStream(received, Buffer.concat([data.subarray(0, taken), Buffer.from('END')]), `bytesWritten ${taken}`);
    } finally {
      await socket.close();
      await server.close();
    }
  }, timeout);

  it('says how much of a send ended by close() the socket took', async () => {
    const server = await netServer((peer) => {
      peer.pause();
    });
    const socket = await connect({ host: HOST, port: server.port, backend });
    try {
      const data = pattern(32 << 20, 602);
      const sent = socket.send(data).then(
        (n) => n,
        (error: unknown) => error as { code?: string; bytesWritten?: number },
      );
      const after = socket.send(Buffer.from('queued')).then(
        () => undefined,
        (error: unknown) => error as { code?: string; bytesWritten?: number },
      );
      await sleep(100);
      await socket.close();
      const error = await sent;
      assert.equal(typeof error, 'object', 'the send resolved though the peer read nothing');
      const { code, bytesWritten } = error as { code?: string; bytesWritten?: number };
      assert.equal(code, 'ERR_SOCKET_CLOSED');
      assert.ok(typeof bytesWritten === 'number' && bytesWritten < data.length, `bytesWritten ${bytesWritten}`);
      const queued = await after;
      assert.equal(queued?.code, 'ERR_SOCKET_CLOSED', 'a send waiting behind it');
      assert.equal(queued?.bytesWritten, 0);
      // What the kernel took still reaches the peer, then the end.
      const peer = server.peers[0]!;
      const chunks: Buffer[] = [];
      peer.on('data', (chunk: Buffer) => chunks.push(chunk));
      await new Promise<void>((resolve) => {
        peer.once('end', resolve);
        peer.once('error', () => resolve());
        peer.resume();
      });
      assertSameStream(Buffer.concat(chunks), data.subarray(0, bytesWritten), `bytesWritten ${bytesWritten}`);
    } finally {
      await server.close();
    }
  }, timeout);

  it('says how much of a send the socket took when the peer resets', async () => {
    let read = 0;
    const server = await netServer((peer) => {
      peer.on('error', () => {});
      // Reads about 1 MiB, then resets the connection.
      peer.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= 1 << 20 && !peer.destroyed) peer.resetAndDestroy();
      });
    });
    const socket = await connect({ host: HOST, port: server.port, backend });
    try {
      const data = pattern(32 << 20, 603);
      const error = await socket.send(data).then(
        () => undefined,
        (e: unknown) => e as { code?: string; syscall?: string; bytesWritten?: number },
      );
      assert.ok(error, 'a 32 MiB send to a peer that reset after 1 MiB resolved');
      assert.ok(['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(error.code ?? ''), `got ${String(error)}`);
      assert.equal(error.syscall, 'send');
      const taken = error.bytesWritten;
      assert.ok(typeof taken === 'number' && taken >= read && taken < data.length, `bytesWritten ${taken}, peer read ${read}`);
    } finally {
      await socket.close();
      await server.close();
    }
  }, timeout);

  it('sends in call order with several sends in flight, received with several receives in flight', async () => {
    const { server, client, peer } = await connectedPair(backend);
    try {
      const data = pattern(total, 501);
      const random = randomSource(502);
      // Up to 4 sends in flight, of 1 B to 256 KiB, issued as earlier ones settle.
      const sending = (async () => {
        const pending = new Set<Promise<number>>();
        let at = 0;
        while (at < data.length) {
          const size = Math.min(data.length - at, 1 + random(256 * 1024));
          const part = data.subarray(at, at + size);
          at += size;
          const send: Promise<number> = client.send(part).then((n) => {
            assert.equal(n, part.length, 'a send resolves with its length');
            pending.delete(send);
            return n;
          });
          pending.add(send);
          if (pending.size >= 4) await Promise.race(pending);
          if (random(8) === 0) await sleep(1);
        }
        await Promise.all(pending);
        await client.shutdown();
      })();
      const [received] = await Promise.all([recvInFlight(peer, total, 3, 503), sending]);
      assertSameStream(received, data, 'sends and receives in flight');
      assert.equal(await peer.recv(Buffer.alloc(16)), 0);
      await client.close();
      await peer.close();
    } finally {
      await server.close();
    }
  }, timeout);
}
