/**
 * Helpers the socket suites share: data patterns, node:net peers, reading
 * exactly n bytes, error-code checks. 127.0.0.1 and ephemeral ports only;
 * every wait is bounded in time.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as net from 'node:net';
import { getSystemErrorMap } from 'node:util';

import type { BackendName } from '@overlapped/common';
import { connect, listen, type Server, type Socket } from '@overlapped/socket';

export const HOST = '127.0.0.1';

export function pattern(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function expectCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.equal((error as { code?: unknown }).code, code, `expected ${code}, got ${String(error)}`);
    return true;
  };
}

/** Receives until `size` bytes arrived (or the peer shut down); returns them. */
export async function recvExactly(socket: Socket, size: number, chunk = 64 * 1024): Promise<Buffer> {
  const out = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const n = await socket.recv(out.subarray(got, Math.min(size, got + chunk)));
    if (n === 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

/** Sends `data` on our own client and reads it back; then shuts down and expects the server's shutdown. */
export async function apiRoundTrip(backend: BackendName, port: number, data: Buffer): Promise<void> {
  const socket = await connect({ host: HOST, port, backend });
  try {
    const [, echoed] = await Promise.all([socket.send(data), recvExactly(socket, data.length)]);
    assert.equal(echoed.length, data.length, 'echoed length');
    assert.ok(echoed.equals(data), 'echoed bytes differ');
    await socket.shutdown();
    assert.equal(await socket.recv(Buffer.alloc(16)), 0, 'the server shuts down after ours');
  } finally {
    await socket.close();
  }
}

/** Sends `data` from a node:net client, half-closes, collects the echo until the server's FIN. */
export function netRoundTrip(port: number, data: Buffer, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const client = net.connect({ host: HOST, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error('netRoundTrip timed out'));
    }, timeoutMs);
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.on('end', () => {
      clearTimeout(timer);
      client.end();
      resolve(Buffer.concat(chunks));
    });
    client.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    client.end(data);
  });
}

/** A node:net client that is connected (its 'connect' fired). */
export function netConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const client = net.connect({ host: HOST, port, allowHalfOpen: true });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

/** Resolves when `socket` ends (FIN or reset or close), with how. */
export function netEnded(socket: net.Socket, timeoutMs = 10_000): Promise<'end' | 'error' | 'close'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not end the connection')), timeoutMs);
    const done = (how: 'end' | 'error' | 'close') => {
      clearTimeout(timer);
      resolve(how);
    };
    socket.once('end', () => done('end'));
    socket.once('error', () => done('error'));
    socket.once('close', () => done('close'));
    socket.resume();
  });
}

/** The next accepted socket (without ending the iteration, which would close the server). */
export async function acceptOne(server: Server): Promise<Socket> {
  const step = await server[Symbol.asyncIterator]().next();
  if (step.done) throw new Error('the server closed before a connection came');
  return step.value;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function threadCount(): number | undefined {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return undefined;
  }
}

/** The error node:net gives where `start` calls `done` with it. */
export function netError(start: (done: (error: Error) => void) => void, timeoutMs = 10_000): Promise<Error> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('node:net gave no error')), timeoutMs);
    start((error) => {
      clearTimeout(timer);
      resolve(error);
    });
  });
}

/** What Node puts on a system error: message, code, errno, syscall, address, port. */
export function nodeShape(error: unknown): Record<string, unknown> {
  const e = error as Record<string, unknown>;
  return { message: e['message'], code: e['code'], errno: e['errno'], syscall: e['syscall'], address: e['address'], port: e['port'] };
}

/** Node's (libuv's) errno for a code name on this platform, e.g. -104 for ECONNRESET on Linux. */
export function errnoOf(code: string): number | undefined {
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  return undefined;
}

/** Rejects after `ms` with `what` (a text, or a function that words it then), unless `work` settles first. */
export async function bounded<T>(work: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${typeof what === 'string' ? what : what()}: no end after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** A server on `backend` with one connection: our client socket and the peer it accepted. */
export async function connectedPair(backend: BackendName): Promise<{ server: Server; client: Socket; peer: Socket }> {
  const server = await listen({ backend, port: 0 });
  const accepted = acceptOne(server);
  const client = await connect({ host: HOST, port: server.address().port, backend });
  return { server, client, peer: await accepted };
}
