// Seeded random input against the request parser, the target mapper and the
// Range reader: they must never throw, never hand out a path that leaves the
// root, never promise bytes past the file, and must read a head the same
// whichever way its bytes arrive.
import { posix, win32 } from 'node:path';

import { type Random, seededRandom } from '@overlapped/testkit/random';
import { describe, expect, it } from 'vitest';

import { parseRange } from '../src/conditional.js';
import { type HeadLimits, parseRequestHead, type ParseResult } from '../src/http.js';
import { targetSegments } from '../src/paths.js';

const LIMITS: HeadLimits = { maxRequestLine: 256, maxHeaderBytes: 1024, maxHeaders: 16 };
const SEED = Number(process.env.OVERLAPPED_FUZZ_SEED ?? 0x5eed);

const PIECES = ['GET', 'HEAD', 'POST', ' ', '  ', '/', '/a', '%2e', '%2E', '..', '.', '%2f', '%5c', '\\', '%00', '%', '%zz', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0',
  '\r\n', '\n', '\r', ':', 'Host', 'host: x', 'Content-Length', ': 5', ': -1', ': 99999999999999999999', 'Transfer-Encoding: chunked', 'Connection: close',
  '\t', 'x', '\x00', '\x7f', '\xff', '?q', '#f', 'http://h', 'Range: bytes=0-1'];

function randomBytes(random: Random): Buffer {
  const parts: string[] = [];
  const count = 1 + random.int(24);
  for (let i = 0; i < count; i++) parts.push(random.next() < 0.85 ? random.pick(PIECES) : String.fromCharCode(random.int(256)));
  return Buffer.from(parts.join(''), 'latin1');
}

function validHead(random: Random): { bytes: Buffer; target: string; fields: Map<string, string> } {
  const target = `/${Array.from({ length: 1 + random.int(4) }, () => random.pick(['a', 'b%20c', 'd.txt', 'e'])).join('/')}`;
  const fields = new Map<string, string>([['host', 'example']]);
  const lines = [`${random.pick(['GET', 'HEAD'])} ${target} HTTP/1.1`, 'Host: example'];
  for (let i = random.int(6); i > 0; i--) {
    const name = `x-field-${i}`;
    const value = random.pick(['1', 'a b', 'text/html; q=0.9', '']);
    fields.set(name, value);
    lines.push(`${random.pick([name, name.toUpperCase()])}:${random.pick(['', ' ', '\t'])}${value}${random.pick(['', ' '])}`);
  }
  return { bytes: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), target, fields };
}

/** `bytes` with one to three pieces inserted, bytes deleted or bytes replaced. */
function mutated(bytes: Buffer, random: Random): Buffer {
  let out = bytes;
  for (let n = 1 + random.int(3); n > 0; n--) {
    const at = random.int(out.length);
    const what = random.int(3);
    if (what === 0) out = Buffer.concat([out.subarray(0, at), Buffer.from(random.pick(PIECES), 'latin1'), out.subarray(at)]);
    else if (what === 1) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + random.int(4))]);
    else {
      out = Buffer.from(out);
      out[at] = random.int(256);
    }
  }
  return out;
}

function expectWellFormed(result: ParseResult, available: number): void {
  expect(['incomplete', 'request', 'error']).toContain(result.kind);
  if (result.kind === 'request') {
    expect(result.consumed).toBeGreaterThan(0);
    expect(result.consumed).toBeLessThanOrEqual(available);
    expect(Number.isSafeInteger(result.head.contentLength) && result.head.contentLength >= 0).toBe(true);
  }
  if (result.kind === 'error') expect([400, 413, 414, 431, 501, 505]).toContain(result.status);
}

