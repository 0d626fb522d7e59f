/**
 * The forward suite, written once and run against every backend:
 * `forward(from, to)` moves what `from` receives to `to` until `from`
 * ends, then shuts `to` down. A TCP proxy (two forwards per client, to an
 * upstream echo server) byte for byte from 1 B to 1 MiB; half-close both
 * ways; resets from either side; a `to` that does not read stalls only
 * its own forward and stops its receives; the last bytes before the end;
 * abort (idle and mid-stream), close and misuse; GC while forwards run;
 * no CPU spent by an echo that waits for its peer or has ended.
 * 127.0.0.1 and ephemeral ports only; every loop is bounded in count and
 * every wait in time.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';

import type { BackendName } from '@overlapped/common';
import { connect, forward, listen, type Server, type Socket, socketBackend } from '@overlapped/socket';

import { canForceGc, forceGc, sleep, type TestApi, waitFor } from '../harness.js';
import { bounded, connectedPair, expectCode, HOST, netConnect, netEnded, netRoundTrip, pattern, recvExactly } from './socket-helpers.js';

/** Codes a peer's reset shows as, depending on when and where it is seen. */
const RESET_CODES = ['ECONNRESET', 'EPIPE', 'ECONNABORTED'];

/** What one proxied connection's two forwards ended with. */
interface ProxiedEnd {
  up: PromiseSettledResult<number>;
  down: PromiseSettledResult<number>;
}

/** A proxy on `backend`: each client is connected to `upstream` with `forward` both ways, then both are closed. */
async function startProxy(backend: BackendName, upstream: number): Promise<{ server: Server; ends: ProxiedEnd[] }> {
  const ends: ProxiedEnd[] = [];
  const server = await listen({
    backend,
    port: 0,
    onConnection: (client) => {
      void (async () => {
        let target: Socket;
        try {
          target = await connect({ host: HOST, port: upstream, backend });
        } catch {
          await client.close();
          return;
        }
        // A failure of either direction ends both: closing the sockets
        // ends the other forward (ERR_SOCKET_CLOSED).
        const closeBoth = () => Promise.all([client.close(), target.close()]);
        const directions = [forward(client, target), forward(target, client)];
        for (const direction of directions) direction.catch(closeBoth);
        const [up, down] = await Promise.allSettled(directions);
        await closeBoth();
        ends.push({ up: up!, down: down! });
      })();
    },
  });
  return { server, ends };
}

