/**
 * HTTP/1.1 request heads, parsed from the bytes a connection has buffered,
 * and response heads. The parser is strict where leniency lets a request
 * mean two things (obs-fold, whitespace before a colon, a repeated Host or
 * Content-Length, a bare CR) and bounded everywhere: the request line and
 * the header section have byte limits and the headers a count limit, all
 * checked before the terminating blank line has arrived.
 */

/** The limits a request head must keep. */
export interface HeadLimits {
  /** Bytes of the request line, its line ending excluded; past it: 414. */
  maxRequestLine: number;
  /** Bytes of the header lines after the request line, line endings included; past it: 431. */
  maxHeaderBytes: number;
  /** Header lines; past it: 431. */
  maxHeaders: number;
}

/** A parsed request head. Header names are lower-cased; repeated fields are joined with `, `. */
export interface RequestHead {
  method: string;
  target: string;
  version: '1.0' | '1.1';
  headers: Map<string, string>;
  /** Whether the connection may carry another request after this one. */
  keepAlive: boolean;
  /** Bytes of request body that follow the head (Content-Length, 0 without one). */
  contentLength: number;
}

/** The outcome of {@link parseRequestHead}. */
export type ParseResult =
  | { kind: 'incomplete' }
  | { kind: 'request'; head: RequestHead; consumed: number }
  | { kind: 'error'; status: number; reason: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; no other control byte.
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const TARGET = /^[\x21-\x7e]+$/;
const VERSION = /^HTTP\/(\d)\.(\d)$/;
/** Request bodies are read and dropped up to this many bytes; past it: 413. */
export const MAX_DISCARDED_BODY = 1024 * 1024;

const LF = 10;
const CR = 13;

function lineText(bytes: Buffer, start: number, lf: number): string | undefined {
  const end = lf > start && bytes[lf - 1] === CR ? lf - 1 : lf;
  const text = bytes.toString('latin1', start, end);
  // A CR anywhere but before the LF is a bare CR: rejected (RFC 9112 §2.2).
  return text.includes('\r') ? undefined : text;
}

// The first LF in `bytes[from, end)`, or -1.
function lfBefore(bytes: Buffer, from: number, end: number): number {
  const at = bytes.indexOf(LF, from);
  return at >= end ? -1 : at;
}

// A field value without its leading and trailing spaces and tabs (OWS).
function trimOws(value: string): string {
  let first = 0;
  let last = value.length;
  while (first < last && (value.charCodeAt(first) === 32 || value.charCodeAt(first) === 9)) first++;
  while (last > first && (value.charCodeAt(last - 1) === 32 || value.charCodeAt(last - 1) === 9)) last--;
  return first === 0 && last === value.length ? value : value.slice(first, last);
}

const fail = (status: number, reason: string): ParseResult => ({ kind: 'error', status, reason });

/**
 * Parses one request head from `bytes[start, end)`. Returns `incomplete`
 * while the blank line has not arrived and no limit is passed yet, an
 * error with the status to answer (the connection is then closed), or the
 * head and the bytes it took (leading empty lines included).
 *
 * @example
 * ```ts
 * const bytes = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
 * const result = parseRequestHead(bytes, 0, bytes.length, { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100 });
 * // { kind: 'request', head: { method: 'GET', target: '/', version: '1.1', ... }, consumed: 27 }
 * ```
 */
export function parseRequestHead(bytes: Uint8Array, start: number, end: number, limits: HeadLimits): ParseResult {
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  // Empty lines before a request line are ignored (RFC 9112 §2.2), a few only.
  while (pos < end && (view[pos] === CR || view[pos] === LF) && pos - start < 8) pos++;
  if (pos - start >= 8) return fail(400, 'empty lines before the request line');
  const lineEnd = lfBefore(view, pos, end);
  if (lineEnd < 0 || lineEnd - pos > limits.maxRequestLine + 1) {
    return end - pos > limits.maxRequestLine + 1 ? fail(414, 'request line too long') : { kind: 'incomplete' };
  }
  const requestLine = lineText(view, pos, lineEnd);
  if (requestLine === undefined) return fail(400, 'bare CR in the request line');
  if (requestLine.length > limits.maxRequestLine) return fail(414, 'request line too long');

  // The header lines, up to the blank line, within the limits.
  const headerStart = lineEnd + 1;
  const lines: string[] = [];
  let cursor = headerStart;
  for (;;) {
    const lf = lfBefore(view, cursor, end);
    const limitEnd = headerStart + limits.maxHeaderBytes;
    if (lf < 0) {
      if (end > limitEnd) return fail(431, 'header section too large');
      return { kind: 'incomplete' };
    }
    if (lf + 1 > limitEnd) return fail(431, 'header section too large');
    const line = lineText(view, cursor, lf);
    if (line === undefined) return fail(400, 'bare CR in a header line');
    cursor = lf + 1;
    if (line === '') break;
    if (lines.length >= limits.maxHeaders) return fail(431, 'too many header fields');
    lines.push(line);
  }

  const parts = requestLine.split(' ');
  if (parts.length !== 3) return fail(400, 'malformed request line');
  const [method, target, protocol] = parts as [string, string, string];
  if (!TOKEN.test(method)) return fail(400, 'malformed method');
  if (!TARGET.test(target)) return fail(400, 'malformed request target');
  const version = VERSION.exec(protocol);
  if (!version) return fail(400, 'malformed HTTP version');
  if (version[1] !== '1' || (version[2] !== '0' && version[2] !== '1')) return fail(505, `HTTP/${version[1]}.${version[2]} is not supported`);

  const headers = new Map<string, string>();
  for (const line of lines) {
    if (line[0] === ' ' || line[0] === '\t') return fail(400, 'obsolete line folding');
    const colon = line.indexOf(':');
    if (colon <= 0) return fail(400, 'header line without a name');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return fail(400, 'malformed header name');
    const value = trimOws(line.slice(colon + 1));
    if (BAD_VALUE.test(value)) return fail(400, 'control character in a header value');
    const key = name.toLowerCase();
    const before = headers.get(key);
    if (before === undefined) headers.set(key, value);
    else if (key === 'host') return fail(400, 'more than one Host');
    else if (key === 'content-length' && before !== value) return fail(400, 'conflicting Content-Length');
    else if (key !== 'content-length') headers.set(key, `${before}, ${value}`);
  }

  const httpVersion = version[2] === '1' ? '1.1' : '1.0';
  if (httpVersion === '1.1' && !headers.has('host')) return fail(400, 'HTTP/1.1 request without Host');
  if (headers.has('transfer-encoding')) {
    return headers.has('content-length') ? fail(400, 'both Transfer-Encoding and Content-Length') : fail(501, 'request bodies with Transfer-Encoding are not supported');
  }
  let contentLength = 0;
  const lengthText = headers.get('content-length');
  if (lengthText !== undefined) {
    if (!/^\d{1,15}$/.test(lengthText)) return fail(400, 'malformed Content-Length');
    contentLength = Number(lengthText);
    if (contentLength > MAX_DISCARDED_BODY) return fail(413, 'request body too large');
  }
  const connection = headers.get('connection');
  const tokens = connection === undefined ? [] : connection.toLowerCase().split(',').map((t) => t.trim());
  const keepAlive = httpVersion === '1.1' ? !tokens.includes('close') : tokens.includes('keep-alive');
  return {
    kind: 'request',
    head: { method, target, version: httpVersion, headers, keepAlive, contentLength },
    consumed: cursor - start,
  };
}

/** Reason phrases of the statuses the server sends. */
export const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  206: 'Partial Content',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  416: 'Range Not Satisfiable',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

let dateSecond = -1;
let dateText = '';

/**
 * The Date header's value for now, IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
 * made once per second.
 *
 * @example
 * ```ts
 * currentHttpDate(); // 'Tue, 03 Jun 2025 10:00:00 GMT'
 * ```
 */
export function currentHttpDate(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/**
 * A response head: the status line, `Date`, the given fields, and a
 * `Connection` field when the connection closes after this response (or
 * stays open for an HTTP/1.0 client that asked for keep-alive).
 *
 * @example
 * ```ts
 * responseHead(404, [['Content-Length', '0']], { close: false, version: '1.1' });
 * // 'HTTP/1.1 404 Not Found\r\nDate: ...\r\nContent-Length: 0\r\n\r\n'
 * ```
 */
export function responseHead(
  status: number,
  fields: ReadonlyArray<readonly [string, string | number]>,
  connection: { close: boolean; version: '1.0' | '1.1' },
): string {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}\r\nDate: ${currentHttpDate()}\r\n`;
  for (const [name, value] of fields) head += `${name}: ${value}\r\n`;
  return `${head}${connectionField(connection)}\r\n`;
}

/**
 * The `Connection` field line a response needs (CRLF included), or `''`:
 * `close` when the connection closes after it, `keep-alive` for an
 * HTTP/1.0 client that asked to keep it.
 *
 * @example
 * ```ts
 * connectionField({ close: true, version: '1.1' }); // 'Connection: close\r\n'
 * ```
 */
export function connectionField(connection: { close: boolean; version: '1.0' | '1.1' }): string {
  if (connection.close) return 'Connection: close\r\n';
  return connection.version === '1.0' ? 'Connection: keep-alive\r\n' : '';
}