describe(`request heads from seeded random bytes (seed ${SEED})`, () => {
  it('never throws; a head read from more bytes is the head read from its own bytes', () => {
    const random = seededRandom(SEED);
    let requests = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = i % 2 === 0 ? randomBytes(random) : mutated(validHead(random).bytes, random);
      const result = parseRequestHead(bytes, 0, bytes.length, LIMITS);
      expectWellFormed(result, bytes.length);
      if (result.kind !== 'request') continue;
      requests++;
      const alone = parseRequestHead(bytes.subarray(0, result.consumed), 0, result.consumed, LIMITS);
      expect(alone).toEqual(result);
    }
    // The generator makes heads the parser takes, not only garbage.
    expect(requests).toBeGreaterThan(0);
  });

  it('reads a valid head the same whole, at an offset, and after any split; incomplete before its blank line', () => {
    const random = seededRandom(SEED + 1);
    for (let i = 0; i < 2_000; i++) {
      const { bytes, target, fields } = validHead(random);
      const whole = parseRequestHead(bytes, 0, bytes.length, LIMITS);
      expect(whole.kind).toBe('request');
      if (whole.kind !== 'request') continue;
      expect(whole.consumed).toBe(bytes.length);
      expect(whole.head.target).toBe(target);
      expect(whole.head.headers).toEqual(fields);
      // Every prefix: the blank line has not arrived.
      const cut = 1 + random.int(bytes.length - 1);
      expect(parseRequestHead(bytes, 0, cut, LIMITS)).toEqual({ kind: 'incomplete' });
      // Behind a pipelined head, and followed by the next one's bytes.
      const joined = Buffer.concat([bytes, bytes]);
      const second = parseRequestHead(joined, bytes.length, joined.length, LIMITS);
      expect(second).toEqual(whole);
      const first = parseRequestHead(joined, 0, joined.length, LIMITS);
      expect(first).toEqual(whole);
    }
  });

  it('answers 414 / 431 once the limits are passed, before the head has ended', () => {
    const long = Buffer.from(`GET /${'a'.repeat(LIMITS.maxRequestLine + 10)}`, 'latin1');
    expect(parseRequestHead(long, 0, long.length, LIMITS)).toMatchObject({ kind: 'error', status: 414 });
    const fields = Buffer.from(`GET / HTTP/1.1\r\n${'x-a: b\r\n'.repeat(LIMITS.maxHeaders + 1)}`, 'latin1');
    expect(parseRequestHead(fields, 0, fields.length, LIMITS)).toMatchObject({ kind: 'error', status: 431 });
  });
});

describe(`request targets from seeded random strings (seed ${SEED})`, () => {
  const PARTS = ['/', '//', '.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '\\', '%00', '%', '%c0%ae', '%252e', 'a', 'b', ':', 'c:', '?', '#', 'con', 'nul.txt', ' ', '%20', 'http://x', '~'];
  it('never throws, and every path it gives stays under the root on POSIX and on Windows', () => {
    const random = seededRandom(SEED + 2);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const target = Array.from({ length: 1 + random.int(10) }, () => random.pick(PARTS)).join('');
      for (const [platform, path, root] of [['linux', posix, '/srv/www'], ['win32', win32, 'C:\\srv\\www']] as const) {
        const result = targetSegments(target, platform);
        if (!result.ok) {
          expect([400, 404]).toContain(result.status);
          continue;
        }
        accepted++;
        for (const segment of result.segments) {
          expect(segment === '' || segment === '.' || segment === '..').toBe(false);
          expect(/[/\\:\x00]/.test(segment)).toBe(false);
        }
        const joined = path.resolve(root, ...result.segments);
        expect(joined === root || joined.startsWith(root + path.sep)).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});

describe(`Range headers from seeded random strings (seed ${SEED})`, () => {
  const PARTS = ['bytes=', 'BYTES=', 'items=', '-', '0', '1', '9', '99999999999999999999', ' ', '\t', ',', '=', 'x'];
  it('never throws, and a range it grants lies within the file', () => {
    const random = seededRandom(SEED + 3);
    let granted = 0;
    for (let i = 0; i < 20_000; i++) {
      const header = Array.from({ length: 1 + random.int(6) }, () => random.pick(PARTS)).join('');
      const size = random.pick([0, 1, 10, 4096, 2 ** 40]);
      const range = parseRange(header, size);
      expect(['none', 'range', 'unsatisfiable']).toContain(range.kind);
      if (range.kind !== 'range') continue;
      granted++;
      expect(Number.isSafeInteger(range.start) && range.start >= 0).toBe(true);
      expect(Number.isSafeInteger(range.length) && range.length >= 1).toBe(true);
      expect(range.start + range.length).toBeLessThanOrEqual(size);
    }
    expect(granted).toBeGreaterThan(0);
  });
});
