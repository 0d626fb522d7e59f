/**
 * The sendFile suite, written once and run against every backend:
 * `socket.sendFile(file, { position, length, head, signal })` sends a
 * file's range (after a head) in the socket's send order. Byte for byte
 * from 0 B to 64 MiB (1 GiB where asked, a sparse file), ranges and the
 * end of the file, head and sends in order, small ranges on a nearly full
 * socket (the POSIX fast path's rest as the op), a reader that stops reading,
 * abort, close and reset mid-file, the file closed while it is sent, a
 * path and a missing path. A node:net reader hashes what arrives.
 * 127.0.0.1 and ephemeral ports only; every wait is bounded in time.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BackendName } from '@overlapped/common';
import { open, type OverlappedFile } from '@overlapped/file';
import { connect, type Socket } from '@overlapped/socket';

import { sleep, type TestApi, waitFor } from '../harness.js';
import { bounded, HOST, pattern } from './socket-helpers.js';

/** Options of {@link defineSocketSendfileSuite}. */
export interface SocketSendfileSuiteOptions {
  /** Also send a 1 GiB sparse file (io_uring rows only: it takes a few seconds). */
  large?: boolean;
}

/** Codes a peer's reset shows as, depending on when and where it is seen. */
const RESET_CODES = ['ECONNRESET', 'EPIPE', 'ECONNABORTED'];

/** What a reader received: its byte count and SHA-256, and the bytes themselves when asked to keep them. */
interface Received {
  bytes: number;
  hash: string;
  data: Buffer | undefined;
}

/** A node:net server whose one connection is read to its end (or error), hashed. */
interface Reader {
  port: number;
  /** The accepted connection, once it came. */
  socket: () => net.Socket | undefined;
  /** Bytes received so far. */
  received: () => number;
  /** Resolves when the connection ends (or fails). */
  done: Promise<Received>;
  close: () => Promise<void>;
}

async function startReader(options: { keep?: boolean; paused?: boolean } = {}): Promise<Reader> {
  let accepted: net.Socket | undefined;
  let count = 0;
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let finish!: (received: Received) => void;
  const done = new Promise<Received>((resolve) => (finish = resolve));
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted = socket;
    if (options.paused) socket.pause();
    socket.on('data', (chunk: Buffer) => {
      count += chunk.length;
      hash.update(chunk);
      if (options.keep) chunks.push(chunk);
    });
    const end = () => finish({ bytes: count, hash: hash.digest('hex'), data: options.keep ? Buffer.concat(chunks) : undefined });
    socket.once('end', () => {
      socket.end();
      end();
    });
    socket.once('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    socket: () => accepted,
    received: () => count,
    done,
    close: () => {
      accepted?.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A temporary folder for the suite's files. */
function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'overlapped-sendfile-'));
}

/** The error a promise rejected with. */
async function rejection(work: Promise<unknown>): Promise<Error & { code?: string; bytesWritten?: number }> {
  try {
    await work;
  } catch (error) {
    return error as Error & { code?: string; bytesWritten?: number };
  }
  assert.fail('expected a rejection');
}

/**
 * Defines the sendFile suite for `backend` on `api`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * defineSocketSendfileSuite({ describe, it }, 'io_uring', { large: true });
 * ```
 */
