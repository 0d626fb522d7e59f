// Promise recvs on the JS thread's own event loop (io_uring and threadpool
// sockets on Linux: native/linux/loop_recv.cc): where they run, and what
// cancels them there (an abort, close(), the port closing, a worker's
// termination), with bytes checked on both sides.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { type BackendName, CompletionPort } from '@overlapped/common';
import { loadNativeCore } from '@overlapped/iocp';
import { describe, expect, it } from 'vitest';

import { socketDriverFor } from '../../socket/dist/backends.js';
import type { SocketDriver } from '../../socket/dist/driver.js';
import { dedicatedPort } from '../../socket/dist/native.js';
import { runNodeChild, sleep } from '../src/harness.js';
import { connectedPair, pattern, recvExactly } from '../src/suites/socket-helpers.js';

const workerChild = fileURLToPath(new URL('../fixtures/loop-recv-worker-child.mjs', import.meta.url));

// A full garbage collection, whether or not node runs with --expose-gc.
setFlagsFromString('--expose-gc');
const forceGc = runInNewContext('gc') as () => void;

// Until `condition()` holds, or `ms` have passed, without yielding to the
// event loop (so nothing the loop runs can happen meanwhile).
function spinWhile(condition: () => boolean, ms: number): void {
  const until = Date.now() + ms;
  while (condition() && Date.now() < until);
}

