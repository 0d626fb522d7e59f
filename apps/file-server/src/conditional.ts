/**
 * Validators (ETag, Last-Modified), conditional requests and ranges, as
 * RFC 9110 orders them for GET and HEAD: If-None-Match, or, without it,
 * If-Modified-Since (304); then Range (GET only), honoured only when
 * If-Range, if sent, matches (206 or 416).
 */

/** What the server knows of the file it would send. */
export interface Representation {
  size: number;
  mtimeMs: number;
}

/** The answer to a GET or HEAD of an existing file, before any byte is sent. */
export type Selection =
  | { status: 200; start: 0; length: number }
  | { status: 206; start: number; length: number }
  | { status: 304 }
  | { status: 416 };

/**
 * The strong entity tag of a file: its modification time (milliseconds)
 * and size, in hex. It changes whenever either does.
 *
 * @example
 * ```ts
 * entityTag({ size: 4096, mtimeMs: 1700000000000 }); // '"18bcfe56800-1000"'
 * ```
 */
export function entityTag(file: Representation): string {
  return `"${Math.floor(file.mtimeMs).toString(16)}-${file.size.toString(16)}"`;
}

/**
 * Last-Modified: the modification time, whole seconds, IMF-fixdate.
 *
 * @example
 * ```ts
 * lastModified({ size: 0, mtimeMs: 784111777000 }); // 'Sun, 06 Nov 1994 08:49:37 GMT'
 * ```
 */
export function lastModified(file: Representation): string {
  return new Date(Math.floor(file.mtimeMs / 1000) * 1000).toUTCString();
}

function parseDate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function opaqueTag(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/**
 * Whether an If-None-Match list matches `etag` (weak comparison: `W/`
 * ignored on both sides; `*` matches any existing file).
 *
 * @example
 * ```ts
 * noneMatchHits('"a", W/"b"', '"b"'); // true
 * ```
 */
export function noneMatchHits(header: string, etag: string): boolean {
  const wanted = opaqueTag(etag);
  return header.split(',').some((item) => {
    const tag = item.trim();
    return tag === '*' || opaqueTag(tag) === wanted;
  });
}

/** A single byte range, `[start, start + length)`; `unsatisfiable`; or `none` (answer the whole file). */
export type RangeRequest = { kind: 'none' } | { kind: 'unsatisfiable' } | { kind: 'range'; start: number; length: number };

/**
 * Reads a Range header against a file of `size` bytes. One range is
 * honoured; a header with several ranges, another unit, or bad syntax is
 * ignored (`none`: the whole file, 200), as RFC 9110 §14.2 allows.
 *
 * @example
 * ```ts
 * parseRange('bytes=0-99', 1000);  // { kind: 'range', start: 0, length: 100 }
 * parseRange('bytes=-10', 1000);   // { kind: 'range', start: 990, length: 10 }
 * parseRange('bytes=2000-', 1000); // { kind: 'unsatisfiable' }
 * ```
 */
export function parseRange(header: string, size: number): RangeRequest {
  const match = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i.exec(header);
  if (!match) return { kind: 'none' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'none' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    const start = Math.max(0, size - suffix);
    return { kind: 'range', start, length: size - start };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: 'range', start, length: end - start + 1 };
}

/**
 * What to answer a GET (or HEAD: `ranges` false) of `file`, given the
 * request's headers (lower-case names). `etag` is the file's entity tag,
 * if the caller has it already.
 *
 * @example
 * ```ts
 * select(new Map([['range', 'bytes=0-0']]), { size: 10, mtimeMs: 0 }, true); // { status: 206, start: 0, length: 1 }
 * ```
 */
export function select(headers: ReadonlyMap<string, string>, file: Representation, ranges: boolean, etag = entityTag(file)): Selection {
  const noneMatch = headers.get('if-none-match');
  if (noneMatch !== undefined) {
    if (noneMatchHits(noneMatch, etag)) return { status: 304 };
  } else {
    const since = parseDate(headers.get('if-modified-since'));
    if (since !== undefined && Math.floor(file.mtimeMs / 1000) * 1000 <= since) return { status: 304 };
  }
  const range = ranges ? headers.get('range') : undefined;
  if (range === undefined || !ifRangeHolds(headers.get('if-range'), file, etag)) return { status: 200, start: 0, length: file.size };
  const request = parseRange(range, file.size);
  if (request.kind === 'none') return { status: 200, start: 0, length: file.size };
  if (request.kind === 'unsatisfiable') return { status: 416 };
  return { status: 206, start: request.start, length: request.length };
}

// If-Range: an entity tag must match strongly, a date exactly (RFC 9110 §13.1.5).
function ifRangeHolds(ifRange: string | undefined, file: Representation, etag: string): boolean {
  if (ifRange === undefined) return true;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === etag;
  const date = parseDate(ifRange);
  return date !== undefined && date === Math.floor(file.mtimeMs / 1000) * 1000;
}
