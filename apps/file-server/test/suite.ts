// The file server's behaviour on one backend: downloads byte for byte,
// HEAD, ranges, conditional requests, keep-alive and pipelining, and every
// attack, each followed by a normal request that must still succeed.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import assert from 'node:assert/strict';

import type { BackendName } from '@overlapped/common';
import { socketBackend } from '@overlapped/socket';

import { createFileServer, type FileServer, type FileServerOptions } from '../src/index.js';
import { closedWithin, exchange, httpDownloadHash, httpGet, openConnection } from './client.js';

const MiB = 1024 * 1024;
const SECRET = 'the secret outside the root';
const MTIME = new Date('2024-05-01T12:00:00Z');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `backend` runs here (a backend that does not is skipped, and says why). */
export function backendRuns(backend: BackendName): { runs: boolean; reason?: string } {
  try {
    socketBackend(backend);
    return { runs: true };
  } catch (error) {
    return { runs: false, reason: (error as Error).message };
  }
}

/**
 * The test-runner calls the suite makes: vitest's on Linux
 * (`test/vitest-suite.ts`), node:test's in the Windows node.exe
 * (`test/windows.ts`). Assertions are node:assert's in both.
 */
export interface SuiteApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void> | void, timeoutMs?: number): void;
  beforeAll(body: () => Promise<void> | void, timeoutMs?: number): void;
  afterAll(body: () => Promise<void> | void, timeoutMs?: number): void;
}

export interface SuiteOptions {
  /** Bytes of the largest download (and of the file a stalled client does not read). */
  largeSize: number;
}

/**
 * Whether this process can make symbolic links that work (Windows needs a
 * privilege or developer mode; Wine 8 reports success and makes nothing).
 */