export function defineLoopRecvSuite(backend: BackendName): void {
  describe(`promise recvs on the JS thread's event loop [${backend}]`, () => {
    it('has the loop driver in this build', () => {
      expect(typeof loadNativeCore().loopRecvInit).toBe('function');
    });

    it('writes a recv\'s buffer only when the loop runs, not while JS is busy', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const buffer = Buffer.alloc(64);
        const received = peer.recv(buffer);
        // The recv is on its way (started at the end of this turn).
        await sleep(20);
        const message = pattern(64, 7);
        await client.send(message);
        // A worker that waited for the socket would fill the buffer now.
        spinWhile(() => buffer[0] === 0, 300);
        assert.equal(buffer.every((byte) => byte === 0), true, 'the buffer was written while JS ran');
        assert.equal(await received, 64);
        assert.ok(buffer.equals(message));
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    });

    it('rejects a recv aborted while the loop holds it with AbortError; the bytes after go to the next recv', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const controller = new AbortController();
        const buffer = Buffer.alloc(1024);
        const aborted = peer.recv(buffer, { signal: controller.signal });
        await sleep(20);
        controller.abort(new Error('stop'));
        const error = await aborted.then(() => undefined, (e: Error & { code?: string; cause?: unknown }) => e);
        assert.equal(error?.name, 'AbortError');
        assert.equal(error?.code, 'ABORT_ERR');
        assert.equal((error?.cause as Error | undefined)?.message, 'stop');
        const message = pattern(3000, 8);
        await client.send(message);
        assert.ok((await recvExactly(peer, message.length, 1024)).equals(message));
        assert.ok(buffer.every((byte) => byte === 0), 'the aborted recv\'s buffer was written');
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    });

    it('rejects a recv pending at close() with ERR_SOCKET_CLOSED; the peer sees the end', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const outcomes = [peer.recv(Buffer.alloc(100)), peer.recv(Buffer.alloc(100))].map((recv) =>
          recv.then((n) => `resolved ${n}`, (e: { code?: string }) => e.code),
        );
        await sleep(20);
        await peer.close();
        assert.deepEqual(await Promise.all(outcomes), ['ERR_SOCKET_CLOSED', 'ERR_SOCKET_CLOSED']);
        assert.equal(await client.recv(Buffer.alloc(10)), 0);
        await assert.rejects(peer.recv(Buffer.alloc(10)), { code: 'ERR_SOCKET_CLOSED' });
      } finally {
        await client.close();
        await server.close();
      }
    });

    it('completes recvs queued on one socket in call order, each with its part of the stream', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const buffers = Array.from({ length: 4 }, () => Buffer.alloc(10));
        const recvs = buffers.map((buffer) => peer.recv(buffer));
        const message = pattern(40, 9);
        await client.send(message);
        const sizes = await Promise.all(recvs);
        assert.deepEqual(sizes, [10, 10, 10, 10]);
        assert.ok(Buffer.concat(buffers).equals(message));
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    });

    // A recv started while a batch of finished recvs is delivered (in the
    // code an await resumes) into the buffer its socket's last recv had is
    // staged in memory the native core reads when the batch returns, not
    // handed over in a call: the tests below start their recvs there.

    it('echoes through one buffer with each next recv started from the last one\'s continuation, every byte in order', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const messages = Array.from({ length: 200 }, (_, i) => pattern(1 + ((i * 37) % 300), 100 + i));
        const echo = (async () => {
          const buffer = Buffer.alloc(512);
          for (;;) {
            const n = await peer.recv(buffer);
            if (n === 0) return;
            await peer.send(buffer.subarray(0, n));
          }
        })();
        for (const message of messages) {
          await client.send(message);
          assert.ok((await recvExactly(client, message.length)).equals(message));
        }
        await client.shutdown();
        await echo;
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    });

    it('keeps call order when a recv into the last buffer and one into another start in one continuation', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const last = Buffer.alloc(8);
        const other = Buffer.alloc(8);
        await client.send(pattern(8, 20));
        const next = peer.recv(last).then(() => [peer.recv(last), peer.recv(other)]);
        const [first, second] = await next;
        const message = pattern(16, 21);
        await client.send(message);
        assert.deepEqual(await Promise.all([first, second]), [8, 8]);
        assert.ok(last.equals(message.subarray(0, 8)), 'the recv called first did not get the first bytes');
        assert.ok(other.equals(message.subarray(8)));
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    });

    it('rejects a recv started and aborted in one continuation with AbortError; the next recv gets every byte', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const buffer = Buffer.alloc(64);
        await client.send(pattern(64, 22));
        const controller = new AbortController();
        const aborted = await peer.recv(buffer).then(() => {
          const recv = peer.recv(buffer, { signal: controller.signal });
          // After the turn's recvs were started (staged), before the batch returns.
          queueMicrotask(() => controller.abort(new Error('stop')));
          return { recv };
        });
        const error = await aborted.recv.then(() => undefined, (e: Error & { code?: string }) => e);
        assert.equal(error?.name, 'AbortError');
        assert.equal(error?.code, 'ABORT_ERR');
        const message = pattern(64, 23);
        await client.send(message);
        assert.equal(await peer.recv(buffer), 64);
        assert.ok(buffer.equals(message), 'the aborted recv took bytes');
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    });

    it('rejects a staged recv with ERR_SOCKET_CLOSED when the socket closes before the batch returns', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        const buffer = Buffer.alloc(64);
        await client.send(pattern(64, 24));
        const outcome = await peer.recv(buffer).then(() => {
          const recv = peer.recv(buffer).then((n) => `resolved ${n}`, (e: { code?: string }) => e.code);
          queueMicrotask(() => void peer.close());
          return { recv };
        });
        assert.equal(await outcome.recv, 'ERR_SOCKET_CLOSED');
        assert.equal(await client.recv(Buffer.alloc(10)), 0);
      } finally {
        await client.close();
        await server.close();
      }
    });

    it('keeps a staged recv\'s buffer alive through garbage collection', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        await client.send(pattern(4096, 25));
        // Only the op (and the continuation that reads it) holds the buffer.
        const received = await (() => {
          const buffer = Buffer.alloc(4096);
          return peer.recv(buffer).then(() => ({ bytes: peer.recv(buffer).then((n) => buffer.subarray(0, n)) }));
        })();
        await sleep(10);
        forceGc();
        const garbage = Array.from({ length: 200 }, () => Buffer.alloc(4096, 0xee));
        forceGc();
        const message = pattern(4096, 26);
        await client.send(message);
        assert.ok((await received.bytes).equals(message));
        assert.equal(garbage.length, 200);
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    });

    it('keeps a waiting recv\'s buffer alive through garbage collection', async () => {
      const { server, client, peer } = await connectedPair(backend);
      try {
        // Only the op holds the buffer.
        const received = (() => {
          const buffer = Buffer.alloc(4096);
          return peer.recv(buffer).then((n) => buffer.subarray(0, n));
        })();
        await sleep(10);
        forceGc();
        const garbage = Array.from({ length: 200 }, () => Buffer.alloc(4096, 0xee));
        forceGc();
        const message = pattern(4096, 10);
        await client.send(message);
        assert.ok((await received).equals(message));
        assert.equal(garbage.length, 200);
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
      }
    });

    it('rejects a recv pending when its port closes with AbortError', async () => {
      const port: CompletionPort = dedicatedPort(backend as 'io_uring' | 'threadpool', 1);
      const drivers: SocketDriver[] = [];
      const listener = await socketDriverFor(backend).listen(
        { host: '127.0.0.1', family: 4, port: 0, backlog: 16, acceptDepth: 1, multishot: false, completionPort: port },
        (accepted) => drivers.push(accepted.open(() => {})),
      );
      const client = await socketDriverFor(backend).connect('127.0.0.1', 4, listener.address.port, undefined);
      try {
        for (let i = 0; i < 200 && drivers.length === 0; i++) await sleep(5);
        const peer = drivers[0]!;
        const buffer = Buffer.alloc(100);
        const outcome = peer.recv(buffer, undefined).then((n) => `resolved ${n}`, (e: Error & { code?: string }) => `${e.name} ${e.code}`);
        await sleep(20);
        const closing = listener.close();
        await port.close();
        assert.equal(await outcome, 'AbortError ABORT_ERR');
        await closing;
        await peer.close();
      } finally {
        await client.close();
      }
    });

    it('leaves the socket as the backend made it: a large sendFile after recvs on the loop arrives whole', async () => {
      const { server, client, peer } = await connectedPair(backend);
      const dir = mkdtempSync(join(tmpdir(), 'overlapped-loop-recv-'));
      try {
        const content = pattern(8 * 1024 * 1024, 11);
        const path = join(dir, 'large.bin');
        writeFileSync(path, content);
        // A recv on the loop first: the socket has its watcher.
        await client.send(Buffer.from('GET'));
        assert.equal(await peer.recv(Buffer.alloc(16)), 3);
        // More than the socket buffers hold, so the send waits for the reader.
        const [sent, received] = await Promise.all([peer.sendFile(path), recvExactly(client, content.length)]);
        assert.equal(sent, content.length);
        assert.ok(received.equals(content), 'the file arrived damaged');
      } finally {
        await Promise.all([client.close(), peer.close()]);
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('survives workers terminated with recvs waiting on their loops, and closes their sockets', async () => {
      const outcome = await runNodeChild(workerChild, [backend, '6', '3', '8'], 110_000);
      assert.equal(outcome.signal, null, `the child died of ${outcome.signal}:\n${outcome.output}`);
      assert.equal(outcome.code, 0, `the child exited with ${outcome.code}:\n${outcome.output}`);
      const line = /^loop-recv (\{.*\})$/m.exec(outcome.output);
      assert.ok(line, `no summary line:\n${outcome.output}`);
      const summary = JSON.parse(line[1]!) as { terminated: number; echoed: number };
      assert.equal(summary.terminated, 18);
      assert.ok(summary.echoed > 0);
    }, 120_000);
  });
}