export function defineSocketSendfileSuite(api: TestApi, backend: BackendName, options: SocketSendfileSuiteOptions = {}): void {
  const { describe, it } = api;
  const timeout = 120_000;

  /** Connects a socket of the backend to a fresh reader. */
  async function toReader(readerOptions: { keep?: boolean; paused?: boolean } = {}): Promise<{ socket: Socket; reader: Reader }> {
    const reader = await startReader(readerOptions);
    const socket = await connect({ host: HOST, port: reader.port, backend });
    await waitFor(() => reader.socket() !== undefined, 'the reader to accept');
    return { socket, reader };
  }

  /**
   * Sends `file` (with `sendOptions`) on a socket connected to a fresh
   * reader, half-closes it, and checks that the sendFile resolved with
   * `expected`'s length and that the reader received exactly its bytes.
   */
  async function sendAndCompare(
    file: OverlappedFile,
    sendOptions: { position?: number; length?: number } | undefined,
    expected: { bytes: number; hash: string },
    what: string,
    ms: number,
  ): Promise<void> {
    const { socket, reader } = await toReader();
    try {
      const sent = await bounded(socket.sendFile(file, sendOptions), ms, `sendFile of ${what}`);
      assert.equal(sent, expected.bytes, `bytes sent of ${what}`);
      await socket.shutdown();
      const got = await bounded(reader.done, ms, 'the reader to end');
      assert.equal(got.bytes, expected.bytes, `bytes received of ${what}`);
      assert.equal(got.hash, expected.hash, `bytes of ${what}`);
    } finally {
      await socket.close();
      await reader.close();
    }
  }

  /** Opens `path` read-only on the suite's backend. */
  function openOn(path: string): Promise<OverlappedFile> {
    return open(path, { backend });
  }

  /**
   * Runs `body` with a file of `size` pattern bytes (open, and at `path`)
   * and a socket connected to a reader; closes them all and removes the
   * file after.
   */
  async function withFile(
    size: number,
    seed: number,
    readerOptions: { keep?: boolean; paused?: boolean },
    body: (rig: { dir: string; data: Buffer; path: string; file: OverlappedFile; socket: Socket; reader: Reader }) => Promise<void>,
  ): Promise<void> {
    const dir = tempDir();
    const data = pattern(size, seed);
    const path = join(dir, 'file');
    writeFileSync(path, data);
    const file = await openOn(path);
    const { socket, reader } = await toReader(readerOptions);
    try {
      await body({ dir, data, path, file, socket, reader });
    } finally {
      await socket.close();
      await file.close();
      await reader.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  describe(`sendFile [${backend}]`, () => {
    it('sends 0 B, 1 B, 4 KiB, 1 MiB and 64 MiB files byte for byte', async () => {
      const dir = tempDir();
      try {
        for (const [i, size] of [0, 1, 4096, 1 << 20, 64 << 20].entries()) {
          const data = pattern(size, i + 31);
          const path = join(dir, `f${size}`);
          writeFileSync(path, data);
          const file = await openOn(path);
          try {
            await sendAndCompare(file, undefined, { bytes: size, hash: sha256(data) }, `the ${size}-byte file`, 60_000);
          } finally {
            await file.close();
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, timeout);

    if (options.large) {
      it('sends a 1 GiB sparse file byte for byte', async () => {
        const dir = tempDir();
        const size = 1 << 30;
        const path = join(dir, 'large');
        try {
          // Sparse: a few marks in a GiB of holes, hashed by the reader
          // and compared with the hash of the same bytes made here.
          const writer = await open(path, { disposition: 'create-always', access: 'write', backend });
          await writer.truncate(size);
          const marks = [0, 12_345, (1 << 29) + 7, size - 4096].map((at, i) => ({ at, data: pattern(4096, i + 71) }));
          for (const mark of marks) await writer.writeAt(mark.data, mark.at);
          await writer.close();
          const expected = createHash('sha256');
          const zeros = Buffer.alloc(1 << 20);
          let at = 0;
          for (const mark of [...marks].sort((x, y) => x.at - y.at)) {
            while (at < mark.at) {
              const n = Math.min(zeros.length, mark.at - at);
              expected.update(zeros.subarray(0, n));
              at += n;
            }
            expected.update(mark.data);
            at += mark.data.length;
          }
          while (at < size) {
            const n = Math.min(zeros.length, size - at);
            expected.update(zeros.subarray(0, n));
            at += n;
          }
          const file = await openOn(path);
          try {
            await sendAndCompare(file, undefined, { bytes: size, hash: expected.digest('hex') }, '1 GiB', 100_000);
          } finally {
            await file.close();
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }, 200_000);
    }

    it('sends ranges: position and length, and stops at the end of the file', async () => {
      const dir = tempDir();
      const data = pattern(300_001, 41);
      const path = join(dir, 'ranges');
      writeFileSync(path, data);
      const file = await openOn(path);
      try {
        const ranges: Array<[number, number | undefined]> = [
          [0, 0],
          [1, 1],
          [4095, 4097],
          [100_000, undefined],
          [299_999, 10],
          [300_001, 5],
          [400_000, 100],
          [0, 1_000_000],
        ];
        for (const [position, length] of ranges) {
          const expected = data.subarray(position, length === undefined ? undefined : position + length);
          await sendAndCompare(file, { position, length }, { bytes: expected.length, hash: sha256(expected) }, `range ${position}+${length}`, 20_000);
        }
      } finally {
        await file.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }, timeout);

    it('keeps the order of heads, sendFiles and sends on one socket', async () => {
      const dir = tempDir();
      const a = pattern(200_000, 51);
      const b = pattern(70_000, 52);
      writeFileSync(join(dir, 'a'), a);
      writeFileSync(join(dir, 'b'), b);
      const fileA = await openOn(join(dir, 'a'));
      const fileB = await openOn(join(dir, 'b'));
      const { socket, reader } = await toReader({ keep: true });
      try {
        const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n');
        const between = pattern(5000, 53);
        const tail = Buffer.from('tail');
        // Called in one turn: they go out in call order.
        const results = await bounded(
          Promise.all([
            socket.sendFile(fileA, { head }),
            socket.send(between),
            socket.sendFile(fileB, { position: 10, length: 1000 }),
            socket.sendFile(join(dir, 'b'), { head: tail }),
            socket.send(tail),
          ]),
          30_000,
          'the queued sends',
        );
        assert.deepEqual(results, [head.length + a.length, between.length, 1000, tail.length + b.length, tail.length]);
        await socket.shutdown();
        const got = await bounded(reader.done, 20_000, 'the reader to end');
        const expected = Buffer.concat([head, a, between, b.subarray(10, 1010), tail, b, tail]);
        assert.equal(got.bytes, expected.length);
        assert.ok(got.data!.equals(expected), 'the stream is the calls in order');
      } finally {
        await socket.close();
        await fileA.close();
        await fileB.close();
        await reader.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }, timeout);

    it('waits for a reader that stops reading, and loses nothing', async () => {
      await withFile(16 << 20, 61, { paused: true }, async ({ data, path, socket, reader }) => {
        let settled = false;
        const sending = socket.sendFile(path).finally(() => (settled = true));
        await sleep(300);
        assert.equal(settled, false, 'the sendFile waits while the reader does not read');
        reader.socket()!.resume();
        assert.equal(await bounded(sending, 30_000, 'the sendFile'), data.length);
        await socket.shutdown();
        const got = await bounded(reader.done, 30_000, 'the reader to end');
        assert.equal(got.hash, sha256(data));
      });
    }, timeout);

    it('sends a small range at once, or what the socket did not take later, in order', async () => {
      await withFile(60_000, 67, { keep: true, paused: true }, async ({ data, file, socket, reader }) => {
        // Fill the socket until a send waits, then let the reader take that
        // one: the small ranges (the POSIX fast path's size) meet a socket
        // that the reader is draining, so a range may go out whole at once,
        // in part (the rest as the op) or only as the op; whichever, each
        // arrives whole and in call order.
        const filler = pattern(256 * 1024, 68);
        let sent = 0;
        for (let i = 0; i < 200; i++) {
          const sending = socket.send(filler);
          const done = await Promise.race([sending.then(() => true), sleep(100).then(() => false)]);
          if (!done) {
            reader.socket()!.resume();
            await bounded(sending, 20_000, 'the filler send');
            reader.socket()!.pause();
          }
          sent += filler.length;
          if (!done) break;
        }
        const head = Buffer.from('head of the small range');
        const results = [];
        for (let i = 0; i < 4; i++) results.push(socket.sendFile(file, { head, position: i * 1000, length: 50_000 }));
        reader.socket()!.resume();
        assert.deepEqual(await bounded(Promise.all(results), 20_000, 'the small ranges'), [0, 1, 2, 3].map(() => head.length + 50_000));
        await socket.shutdown();
        const got = await bounded(reader.done, 30_000, 'the reader to end');
        const ranges = [0, 1, 2, 3].map((i) => Buffer.concat([head, data.subarray(i * 1000, i * 1000 + 50_000)]));
        assert.equal(got.bytes, sent + ranges.reduce((n, r) => n + r.length, 0));
        assert.ok(got.data!.subarray(sent).equals(Buffer.concat(ranges)), 'the ranges follow the sends, in order');
      });
    }, timeout);

    it('aborts mid-file with bytesWritten, the bytes the peer gets', async () => {
      await withFile(32 << 20, 62, { paused: true }, async ({ data, file, socket, reader }) => {
        const controller = new AbortController();
        const head = Buffer.from('head');
        const sending = socket.sendFile(file, { head, signal: controller.signal });
        await sleep(200);
        controller.abort();
        const error = await bounded(rejection(sending), 20_000, 'the aborted sendFile');
        assert.equal(error.name, 'AbortError');
        assert.equal(typeof error.bytesWritten, 'number');
        assert.ok(error.bytesWritten! > 0 && error.bytesWritten! < head.length + data.length, `bytesWritten ${error.bytesWritten}`);
        reader.socket()!.resume();
        await socket.shutdown();
        const got = await bounded(reader.done, 20_000, 'the reader to end');
        assert.equal(got.bytes, error.bytesWritten, 'the peer got exactly bytesWritten');
      });
    }, timeout);

    it('ends with the closed error and bytesWritten when the socket closes mid-file', async () => {
      await withFile(32 << 20, 63, { paused: true }, async ({ data, file, socket }) => {
        const sending = rejection(socket.sendFile(file));
        const queued = rejection(socket.sendFile(file));
        await sleep(200);
        await socket.close();
        const error = await bounded(sending, 20_000, 'the sendFile');
        assert.equal(error.code, 'ERR_SOCKET_CLOSED');
        assert.ok(error.bytesWritten! >= 0 && error.bytesWritten! <= data.length, `bytesWritten ${error.bytesWritten}`);
        const second = await bounded(queued, 20_000, 'the queued sendFile');
        assert.equal(second.code, 'ERR_SOCKET_CLOSED');
        assert.equal(second.bytesWritten, 0);
        await assert.rejects(socket.sendFile(file), { code: 'ERR_SOCKET_CLOSED', bytesWritten: 0 });
      });
    }, timeout);

    it('fails with a reset and bytesWritten when the peer resets mid-file', async () => {
      await withFile(32 << 20, 64, { paused: true }, async ({ data, file, socket, reader }) => {
        const sending = socket.sendFile(file);
        await sleep(200);
        reader.socket()!.resetAndDestroy();
        const error = await bounded(rejection(sending), 20_000, 'the sendFile');
        assert.ok(RESET_CODES.includes(error.code!), `code ${error.code}`);
        assert.ok(error.bytesWritten! >= 0 && error.bytesWritten! <= data.length, `bytesWritten ${error.bytesWritten}`);
      });
    }, timeout);

    it('keeps the file open until its sendFile settles', async () => {
      await withFile(4 << 20, 65, { paused: true }, async ({ data, file, socket, reader }) => {
        let sent = false;
        const sending = socket.sendFile(file).then((n) => ((sent = true), n));
        await sleep(50);
        const closing = file.close();
        await sleep(100);
        reader.socket()!.resume();
        await bounded(closing, 30_000, 'the file to close');
        assert.equal(sent, true, 'close() waited for the sendFile');
        assert.equal(await sending, data.length);
        await assert.rejects(socket.sendFile(file), { code: 'EBADF' });
        await socket.shutdown();
        const got = await bounded(reader.done, 30_000, 'the reader to end');
        assert.equal(got.hash, sha256(data));
      });
    }, timeout);

    it('sends a path, and rejects a missing one as fs.open does', async () => {
      await withFile(100_000, 66, { keep: true }, async ({ data, dir, path, socket, reader }) => {
        const missing = join(dir, 'missing');
        const error = await bounded(rejection(socket.sendFile(missing)), 10_000, 'the missing path');
        assert.equal(error.code, 'ENOENT');
        assert.equal((error as { path?: string }).path, missing);
        assert.equal((error as { syscall?: string }).syscall, 'open');
        assert.equal(error.bytesWritten, 0);
        assert.equal(await bounded(socket.sendFile(path, { position: 5 }), 10_000, 'the path'), data.length - 5);
        await socket.shutdown();
        const got = await bounded(reader.done, 20_000, 'the reader to end');
        assert.ok(got.data!.equals(data.subarray(5)));
      });
    }, timeout);
  });
}
