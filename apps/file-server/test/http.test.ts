// The pure pieces: request-head parsing and its limits, target-to-path
// mapping (Windows rules included, on every platform), ranges and
// conditional requests, content types.
import { describe, expect, it } from 'vitest';

import { contentType, isInside, parseRange, parseRequestHead, resolveFileServerOptions, select, targetSegments } from '../src/index.js';

const limits = { maxRequestLine: 100, maxHeaderBytes: 200, maxHeaders: 5 };
const parse = (text: string) => {
  const bytes = Buffer.from(text, 'latin1');
  return parseRequestHead(bytes, 0, bytes.length, limits);
};

describe('parseRequestHead', () => {
  it('parses a head and says how many bytes it took', () => {
    const head = '\r\nGET /a?b HTTP/1.1\r\nHost: x\r\nX-Two: a\r\nx-two: b\r\n\r\n';
    const result = parse(`${head}GET /next`);
    expect(result).toMatchObject({ kind: 'request', consumed: head.length, head: { method: 'GET', target: '/a?b', version: '1.1', keepAlive: true } });
    if (result.kind === 'request') expect(result.head.headers.get('x-two')).toBe('a, b');
  });

  it('waits for more bytes until the blank line, within the limits', () => {
    expect(parse('GET / HTTP/1.1\r\nHost: x\r\n')).toEqual({ kind: 'incomplete' });
    expect(parse('GET / HT')).toEqual({ kind: 'incomplete' });
    expect(parse(`GET /${'a'.repeat(200)}`)).toMatchObject({ kind: 'error', status: 414 });
    expect(parse(`GET / HTTP/1.1\r\nX: ${'a'.repeat(300)}`)).toMatchObject({ kind: 'error', status: 431 });
    expect(parse(`GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(6)}\r\n`)).toMatchObject({ kind: 'error', status: 431 });
    expect(parse(`GET / HTTP/1.1\r\nHost: x\r\n${'X: y\r\n'.repeat(4)}\r\n`)).toMatchObject({ kind: 'request' });
  });

  it('decides keep-alive from the version and Connection', () => {
    expect(parse('GET / HTTP/1.0\r\n\r\n')).toMatchObject({ head: { keepAlive: false, version: '1.0' } });
    expect(parse('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n')).toMatchObject({ head: { keepAlive: true } });
    expect(parse('GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n')).toMatchObject({ head: { keepAlive: false } });
  });

  it('refuses what could be read two ways', () => {
    for (const text of [
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n',
      'GET / HTTP/1.1\r\nHost\t: x\r\n\r\n',
    ]) {
      expect(parse(text)).toMatchObject({ kind: 'error', status: 400 });
    }
    expect(parse('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n\r\n')).toMatchObject({ kind: 'error', status: 413 });
  });
});

describe('targetSegments', () => {
  it('maps origin-form and absolute-form targets to segments, decoding once', () => {
    expect(targetSegments('/a/b%20c.txt?q=..')).toEqual({ ok: true, segments: ['a', 'b c.txt'], directory: false });
    expect(targetSegments('http://host:8080/a//b/')).toEqual({ ok: true, segments: ['a', 'b'], directory: true });
    expect(targetSegments('/%252e%252e/x')).toEqual({ ok: true, segments: ['%2e%2e', 'x'], directory: false });
    expect(targetSegments('/')).toEqual({ ok: true, segments: [], directory: true });
  });

  it('refuses traversal, backslashes, NUL and colons on every platform', () => {
    for (const target of ['/../x', '/a/..', '/..%2fx', '/%2e%2e/x', '/.%2E/x', '/a\\b', '/a%5cb', '/a%00', '/%', '/%c0%ae', '/a#b', 'x', '*', '/C:/x', '/a:b']) {
      for (const platform of ['linux', 'win32'] as const) {
        expect({ target, platform, result: targetSegments(target, platform) }).toMatchObject({ target, platform, result: { ok: false, status: 400 } });
      }
    }
  });

  it('refuses Windows device names and trailing dots or spaces on win32 only', () => {
    for (const target of ['/con', '/NUL.txt', '/a/com1.log', '/lpt9', '/file.txt.', '/file.txt%20', '/a%3Fb', '/a*b']) {
      expect({ target, result: targetSegments(target, 'win32') }).toMatchObject({ target, result: { ok: false, status: 404 } });
    }
    expect(targetSegments('/con', 'linux')).toMatchObject({ ok: true });
  });

  it('tells a path under the root from one beside it', () => {
    expect(isInside('/srv/www', '/srv/www', '/')).toBe(true);
    expect(isInside('/srv/www', '/srv/www/a', '/')).toBe(true);
    expect(isInside('/srv/www', '/srv/www2/a', '/')).toBe(false);
    expect(isInside('/', '/etc/passwd', '/')).toBe(true);
    expect(isInside('C:\\www', 'C:\\www2\\a', '\\')).toBe(false);
  });
});

describe('ranges and conditional requests', () => {
  it('reads one range; ignores several, other units and bad syntax', () => {
    expect(parseRange('bytes=0-0', 10)).toEqual({ kind: 'range', start: 0, length: 1 });
    expect(parseRange('bytes=5-', 10)).toEqual({ kind: 'range', start: 5, length: 5 });
    expect(parseRange('bytes=-3', 10)).toEqual({ kind: 'range', start: 7, length: 3 });
    expect(parseRange('bytes=8-100', 10)).toEqual({ kind: 'range', start: 8, length: 2 });
    expect(parseRange('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 10)).toEqual({ kind: 'unsatisfiable' });
    for (const header of ['bytes=0-1,3-4', 'lines=0-1', 'bytes=', 'bytes=-', 'bytes=5-4', 'bytes=a-b']) {
      expect(parseRange(header, 10)).toEqual({ kind: 'none' });
    }
  });

  it('lets If-None-Match win over If-Modified-Since', () => {
    const file = { size: 10, mtimeMs: Date.UTC(2024, 0, 1) };
    const future = new Date(Date.UTC(2030, 0, 1)).toUTCString();
    expect(select(new Map([['if-modified-since', future]]), file, true)).toEqual({ status: 304 });
    expect(select(new Map([['if-none-match', '"x"'], ['if-modified-since', future]]), file, true)).toEqual({ status: 200, start: 0, length: 10 });
  });
});

describe('contentType and options', () => {
  it('types files by extension, text in utf-8', () => {
    expect(contentType('a.HTML')).toBe('text/html; charset=utf-8');
    expect(contentType('a.js')).toBe('text/javascript; charset=utf-8');
    expect(contentType('a.png')).toBe('image/png');
    expect(contentType('Makefile')).toBe('application/octet-stream');
  });

  it('checks every option before anything listens', () => {
    expect(() => resolveFileServerOptions({ root: '' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => resolveFileServerOptions({ root: '.', port: 70000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveFileServerOptions({ root: '.', backend: 'nope' as 'auto' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(resolveFileServerOptions({ root: '.' })).toMatchObject({ host: '127.0.0.1', port: 8080, maxConnections: 1000, followSymlinks: false });
    expect(resolveFileServerOptions({ root: '.' })).toMatchObject({ cacheFiles: process.platform === 'win32' ? 0 : 1000, cacheValid: 1000 });
    expect(() => resolveFileServerOptions({ root: '.', cacheFiles: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveFileServerOptions({ root: '.', cacheValid: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
});
