/**
 * The socket conformance suite, written once and run against every
 * backend: echo byte for byte in both modes, many connections at once,
 * half-close, resets, server close, a client that never reads, refused
 * connections, connect and listen errors, cancel, GC with receives in
 * flight, invalid arguments. 127.0.0.1 and ephemeral ports only; every loop
 * is bounded in count and every wait in time.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';

import { type BackendName, errnoName } from '@overlapped/common';
import { loadNativeCore } from '@overlapped/iocp';
import {
  connect,
  createEchoServer,
  type EchoServer,
  listen,
  type Server,
  type Socket,
  SocketOpKinds,
} from '@overlapped/socket';

import { makePort } from '../backends.js';
import { canForceGc, forceGc, sleep, type TestApi, waitFor } from '../harness.js';
import {
  acceptOne,
  apiRoundTrip,
  connectedPair,
  errnoOf,
  expectCode,
  freePort,
  HOST,
  netConnect,
  netEnded,
  netError,
  netRoundTrip,
  nodeShape,
  pattern,
  recvExactly,
  threadCount,
} from './socket-helpers.js';
import { defineSocketStreamTests } from './socket-streams.js';

/**
 * Defines the socket suite for `backend` on `api`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * defineSocketSuite({ describe, it }, 'io_uring');
 * ```
 */
