// Clients for the tests: node:http for whole downloads, and a raw node:net
// client that writes bytes as given (pipelined requests, malformed ones,
// attacks) and parses the responses itself.
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request with node:http (a fresh connection); the body gathered. */
export function httpGet(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Downloads `path` with node:http, hashing the body as it streams (SHA-256, hex). */
export function httpDownloadHash(port: number, path: string): Promise<{ status: number; length: number; sha256: string; contentLength: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const hash = createHash('sha256');
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, length, sha256: hash.digest('hex'), contentLength: res.headers['content-length'] }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Parses the responses at the front of `bytes`. `bodiless(i)` says the
 * i-th response has no body whatever its Content-Length (an answer to HEAD).
 */
export function parseResponses(bytes: Buffer, bodiless: (index: number) => boolean = () => false): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = bytes.toString('latin1', at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0] ?? '')?.[1] ?? NaN);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = bodiless(responses.length) || status === 304 ? 0 : Number(headers['content-length'] ?? 0);
    if (bytes.length < end + 4 + length) break;
    responses.push({ status, headers, body: bytes.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return { responses, rest: bytes.subarray(at) };
}

export interface Exchange {
  responses: RawResponse[];
  /** Whether the server closed the connection (within the wait). */
  closed: boolean;
  /** Everything received. */
  raw: Buffer;
}

/**
 * Connects, writes `data` (a string is latin1), and collects responses
 * until `responses` have arrived (and, with `untilClose`, the server has
 * closed), or `timeoutMs` passes.
 */
export function exchange(
  port: number,
  data: string | Buffer,
  options: { responses?: number; untilClose?: boolean; bodiless?: (index: number) => boolean; timeoutMs?: number } = {},
): Promise<Exchange> {
  const want = options.responses ?? 1;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      socket.destroy();
      resolve({ responses: parseResponses(raw, options.bodiless).responses, closed, raw });
    };
    const check = () => {
      const { responses } = parseResponses(Buffer.concat(chunks), options.bodiless);
      if (responses.length >= want && (!options.untilClose || closed)) finish();
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 10_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      check();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('end', () => {
      closed = true;
      check();
    });
    socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  });
}

/** A raw connection that stays open; resolves once connected. */
export function openConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Resolves once `socket` is closed by the other side (or errors), or after `timeoutMs` with false. */
export function closedWithin(socket: Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) return resolve(true);
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('end', done);
    socket.once('close', done);
    socket.resume();
  });
}
