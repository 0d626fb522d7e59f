/**
 * What the bad-argument rows run against on one backend: a port, files and
 * sockets (open ones and closed ones), and a "companion" op started in the
 * same turn as each row's call, which must complete with the right bytes
 * whatever the row did.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type BackendName, CompletionPort, OpKinds } from '@overlapped/common';
import { open, type OverlappedFile } from '@overlapped/file';
import { CompletionPort as NativePort } from '@overlapped/iocp';
import { CompletionPort as PortablePort } from '@overlapped/portable';
import { connect, listen, type Server, type Socket } from '@overlapped/socket';

/** What the file rows read: 64 bytes that differ from one another. */
export const FIXTURE = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));

/** The area of the packages a row calls into; the companion op runs in the same one. */
export type Area = 'port' | 'file' | 'socket';

export interface MatrixContext {
  readonly backend: BackendName;
  readonly native: boolean;
  readonly dir: string;
  /** Read-write, holds {@link FIXTURE} at 0; rows only read it. */
  readonly file: OverlappedFile;
  readonly filePath: string;
  readonly closedFile: OverlappedFile;
  /** A port on the backend whose completions {@link MatrixContext.posted} records. */
  readonly port: CompletionPort<string>;
  readonly closedPort: CompletionPort;
  readonly server: Server;
  /** An open, connected socket (ours); rows pass it bad arguments only. */
  readonly socket: Socket;
  readonly closedSocket: Socket;
  /** Makes a port on the backend with `options` passed through untouched (for the constructor rows). */
  newPort(options: unknown): CompletionPort;
  /** A new empty file, read-write, closed after the row. */
  freshFile(): Promise<{ file: OverlappedFile; path: string }>;
  /** A connected pair (`a` ours, `b` the accepted end), closed after the row. */
  pair(): Promise<{ a: Socket; b: Socket }>;
  /** Keeps `value` (a transferred ArrayBuffer's clone) reachable until the row ends. */
  keep(value: unknown): void;
  /** Runs `cleanup` after the row. */
  defer(cleanup: () => unknown): void;
  /** Starts the companion op of `area` now; the promise says what went wrong, if anything. */
  companion(area: Area): Promise<string | undefined>;
  /** Runs what the row deferred and lets go of what it kept. */
  endRow(): Promise<void>;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * Sets up the objects every row uses, on `backend`.
 *
 * @example
 * ```ts
 * const ctx = await createMatrixContext('portable');
 * await ctx.file.readAt(Buffer.alloc(FIXTURE.length), 0);
 * await ctx.close();
 * ```
 */
export async function createMatrixContext(backend: BackendName): Promise<MatrixContext> {
  const native = backend !== 'portable';
  const dir = mkdtempSync(join(tmpdir(), `overlapped-bad-args-${backend}-`));
  let counter = 0;
  const freshPath = () => join(dir, `f-${counter++}`);
  const openRw = (path: string) => open(path, { disposition: 'open-always', access: 'read-write', backend });

  const filePath = freshPath();
  writeFileSync(filePath, FIXTURE);
  const file = await openRw(filePath);
  const companionFile = await openRw(filePath);
  const closedFile = await openRw(freshPath());
  await closedFile.close();

  // Anything but an object goes through untouched, for the port's own validation to see.
  const newPort = (options: unknown): CompletionPort => {
    if (!native) return new PortablePort(options as never);
    if (options === null || typeof options !== 'object') return new NativePort(options as never);
    return new NativePort({ ...options, backend: backend as 'io_uring' });
  };
  const delivered = new Map<string, () => void>();
  const port = (native
    ? new NativePort<string>({ backend: backend as 'io_uring', threads: 2, onCompletion: (c) => delivered.get(c.value as string)?.() })
    : new PortablePort<string>({ onCompletion: (c) => delivered.get(c.value as string)?.() })) as CompletionPort<string>;
  const closedPort = newPort({ threads: 1 });
  await closedPort.close();

  const accepted: Socket[] = [];
  const waiting: Array<(socket: Socket) => void> = [];
  const server = await listen({
    backend,
    host: HOST,
    port: 0,
    onConnection: (socket) => {
      const waiter = waiting.shift();
      if (waiter) waiter(socket);
      else accepted.push(socket);
    },
  });
  const nextAccepted = () => new Promise<Socket>((resolve) => {
    const ready = accepted.shift();
    if (ready) resolve(ready);
    else waiting.push(resolve);
  });
  const makePair = async () => {
    const a = await connect({ backend, host: HOST, port: server.address().port });
    const b = await nextAccepted();
    return { a, b };
  };
  const companionPair = await makePair();
  const socketPair = await makePair();
  const closedSocket = (await makePair()).a;
  await closedSocket.close();

  let deferred: Array<() => unknown> = [];
  const kept: unknown[] = [];
  let rowNumber = 0;

  const context: MatrixContext = {
    backend,
    native,
    dir,
    file,
    filePath,
    closedFile,
    port,
    closedPort,
    server,
    socket: socketPair.a,
    closedSocket,
    newPort,
    async freshFile() {
      const path = freshPath();
      const made = await openRw(path);
      deferred.push(() => made.close());
      return { file: made, path };
    },
    async pair() {
      const made = await makePair();
      deferred.push(() => Promise.all([made.a.close(), made.b.close()]));
      return made;
    },
    keep(value) {
      kept.push(value);
    },
    defer(cleanup) {
      deferred.push(cleanup);
    },
    companion(area) {
      const row = rowNumber++;
      if (area === 'file') {
        const buffer = Buffer.alloc(FIXTURE.length);
        return companionFile.readAt(buffer, 0).then(
          (bytes) => (bytes === FIXTURE.length && buffer.equals(FIXTURE) ? undefined : `the companion readAt read ${bytes} bytes, not the fixture`),
          (error: unknown) => `the companion readAt failed: ${String(error)}`,
        );
      }
      if (area === 'socket') {
        const token = Buffer.from(`companion ${row}`);
        const buffer = Buffer.alloc(token.length);
        const sent = companionPair.b.send(token);
        const received = companionPair.a.recv(buffer);
        return Promise.all([sent, received]).then(
          ([, bytes]) => (bytes === token.length && buffer.equals(token) ? undefined : `the companion recv got ${bytes} bytes: ${buffer.toString()}`),
          (error: unknown) => `the companion send/recv failed: ${String(error)}`,
        );
      }
      const marker = `companion ${row}`;
      const posted = new Promise<void>((resolve) => delivered.set(marker, resolve)).then(() => {
        delivered.delete(marker);
      });
      port.post(1, 2, marker);
      const ran = native ? port.runOp({ kind: OpKinds.nop, buffers: Buffer.alloc(8) }, { syscall: 'nop' }) : Promise.resolve(0);
      return Promise.all([posted, ran]).then(
        ([, result]) => (result === 0 ? undefined : `the companion nop op resolved ${result}`),
        (error: unknown) => `the companion post/op failed: ${String(error)}`,
      );
    },
    async endRow() {
      const cleanups = deferred;
      deferred = [];
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch {}
      }
      kept.length = 0;
    },
    async close() {
      await context.endRow();
      await Promise.allSettled([file.close(), companionFile.close(), companionPair.a.close(), companionPair.b.close(), socketPair.a.close(), socketPair.b.close()]);
      await server.close();
      await port.close();
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {}
    },
  };
  assert.ok(server.address().port > 0);
  return context;
}