export function canSymlink(): { can: boolean; reason?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'overlapped-file-server-link-'));
  try {
    writeFileSync(join(dir, 'target'), 'target');
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'folder', 'inside'), 'inside');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    symlinkSync(join(dir, 'folder'), join(dir, 'folder-link'), 'dir');
    const works =
      lstatSync(join(dir, 'link')).isSymbolicLink() &&
      readFileSync(join(dir, 'link'), 'utf8') === 'target' &&
      readFileSync(join(dir, 'folder-link', 'inside'), 'utf8') === 'inside';
    return works ? { can: true } : { can: false, reason: 'a symbolic link made here does not lead to its target' };
  } catch (error) {
    return { can: false, reason: (error as Error).message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
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

function makeFixture(largeSize: number, links: boolean): Fixture {
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
  if (links) {
    symlinkSync(join(base, 'outside', 'secret.txt'), join(root, 'link-out.txt'));
    symlinkSync(join(base, 'outside'), join(root, 'linkdir-out'), 'dir');
    symlinkSync('small.bin', join(root, 'link-in.bin'));
  }
  return { root, base, files };
}

/** A GET of /small.bin that must succeed: the server still serves after an attack. */
async function stillServes(port: number, fixture: Fixture): Promise<void> {
  const { status, body } = await httpGet(port, '/small.bin');
  assert.equal(status, 200);
  assert.equal(body.equals(fixture.files.get('small.bin')?.bytes as Buffer), true);
}

/**
 * Defines the suite on `backend`, which must run here (see {@link backendRuns}).
 */
export function defineFileServerSuite(api: SuiteApi, backend: BackendName, { largeSize }: SuiteOptions): void {
  const { describe, it, beforeAll, afterAll } = api;
  const links = canSymlink();
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
      fixture = makeFixture(largeSize, links.can);
      server = await createFileServer({ root: fixture.root, port: 0, backend, headerTimeout: 400, idleTimeout: 3000, maxConnections: 64 });
      port = server.address().port;
    }, 120_000);

    afterAll(async () => {
      for (const s of [server, ...extra]) await s?.close();
      if (fixture) rmSync(fixture.base, { recursive: true, force: true });
    });

    it('serves on the requested backend', () => {
      assert.equal(server.backend, backend);
    });

    it(`downloads every size, 0 B to ${largeSize / MiB} MiB, byte for byte (SHA-256)`, async () => {
      for (const name of ['empty.bin', 'one.bin', 'small.bin', 'page.html', 'odd.bin', 'sub/a%20b.txt', 'large.bin']) {
        const expected = fixture.files.get(decodeURIComponent(name));
        const got = await httpDownloadHash(port, `/${name}`);
        assert.deepEqual({ name, status: got.status, length: got.length, sha256: got.sha256, contentLength: got.contentLength }, {
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
      assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal((await httpGet(port, '/notes.txt')).headers['content-type'], 'text/plain; charset=utf-8');
      const bin = await httpGet(port, '/small.bin');
      assert.equal(bin.headers['content-type'], 'application/octet-stream');
      assert.equal(bin.headers['last-modified'], MTIME.toUTCString());
      assert.match(String(bin.headers.etag), /^"[0-9a-f]+-1000"$/);
      assert.equal(bin.headers['accept-ranges'], 'bytes');
      assert.ok(bin.headers.date);
    });

    it('answers HEAD with the GET headers and no body', async () => {
      // The HEAD and a GET pipelined: a body after the HEAD's head would be read as the GET's response.
      const { responses } = await exchange(port, 'HEAD /odd.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /one.bin HTTP/1.1\r\nHost: x\r\n\r\n', {
        responses: 2,
        bodiless: (i) => i === 0,
      });
      assert.equal(responses[0]?.status, 200);
      assert.equal(responses[0]?.headers['content-length'], String(MiB + 7));
      assert.equal(responses[1]?.status, 200);
      assert.equal(responses[1]?.body.toString(), 'x');
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
        assert.deepEqual({ range, status: res.status }, { range, status });
        assert.equal(res.headers['content-range'], `bytes ${first}-${last}/${size}`);
        assert.equal(res.headers['content-length'], String((last as number) - (first as number) + 1));
        assert.equal(res.body.equals(bytes.subarray(first, (last as number) + 1)), true);
      }
      for (const range of [`bytes=${size}-`, 'bytes=-0', `bytes=${size + 5}-${size + 9}`]) {
        const res = await httpGet(port, '/odd.bin', { headers: { range } });
        assert.deepEqual({ range, status: res.status, contentRange: res.headers['content-range'] }, {
          range,
          status: 416,
          contentRange: `bytes */${size}`,
        });
      }
      const empty = await httpGet(port, '/empty.bin', { headers: { range: 'bytes=0-' } });
      assert.deepEqual([empty.status, empty.headers['content-range']], [416, 'bytes */0']);
      // Several ranges, another unit, bad syntax, last < first: the whole file (documented).
      for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=abc', 'bytes=9-2']) {
        const res = await httpGet(port, '/odd.bin', { headers: { range } });
        assert.deepEqual({ range, status: res.status, length: res.body.length }, { range, status: 200, length: size });
      }
      // HEAD ignores Range.
      const head = await httpGet(port, '/odd.bin', { method: 'HEAD', headers: { range: 'bytes=0-9' } });
      assert.deepEqual([head.status, head.headers['content-length']], [200, String(size)]);
    });

    it('answers conditional requests: ETag / If-None-Match, Last-Modified / If-Modified-Since, If-Range', async () => {
      const first = await httpGet(port, '/small.bin');
      const etag = first.headers.etag as string;
      const lastModified = first.headers['last-modified'] as string;
      const notModified = await httpGet(port, '/small.bin', { headers: { 'if-none-match': etag } });
      assert.deepEqual([notModified.status, notModified.body.length, notModified.headers.etag], [304, 0, etag]);
      assert.equal((await httpGet(port, '/small.bin', { headers: { 'if-none-match': `"other", W/${etag}` } })).status, 304);
      assert.equal((await httpGet(port, '/small.bin', { headers: { 'if-none-match': '*' } })).status, 304);
      assert.equal((await httpGet(port, '/small.bin', { headers: { 'if-modified-since': lastModified } })).status, 304);
      const later = new Date(MTIME.getTime() + 3600_000).toUTCString();
      const earlier = new Date(MTIME.getTime() - 1000).toUTCString();
      assert.equal((await httpGet(port, '/small.bin', { headers: { 'if-modified-since': later } })).status, 304);
      assert.equal((await httpGet(port, '/small.bin', { headers: { 'if-modified-since': earlier } })).status, 200);
      assert.equal((await httpGet(port, '/small.bin', { headers: { 'if-modified-since': 'not a date' } })).status, 200);
      // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
      const mismatch = await httpGet(port, '/small.bin', { headers: { 'if-none-match': '"other"', 'if-modified-since': later } });
      assert.deepEqual([mismatch.status, mismatch.body.length], [200, 4096]);
      // If-Range: the range only while the validator still matches.
      const partial = await httpGet(port, '/small.bin', { headers: { range: 'bytes=0-9', 'if-range': etag } });
      assert.deepEqual([partial.status, partial.body.length], [206, 10]);
      const byDate = await httpGet(port, '/small.bin', { headers: { range: 'bytes=0-9', 'if-range': lastModified } });
      assert.equal(byDate.status, 206);
      const stale = await httpGet(port, '/small.bin', { headers: { range: 'bytes=0-9', 'if-range': '"stale"' } });
      assert.deepEqual([stale.status, stale.body.length], [200, 4096]);
    });

    it('answers pipelined requests in order, on one connection', async () => {
      const names = ['one.bin', 'small.bin', 'missing', 'page.html', 'empty.bin', 'sub/', 'odd.bin', 'one.bin'];
      const requests = names.map((name, i) =>
        i === 2 ? `HEAD /${name} HTTP/1.1\r\nHost: x\r\n\r\n` : `GET /${name} HTTP/1.1\r\nHost: x\r\n${i === 3 ? 'Range: bytes=2-5\r\n' : ''}\r\n`,
      );
      const { responses, closed } = await exchange(port, requests.join(''), { responses: names.length, bodiless: (i) => i === 2 });
      assert.equal(closed, false);
      assert.deepEqual(responses.map((r) => r.status), [200, 200, 404, 206, 200, 200, 200, 200]);
      assert.equal(responses[1]?.body.equals(fixture.files.get('small.bin')?.bytes as Buffer), true);
      assert.equal(responses[3]?.body.toString(), fixture.files.get('page.html')?.bytes?.subarray(2, 6).toString());
      assert.equal(responses[5]?.body.toString(), '<h1>sub index</h1>\n');
      assert.equal(responses[6]?.body.equals(fixture.files.get('odd.bin')?.bytes as Buffer), true);
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
        assert.equal(status, 200);
      }
      agent.destroy();
      assert.equal(server.counters().accepted - before, 1);

      const http10 = await exchange(port, 'GET /one.bin HTTP/1.0\r\n\r\n', { untilClose: true });
      assert.deepEqual([http10.responses[0]?.status, http10.responses[0]?.headers.connection, http10.closed], [200, 'close', true]);
      const http10KeepAlive = await exchange(port, 'GET /one.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /one.bin HTTP/1.0\r\n\r\n', {
        responses: 2,
        untilClose: true,
      });
      assert.deepEqual(http10KeepAlive.responses.map((r) => [r.status, r.headers.connection]), [
        [200, 'keep-alive'],
        [200, 'close'],
      ]);
      const close11 = await exchange(port, 'GET /one.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { untilClose: true });
      assert.deepEqual([close11.responses[0]?.status, close11.closed], [200, true]);
    });

    it('answers other methods 405 with Allow, and reads past a request body', async () => {
      const { responses } = await exchange(
        port,
        'POST /small.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /one.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /one.bin HTTP/1.1\r\nHost: x\r\n\r\n',
        { responses: 3 },
      );
      assert.deepEqual(responses.map((r) => r.status), [405, 200, 200]);
      assert.equal(responses[0]?.headers.allow, 'GET, HEAD');
      assert.equal(responses[0]?.headers['content-length'], String(responses[0]?.body.length));
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
        assert.deepEqual({ text, status: responses[0]?.status, closed }, { text, status: 400, closed: true });
      }
      for (const version of ['HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2']) {
        const { responses } = await exchange(port, `GET /one.bin ${version}\r\nHost: x\r\n\r\n`, { untilClose: true });
        assert.deepEqual({ version, status: responses[0]?.status }, { version, status: 505 });
      }
      const chunked = await exchange(port, 'GET /one.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', { untilClose: true });
      assert.equal(chunked.responses[0]?.status, 501);
      // Bare LF line endings are accepted (RFC 9112 §2.2).
      const lf = await exchange(port, 'GET /one.bin HTTP/1.1\nHost: x\n\n');
      assert.equal(lf.responses[0]?.status, 200);
      await stillServes(port, fixture);
    });

    it('lists no directories: a folder is 404, a path ending in / serves its index.html', async () => {
      assert.equal((await httpGet(port, '/sub/')).body.toString(), '<h1>sub index</h1>\n');
      assert.equal((await httpGet(port, '/sub')).status, 404);
      assert.equal((await httpGet(port, '/no-index/')).status, 404);
      assert.equal((await httpGet(port, '/no-index')).status, 404);
      assert.equal((await httpGet(port, '/')).status, 404);
      assert.equal((await httpGet(port, '/missing.txt')).status, 404);
      assert.equal((await httpGet(port, '/small.bin/')).status, 404);
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
        assert.deepEqual({ target, refused: [400, 403, 404].includes(status as number) }, { target, refused: true });
        assert.equal(responses[0]?.body.toString().includes(SECRET), false);
      }
      await stillServes(port, fixture);
    });

    if (links.can && process.platform !== 'win32') {
      it('never serves a file outside the root through a folder swapped for a link while the request runs', async () => {
        // A folder of the root that another process keeps swapping for a
        // link to a folder outside it: a name resolved inside the root
        // while it is a folder may be opened once it is the link.
        const racing = await start({ cacheFiles: 0 });
        const folder = join(fixture.root, 'swapped');
        const away = join(fixture.root, 'swapped-away');
        mkdirSync(folder);
        writeFileSync(join(folder, 'secret.txt'), 'inside');
        const script = [
          "const fs = require('node:fs');",
          'const [folder, away, outside, ms] = process.argv.slice(1);',
          'const end = Date.now() + Number(ms);',
          'while (Date.now() < end) {',
          '  fs.renameSync(folder, away); fs.symlinkSync(outside, folder, "dir");',
          '  for (let i = 0; i < 200; i++);',
          '  fs.unlinkSync(folder); fs.renameSync(away, folder);',
          '}',
        ].join('\n');
        const swapper = spawn(process.execPath, ['-e', script, folder, away, join(fixture.base, 'outside'), '4000'], { stdio: 'ignore' });
        const exited = new Promise<number | null>((resolve) => swapper.once('exit', (code) => resolve(code)));
        const seen = new Map<string, number>();
        try {
          const until = Date.now() + 3500;
          for (let i = 0; i < 3000 && Date.now() < until; i++) {
            const { status, body } = await httpGet(racing.port, '/swapped/secret.txt');
            const what = body.toString().includes(SECRET) ? 'SECRET' : `${status}`;
            seen.set(what, (seen.get(what) ?? 0) + 1);
          }
        } finally {
          if (swapper.exitCode === null) swapper.kill();
          await exited;
          rmSync(folder, { recursive: true, force: true });
          rmSync(away, { recursive: true, force: true });
        }
        assert.equal(seen.get('SECRET') ?? 0, 0, `responses: ${JSON.stringify([...seen])}`);
        assert.ok((seen.get('200') ?? 0) > 0, `the file inside was served too: ${JSON.stringify([...seen])}`);
        await stillServes(racing.port, fixture);
      }, 30_000);
    }

    it('refuses Windows spellings: backslashes, streams, drive letters, UNC paths, device names, trailing dots and spaces', async () => {
      // On Windows a device name opens the device, and a trailing dot or
      // space is stripped (`small.bin.` would open small.bin); elsewhere
      // these are names that do not exist. The answers are the same.
      const cases: Array<[string, number]> = [
        ['/sub%5cindex.html', 400],
        ['/sub\\index.html', 400],
        ['/..%5c..%5c..%5cwindows%5cwin.ini', 400],
        ['/sub/..%5c..%5coutside%5csecret.txt', 400],
        ['/%5c%5c127.0.0.1%5cc$%5cwindows%5cwin.ini', 400],
        ['/%5c%5c?%5cC:%5cWindows%5cwin.ini', 400],
        ['/C:%5cWindows%5cwin.ini', 400],
        ['/c:/windows/win.ini', 400],
        ['/small.bin::$DATA', 400],
        ['/small.bin%3a%3a$DATA', 400],
        ['/small.bin:$DATA', 400],
        ['/con', 404],
        ['/CON', 404],
        ['/nul.txt', 404],
        ['/sub/aux.html', 404],
        ['/com1', 404],
        ['/COM1.bin', 404],
        ['/lpt9', 404],
        ['/conin$', 404],
        ['/small.bin.', 404],
        ['/small.bin...', 404],
        ['/small.bin%20', 404],
        ['/sub./index.html', 404],
        ['/small<bin', 404],
        ['/small%3ebin', 404],
        ['/small%22bin', 404],
        ['/small%7cbin', 404],
        ['/small%3fbin', 404],
        ['/small*bin', 404],
      ];
      // Also where paths are opened as they are (no realpath first): there
      // Windows itself would strip the dot from `small.bin.` and open small.bin.
      const follow = await start({ followSymlinks: true });
      for (const server of [port, follow.port]) {
        for (const [target, status] of cases) {
          const { responses } = await exchange(server, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, { timeoutMs: 5000 });
          assert.deepEqual({ target, status: responses[0]?.status }, { target, status });
        }
        await stillServes(server, fixture);
      }
    });

    if (process.platform === 'win32') {
      it('serves a root given in another letter case (Windows names are case-insensitive)', async () => {
        const upper = await start({ root: fixture.root.toUpperCase() });
        await stillServes(upper.port, fixture);
        assert.equal((await httpGet(upper.port, '/SUB/A%20B.TXT')).body.toString(), 'a file with a space\n');
      });
    }

    if (!links.can) console.log(`[${backend}] symbolic-link tests not run: ${links.reason}`);
    else {
      it('refuses symbolic links that leave the root, unless followSymlinks allows them', async () => {
        assert.equal((await httpGet(port, '/link-out.txt')).status, 403);
        assert.equal((await httpGet(port, '/linkdir-out/secret.txt')).status, 403);
        const inside = await httpGet(port, '/link-in.bin');
        assert.deepEqual([inside.status, inside.body.length], [200, 4096]);
        const follow = await start({ followSymlinks: true });
        const followed = await httpGet(follow.port, '/link-out.txt');
        assert.deepEqual([followed.status, followed.body.toString()], [200, SECRET]);
        assert.equal((await httpGet(follow.port, '/linkdir-out/secret.txt')).body.toString(), SECRET);
        await stillServes(port, fixture);
      });
    }

    it('keeps files open between requests: one open while cacheValid lasts, the least recently used closed past cacheFiles, one open per request with cacheFiles 0', async () => {
      const cached = await start({ cacheFiles: 1000, cacheValid: 600_000 });
      for (let i = 0; i < 10; i++) await stillServes(cached.port, fixture);
      const once = cached.server.counters();
      assert.deepEqual([once.filesOpened, once.cacheHits, once.cacheChecks], [1, 9, 0]);

      const two = await start({ cacheFiles: 2, cacheValid: 600_000 });
      for (const name of ['one.bin', 'notes.txt', 'one.bin', 'page.html', 'one.bin', 'notes.txt']) {
        assert.equal((await httpGet(two.port, `/${name}`)).status, 200);
      }
      // one, notes, (one hit), page: notes out; (one hit), notes again.
      assert.deepEqual([two.server.counters().filesOpened, two.server.counters().cacheHits], [4, 2]);

      const none = await start({ cacheFiles: 0 });
      for (let i = 0; i < 5; i++) await stillServes(none.port, fixture);
      assert.deepEqual([none.server.counters().filesOpened, none.server.counters().cacheHits], [5, 0]);
    });

    it('serves a cached file changed, resized, replaced or deleted on disk fresh once cacheValid has passed', async () => {
      const valid = 150;
      const cached = await start({ cacheFiles: 1000, cacheValid: valid });
      const path = join(fixture.root, 'changing.bin');
      const past = () => sleep(2 * valid + 50);
      const served = async (bytes: Buffer) => {
        const res = await httpGet(cached.port, '/changing.bin');
        assert.deepEqual([res.status, res.headers['content-length'], res.body.equals(bytes)], [200, String(bytes.length), true]);
        return res;
      };
      try {
        const first = randomBytes(1000);
        writeFileSync(path, first);
        utimesSync(path, MTIME, MTIME);
        const before = await served(first);
        // The same size, written in place (the same file).
        const same = randomBytes(1000);
        writeFileSync(path, same);
        await past();
        const after = await served(same);
        assert.notEqual(after.headers.etag, before.headers.etag);
        const grown = randomBytes(5000);
        writeFileSync(path, grown);
        await past();
        await served(grown);
        const shrunk = randomBytes(10);
        writeFileSync(path, shrunk);
        await past();
        await served(shrunk);
        // Replaced by a rename, and deleted. Not on Windows: there a file
        // held open cannot be renamed over, and a deleted one lingers
        // until its last handle closes (why cacheFiles is 0 there by default).
        if (process.platform !== 'win32') {
          const replaced = randomBytes(2000);
          writeFileSync(`${path}.new`, replaced);
          renameSync(`${path}.new`, path);
          await past();
          await served(replaced);
          rmSync(path);
          await past();
          assert.equal((await httpGet(cached.port, '/changing.bin')).status, 404);
        }
        if (links.can) {
          // Replaced by a link out of the root: refused, as a link found at open is.
          writeFileSync(path, first);
          await past();
          await served(first);
          rmSync(path);
          symlinkSync(join(fixture.base, 'outside', 'secret.txt'), path);
          await past();
          const res = await httpGet(cached.port, '/changing.bin');
          assert.deepEqual([res.status, res.body.toString().includes(SECRET)], [403, false]);
        }
        assert.ok(cached.server.counters().cacheChecks > 0);
      } finally {
        rmSync(path, { force: true });
      }
      await stillServes(cached.port, fixture);
    });

    if (process.platform === 'win32') {
      it('lets a file just served be replaced by a rename (on Windows files are not cached open by default)', async () => {
        const path = join(fixture.root, 'deployed.txt');
        try {
          writeFileSync(path, 'version 1');
          assert.equal((await httpGet(port, '/deployed.txt')).body.toString(), 'version 1');
          writeFileSync(`${path}.new`, 'version 2');
          // The response's close of the file may still be on its way: a
          // few tries, where a file held open would refuse them all.
          for (let tries = 1; ; tries++) {
            try {
              renameSync(`${path}.new`, path);
              break;
            } catch (error) {
              if ((error as { code?: string }).code !== 'EPERM' || tries === 20) throw error;
              await sleep(100);
            }
          }
          assert.equal((await httpGet(port, '/deployed.txt')).body.toString(), 'version 2');
        } finally {
          rmSync(path, { force: true });
          rmSync(`${path}.new`, { force: true });
        }
      });
    }

    it('drops a cached file whose read comes up short (it shrank in place), and serves it fresh on the next request', async () => {
      const cached = await start({ cacheFiles: 1000, cacheValid: 600_000 });
      const path = join(fixture.root, 'shrinking.bin');
      try {
        const whole = randomBytes(64 * 1024);
        writeFileSync(path, whole);
        assert.ok((await httpGet(cached.port, '/shrinking.bin')).body.equals(whole));
        const rest = randomBytes(10);
        writeFileSync(path, rest);
        // Within cacheValid: the entry promises 64 KiB, the read finds 10 bytes; no response, the connection closes.
        const short = await exchange(cached.port, 'GET /shrinking.bin HTTP/1.1\r\nHost: x\r\n\r\n', { untilClose: true });
        assert.deepEqual([short.responses.length, short.closed], [0, true]);
        const res = await httpGet(cached.port, '/shrinking.bin');
        assert.deepEqual([res.status, res.body.equals(rest)], [200, true]);
        assert.equal(cached.server.counters().filesOpened, 2);
      } finally {
        rmSync(path, { force: true });
      }
      await stillServes(cached.port, fixture);
    });

    it('limits the request line (414), the header section and the header count (431)', async () => {
      const longLine = await exchange(port, `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, { untilClose: true });
      assert.deepEqual([longLine.responses[0]?.status, longLine.closed], [414, true]);
      // Sent without its end: the limit is seen before the line ends.
      const endless = await exchange(port, `GET /${'a'.repeat(20_000)}`, { untilClose: true });
      assert.deepEqual([endless.responses[0]?.status, endless.closed], [414, true]);
      const bigHeader = await exchange(port, `GET /one.bin HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, { untilClose: true });
      assert.deepEqual([bigHeader.responses[0]?.status, bigHeader.closed], [431, true]);
      const manyHeaders = Array.from({ length: 101 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
      const many = await exchange(port, `GET /one.bin HTTP/1.1\r\nHost: x\r\n${manyHeaders}\r\n`, { untilClose: true });
      assert.deepEqual([many.responses[0]?.status, many.closed], [431, true]);
      const hundred = Array.from({ length: 99 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
      assert.equal((await exchange(port, `GET /one.bin HTTP/1.1\r\nHost: x\r\n${hundred}\r\n`)).responses[0]?.status, 200);
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
      assert.equal(closed, true);
      assert.ok(drips < 100, `${drips} < ${100}`);
      assert.ok(server.counters().timeouts > timeoutsBefore, `${server.counters().timeouts} > ${timeoutsBefore}`);
      // A connection that sends nothing at all is closed by the idle timeout.
      const silent = await openConnection(port);
      assert.equal(await closedWithin(silent, 15_000), true);
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
        await sleep(100);
        waited += 100;
      }
      socket.destroy();
      assert.ok(server.counters().timeouts > timeoutsBefore, `${server.counters().timeouts} > ${timeoutsBefore}`);
      await stillServes(port, fixture);
    }, 40_000);

    it('closes connections past maxConnections at once, and serves again once they go', async () => {
      const capped = await start({ maxConnections: 3, idleTimeout: 0 });
      const held = await Promise.all([0, 1, 2].map(() => openConnection(capped.port)));
      for (let i = 0; i < 200 && capped.server.counters().open < 3; i++) await sleep(10);
      assert.equal(capped.server.counters().open, 3);
      const excess = await exchange(capped.port, 'GET /one.bin HTTP/1.1\r\nHost: x\r\n\r\n', { untilClose: true, timeoutMs: 10_000 });
      assert.deepEqual([excess.closed, excess.responses.length], [true, 0]);
      assert.ok(capped.server.counters().refused > 0, `${capped.server.counters().refused} > ${0}`);
      for (const socket of held) socket.destroy();
      for (let i = 0; i < 200 && capped.server.counters().open > 0; i++) await sleep(10);
      await stillServes(capped.port, fixture);
    });

    it('counts requests, bytes, status classes and connections', async () => {
      const counting = await start();
      await httpGet(counting.port, '/small.bin');
      await httpGet(counting.port, '/missing');
      await httpGet(counting.port, '/small.bin', { headers: { 'if-none-match': '*' } });
      await exchange(counting.port, 'GET / HTTP/7.0\r\n\r\n', { untilClose: true });
      for (let i = 0; i < 200 && counting.server.counters().open > 0; i++) await sleep(10);
      const counters = counting.server.counters();
      const { accepted, open, requests, status2xx, status3xx, status4xx, status5xx, errors } = counters;
      assert.deepEqual(
        { accepted, open, requests, status2xx, status3xx, status4xx, status5xx, errors },
        { accepted: 4, open: 0, requests: 4, status2xx: 1, status3xx: 1, status4xx: 1, status5xx: 1, errors: 0 },
      );
      assert.ok(counters.bytesOut > 4096, `${counters.bytesOut} > ${4096}`);
      assert.ok(counters.bytesIn > 0, `${counters.bytesIn} > ${0}`);
    });

    it('close() finishes a response in flight, closes idle connections, and resolves with the counters', async () => {
      const closing = await start();
      const idle = await openConnection(closing.port);
      const download = httpDownloadHash(closing.port, '/odd.bin');
      for (let i = 0; i < 500 && closing.server.counters().bytesOut === 0; i++) await sleep(2);
      const final = await closing.server.close();
      assert.equal(await closedWithin(idle, 5000), true);
      const got = await download;
      assert.deepEqual([got.status, got.sha256], [200, fixture.files.get('odd.bin')?.sha256]);
      assert.equal(final.open, 0);
      await assert.rejects(httpGet(closing.port, '/one.bin'), { code: 'ECONNREFUSED' });
      await stillServes(port, fixture);
    });
  });
}
