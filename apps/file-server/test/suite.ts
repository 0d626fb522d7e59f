// The file server's behaviour on one backend: downloads byte for byte,
// HEAD, ranges, conditional requests, keep-alive and pipelining, and every
// attack, each followed by a normal request that must still succeed.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BackendName } from '@overlapped/common';
import { socketBackend } from '@overlapped/socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createFileServer, type FileServer, type FileServerOptions } from '../src/index.js';
import { closedWithin, exchange, httpDownloadHash, httpGet, openConnection } from './client.js';

const MiB = 1024 * 1024;
const SECRET = 'the secret outside the root';
const MTIME = new Date('2024-05-01T12:00:00Z');

/** Whether `backend` runs here (a backend that does not is skipped, and says why). */
export function backendRuns(backend: BackendName): { runs: boolean; reason?: string } {
  try {
    socketBackend(backend);
    return { runs: true };
  } catch (error) {
    return { runs: false, reason: (error as Error).message };
  }
}

interface Fixture {
  root: string;
  base: string;
  files: Map<string, { size: number; sha256: string; bytes?: Buffer }>;
}

// A file of `size` bytes: 1 MiB random blocks, each stamped with its
// index (so a block sent twice or out of order changes the hash).
function writeLargeFile(path: string, size: number): string {
  const hash = createHash('sha256');
  const block = randomBytes(MiB);
  const fd = openSync(path, 'w');
  try {
    for (let offset = 0, index = 0; offset < size; offset += MiB, index++) {
      block.writeUInt32LE(index, 0);
      const piece = block.subarray(0, Math.min(MiB, size - offset));
      writeSync(fd, piece);
      hash.update(piece);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function makeFixture(largeSize: number): Fixture {
  const base = mkdtempSync(join(tmpdir(), 'overlapped-file-server-'));
  const root = join(base, 'root');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(root, 'no-index'));
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(base, 'outside', 'secret.txt'), SECRET);
  const files = new Map<string, { size: number; sha256: string; bytes?: Buffer }>();
  const add = (name: string, bytes: Buffer) => {
    writeFileSync(join(root, name), bytes);
    files.set(name, { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), bytes });
  };
  add('empty.bin', Buffer.alloc(0));
  add('one.bin', Buffer.from('x'));
  add('small.bin', randomBytes(4096));
  add('page.html', Buffer.from('<!doctype html><h1>hello</h1>\n'));
  add('notes.txt', Buffer.from('plain text\n'));
  add('odd.bin', randomBytes(MiB + 7));
  add('sub/index.html', Buffer.from('<h1>sub index</h1>\n'));
  add('sub/a b.txt', Buffer.from('a file with a space\n'));
  files.set('large.bin', { size: largeSize, sha256: writeLargeFile(join(root, 'large.bin'), largeSize) });
  for (const name of ['small.bin', 'odd.bin']) utimesSync(join(root, name), MTIME, MTIME);
  symlinkSync(join(base, 'outside', 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync(join(base, 'outside'), join(root, 'linkdir-out'));
  symlinkSync('small.bin', join(root, 'link-in.bin'));
  return { root, base, files };
}

/** A GET of /small.bin that must succeed: the server still serves after an attack. */
async function stillServes(port: number, fixture: Fixture): Promise<void> {
  const { status, body } = await httpGet(port, '/small.bin');
  expect(status).toBe(200);
  expect(body.equals(fixture.files.get('small.bin')?.bytes as Buffer)).toBe(true);
}

export function defineFileServerSuite(backend: BackendName, largeSize: number): void {
  const runs = backendRuns(backend);
  if (!runs.runs) {
    describe.skip(`[${backend}] skipped: ${runs.reason}`, () => it('backend unavailable', () => {}));
    return;
  }

  describe(`file-server on ${backend}`, () => {
    let fixture: Fixture;
    let server: FileServer;
    let port: number;
    const extra: FileServer[] = [];
    const start = async (options: Partial<FileServerOptions> = {}) => {
      const started = await createFileServer({ root: fixture.root, port: 0, backend, ...options });
      extra.push(started);
      return { server: started, port: started.address().port };
    };

    beforeAll(async () => {
      fixture = makeFixture(largeSize);
      server = await createFileServer({ root: fixture.root, port: 0, backend, headerTimeout: 400, idleTimeout: 3000, maxConnections: 64 });
      port = server.address().port;
    }, 120_000);

    afterAll(async () => {
      for (const s of [server, ...extra]) await s?.close();
      if (fixture) rmSync(fixture.base, { recursive: true, force: true });
    });

    it('serves on the requested backend', () => {
      expect(server.backend).toBe(backend);
    });

    it(`downloads every size, 0 B to ${largeSize / MiB} MiB, byte for byte (SHA-256)`, async () => {
      for (const name of ['empty.bin', 'one.bin', 'small.bin', 'page.html', 'odd.bin', 'sub/a%20b.txt', 'large.bin']) {
        const expected = fixture.files.get(decodeURIComponent(name));
        const got = await httpDownloadHash(port, `/${name}`);
        expect({ name, status: got.status, length: got.length, sha256: got.sha256, contentLength: got.contentLength }).toEqual({
          name,
          status: 200,
          length: expected?.size,
          sha256: expected?.sha256,
          contentLength: String(expected?.size),
        });
      }
    }, 120_000);

    it('sends Content-Type from the extension, validators and Accept-Ranges', async () => {
      const html = await httpGet(port, '/page.html');
      expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
      expect((await httpGet(port, '/notes.txt')).headers['content-type']).toBe('text/plain; charset=utf-8');
      const bin = await httpGet(port, '/small.bin');
      expect(bin.headers['content-type']).toBe('application/octet-stream');
      expect(bin.headers['last-modified']).toBe(MTIME.toUTCString());
      expect(bin.headers.etag).toMatch(/^"[0-9a-f]+-1000"$/);
      expect(bin.headers['accept-ranges']).toBe('bytes');
      expect(bin.headers.date).toBeTruthy();
    });

    it('answers HEAD with the GET headers and no body', async () => {
      // The HEAD and a GET pipelined: a body after the HEAD's head would be read as the GET's response.
      const { responses } = await exchange(port, 'HEAD /odd.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /one.bin HTTP/1.1\r\nHost: x\r\n\r\n', {
        responses: 2,
        bodiless: (i) => i === 0,
      });
      expect(responses[0]?.status).toBe(200);
      expect(responses[0]?.headers['content-length']).toBe(String(MiB + 7));
      expect(responses[1]?.status).toBe(200);
      expect(responses[1]?.body.toString()).toBe('x');
    });

    it('serves single ranges (206) and refuses unsatisfiable ones (416)', async () => {
      const bytes = fixture.files.get('odd.bin')?.bytes as Buffer;
      const size = bytes.length;
      const cases: Array<[string, number, number?, number?]> = [
        ['bytes=0-99', 206, 0, 99],
        ['bytes=100-', 206, 100, size - 1],
        ['bytes=-10', 206, size - 10, size - 1],
        ['bytes=-99999999', 206, 0, size - 1],
        ['bytes=1000-99999999', 206, 1000, size - 1],
        [`bytes=${size - 1}-${size - 1}`, 206, size - 1, size - 1],
      ];
      for (const [range, status, first, last] of cases) {
        const res = await httpGet(port, '/odd.bin', { headers: { range } });
        expect({ range, status: res.status }).toEqual({ range, status });
        expect(res.headers['content-range']).toBe(`bytes ${first}-${last}/${size}`);
        expect(res.headers['content-length']).toBe(String((last as number) - (first as number) + 1));
        expect(res.body.equals(bytes.subarray(first, (last as number) + 1))).toBe(true);
      }
      for (const range of [`bytes=${size}-`, 'bytes=-0', `bytes=${size + 5}-${size + 9}`]) {
        const res = await httpGet(port, '/odd.bin', { headers: { range } });
        expect({ range, status: res.status, contentRange: res.headers['content-range'] }).toEqual({
          range,
          status: 416,
          contentRange: `bytes */${size}`,
        });
      }
      const empty = await httpGet(port, '/empty.bin', { headers: { range: 'bytes=0-' } });
      expect([empty.status, empty.headers['content-range']]).toEqual([416, 'bytes */0']);
      // Several ranges, another unit, bad syntax, last < first: the whole file (documented).
      for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=abc', 'bytes=9-2']) {
        const res = await httpGet(port, '/odd.bin', { headers: { range } });
        expect({ range, status: res.status, length: res.body.length }).toEqual({ range, status: 200, length: size });
      }
      // HEAD ignores Range.
      const head = await httpGet(port, '/odd.bin', { method: 'HEAD', headers: { range: 'bytes=0-9' } });
      expect([head.status, head.headers['content-length']]).toEqual([200, String(size)]);
    });

    it('answers conditional requests: ETag / If-None-Match, Last-Modified / If-Modified-Since, If-Range', async () => {
      const first = await httpGet(port, '/small.bin');
      const etag = first.headers.etag as string;
      const lastModified = first.headers['last-modified'] as string;
      const notModified = await httpGet(port, '/small.bin', { headers: { 'if-none-match': etag } });
      expect([notModified.status, notModified.body.length, notModified.headers.etag]).toEqual([304, 0, etag]);
      expect((await httpGet(port, '/small.bin', { headers: { 'if-none-match': `"other", W/${etag}` } })).status).toBe(304);
      expect((await httpGet(port, '/small.bin', { headers: { 'if-none-match': '*' } })).status).toBe(304);
      expect((await httpGet(port, '/small.bin', { headers: { 'if-modified-since': lastModified } })).status).toBe(304);
      const later = new Date(MTIME.getTime() + 3600_000).toUTCString();
      const earlier = new Date(MTIME.getTime() - 1000).toUTCString();
      expect((await httpGet(port, '/small.bin', { headers: { 'if-modified-since': later } })).status).toBe(304);
      expect((await httpGet(port, '/small.bin', { headers: { 'if-modified-since': earlier } })).status).toBe(200);
      expect((await httpGet(port, '/small.bin', { headers: { 'if-modified-since': 'not a date' } })).status).toBe(200);
      // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
      const mismatch = await httpGet(port, '/small.bin', { headers: { 'if-none-match': '"other"', 'if-modified-since': later } });
      expect([mismatch.status, mismatch.body.length]).toEqual([200, 4096]);
      // If-Range: the range only while the validator still matches.
      const partial = await httpGet(port, '/small.bin', { headers: { range: 'bytes=0-9', 'if-range': etag } });
      expect([partial.status, partial.body.length]).toEqual([206, 10]);
      const byDate = await httpGet(port, '/small.bin', { headers: { range: 'bytes=0-9', 'if-range': lastModified } });
      expect(byDate.status).toBe(206);
      const stale = await httpGet(port, '/small.bin', { headers: { range: 'bytes=0-9', 'if-range': '"stale"' } });
      expect([stale.status, stale.body.length]).toEqual([200, 4096]);
    });

    it('answers pipelined requests in order, on one connection', async () => {
      const names = ['one.bin', 'small.bin', 'missing', 'page.html', 'empty.bin', 'sub/', 'odd.bin', 'one.bin'];
      const requests = names.map((name, i) =>
        i === 2 ? `HEAD /${name} HTTP/1.1\r\nHost: x\r\n\r\n` : `GET /${name} HTTP/1.1\r\nHost: x\r\n${i === 3 ? 'Range: bytes=2-5\r\n' : ''}\r\n`,
      );
      const { responses, closed } = await exchange(port, requests.join(''), { responses: names.length, bodiless: (i) => i === 2 });
      expect(closed).toBe(false);
      expect(responses.map((r) => r.status)).toEqual([200, 200, 404, 206, 200, 200, 200, 200]);
      expect(responses[1]?.body.equals(fixture.files.get('small.bin')?.bytes as Buffer)).toBe(true);
      expect(responses[3]?.body.toString()).toBe(fixture.files.get('page.html')?.bytes?.subarray(2, 6).toString());
      expect(responses[5]?.body.toString()).toBe('<h1>sub index</h1>\n');
      expect(responses[6]?.body.equals(fixture.files.get('odd.bin')?.bytes as Buffer)).toBe(true);
    });

    it('keeps connections alive (HTTP/1.1 by default, HTTP/1.0 when asked) and closes them otherwise', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const before = server.counters().accepted;
      for (let i = 0; i < 10; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          request({ host: '127.0.0.1', port, path: '/one.bin', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
            .on('error', reject)
            .end();
        });
        expect(status).toBe(200);
      }
      agent.destroy();
      expect(server.counters().accepted - before).toBe(1);

      const http10 = await exchange(port, 'GET /one.bin HTTP/1.0\r\n\r\n', { untilClose: true });
      expect([http10.responses[0]?.status, http10.responses[0]?.headers.connection, http10.closed]).toEqual([200, 'close', true]);
      const http10KeepAlive = await exchange(port, 'GET /one.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /one.bin HTTP/1.0\r\n\r\n', {
        responses: 2,
        untilClose: true,
      });
      expect(http10KeepAlive.responses.map((r) => [r.status, r.headers.connection])).toEqual([
        [200, 'keep-alive'],
        [200, 'close'],
      ]);
      const close11 = await exchange(port, 'GET /one.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { untilClose: true });
      expect([close11.responses[0]?.status, close11.closed]).toEqual([200, true]);
    });

    it('answers other methods 405 with Allow, and reads past a request body', async () => {
      const { responses } = await exchange(
        port,
        'POST /small.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /one.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /one.bin HTTP/1.1\r\nHost: x\r\n\r\n',
        { responses: 3 },
      );
      expect(responses.map((r) => r.status)).toEqual([405, 200, 200]);
      expect(responses[0]?.headers.allow).toBe('GET, HEAD');
      expect(responses[0]?.headers['content-length']).toBe(String(responses[0]?.body.length));
    });

    it('answers malformed requests 400 and other HTTP versions 505, closing the connection', async () => {
      const malformed = [
        'GET /one.bin HTTP/1.1\r\n\r\n', // no Host
        'GET  /one.bin HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /one.bin\r\nHost: x\r\n\r\n',
        'GET /one.bin HTTP/1.1 extra\r\nHost: x\r\n\r\n',
        'G(T /one.bin HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /one.bin HTTP/1.1\r\nHost : x\r\n\r\n',
        'GET /one.bin HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n',
        'GET /one.bin HTTP/1.1\r\nHost: x\r\nNo-Colon\r\n\r\n',
        'GET /one.bin HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
        'GET /one.bin HTTP/1.1\r\nHost: x\rX: y\r\n\r\n',
        'GET /one.bin HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
        'GET /one.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
        'GET /one.bin HTTP/x.y\r\nHost: x\r\n\r\n',
        'GET /one.bin HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n',
      ];
      for (const text of malformed) {
        const { responses, closed } = await exchange(port, text, { untilClose: true });
        expect({ text, status: responses[0]?.status, closed }).toEqual({ text, status: 400, closed: true });
      }
      for (const version of ['HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2']) {
        const { responses } = await exchange(port, `GET /one.bin ${version}\r\nHost: x\r\n\r\n`, { untilClose: true });
        expect({ version, status: responses[0]?.status }).toEqual({ version, status: 505 });
      }
      const chunked = await exchange(port, 'GET /one.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', { untilClose: true });
      expect(chunked.responses[0]?.status).toBe(501);
      // Bare LF line endings are accepted (RFC 9112 §2.2).
      const lf = await exchange(port, 'GET /one.bin HTTP/1.1\nHost: x\n\n');
      expect(lf.responses[0]?.status).toBe(200);
      await stillServes(port, fixture);
    });

    it('lists no directories: a folder is 404, a path ending in / serves its index.html', async () => {
      expect((await httpGet(port, '/sub/')).body.toString()).toBe('<h1>sub index</h1>\n');
      expect((await httpGet(port, '/sub')).status).toBe(404);
      expect((await httpGet(port, '/no-index/')).status).toBe(404);
      expect((await httpGet(port, '/no-index')).status).toBe(404);
      expect((await httpGet(port, '/')).status).toBe(404);
      expect((await httpGet(port, '/missing.txt')).status).toBe(404);
      expect((await httpGet(port, '/small.bin/')).status).toBe(404);
    });

    it('refuses path traversal in every spelling, never sending a file outside the root', async () => {
      const outside = `${fixture.base}/outside/secret.txt`;
      const targets = [
        '/../outside/secret.txt',
        '/../../../../../../etc/passwd',
        '/sub/../../outside/secret.txt',
        '/..%2foutside%2fsecret.txt',
        '/..%2Foutside/secret.txt',
        '/%2e%2e/outside/secret.txt',
        '/%2E%2E%2Foutside%2Fsecret.txt',
        '/.%2e/outside/secret.txt',
        '/%252e%252e/outside/secret.txt',
        '/%252e%252e%252foutside%252fsecret.txt',
        '/..\\outside\\secret.txt',
        '/sub\\..\\..\\outside\\secret.txt',
        '/..%5coutside%5csecret.txt',
        '/..%5Coutside/secret.txt',
        '/small.bin%00.txt',
        '/%00../outside/secret.txt',
        '/%c0%ae%c0%ae/outside/secret.txt',
        '/%',
        '/%zz',
        '/./small.bin',
        'http://x/../outside/secret.txt',
        'http://x/%2e%2e/outside/secret.txt',
        'http:/../outside/secret.txt',
        '//../outside/secret.txt',
        `/${outside}`,
        outside,
        '/C:/Windows/win.ini',
        '/small.bin:stream',
        '*',
        'outside/secret.txt',
        '/link-out.txt',
        '/linkdir-out/secret.txt',
      ];
      for (const target of targets) {
        const { responses } = await exchange(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, { timeoutMs: 5000 });
        const status = responses[0]?.status;
        expect({ target, refused: [400, 403, 404].includes(status as number) }).toEqual({ target, refused: true });
        expect(responses[0]?.body.toString().includes(SECRET)).toBe(false);
      }
      await stillServes(port, fixture);
    });

    it('refuses symbolic links that leave the root, unless followSymlinks allows them', async () => {
      expect((await httpGet(port, '/link-out.txt')).status).toBe(403);
      expect((await httpGet(port, '/linkdir-out/secret.txt')).status).toBe(403);
      const inside = await httpGet(port, '/link-in.bin');
      expect([inside.status, inside.body.length]).toEqual([200, 4096]);
      const follow = await start({ followSymlinks: true });
      const followed = await httpGet(follow.port, '/link-out.txt');
      expect([followed.status, followed.body.toString()]).toEqual([200, SECRET]);
      expect((await httpGet(follow.port, '/linkdir-out/secret.txt')).body.toString()).toBe(SECRET);
      await stillServes(port, fixture);
    });

    it('limits the request line (414), the header section and the header count (431)', async () => {
      const longLine = await exchange(port, `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, { untilClose: true });
      expect([longLine.responses[0]?.status, longLine.closed]).toEqual([414, true]);
      // Sent without its end: the limit is seen before the line ends.
      const endless = await exchange(port, `GET /${'a'.repeat(20_000)}`, { untilClose: true });
      expect([endless.responses[0]?.status, endless.closed]).toEqual([414, true]);
      const bigHeader = await exchange(port, `GET /one.bin HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, { untilClose: true });
      expect([bigHeader.responses[0]?.status, bigHeader.closed]).toEqual([431, true]);
      const manyHeaders = Array.from({ length: 101 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
      const many = await exchange(port, `GET /one.bin HTTP/1.1\r\nHost: x\r\n${manyHeaders}\r\n`, { untilClose: true });
      expect([many.responses[0]?.status, many.closed]).toEqual([431, true]);
      const hundred = Array.from({ length: 99 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
      expect((await exchange(port, `GET /one.bin HTTP/1.1\r\nHost: x\r\n${hundred}\r\n`)).responses[0]?.status).toBe(200);
      await stillServes(port, fixture);
    });

    it('closes a connection whose request head does not arrive within the header timeout (slowloris)', async () => {
      const timeoutsBefore = server.counters().timeouts;
      const socket = await openConnection(port);
      socket.write('GET /small.bin HTTP/1.1\r\nHost: x\r\n');
      let drips = 0;
      const drip = setInterval(() => {
        if (!socket.destroyed && drips++ < 100) socket.write(`X-${drips}: y\r\n`);
      }, 50);
      const closed = await closedWithin(socket, 15_000);
      clearInterval(drip);
      socket.destroy();
      expect(closed).toBe(true);
      expect(drips).toBeLessThan(100);
      expect(server.counters().timeouts).toBeGreaterThan(timeoutsBefore);
      // A connection that sends nothing at all is closed by the idle timeout.
      const silent = await openConnection(port);
      expect(await closedWithin(silent, 15_000)).toBe(true);
      silent.destroy();
      await stillServes(port, fixture);
    });

    it('closes a response that stops moving (a client that does not read) after the idle timeout', async () => {
      const timeoutsBefore = server.counters().timeouts;
      const socket = await openConnection(port);
      socket.pause();
      socket.write('GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      // Nothing read: the socket buffers fill, the send stalls, the watchdog closes it.
      let waited = 0;
      while (server.counters().timeouts === timeoutsBefore && waited < 30_000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        waited += 100;
      }
      socket.destroy();
      expect(server.counters().timeouts).toBeGreaterThan(timeoutsBefore);
      await stillServes(port, fixture);
    }, 40_000);

    it('closes connections past maxConnections at once, and serves again once they go', async () => {
      const capped = await start({ maxConnections: 3, idleTimeout: 0 });
      const held = await Promise.all([0, 1, 2].map(() => openConnection(capped.port)));
      for (let i = 0; i < 200 && capped.server.counters().open < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(capped.server.counters().open).toBe(3);
      const excess = await exchange(capped.port, 'GET /one.bin HTTP/1.1\r\nHost: x\r\n\r\n', { untilClose: true, timeoutMs: 10_000 });
      expect([excess.closed, excess.responses.length]).toEqual([true, 0]);
      expect(capped.server.counters().refused).toBeGreaterThan(0);
      for (const socket of held) socket.destroy();
      for (let i = 0; i < 200 && capped.server.counters().open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await stillServes(capped.port, fixture);
    });

    it('counts requests, bytes, status classes and connections', async () => {
      const counting = await start();
      await httpGet(counting.port, '/small.bin');
      await httpGet(counting.port, '/missing');
      await httpGet(counting.port, '/small.bin', { headers: { 'if-none-match': '*' } });
      await exchange(counting.port, 'GET / HTTP/7.0\r\n\r\n', { untilClose: true });
      for (let i = 0; i < 200 && counting.server.counters().open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      const counters = counting.server.counters();
      expect(counters).toMatchObject({ accepted: 4, open: 0, requests: 4, status2xx: 1, status3xx: 1, status4xx: 1, status5xx: 1, errors: 0 });
      expect(counters.bytesOut).toBeGreaterThan(4096);
      expect(counters.bytesIn).toBeGreaterThan(0);
    });

    it('close() finishes a response in flight, closes idle connections, and resolves with the counters', async () => {
      const closing = await start();
      const idle = await openConnection(closing.port);
      const download = httpDownloadHash(closing.port, '/odd.bin');
      for (let i = 0; i < 500 && closing.server.counters().bytesOut === 0; i++) await new Promise((resolve) => setTimeout(resolve, 2));
      const final = await closing.server.close();
      expect(await closedWithin(idle, 5000)).toBe(true);
      const got = await download;
      expect([got.status, got.sha256]).toEqual([200, fixture.files.get('odd.bin')?.sha256]);
      expect(final.open).toBe(0);
      await expect(httpGet(closing.port, '/one.bin')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await stillServes(port, fixture);
    });
  });
}