/** A node:net upstream on an ephemeral port that runs `serve` per connection (its errors are the test's to see). */
async function netUpstream(serve: (socket: net.Socket) => void): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    serve(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** A node:net echo server that half-closes after the client's FIN, as a well-behaved upstream does. */
function netEchoServer(): Promise<{ server: net.Server; port: number }> {
  return netUpstream((socket) => socket.pipe(socket));
}

function closeNet(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function fulfilled(result: PromiseSettledResult<number> | undefined): number {
  assert.equal(result?.status, 'fulfilled', `the forward failed: ${result?.status === 'rejected' ? String(result.reason) : 'no result'}`);
  return (result as PromiseFulfilledResult<number>).value;
}

/** Two connected pairs: bytes written on `source` reach `from`; `to`'s bytes reach `sink`. */
async function forwardRig(backend: BackendName): Promise<{ source: Socket; from: Socket; to: Socket; sink: Socket; close: () => Promise<void> }> {
  const a = await connectedPair(backend);
  const b = await connectedPair(backend);
  return {
    source: a.client,
    from: a.peer,
    to: b.peer,
    sink: b.client,
    close: async () => {
      await Promise.all([a.client, a.peer, b.client, b.peer].map((socket) => socket.close()));
      await Promise.all([a.server.close(), b.server.close()]);
    },
  };
}

/** A backend other than `backend` that runs here, if any. */
function otherBackend(backend: BackendName): BackendName | undefined {
  if (backend !== 'portable') return 'portable';
  const native = socketBackend('auto');
  return native === 'portable' ? undefined : native;
}

/**
 * Defines the forward suite for `backend` on `api`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * defineSocketForwardSuite({ describe, it }, 'io_uring');
 * ```
 */
export function defineSocketForwardSuite(api: TestApi, backend: BackendName): void {
  const { describe, it } = api;
  const timeout = 60_000;

  describe(`forward [${backend}]`, () => {
    it('proxies 1 B to 1 MiB byte for byte through forward pairs, half-closing both ways', async () => {
      const upstream = await netEchoServer();
      const proxy = await startProxy(backend, upstream.port);
      try {
        const sizes = [1, 2, 100, 1460, 4096, 65_535, 65_536, 300_001, 1 << 20];
        for (const [i, size] of sizes.entries()) {
          const data = pattern(size, i + 11);
          // The client half-closes after its bytes; the echo comes back and
          // ends with the upstream's own FIN, forwarded as our shutdown.
          const echoed = await netRoundTrip(proxy.server.address().port, data);
          assert.equal(echoed.length, size, `length of the ${size}-byte echo`);
          assert.ok(echoed.equals(data), `bytes of the ${size}-byte echo`);
        }
        await waitFor(() => proxy.ends.length === sizes.length, 'every proxied connection to end');
        // Each forward resolved with the bytes it moved, in both directions.
        const moved = proxy.ends.map((end) => [fulfilled(end.up), fulfilled(end.down)]).sort((x, y) => x[0]! - y[0]!);
        assert.deepEqual(moved, sizes.map((size) => [size, size]));
      } finally {
        await proxy.server.close();
        await closeNet(upstream.server);
      }
    }, timeout);

    it('serves 20 proxied clients at once on our own connect', async () => {
      const upstream = await netEchoServer();
      const proxy = await startProxy(backend, upstream.port);
      try {
        const port = proxy.server.address().port;
        await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const socket = await connect({ host: HOST, port, backend });
            try {
              const data = pattern(20_000 + i * 997, 40 + i);
              const [, echoed] = await Promise.all([socket.send(data), recvExactly(socket, data.length)]);
              assert.ok(echoed.equals(data), `client ${i} got other bytes back`);
              await socket.shutdown();
              assert.equal(await socket.recv(Buffer.alloc(8)), 0, 'the proxy forwards the upstream FIN');
            } finally {
              await socket.close();
            }
          }),
        );
        await waitFor(() => proxy.ends.length === 20, 'every proxied connection to end');
      } finally {
        await proxy.server.close();
        await closeNet(upstream.server);
      }
    }, timeout);

    it('forwards the upstream half-close first, then the client keeps sending', async () => {
      // The upstream greets, shuts down its side at once, then collects
      // what the client sends until the client's FIN.
      const greeting = pattern(70_000, 5);
      const late = pattern(200_000, 6);
      let collected: Promise<Buffer> | undefined;
      const upstream = await netUpstream((socket) => {
        collected = new Promise((resolve) => {
          const chunks: Buffer[] = [];
          socket.on('data', (chunk: Buffer) => chunks.push(chunk));
          socket.on('end', () => resolve(Buffer.concat(chunks)));
        });
        socket.end(greeting);
      });
      const proxy = await startProxy(backend, upstream.port);
      try {
        const client = await connect({ host: HOST, port: proxy.server.address().port, backend });
        try {
          const got = await recvExactly(client, greeting.length + 1);
          assert.ok(got.equals(greeting), 'the greeting, then the end');
          // Half-closed towards us; our direction still flows.
          await client.send(late);
          await client.shutdown();
        } finally {
          await client.close();
        }
        await waitFor(() => collected !== undefined, 'the upstream connection');
        const received = await bounded(collected!, 20_000, 'the upstream to see our FIN');
        assert.ok(received.equals(late), `the upstream got ${received.length} bytes, not ${late.length}`);
        await waitFor(() => proxy.ends.length === 1, 'the proxied connection to end');
        assert.equal(fulfilled(proxy.ends[0]!.down), greeting.length);
        assert.equal(fulfilled(proxy.ends[0]!.up), late.length);
      } finally {
        await proxy.server.close();
        await closeNet(upstream.server);
      }
    }, timeout);

    it('ends with the reset when the client resets mid-transfer', async () => {
      const upstream = await netEchoServer();
      const proxy = await startProxy(backend, upstream.port);
      try {
        const client = await netConnect(proxy.server.address().port);
        client.on('error', () => undefined);
        client.pause(); // the echo backs up in the proxy
        client.write(pattern(512 * 1024, 3));
        await sleep(50);
        client.resetAndDestroy();
        await waitFor(() => proxy.ends.length === 1, 'the proxied connection to end');
        const { up, down } = proxy.ends[0]!;
        // Whichever forward met the reset first failed with it; the other
        // failed with it too, or was ended by the close that followed.
        const failures = [up, down].filter((result) => result.status === 'rejected');
        assert.ok(failures.length > 0, 'no forward saw the reset');
        const codes = failures.map((result) => ((result as PromiseRejectedResult).reason as { code?: string }).code);
        assert.ok(codes.some((code) => RESET_CODES.includes(code!)), `codes: ${codes.join(', ')}`);
        for (const result of failures) {
          const error = (result as PromiseRejectedResult).reason as Record<string, unknown>;
          assert.equal(typeof error['bytesWritten'], 'number', 'a failed forward says how many bytes it moved');
          if (RESET_CODES.includes(error['code'] as string)) {
            // Node-shaped: `recv ECONNRESET` or `send EPIPE`, with errno and syscall.
            assert.ok(error['syscall'] === 'recv' || error['syscall'] === 'send', `syscall ${String(error['syscall'])}`);
            assert.equal(typeof error['errno'], 'number');
            assert.match(String(error['message']), new RegExp(`^${String(error['syscall'])} ${String(error['code'])}`));
          } else {
            assert.equal(error['code'], 'ERR_SOCKET_CLOSED');
          }
        }
        // The proxy still serves others.
        const data = pattern(10_000, 9);
        assert.ok((await netRoundTrip(proxy.server.address().port, data)).equals(data));
      } finally {
        await proxy.server.close();
        await closeNet(upstream.server);
      }
    }, timeout);

    it('ends with the reset when the upstream resets, and the client gets every byte before it, then the end', async () => {
      const reply = pattern(1000, 8);
      const upstream = await netUpstream((socket) => {
        socket.once('data', () => socket.write(reply, () => socket.resetAndDestroy()));
      });
      const proxy = await startProxy(backend, upstream.port);
      try {
        const client = await connect({ host: HOST, port: proxy.server.address().port, backend });
        try {
          await client.send(Buffer.from('hello'));
          const got = await recvExactly(client, reply.length);
          assert.ok(got.equals(reply), 'what the upstream sent before its reset');
          // Then the proxy closes us: an end, never a hang.
          assert.equal(await client.recv(Buffer.alloc(16)), 0);
        } finally {
          await client.close();
        }
        await waitFor(() => proxy.ends.length === 1, 'the proxied connection to end');
        const { up, down } = proxy.ends[0]!;
        if (backend === 'portable' || backend === 'iocp') {
          // node:net (libuv) and Winsock under Wine may report a reset
          // that follows the last bytes as the end of the stream; then the
          // forward back ends as at a FIN.
          const movedBack = down.status === 'fulfilled' ? down.value : ((down as PromiseRejectedResult).reason as { bytesWritten: number }).bytesWritten;
          assert.equal(movedBack, reply.length);
        } else {
          assert.equal(down.status, 'rejected', 'the forward back from the upstream should have failed');
          const error = (down as PromiseRejectedResult).reason as Record<string, unknown>;
          assert.equal(error['code'], 'ECONNRESET', String(error));
          assert.equal(error['syscall'], 'recv');
          assert.equal(typeof error['errno'], 'number');
          assert.match(String(error['message']), /^recv ECONNRESET/);
          assert.equal(error['bytesWritten'], reply.length);
          // The other direction was ended by the proxy's close.
          assert.equal(up.status, 'rejected');
          assert.equal(((up as PromiseRejectedResult).reason as { code?: string }).code, 'ERR_SOCKET_CLOSED');
        }
      } finally {
        await proxy.server.close();
        await closeNet(upstream.server);
      }
    }, timeout);

    it('echoes with forward(s, s) and resolves with the bytes moved', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const echo = forward(peer, peer);
        const data = pattern(300_000, 12);
        const [, echoed] = await Promise.all([client.send(data), recvExactly(client, data.length)]);
        assert.ok(echoed.equals(data));
        await client.shutdown();
        assert.equal(await client.recv(Buffer.alloc(8)), 0, 'forward shuts down its `to` once `from` ends');
        assert.equal(await echo, data.length);
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    }, timeout);

    it('echoes the last bytes, then the end, when both reach an idle forward(s, s) together', async () => {
      // An echo that emptied its socket waits for the next report; a
      // report that brings bytes and the peer's end at once must not leave
      // the end unread once the bytes are taken.
      const pairs = await Promise.all(Array.from({ length: 20 }, () => connectedPair(backend)));
      try {
        const echoes = pairs.map(({ peer }) => forward(peer, peer));
        for (const [i, { client }] of pairs.entries()) {
          const first = pattern(64, 70 + i);
          await client.send(first);
          assert.ok((await recvExactly(client, first.length)).equals(first), `pair ${i}: the first round trip`);
        }
        await sleep(20);
        // Sent and shut down in one turn, to every echo at once (the native
        // socket_echo test corks them into one segment, which JS cannot).
        const lasts = pairs.map((_, i) => pattern(100, 90 + i));
        const written = pairs.map(({ client }, i) => Promise.all([client.send(lasts[i]!), client.shutdown()]));
        for (const [i, { client }] of pairs.entries()) {
          const got = await bounded(recvExactly(client, 101), 10_000, `pair ${i}: the last bytes and the end`);
          assert.ok(got.equals(lasts[i]!), `pair ${i}: the last bytes, intact`);
          assert.equal(await bounded(client.recv(Buffer.alloc(8)), 10_000, `pair ${i}: the end`), 0);
          assert.equal(await echoes[i], 164);
          await written[i];
        }
      } finally {
        await Promise.all(pairs.flatMap(({ client, peer }) => [client.close(), peer.close()]));
        await Promise.all(pairs.map(({ server }) => server.close()));
      }
    }, timeout);

    it('burns no CPU while an echo waits for its peer to read, nor once it has ended', async () => {
      // A reactor that watches an echo's socket for good must stop asking
      // for data it cannot forward while its peer does not read, and stop
      // watching a socket at its end: either would report the socket in
      // every wait, a core spent for nothing. The echo below is the only
      // thing that could run in this process while the test sleeps.
      const { server, client, peer } = await connectedPair(backend);
      /** This process's CPU over `ms` of sleep, as a share of the wall time. */
      const cpuShare = async (ms: number): Promise<number> => {
        const before = process.cpuUsage();
        const started = performance.now();
        await sleep(ms);
        const used = process.cpuUsage(before);
        return (used.user + used.system) / 1000 / (performance.now() - started);
      };
      try {
        const echo = forward(peer, peer, { bufferSize: 16 * 1024 });
        const flood = pattern(32 << 20, 31);
        let sent = false;
        const offered = client.send(flood).then(() => {
          sent = true;
        });
        // Seen below, or ends with the close if an assertion fails first.
        offered.catch(() => undefined);
        await sleep(300);
        assert.equal(sent, false, 'the client sent 32 MiB that nobody read: the echo kept receiving');
        const stalled = await cpuShare(400);
        assert.ok(stalled < 0.5, `the stalled echo's process used ${(stalled * 100).toFixed(0)}% of a core`);
        const [, echoed] = await Promise.all([
          offered.then(() => client.shutdown()),
          bounded(recvExactly(client, flood.length), 30_000, 'the echoed flood'),
        ]);
        assert.ok(echoed.equals(flood), 'the echo lost or reordered bytes');
        assert.equal(await bounded(client.recv(Buffer.alloc(8)), 10_000, 'the end'), 0);
        assert.equal(await echo, flood.length);
        // Both directions have ended; the socket stays open until closed.
        const ended = await cpuShare(400);
        assert.ok(ended < 0.5, `the process used ${(ended * 100).toFixed(0)}% of a core after the echo ended`);
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    }, timeout);

    it('stalls only the forward whose `to` does not read', async () => {
      const stalled = await forwardRig(backend);
      const other = await forwardRig(backend);
      try {
        const stuck = forward(stalled.from, stalled.to, { bufferSize: 16 * 1024 });
        // Offer far more than socket buffers hold; the sink reads nothing.
        const flood = pattern(8 * 1024 * 1024, 21);
        const offered = stalled.source.send(flood);
        await sleep(200);
        // Meanwhile another forward moves 1 MiB.
        const data = pattern(1 << 20, 22);
        const moving = forward(other.from, other.to);
        const [, got] = await Promise.all([
          other.source.send(data).then(() => other.source.shutdown()),
          recvExactly(other.sink, data.length + 1),
        ]);
        assert.ok(got.equals(data), 'the other forward moved every byte');
        assert.equal(await moving, data.length);
        // The stalled one is still waiting, not failed, and loses nothing
        // once its sink reads.
        const state = await Promise.race([stuck.then(() => 'settled', () => 'settled'), sleep(50).then(() => 'pending')]);
        assert.equal(state, 'pending', 'the stalled forward ended');
        const [, received] = await Promise.all([
          offered.then(() => stalled.source.shutdown()),
          recvExactly(stalled.sink, flood.length + 1),
        ]);
        assert.ok(received.equals(flood), 'the stalled forward lost or reordered bytes');
        assert.equal(await stuck, flood.length);
      } finally {
        await stalled.close();
        await other.close();
      }
    }, timeout);

    it('delivers the last bytes, then the end, when the source writes and ends at once', async () => {
      // The FIN follows the bytes on the wire, so the forward may see the
      // end while bytes still wait for `to`: a sink that reads late makes
      // it so for the large sizes. Every byte must arrive before the end.
      const sizes = [1, 100, 65_543, 3 << 20];
      for (const [i, size] of sizes.entries()) {
        const rig = await forwardRig(backend);
        try {
          const data = pattern(size, 51 + i);
          const running = forward(rig.from, rig.to, { bufferSize: 16 * 1024 });
          // The FIN goes the moment the last byte is in the kernel.
          const written = rig.source.send(data).then(() => rig.source.shutdown());
          if (size > 1 << 20) await sleep(200);
          const got = await bounded(recvExactly(rig.sink, size + 1), 20_000, `the ${size}-byte transfer`);
          assert.equal(got.length, size, `bytes before the end, of ${size}`);
          assert.ok(got.equals(data), `the ${size} bytes arrived intact and in order`);
          assert.equal(await rig.sink.recv(Buffer.alloc(8)), 0, 'the end follows the last byte');
          assert.equal(await running, size);
          await written;
        } finally {
          await rig.close();
        }
      }
    }, timeout);

    it('stops receiving while `to` does not take bytes, with memory bounded, then resumes in order', async () => {
      const rig = await forwardRig(backend);
      try {
        const running = forward(rig.from, rig.to, { bufferSize: 16 * 1024 });
        // Far more than every socket buffer on the way holds (tcp_rmem and
        // tcp_wmem cap each at a few MiB): a forward that kept receiving
        // into memory of its own would let all of it through.
        const flood = pattern(64 << 20, 61);
        let sent = false;
        const offered = rig.source.send(flood).then(() => {
          sent = true;
        });
        await sleep(300);
        assert.equal(sent, false, 'the source sent everything while `to` took nothing: the forward kept receiving');
        // A few reads, then a pause: the forward stops and resumes again.
        const head = await recvExactly(rig.sink, 1 << 20);
        assert.ok(head.equals(flood.subarray(0, 1 << 20)), 'the first MiB arrived intact and in order');
        await sleep(100);
        const [, rest] = await Promise.all([
          offered.then(() => rig.source.shutdown()),
          bounded(recvExactly(rig.sink, flood.length - head.length + 1), 30_000, 'the rest of the flood'),
        ]);
        assert.equal(rest.length, flood.length - head.length);
        assert.ok(rest.equals(flood.subarray(head.length)), 'the rest arrived intact and in order');
        assert.equal(await running, flood.length);
      } finally {
        await rig.close();
      }
    }, timeout);

    it('aborts mid-stream: `to` gets exactly the bytes it reports, `from` keeps the rest but at most a buffer', async () => {
      const rig = await forwardRig(backend);
      try {
        const bufferSize = 16 * 1024;
        const controller = new AbortController();
        const running = forward(rig.from, rig.to, { bufferSize, signal: controller.signal });
        const data = pattern(8 << 20, 71);
        const offered = rig.source.send(data);
        // Both are awaited below; a failure before then closes the sockets
        // under them, and their rejections must not go unhandled then.
        running.catch(() => undefined);
        offered.catch(() => undefined);
        // The sink reads as bytes flow, and the abort lands while they do.
        const received: Buffer[] = [];
        let total = 0;
        let reading = true;
        // Its end is awaited last; a failure before then must not leave it
        // to reject unhandled when the sockets close.
        let sinkError: unknown;
        const sinkLoop = (async () => {
          const chunk = Buffer.alloc(64 * 1024);
          while (reading) {
            const n = await rig.sink.recv(chunk);
            if (n === 0) break;
            received.push(Buffer.from(chunk.subarray(0, n)));
            total += n;
          }
        })().catch((error: unknown) => {
          sinkError = error;
        });
        await waitFor(() => total >= 1 << 20, 'the first MiB to be forwarded');
        controller.abort();
        let moved = -1;
        await assert.rejects(running, (error: unknown) => {
          const e = error as { name?: string; bytesWritten?: number };
          assert.equal(e.name, 'AbortError');
          moved = e.bytesWritten ?? -1;
          return true;
        });
        // The abort lands while bytes still flow: a forward whose every
        // step completes at once (the bytes, or the room, already there)
        // must look for it between steps, not only in a step that waits.
        assert.ok(moved >= 1 << 20 && moved < data.length, `bytesWritten ${moved} of ${data.length}`);
        // Exactly what it reports reaches `to`, and nothing after.
        await waitFor(() => total >= moved, 'the moved bytes to reach the sink');
        await sleep(100);
        assert.equal(total, moved, 'bytes reached `to` after the forward ended, or it reported too few');
        assert.ok(Buffer.concat(received).equals(data.subarray(0, moved)), 'the moved bytes arrived intact and in order');
        // `from` keeps the rest of the stream, less at most the one buffer
        // the forward held when it was aborted.
        const remaining = recvExactly(rig.from, data.length + 1);
        remaining.catch(() => undefined);
        await offered;
        await rig.source.shutdown();
        const rest = await bounded(remaining, 20_000, 'the rest on `from`');
        const lost = data.length - moved - rest.length;
        assert.ok(lost >= 0 && lost <= bufferSize, `${lost} bytes lost between the forward and \`from\``);
        assert.ok(rest.equals(data.subarray(data.length - rest.length)), 'the rest is the end of the stream, in order');
        reading = false;
        await rig.to.send(Buffer.from('x'));
        await sinkLoop;
        assert.equal(sinkError, undefined);
      } finally {
        await rig.close();
      }
    }, timeout);

    it('aborts with an AbortError that says how many bytes moved; the sockets stay usable', async () => {
      const rig = await forwardRig(backend);
      try {
        const controller = new AbortController();
        const running = forward(rig.from, rig.to, { signal: controller.signal });
        const first = pattern(5000, 31);
        await rig.source.send(first);
        assert.ok((await recvExactly(rig.sink, first.length)).equals(first));
        controller.abort();
        await assert.rejects(running, (error: unknown) => {
          const e = error as { name?: string; code?: string; bytesWritten?: number };
          assert.equal(e.name, 'AbortError');
          assert.equal(e.code, 'ABORT_ERR');
          assert.equal(e.bytesWritten, first.length);
          return true;
        });
        // Nothing is forwarded any more: the next bytes are ours to read.
        await rig.source.send(Buffer.from('after abort'));
        assert.equal((await recvExactly(rig.from, 11)).toString(), 'after abort');
        await rig.to.send(Buffer.from('to works'));
        assert.equal((await recvExactly(rig.sink, 8)).toString(), 'to works');
        // An aborted signal rejects at once, before anything moves.
        await assert.rejects(forward(rig.from, rig.to, { signal: controller.signal }), (error: unknown) => {
          assert.equal((error as Error).name, 'AbortError');
          assert.equal((error as { bytesWritten?: number }).bytesWritten, 0);
          return true;
        });
        // And a new forward between the same sockets runs.
        const again = forward(rig.from, rig.to);
        await rig.source.send(Buffer.from('again'));
        await rig.source.shutdown();
        assert.equal((await recvExactly(rig.sink, 6)).toString(), 'again');
        assert.equal(await again, 5);
      } finally {
        await rig.close();
      }
    }, timeout);

    for (const side of ['from', 'to'] as const) {
      it(`ends with ERR_SOCKET_CLOSED when \`${side}\` is closed while it runs`, async () => {
        const rig = await forwardRig(backend);
        try {
          const running = forward(rig.from, rig.to);
          await rig.source.send(pattern(3000, 41));
          await recvExactly(rig.sink, 3000);
          const ended = assert.rejects(bounded(running, 20_000, 'the forward to end'), (error: unknown) => {
            assert.equal((error as { code?: string }).code, 'ERR_SOCKET_CLOSED');
            assert.equal((error as { bytesWritten?: number }).bytesWritten, 3000);
            return true;
          });
          await rig[side].close();
          await ended;
          // The peer of the closed socket sees it go.
          const peer = side === 'from' ? rig.source : rig.sink;
          assert.equal(await peer.recv(Buffer.alloc(8)).catch(() => 0), 0);
        } finally {
          await rig.close();
        }
      }, timeout);
    }

    it('rejects a forward on a closed socket with ERR_SOCKET_CLOSED', async () => {
      const rig = await forwardRig(backend);
      try {
        await rig.to.close();
        await assert.rejects(forward(rig.from, rig.to), expectCode('ERR_SOCKET_CLOSED'));
        await rig.from.close();
        await assert.rejects(forward(rig.from, rig.from), expectCode('ERR_SOCKET_CLOSED'));
      } finally {
        await rig.close();
      }
    }, timeout);

    it('rejects a second forward from the same socket (or to the same one) with ERR_INVALID_STATE', async () => {
      const rig = await forwardRig(backend);
      try {
        const first = forward(rig.from, rig.to);
        await assert.rejects(forward(rig.from, rig.sink), expectCode('ERR_INVALID_STATE'));
        await assert.rejects(forward(rig.source, rig.to), expectCode('ERR_INVALID_STATE'));
        // The reverse direction is not a second forward from either.
        const reverse = forward(rig.to, rig.from);
        await rig.sink.send(Buffer.from('back'));
        assert.equal((await recvExactly(rig.source, 4)).toString(), 'back');
        // The first one was not disturbed.
        await rig.source.send(Buffer.from('forth'));
        assert.equal((await recvExactly(rig.sink, 5)).toString(), 'forth');
        await rig.source.shutdown();
        assert.equal(await first, 5);
        await rig.sink.shutdown();
        assert.equal(await reverse, 4);
        // Once it ended, `from` may be forwarded again (it has ended, so at once).
        assert.equal(await forward(rig.from, rig.sink), 0);
      } finally {
        await rig.close();
      }
    }, timeout);

    it('rejects sockets of two backends and arguments that are not sockets', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        for (const bad of [undefined, null, 1, {}, Buffer.alloc(4)]) {
          assert.throws(() => forward(bad as never, peer), expectCode('ERR_INVALID_ARG_TYPE'));
          assert.throws(() => forward(peer, bad as never), expectCode('ERR_INVALID_ARG_TYPE'));
        }
        assert.throws(() => forward(peer, peer, 'x' as never), expectCode('ERR_INVALID_ARG_TYPE'));
        assert.throws(() => forward(peer, peer, { signal: 'x' as never }), expectCode('ERR_INVALID_ARG_TYPE'));
        for (const bufferSize of [0, -1, 1.5, 2 ** 31]) {
          assert.throws(() => forward(peer, peer, { bufferSize }), expectCode('ERR_OUT_OF_RANGE'));
        }
        const other = otherBackend(backend);
        if (other !== undefined) {
          const foreign = await connectedPair(other);
          try {
            assert.throws(() => forward(peer, foreign.peer), (error: unknown) => {
              assert.equal((error as { code?: string }).code, 'ERR_INVALID_ARG_VALUE');
              assert.match((error as Error).message, new RegExp(`${other}|${backend}`));
              return true;
            });
            assert.throws(() => forward(foreign.peer, peer), expectCode('ERR_INVALID_ARG_VALUE'));
          } finally {
            await Promise.all([foreign.client.close(), foreign.peer.close()]);
            await foreign.server.close();
          }
        }
        // Nothing started: the socket still works.
        await client.send(Buffer.from('ok'));
        assert.equal((await recvExactly(peer, 2)).toString(), 'ok');
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    }, timeout);

    it('keeps forwards and their sockets alive and intact across forced GCs', async () => {
      // The forwards' sockets and buffers are held only by the forwards.
      const count = 8;
      const sources: net.Socket[] = [];
      const sinks: net.Socket[] = [];
      const done: Array<Promise<number>> = [];
      const accepted: Array<WeakRef<Socket>> = [];
      const server = await listen({ backend, port: 0 });
      try {
        const port = server.address().port;
        const iterator = server[Symbol.asyncIterator]();
        const acceptNext = async () => (await iterator.next()).value as Socket;
        for (let i = 0; i < count; i++) {
          const source = await netConnect(port);
          const from = await acceptNext();
          const sink = await netConnect(port);
          const to = await acceptNext();
          sources.push(source);
          sinks.push(sink);
          accepted.push(new WeakRef(from), new WeakRef(to));
          done.push(forward(from, to, { bufferSize: 4096 }));
        }
        const received = sinks.map((sink) => {
          const chunks: Buffer[] = [];
          sink.on('data', (chunk: Buffer) => chunks.push(chunk));
          return netEnded(sink, 30_000).then(() => Buffer.concat(chunks));
        });
        const data = sources.map((_, i) => pattern(200_000 + i, 60 + i));
        for (const [i, source] of sources.entries()) source.write(data[i]!.subarray(0, 100_000));
        for (let round = 0; round < 5; round++) {
          if (canForceGc()) forceGc();
          await sleep(10);
        }
        for (const [i, source] of sources.entries()) source.end(data[i]!.subarray(100_000));
        const moved = await bounded(Promise.all(done), 30_000, 'the forwards to end');
        assert.deepEqual(moved, data.map((d) => d.length));
        const got = await Promise.all(received);
        for (const [i, bytes] of got.entries()) assert.ok(bytes.equals(data[i]!), `connection ${i} got other bytes`);
      } finally {
        for (const socket of [...sources, ...sinks]) socket.destroy();
        await Promise.all(accepted.map((ref) => ref.deref()?.close()));
        await server.close();
      }
    }, timeout);
  });
}