export function defineSocketSuite(api: TestApi, backend: BackendName): void {
  const { describe, it } = api;
  const timeout = 60_000;

  describe(`sockets [${backend}]`, () => {
    for (const mode of ['native', 'js'] as const) {
      it(`echoes 1 B to 1 MiB byte for byte (${mode} mode)`, async () => {
        const server = await createEchoServer({ backend, mode, port: 0, bufferSize: 16 * 1024 });
        try {
          assert.equal(server.backend, backend);
          const { port, address } = server.address();
          assert.equal(address, HOST);
          assert.ok(port > 0);
          const sizes = [1, 2, 100, 1460, 4096, 65_535, 65_536, 300_001, 1 << 20];
          let total = 0;
          for (const [i, size] of sizes.entries()) {
            const data = pattern(size, i + 1);
            const echoed = await netRoundTrip(port, data);
            assert.equal(echoed.length, size, `length of the ${size}-byte echo`);
            assert.ok(echoed.equals(data), `bytes of the ${size}-byte echo`);
            total += size;
          }
          for (const size of [1, 70_000, 1 << 20]) {
            await apiRoundTrip(backend, port, pattern(size, size));
            total += size;
          }
          await waitFor(() => server.counters().active === 0, 'connections to close');
          const counters = server.counters();
          assert.equal(counters.accepted, sizes.length + 3);
          assert.equal(counters.bytesIn, total);
          assert.equal(counters.bytesOut, total);
          assert.equal(counters.resets, 0);
          assert.equal(counters.errors, 0);
        } finally {
          await server.close();
        }
      }, timeout);

      it(`serves 200 concurrent connections (${mode} mode)`, async () => {
        const server = await createEchoServer({ backend, mode, port: 0 });
        const threadsBefore = threadCount();
        let threadsDuring: number | undefined;
        const ends: string[] = [];
        server.on('close', (end: { reason: string }) => ends.push(end.reason));
        try {
          const { port } = server.address();
          const clients = await Promise.all(Array.from({ length: 200 }, () => connect({ host: HOST, port, backend })));
          await waitFor(() => server.counters().active === 200, '200 live connections');
          threadsDuring = threadCount();
          await Promise.all(
            clients.map(async (socket, i) => {
              const data = pattern(4096 + i, i + 7);
              const [, echoed] = await Promise.all([socket.send(data), recvExactly(socket, data.length)]);
              assert.ok(echoed.equals(data), `connection ${i} echoed other bytes`);
              await socket.shutdown();
              assert.equal(await socket.recv(Buffer.alloc(8)), 0);
              await socket.close();
            }),
          );
          await waitFor(() => server.counters().active === 0, 'every connection to close');
          const counters = server.counters();
          assert.equal(counters.accepted, 200);
          assert.equal(counters.bytesIn, 200 * 4096 + (199 * 200) / 2);
          assert.equal(counters.bytesOut, counters.bytesIn);
          assert.equal(ends.length, 200);
          assert.ok(ends.every((reason) => reason === 'shutdown'), `ends: ${[...new Set(ends)].join(', ')}`);
          if (backend === 'threadpool' && threadsBefore !== undefined && threadsDuring !== undefined) {
            // Connections wait on the reactor's one thread, never one each.
            assert.ok(threadsDuring - threadsBefore <= 4, `threads grew from ${threadsBefore} to ${threadsDuring}`);
          }
        } finally {
          await server.close();
        }
      }, timeout);

      it(`counts a reset in the middle of a transfer (${mode} mode)`, async () => {
        const server = await createEchoServer({ backend, mode, port: 0, bufferSize: 4096 });
        const ends: Array<{ reason: string; code?: string }> = [];
        server.on('close', (end: { reason: string; code?: string }) => ends.push(end));
        try {
          const client = await netConnect(server.address().port);
          client.pause(); // read nothing: the echo backs up, the server is mid-transfer
          client.write(pattern(512 * 1024, 3));
          await waitFor(() => server.counters().bytesIn > 0, 'the server to receive');
          await sleep(20);
          client.resetAndDestroy(); // SO_LINGER 0: the peer sees a reset
          await waitFor(() => server.counters().active === 0, 'the reset connection to close');
          const counters = server.counters();
          assert.equal(counters.resets, 1, `counters ${JSON.stringify(counters)} ends ${JSON.stringify(ends)}`);
          assert.equal(counters.errors, 0);
          assert.equal(ends[0]?.reason, 'reset');
          // The server still serves others.
          const data = pattern(10_000, 9);
          assert.ok((await netRoundTrip(server.address().port, data)).equals(data));
        } finally {
          await server.close();
        }
      }, timeout);

      it(`stalls only a client that never reads (${mode} mode)`, async () => {
        const bufferSize = 16 * 1024;
        const server = await createEchoServer({ backend, mode, port: 0, bufferSize });
        try {
          const { port } = server.address();
          const stalled = await netConnect(port);
          stalled.pause();
          const flood = pattern(256 * 1024, 5);
          let written = 0;
          // Bounded: at most 64 MiB offered, then we stop.
          for (let i = 0; i < 256 && stalled.write(flood); i++) written += flood.length;
          await sleep(300);
          const before = server.counters();
          // Others are served while it is stalled.
          for (let i = 0; i < 3; i++) {
            const data = pattern(100_000, 20 + i);
            assert.ok((await netRoundTrip(port, data)).equals(data), 'a second client is served');
          }
          await waitFor(() => server.counters().active === 1, 'the served clients to close');
          const after = server.counters();
          const held = before.bytesIn - before.bytesOut;
          assert.ok(held >= 0 && held <= 1024 * 1024, `the server holds ${held} bytes of the stalled client`);
          assert.ok(before.bytesIn < 64 * 1024 * 1024, 'the stalled client cannot push unbounded data');
          assert.equal(after.active, 1);
          stalled.destroy();
          await waitFor(() => server.counters().active === 0, 'the stalled client to go');
          void written;
        } finally {
          await server.close();
        }
      }, timeout);

      it(`refuses connections past maxConnections (${mode} mode)`, async () => {
        const server = await createEchoServer({ backend, mode, port: 0, maxConnections: 2 });
        try {
          const { port } = server.address();
          const first = await connect({ host: HOST, port, backend });
          const second = await connect({ host: HOST, port, backend });
          await waitFor(() => server.counters().active === 2, 'two live connections');
          const third = await netConnect(port);
          const how = await netEnded(third);
          assert.ok(['end', 'error', 'close'].includes(how));
          third.destroy();
          await waitFor(() => server.counters().refused === 1, 'the refusal to be counted');
          for (const [i, socket] of [first, second].entries()) {
            const data = pattern(5000, 40 + i);
            await socket.send(data);
            assert.ok((await recvExactly(socket, data.length)).equals(data), 'admitted clients are served');
            await socket.close();
          }
          await waitFor(() => server.counters().active === 0, 'both to close');
          // A slot is free again.
          const data = pattern(3000, 50);
          assert.ok((await netRoundTrip(port, data)).equals(data));
          assert.equal(server.counters().accepted, 3);
        } finally {
          await server.close();
        }
      }, timeout);

      it(`ends a peer that sent a byte and vanished cleanly or as a reset, never an error (${mode} mode)`, async () => {
        const server = await createEchoServer({ backend, mode, port: 0 });
        const ends: string[] = [];
        server.on('close', (end: { reason: string; code?: string }) => ends.push(end.code ? `${end.reason}:${end.code}` : end.reason));
        try {
          const { port } = server.address();
          for (let i = 0; i < 20; i++) {
            await new Promise<void>((resolve, reject) => {
              const client = net.connect({ host: HOST, port }, () => {
                client.end('x');
                client.destroy();
                resolve();
              });
              client.on('error', reject);
            });
          }
          await waitFor(() => server.counters().active === 0 && ends.length === 20, 'the 20 connections to end');
          assert.ok(
            ends.every((end) => end === 'shutdown' || end.startsWith('reset')),
            `ends: ${ends.join(', ')}`,
          );
          assert.equal(server.counters().errors, 0);
        } finally {
          await server.close();
        }
      }, timeout);

      it(`closes live connections when the echo server closes (${mode} mode)`, async () => {
        const server = await createEchoServer({ backend, mode, port: 0 });
        const ends: string[] = [];
        server.on('close', (end: { reason: string }) => ends.push(end.reason));
        const { port } = server.address();
        const clients = await Promise.all([netConnect(port), netConnect(port), netConnect(port)]);
        await waitFor(() => server.counters().active === 3, 'three live connections');
        const ended = clients.map((client) => netEnded(client));
        await server.close();
        assert.equal(server.counters().active, 0);
        assert.deepEqual(ends, ['server-close', 'server-close', 'server-close']);
        await Promise.all(ended);
        for (const client of clients) client.destroy();
        await assert.rejects(connect({ host: HOST, port, backend }), expectCode('ECONNREFUSED'));
      }, timeout);
    }

    // io_uring also runs without multishot (the path of kernels before 5.19).
    for (const multishot of backend === 'io_uring' ? [true, false] : [true]) {
      const label = backend === 'io_uring' ? (multishot ? ' (multishot)' : ' (multishot: false)') : '';
      it(`accepts 200 connections with the accept ops its mode needs${label}`, async () => {
        const connections: Socket[] = [];
        const acceptDepth = 3;
        const server = await listen({ backend, port: 0, acceptDepth, multishot, onConnection: (s) => connections.push(s) });
        const expectedMode =
          backend === 'portable' ? 'node' : backend === 'io_uring' && multishot ? 'multishot' : 'posted';
        assert.equal(server.acceptMode, expectedMode);
        const clients: Socket[] = [];
        try {
          const { port } = server.address();
          // In rounds of 25, so that no burst outgrows a completion queue
          // (a multishot op the kernel cannot post to ends, and is
          // submitted again: correct, but not what this test counts).
          for (let round = 0; round < 8; round++) {
            clients.push(...(await Promise.all(Array.from({ length: 25 }, () => connect({ host: HOST, port, backend })))));
            await waitFor(() => connections.length === clients.length, `${clients.length} accepted connections`);
          }
          // Every accepted socket is one of ours, with the right addresses.
          const ports = new Set(clients.map((client) => client.localPort));
          for (const socket of connections) {
            assert.equal(socket.localPort, port);
            assert.equal(socket.remoteAddress, HOST);
            assert.ok(ports.delete(socket.remotePort), `an accepted socket from port ${socket.remotePort}`);
          }
          const expectedOps = { multishot: 1, posted: acceptDepth + 200, node: 0 }[expectedMode];
          assert.equal(server.acceptOps, expectedOps, `accept ops in ${expectedMode} mode`);
          await server.close();
          // Closing ended the accept ops (close resolves only then) and
          // submitted none.
          assert.equal(server.acceptOps, expectedOps);
          await assert.rejects(connect({ host: HOST, port, backend }), expectCode('ECONNREFUSED'));
        } finally {
          await server.close();
          await Promise.all([...clients, ...connections].map((socket) => socket.close()));
        }
      }, timeout);
    }

    if (backend !== 'portable') {
      it('runs one accept op for many connections where the port has multishot (port level)', async () => {
        const core = loadNativeCore();
        const port = makePort(backend, { threads: 2 });
        const listener = core.socketOpen(4) as number;
        assert.equal(typeof listener, 'number');
        const accepted: number[] = [];
        const clients: net.Socket[] = [];
        try {
          assert.equal(core.socketBind(listener, HOST, 0, 128), 0);
          const [, listenPort] = core.socketName(listener, false) as [string, number];
          port.associate(listener, 0, { syscall: 'associate' });
          const multishot = port.supportsMultishot(SocketOpKinds.accept);
          assert.equal(multishot, backend === 'io_uring', 'multishot accept on io_uring (Linux 5.19+) only');
          const seen: Array<{ status: number; result: number; more: boolean }> = [];
          const submit = () =>
            port.submitOp({ kind: SocketOpKinds.accept, handle: listener, multishot: true }, (status, result, more) => {
              seen.push({ status, result, more });
              if (status === 0) accepted.push(result);
            });
          const token = submit();
          assert.equal(port.opsInFlight, 1);
          // A promise, or a batch callback, could not take a multishot
          // op's many completions: both refuse it before submitting.
          const invalid = (error: unknown) => (error as { code?: string }).code === 'ERR_INVALID_ARG_VALUE';
          const accept = { kind: SocketOpKinds.accept, handle: listener, multishot: true };
          assert.throws(() => port.runOp(accept, { syscall: 'accept' }), invalid);
          assert.throws(() => port.submitOps([accept], () => {}), invalid);
          assert.equal(port.opsInFlight, 1);
          const count = 20;
          for (let i = 0; i < count; i++) clients.push(await netConnect(listenPort));
          if (multishot) {
            await waitFor(() => seen.length === count, `${count} completions of one op`);
            assert.ok(seen.every((c) => c.status === 0 && c.more && c.result >= 0), 'each completion an accepted socket, more to come');
            assert.equal(new Set(accepted).size, count, 'distinct sockets');
            assert.equal(port.opsInFlight, 1, 'the multishot op stays in flight');
            assert.equal(port.cancelOp(token), true);
            await waitFor(() => seen.length === count + 1, 'the last completion');
            const last = seen[count]!;
            assert.equal(last.more, false);
            assert.equal(errnoName(last.status), 'ECANCELED');
          } else {
            // The flag is ignored: one connection, one completion.
            await waitFor(() => seen.length === 1, 'the accept');
            await sleep(50);
            assert.equal(seen.length, 1);
            assert.deepEqual([seen[0]!.status, seen[0]!.more], [0, false]);
          }
          assert.equal(port.opsInFlight, 0, 'nothing left in flight');
          assert.equal(port.cancelOp(token), false);
          // Closing the port ends a multishot op in flight the same way.
          const before = seen.length;
          submit();
          assert.equal(port.opsInFlight, 1);
          await port.close();
          assert.equal(port.opsInFlight, 0);
          // Without multishot, the single accept may have taken a waiting
          // connection before the close.
          const closing = seen.slice(before);
          const final = closing[closing.length - 1]!;
          assert.equal(final.more, false);
          if (multishot) assert.equal(errnoName(final.status), 'ECANCELED');
        } finally {
          await port.close();
          for (const handle of accepted) core.socketClose(handle);
          core.socketClose(listener);
          for (const client of clients) client.destroy();
        }
      }, timeout);
    }

    if (backend !== 'portable') {
      it('fills an accept op\'s address record where the accept learns the addresses (iocp)', async () => {
        const core = loadNativeCore();
        const port = makePort(backend, { threads: 1 });
        const listener = core.socketOpen(4) as number;
        let accepted = -1;
        let client: net.Socket | undefined;
        try {
          assert.equal(core.socketBind(listener, HOST, 0, 16), 0);
          const [, listenPort] = core.socketName(listener, false) as [string, number];
          port.associate(listener, 0, { syscall: 'associate' });
          // Two entries (local, remote): port (LE), text length, family, text.
          const record = new Uint8Array(128);
          const done = new Promise<number>((resolve, reject) => {
            port.submitOp({ kind: SocketOpKinds.accept, handle: listener, buffers: record }, (status, result) =>
              status === 0 ? resolve(result) : reject(new Error(`accept: ${errnoName(status)}`)),
            );
          });
          client = await netConnect(listenPort);
          accepted = await done;
          const entry = (at: number) => ({
            port: record[at]! | (record[at + 1]! << 8),
            family: record[at + 3],
            address: Buffer.from(record.subarray(at + 4, at + 4 + record[at + 2]!)).toString('latin1'),
          });
          if (backend === 'iocp') {
            // GetAcceptExSockaddrs read them out of the AcceptEx buffer.
            assert.deepEqual(entry(0), { port: listenPort, family: 4, address: HOST });
            assert.deepEqual(entry(64), { port: client.localPort, family: 4, address: HOST });
          } else {
            // Nothing learned with the accept: left empty, names come from the socket.
            assert.ok(record.every((byte) => byte === 0), 'an empty record');
          }
          // The record agrees with what the socket itself says.
          assert.deepEqual(core.socketName(accepted, true), [HOST, client.localPort]);
        } finally {
          if (accepted >= 0) core.socketClose(accepted);
          core.socketClose(listener);
          client?.destroy();
          await port.close();
        }
      }, timeout);
    }

    defineSocketStreamTests(api, backend);

    it('half-closes both ways', async () => {
      const server = await listen({ backend, port: 0 });
      try {
        const accepted = acceptOne(server);
        const client = await connect({ host: HOST, port: server.address().port, backend });
        const peer = await accepted;
        // The client shuts down first: the server reads its data, then 0,
        // and can still send.
        await client.send(Buffer.from('request'));
        await client.shutdown();
        assert.equal((await recvExactly(peer, 7)).toString(), 'request');
        assert.equal(await peer.recv(Buffer.alloc(8)), 0);
        await peer.send(Buffer.from('response'));
        assert.equal((await recvExactly(client, 8)).toString(), 'response');
        await peer.shutdown();
        assert.equal(await client.recv(Buffer.alloc(8)), 0);
        await peer.close();
        await client.close();

        // The server shuts down first; the client keeps sending.
        const accepted2 = acceptOne(server);
        const client2 = await connect({ host: HOST, port: server.address().port, backend });
        const peer2 = await accepted2;
        await peer2.shutdown();
        assert.equal(await client2.recv(Buffer.alloc(8)), 0);
        await client2.send(Buffer.from('late'));
        assert.equal((await recvExactly(peer2, 4)).toString(), 'late');
        await client2.close();
        await peer2.close();
      } finally {
        await server.close();
      }
    }, timeout);

    it('settles a second shutdown as the first, as net\'s end() does', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const first = client.shutdown();
        await first;
        assert.equal(client.shutdown(), first, 'the same promise');
        await client.shutdown();
        assert.equal(await peer.recv(Buffer.alloc(8)), 0);
        // Both sides shut down: the connection is gone from the kernel's
        // view, where a second shutdown(2) would say ENOTCONN.
        await peer.shutdown();
        assert.equal(await client.recv(Buffer.alloc(8)), 0);
        await client.shutdown();
        await peer.shutdown();
        await client.close();
        await peer.close();
        await assert.rejects(connect({ host: HOST, port: 1, backend }).then(() => undefined), (error: unknown) => {
          return typeof (error as { code?: string }).code === 'string';
        });
      } finally {
        await server.close();
      }
    }, timeout);

    it('keeps a socket whose both sides ended open, and counted, until close()', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        await client.shutdown();
        assert.equal(await peer.recv(Buffer.alloc(8)), 0);
        await peer.shutdown();
        assert.equal(await client.recv(Buffer.alloc(8)), 0);
        // The connection is over on the wire; the sockets are not closed
        // until close() (`closed` says whether it was called), the server
        // still counts its accepted one, and a recv still says 0.
        await sleep(50);
        assert.equal(client.closed, false, 'client.closed');
        assert.equal(peer.closed, false, 'peer.closed');
        assert.equal(server.connections, 1, 'server.connections');
        assert.equal(await peer.recv(Buffer.alloc(8)), 0);
        assert.equal(await client.recv(Buffer.alloc(8)), 0);
        // A send after our own shutdown: the kernel's EPIPE, not "closed".
        await assert.rejects(client.send(Buffer.from('late')), { code: 'EPIPE', syscall: 'send' });
        await peer.close();
        await client.close();
        assert.equal(peer.closed, true);
        assert.equal(server.connections, 0);
      } finally {
        await server.close();
      }
    }, timeout);

    it('closes sockets and servers with Symbol.asyncDispose', async () => {
      const { server, client, peer } = await connectedPair(backend);
      assert.equal(typeof client[Symbol.asyncDispose], 'function');
      await client[Symbol.asyncDispose]();
      assert.equal(client.closed, true);
      assert.equal(await peer.recv(Buffer.alloc(8)), 0, 'the peer sees the close');
      await peer[Symbol.asyncDispose]();
      assert.equal(peer.closed, true);
      const { port } = server.address();
      await server[Symbol.asyncDispose]();
      await assert.rejects(connect({ host: HOST, port, backend }), expectCode('ECONNREFUSED'));
      const echo = await createEchoServer({ backend, port: 0 });
      const live = await netConnect(echo.address().port);
      await waitFor(() => echo.counters().active === 1, 'the echo connection');
      const ended = netEnded(live);
      await echo[Symbol.asyncDispose]();
      assert.equal(echo.counters().active, 0, 'disposing the echo server closes its connections');
      await ended;
      live.destroy();
    }, timeout);

    it('sends every byte, in order, to a peer that reads late', async () => {
      const server = await listen({ backend, port: 0 });
      try {
        const accepted = acceptOne(server);
        const client = await connect({ host: HOST, port: server.address().port, backend });
        const peer = await accepted;
        const parts = [pattern(4 << 20, 61), pattern(1, 62), pattern(3 << 20, 63), pattern(100_000, 64)];
        // Issued back to back: later sends queue behind the first one.
        const sends = parts.map((part) => client.send(part));
        await sleep(100);
        const total = parts.reduce((sum, part) => sum + part.length, 0);
        const received = await recvExactly(peer, total, 256 * 1024);
        const lengths = await Promise.all(sends);
        assert.deepEqual(lengths, parts.map((part) => part.length));
        assert.ok(received.equals(Buffer.concat(parts)), 'the bytes arrived out of order or damaged');
        await client.close();
        await peer.close();
      } finally {
        await server.close();
      }
    }, timeout);

    it('reports a reset to recv as ECONNRESET, worded as net words it (recv ECONNRESET)', async () => {
      const server = await listen({ backend, port: 0 });
      try {
        const accepted = acceptOne(server);
        const client = await netConnect(server.address().port);
        const peer = await accepted;
        client.write(pattern(1000, 1));
        await sleep(20);
        client.resetAndDestroy();
        const buffer = Buffer.alloc(64 * 1024);
        let error: unknown;
        for (let i = 0; i < 100; i++) {
          try {
            if ((await peer.recv(buffer)) === 0) break;
          } catch (e) {
            error = e;
            break;
          }
        }
        if (backend === 'iocp' && error === undefined) {
          // Under Wine, a receive on a socket the peer reset reports an
          // orderly close (0 bytes); the reset then surfaces on the send.
          error = await peer.send(pattern(256 * 1024, 2)).then(
            () => peer.send(pattern(256 * 1024, 3)),
          ).then(() => undefined, (e: unknown) => e);
          assert.ok(
            ['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes((error as { code?: string } | undefined)?.code ?? ''),
            `got ${String(error)}`,
          );
        } else {
          // net says `read ECONNRESET` (syscall read); the op here is recv.
          const e = error as { code?: string; errno?: number; syscall?: string; message?: string } | undefined;
          assert.equal(e?.code, 'ECONNRESET', `got ${String(error)}`);
          assert.equal(e?.syscall, 'recv');
          assert.equal(e?.message, 'recv ECONNRESET');
          assert.equal(e?.errno, errnoOf('ECONNRESET'));
        }
        await peer.close();
      } finally {
        await server.close();
      }
    }, timeout);

    it('keeps accepted connections open when the server closes', async () => {
      const connections: Socket[] = [];
      const server = await listen({ backend, port: 0, onConnection: (socket) => connections.push(socket) });
      const { port, address, family } = server.address();
      assert.equal(address, HOST);
      assert.equal(family, 'IPv4');
      const client = await connect({ host: HOST, port, backend });
      await waitFor(() => connections.length === 1, 'the connection');
      const peer = connections[0]!;
      assert.equal(peer.localPort, port);
      assert.equal(peer.remotePort, client.localPort);
      assert.equal(client.remotePort, port);
      assert.equal(client.remoteAddress, HOST);
      assert.equal(server.connections, 1);
      await server.close();
      await server.close(); // idempotent
      await assert.rejects(connect({ host: HOST, port, backend }), expectCode('ECONNREFUSED'));
      // The live connection works both ways after the listener is gone.
      await client.send(Buffer.from('still here'));
      assert.equal((await recvExactly(peer, 10)).toString(), 'still here');
      await peer.send(Buffer.from('me too'));
      assert.equal((await recvExactly(client, 6)).toString(), 'me too');
      await peer.close();
      assert.equal(await client.recv(Buffer.alloc(8)), 0);
      await client.close();
      assert.equal(server.connections, 0);
    }, timeout);

    it('refuses past maxConnections on a plain server', async () => {
      const connections: Socket[] = [];
      const server = await listen({ backend, port: 0, maxConnections: 1, onConnection: (s) => connections.push(s) });
      try {
        const { port } = server.address();
        const first = await connect({ host: HOST, port, backend });
        await waitFor(() => connections.length === 1, 'the first connection');
        const second = await netConnect(port);
        await netEnded(second);
        second.destroy();
        await waitFor(() => server.refused === 1, 'the refusal');
        assert.equal(connections.length, 1);
        await connections[0]!.close();
        await first.close();
      } finally {
        await server.close();
      }
    }, timeout);

    it('rejects connect with ECONNREFUSED as net does (message, code, errno, syscall, address, port)', async () => {
      const port = await freePort();
      const expected = await netError((done) => net.connect({ host: HOST, port }).once('error', done));
      await assert.rejects(connect({ host: HOST, port, backend }), (error: unknown) => {
        assert.deepEqual(nodeShape(error), nodeShape(expected));
        assert.equal((error as { code?: string }).code, 'ECONNREFUSED');
        return true;
      });
    }, timeout);

    it('rejects listen on a port in use with EADDRINUSE as net does', async () => {
      const holder = await listen({ backend, port: 0 });
      try {
        const { port } = holder.address();
        const expected = await netError((done) => net.createServer().once('error', done).listen(port, HOST));
        await assert.rejects(listen({ backend, port }), (error: unknown) => {
          assert.deepEqual(nodeShape(error), nodeShape(expected));
          assert.match((error as Error).message, /^listen EADDRINUSE: address already in use /);
          return true;
        });
        await assert.rejects(createEchoServer({ backend, port }), (error: unknown) => {
          assert.deepEqual(nodeShape(error), nodeShape(expected));
          return true;
        });
      } finally {
        await holder.close();
      }
    }, timeout);

    it('rejects a bad port with ERR_SOCKET_BAD_PORT as net does', async () => {
      for (const port of [70000, -1, 1.5, NaN, 'x', '']) {
        const expected = (() => {
          try {
            net.connect({ host: HOST, port: port as number }).destroy();
          } catch (error) {
            return error as RangeError & { code: string };
          }
          return undefined;
        })();
        assert.equal(expected?.code, 'ERR_SOCKET_BAD_PORT');
        await assert.rejects(connect({ host: HOST, port: port as number, backend }), (error: unknown) => {
          assert.ok(error instanceof RangeError);
          assert.equal((error as { code?: string }).code, 'ERR_SOCKET_BAD_PORT');
          return true;
        });
        await assert.rejects(listen({ backend, port: port as number }), expectCode('ERR_SOCKET_BAD_PORT'));
        await assert.rejects(createEchoServer({ backend, port: port as number }), expectCode('ERR_SOCKET_BAD_PORT'));
      }
      // As net, a numeric string is a port.
      const server = await listen({ backend, port: '0' as never });
      try {
        const client = await connect({ host: HOST, port: String(server.address().port) as never, backend });
        await client.close();
      } finally {
        await server.close();
      }
    }, timeout);

    it('cancels a pending recv with an AbortError and keeps the socket usable', async () => {
      const server = await createEchoServer({ backend, port: 0 });
      try {
        const socket = await connect({ host: HOST, port: server.address().port, backend });
        const controller = new AbortController();
        const buffer = Buffer.alloc(64);
        const pending = socket.recv(buffer, { signal: controller.signal });
        await sleep(20);
        controller.abort();
        await assert.rejects(pending, (error: unknown) => {
          assert.equal((error as Error).name, 'AbortError');
          assert.equal((error as { code?: string }).code, 'ABORT_ERR');
          return true;
        });
        await assert.rejects(socket.recv(buffer, { signal: controller.signal }), { name: 'AbortError' });
        await socket.send(Buffer.from('after abort'));
        assert.equal((await recvExactly(socket, 11)).toString(), 'after abort');
        // close() ends a pending recv; ops after close reject, never crash.
        const pendingAtClose = assert.rejects(socket.recv(buffer), expectCode('ERR_SOCKET_CLOSED'));
        await socket.close();
        await pendingAtClose;
        await assert.rejects(socket.recv(buffer), expectCode('ERR_SOCKET_CLOSED'));
        await assert.rejects(socket.send(buffer), expectCode('ERR_SOCKET_CLOSED'));
        await assert.rejects(socket.shutdown(), expectCode('ERR_SOCKET_CLOSED'));
        assert.throws(() => socket.setNoDelay(true), expectCode('ERR_SOCKET_CLOSED'));
        await socket.close(); // idempotent
        assert.equal(socket.closed, true);
      } finally {
        await server.close();
      }
    }, timeout);

    it('keeps receive buffers alive and intact across a forced GC', async () => {
      const connections: Socket[] = [];
      const server = await listen({ backend, port: 0, onConnection: (s) => connections.push(s) });
      try {
        const { port } = server.address();
        const count = 20;
        const clients = await Promise.all(Array.from({ length: count }, () => connect({ host: HOST, port, backend })));
        await waitFor(() => connections.length === count, 'the connections');
        // Half the receives hold their buffer only through the op.
        const weak: Array<WeakRef<Uint8Array>> = [];
        const held: Array<Promise<Buffer>> = [];
        const unheld: Array<Promise<number>> = [];
        for (let i = 0; i < count; i++) {
          if (i % 2 === 0) {
            const buffer = Buffer.alloc(4096);
            held.push(clients[i]!.recv(buffer).then((n) => buffer.subarray(0, n)));
          } else {
            const buffer = new Uint8Array(4096);
            weak.push(new WeakRef(buffer));
            unheld.push(clients[i]!.recv(buffer));
          }
        }
        if (canForceGc()) {
          for (let i = 0; i < 3; i++) {
            forceGc();
            await sleep(5);
          }
          assert.ok(weak.every((ref) => ref.deref() !== undefined), 'a buffer of an op in flight was collected');
        }
        await Promise.all(connections.map((socket, i) => socket.send(pattern(1000, 100 + i))));
        const received = await Promise.all(held);
        const sizes = await Promise.all(unheld);
        assert.ok(sizes.every((n) => n > 0 && n <= 1000));
        // Every connection's own bytes, in its own buffer.
        const byLocalPort = new Map(connections.map((socket, i) => [socket.remotePort, i]));
        for (const [k, data] of received.entries()) {
          const client = clients[k * 2]!;
          const i = byLocalPort.get(client.localPort)!;
          assert.ok(pattern(1000, 100 + i).subarray(0, data.length).equals(data), `connection ${k * 2} bytes`);
        }
        await Promise.all([...clients, ...connections].map((socket) => socket.close()));
      } finally {
        await server.close();
      }
    }, timeout);

    if (backend !== 'portable') {
      // (node:net keeps its own sockets alive from the event loop.)
      it('closes a socket dropped without close() when it is collected', async () => {
        if (!canForceGc()) return;
        const connections: Socket[] = [];
        const server = await listen({ backend, port: 0, onConnection: (s) => connections.push(s) });
        try {
          await (async () => {
            await connect({ host: HOST, port: server.address().port, backend });
          })();
          await waitFor(() => connections.length === 1, 'the connection');
          const peer = connections[0]!;
          const eof = peer.recv(Buffer.alloc(8));
          for (let i = 0; i < 50; i++) {
            forceGc();
            const done = await Promise.race([eof.then(() => true, () => true), sleep(20).then(() => false)]);
            if (done) break;
          }
          assert.equal(await eof, 0, 'the dropped socket was not closed');
          await peer.close();
        } finally {
          await server.close();
        }
      }, timeout);
    }

    it('gives a Node Duplex with toStream()', async () => {
      const server = await createEchoServer({ backend, port: 0 });
      try {
        const socket = await connect({ host: HOST, port: server.address().port, backend });
        socket.setNoDelay(true);
        const stream = socket.toStream();
        const data = pattern(200_000, 77);
        const chunks: Buffer[] = [];
        const done = new Promise<void>((resolve, reject) => {
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => resolve());
          stream.on('error', reject);
        });
        stream.end(data);
        await done;
        assert.ok(Buffer.concat(chunks).equals(data));
        stream.destroy();
        await waitFor(() => socket.closed, 'the stream to close its socket');
      } finally {
        await server.close();
      }
    }, timeout);

    it('closes idle connections after idleTimeout', async () => {
      const server = await createEchoServer({ backend, port: 0, idleTimeout: 100 });
      try {
        const client = await netConnect(server.address().port);
        const ended = netEnded(client);
        await ended;
        client.destroy();
        await waitFor(() => server.counters().timeouts === 1, 'the timeout to be counted');
        assert.equal(server.counters().active, 0);
      } finally {
        await server.close();
      }
    }, timeout);

    it('rejects invalid arguments with ERR_* codes', async () => {
      await assert.rejects(listen({ backend, port: -1 }), expectCode('ERR_SOCKET_BAD_PORT'));
      await assert.rejects(listen({ backend, port: {} as never }), expectCode('ERR_INVALID_ARG_TYPE'));
      await assert.rejects(listen({ backend, acceptDepth: 0 }), expectCode('ERR_OUT_OF_RANGE'));
      await assert.rejects(listen({ backend, multishot: 'yes' as never }), expectCode('ERR_INVALID_ARG_TYPE'));
      await assert.rejects(listen({ backend, host: 5 as never }), expectCode('ERR_INVALID_ARG_TYPE'));
      await assert.rejects(listen({ backend, onConnection: 'x' as never }), expectCode('ERR_INVALID_ARG_TYPE'));
      await assert.rejects(listen(null as never), expectCode('ERR_INVALID_ARG_TYPE'));
      await assert.rejects(listen({ backend: 'nope' as never }), expectCode('ERR_INVALID_ARG_VALUE'));
      await assert.rejects(connect({ backend } as never), expectCode('ERR_INVALID_ARG_TYPE'));
      await assert.rejects(connect({ backend, port: 0 }), expectCode('ERR_SOCKET_BAD_PORT'));
      await assert.rejects(connect({ backend, port: 70000 }), expectCode('ERR_SOCKET_BAD_PORT'));
      await assert.rejects(connect({ backend, port: 80, signal: 'x' as never }), expectCode('ERR_INVALID_ARG_TYPE'));
      await assert.rejects(createEchoServer({ backend, mode: 'x' as never }), expectCode('ERR_INVALID_ARG_VALUE'));
      await assert.rejects(createEchoServer({ backend, bufferSize: 0 }), expectCode('ERR_OUT_OF_RANGE'));
      await assert.rejects(createEchoServer({ backend, maxConnections: 1.5 }), expectCode('ERR_OUT_OF_RANGE'));
      await assert.rejects(createEchoServer({ backend, idleTimeout: -1 }), expectCode('ERR_OUT_OF_RANGE'));
      const server: EchoServer = await createEchoServer({ backend, port: 0 });
      try {
        const socket = await connect({ host: HOST, port: server.address().port, backend });
        assert.throws(() => socket.recv('x' as never), expectCode('ERR_INVALID_ARG_TYPE'));
        assert.throws(() => socket.recv(Buffer.alloc(0)), expectCode('ERR_INVALID_ARG_TYPE'));
        assert.throws(() => socket.send(42 as never), expectCode('ERR_INVALID_ARG_TYPE'));
        assert.throws(() => socket.recv(Buffer.alloc(1), { signal: {} as never }), expectCode('ERR_INVALID_ARG_TYPE'));
        assert.throws(() => socket.setNoDelay('yes' as never), expectCode('ERR_INVALID_ARG_TYPE'));
        // The socket is unharmed by what was refused.
        await socket.send(Buffer.from('ok'));
        assert.equal((await recvExactly(socket, 2)).toString(), 'ok');
        await socket.close();
      } finally {
        await server.close();
      }
    }, timeout);
  });
}
