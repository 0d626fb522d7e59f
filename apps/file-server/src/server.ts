/**
 * The file server: one loop per connection on the socket's promise API
 * (recv into a bounded head buffer, parse, answer, repeat: pipelined
 * requests are answered in order because they are answered one at a
 * time), files opened per request with @overlapped/file, and one watchdog
 * timer that closes connections past their deadline (a request head that
 * takes too long, a connection idle too long, a response that stopped
 * moving).
 */
import { opendirSync, realpathSync } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

import type { BackendName } from '@overlapped/common';
import { open, type OverlappedFile } from '@overlapped/file';
import { listen, socketBackend, type Server, type Socket, type SocketAddress } from '@overlapped/socket';

import { sendBody } from './body.js';
import { entityTag, lastModified, select } from './conditional.js';
import { contentType } from './content-type.js';
import { connectionField, currentHttpDate, type HeadLimits, type ParseResult, parseRequestHead, REASONS, type RequestHead, responseHead } from './http.js';
import { type CachedFile, type Identity, OpenFileCache, type OpenedFile } from './open-files.js';
import { type FileServerOptions, type ResolvedOptions, resolveFileServerOptions } from './options.js';
import { isInside, targetSegments } from './paths.js';

/** What the server has done so far. */
export interface FileServerCounters {
  /** Connections accepted (the refused ones not included). */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Connections closed at once because `maxConnections` were open. */
  refused: number;
  /** Responses sent (error responses included). */
  requests: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent: heads and bodies. */
  bytesOut: number;
  status1xx: number;
  status2xx: number;
  status3xx: number;
  status4xx: number;
  status5xx: number;
  /** Connections closed by a timeout (header, idle or stalled response). */
  timeouts: number;
  /** Connections ended by an error other than the peer going away. */
  errors: number;
  /** Files opened (with the open-file cache, only on a miss or when a file changed). */
  filesOpened: number;
  /** Responses that used a file the cache held open. */
  cacheHits: number;
  /** Checks of cached files past `cacheValid` (each a path resolution and an `lstat`). */
  cacheChecks: number;
}

/** A running file server. */
export interface FileServer extends AsyncDisposable {
  /** The backend serving the sockets and the files. */
  readonly backend: BackendName;
  /** The served folder, as a real path (symbolic links resolved). */
  readonly root: string;
  address(): SocketAddress;
  counters(): FileServerCounters;
  /**
   * Stops accepting, closes idle connections at once, lets responses in
   * flight finish for up to `shutdownTimeout` ms, then closes what is
   * left. Resolves with the final counters. Idempotent.
   */
  close(): Promise<FileServerCounters>;
}

type Phase = 'idle' | 'head' | 'response';

/** One accepted connection: its head buffer, what it is doing, and its deadline. */
interface Connection {
  socket: Socket;
  buffer: Buffer;
  start: number;
  end: number;
  phase: Phase;
  /** Date.now() past which the watchdog closes it. */
  deadline: number;
  timedOut: boolean;
}

/** What the server keeps beside each open file: its validators and the fields of a 200's head. */
interface FileFacts {
  etag: string;
  lastModified: string;
  /** `Content-Type` ... `Accept-Ranges`, each line ending in CRLF. */
  fields200: string;
}

function describeFile(path: string, opened: OpenedFile): FileFacts {
  const etag = entityTag(opened);
  const modified = lastModified(opened);
  const name = path.slice(path.lastIndexOf(sep) + 1);
  return {
    etag,
    lastModified: modified,
    fields200:
      `Content-Type: ${contentType(name)}\r\nContent-Length: ${opened.size}\r\n` +
      `Last-Modified: ${modified}\r\nETag: ${etag}\r\nAccept-Ranges: bytes\r\n`,
  };
}

const INITIAL_BUFFER = 4096;
/** Request targets whose path is remembered; past it the memory starts over. */
const MAX_REMEMBERED_PATHS = 1000;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
// Open errors that mean "no such file here" rather than a server fault.
const NOT_FOUND = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG', 'EINVAL']);
const FORBIDDEN = new Set(['EACCES', 'EPERM']);
// Errors that say the peer went away: not counted as server errors.
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ENOTCONN', 'ETIMEDOUT', 'ERR_SOCKET_CLOSED']);

function statusOfError(error: unknown): number {
  const code = (error as { code?: string }).code ?? '';
  if (NOT_FOUND.has(code)) return 404;
  if (FORBIDDEN.has(code)) return 403;
  return 500;
}

class StaticFileServer implements FileServer {
  readonly backend: BackendName;
  readonly root: string;
  private listener!: Server;
  private readonly options: ResolvedOptions;
  private readonly limits: HeadLimits;
  private readonly headCapacity: number;
  private readonly connections = new Set<Connection>();
  private readonly files: OpenFileCache;
  // Request targets already mapped to a path under the root.
  private readonly paths = new Map<string, string>();
  private readonly counts: FileServerCounters = {
    accepted: 0,
    open: 0,
    refused: 0,
    requests: 0,
    bytesIn: 0,
    bytesOut: 0,
    status1xx: 0,
    status2xx: 0,
    status3xx: 0,
    status4xx: 0,
    status5xx: 0,
    timeouts: 0,
    errors: 0,
    filesOpened: 0,
    cacheHits: 0,
    cacheChecks: 0,
  };
  private stopping = false;
  private closing: Promise<FileServerCounters> | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private drained: (() => void) | undefined;

  constructor(options: ResolvedOptions, root: string) {
    this.options = options;
    this.root = root;
    this.backend = socketBackend(options.backend);
    this.limits = { maxRequestLine: options.maxRequestLine, maxHeaderBytes: options.maxHeaderBytes, maxHeaders: options.maxHeaders };
    // Room for any head within the limits (and a few empty lines before
    // it): a head that fills it has passed a limit, which the parser says.
    this.headCapacity = options.maxRequestLine + options.maxHeaderBytes + 16;
    const source = { open: (path: string) => this.openInside(path), identify: (path: string) => this.identify(path) };
    this.files = new OpenFileCache(source, options.cacheFiles, options.cacheValid, describeFile);
  }

  async start(): Promise<void> {
    this.listener = await listen({
      host: this.options.host,
      port: this.options.port,
      backend: this.backend,
      maxConnections: this.options.maxConnections,
      onConnection: (socket) => this.accept(socket),
    });
    const shortest = Math.min(this.options.headerTimeout, this.options.idleTimeout || Infinity);
    const tick = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    this.watchdog = setInterval(() => this.expire(), tick);
    this.watchdog.unref();
  }

  address(): SocketAddress {
    return this.listener.address();
  }

  counters(): FileServerCounters {
    const { opened, hits, checks } = this.files.counters;
    return { ...this.counts, open: this.connections.size, refused: this.listener.refused, filesOpened: opened, cacheHits: hits, cacheChecks: checks };
  }

  close(): Promise<FileServerCounters> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close().then(() => undefined);
  }

  private async shutdown(): Promise<FileServerCounters> {
    this.stopping = true;
    await this.listener.close();
    const drained = new Promise<void>((resolve) => {
      this.drained = resolve;
      if (this.connections.size === 0) resolve();
    });
    // Connections between requests (or in the middle of a head) have
    // nothing in flight: they close now. The others finish their response.
    for (const connection of this.connections) {
      if (connection.phase !== 'response') void connection.socket.close();
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.options.shutdownTimeout)));
    if ((await Promise.race([drained, late])) === 'late') {
      for (const connection of this.connections) void connection.socket.close();
      await drained;
    }
    clearTimeout(timer);
    clearInterval(this.watchdog);
    await this.files.clear();
    return this.counters();
  }

  private accept(socket: Socket): void {
    if (this.stopping) {
      void socket.close();
      return;
    }
    // Responses go out in whole sends: no reason to wait for an ACK.
    socket.setNoDelay(true);
    const connection: Connection = {
      socket,
      buffer: Buffer.allocUnsafe(INITIAL_BUFFER),
      start: 0,
      end: 0,
      phase: 'idle',
      deadline: Infinity,
      timedOut: false,
    };
    // The idle timeout runs from the accept: a client that never sends is closed too.
    this.setPhase(connection, 'idle');
    this.connections.add(connection);
    this.counts.accepted++;
    void this.serve(connection);
  }

  // Closes the connections past their deadline.
  private expire(): void {
    const now = Date.now();
    for (const connection of this.connections) {
      if (now >= connection.deadline && !connection.timedOut) {
        connection.timedOut = true;
        this.counts.timeouts++;
        void connection.socket.close();
      }
    }
  }

  private setPhase(connection: Connection, phase: Phase): void {
    connection.phase = phase;
    const { headerTimeout, idleTimeout } = this.options;
    if (phase === 'head') connection.deadline = Date.now() + headerTimeout;
    else connection.deadline = idleTimeout > 0 ? Date.now() + idleTimeout : Infinity;
  }

  private async serve(connection: Connection): Promise<void> {
    try {
      for (;;) {
        const parsed = await this.nextHead(connection);
        if (!parsed) return;
        this.setPhase(connection, 'response');
        if (parsed.kind === 'error') {
          await this.answer(connection, undefined, parsed.status, false);
          return;
        }
        connection.start += parsed.consumed;
        if (parsed.head.contentLength > 0 && !(await this.discardBody(connection, parsed.head.contentLength))) return;
        if (!(await this.respond(connection, parsed.head)) || this.stopping) return;
      }
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (!PEER_GONE.has(code) && !connection.socket.closed) this.counts.errors++;
    } finally {
      await connection.socket.close().catch(() => {});
      this.connections.delete(connection);
      if (this.stopping && this.connections.size === 0) this.drained?.();
    }
  }

  // The next request head of the connection (or a parse error), receiving
  // as needed; undefined when the peer has closed or the server stops.
  private async nextHead(connection: Connection): Promise<Exclude<ParseResult, { kind: 'incomplete' }> | undefined> {
    for (;;) {
      if (connection.start === connection.end) connection.start = connection.end = 0;
      if (connection.start < connection.end) {
        const parsed = parseRequestHead(connection.buffer, connection.start, connection.end, this.limits);
        if (parsed.kind !== 'incomplete') return parsed;
        if (connection.phase !== 'head') this.setPhase(connection, 'head');
      } else if (connection.phase !== 'idle') {
        this.setPhase(connection, 'idle');
      }
      if (this.stopping) return undefined;
      this.makeRoom(connection);
      const n = await connection.socket.recv(connection.buffer.subarray(connection.end));
      if (n === 0) return undefined;
      connection.end += n;
      this.counts.bytesIn += n;
    }
  }

  // Moves the buffered bytes to the front, or grows the buffer (up to the
  // head capacity), so that the next recv has room.
  private makeRoom(connection: Connection): void {
    const { buffer, start, end } = connection;
    if (end < buffer.length) return;
    if (start > 0) {
      buffer.copyWithin(0, start, end);
      connection.end -= start;
      connection.start = 0;
      return;
    }
    const grown = Buffer.allocUnsafe(Math.min(this.headCapacity, buffer.length * 2));
    buffer.copy(grown, 0, 0, end);
    connection.buffer = grown;
  }

  // Reads and drops a request body; false when the peer closed first.
  private async discardBody(connection: Connection, length: number): Promise<boolean> {
    let left = length;
    const buffered = Math.min(left, connection.end - connection.start);
    connection.start += buffered;
    left -= buffered;
    while (left > 0) {
      connection.start = connection.end = 0;
      const n = await connection.socket.recv(connection.buffer);
      if (n === 0) return false;
      this.counts.bytesIn += n;
      const taken = Math.min(n, left);
      connection.start = taken;
      connection.end = n;
      left -= taken;
    }
    return true;
  }

  // Answers one request; resolves whether the connection stays open.
  private async respond(connection: Connection, request: RequestHead): Promise<boolean> {
    const keepAlive = request.keepAlive && !this.stopping;
    const isHead = request.method === 'HEAD';
    if (request.method !== 'GET' && !isHead) return this.answer(connection, request, 405, keepAlive, [['Allow', 'GET, HEAD']]);
    let path = this.paths.get(request.target);
    if (path === undefined) {
      const target = targetSegments(request.target);
      if (!target.ok) return this.answer(connection, request, target.status, keepAlive && target.status !== 400);
      const segments = target.directory ? [...target.segments, 'index.html'] : target.segments;
      path = join(this.root, ...segments);
      // The mapping is pure (the target and the root): remembered, within a bound.
      if (this.paths.size >= MAX_REMEMBERED_PATHS) this.paths.clear();
      this.paths.set(request.target, path);
    }
    // The common case, a file the cache holds and checked recently, costs no promise.
    let entry = this.files.fresh(path, Date.now());
    if (entry === undefined) {
      const got = await this.files.acquire(path);
      if ('status' in got) return this.answer(connection, request, got.status, keepAlive);
      entry = got;
    }
    try {
      return await this.respondWith(connection, request, entry, isHead, keepAlive);
    } finally {
      this.files.release(entry);
    }
  }

  // Answers a GET or HEAD of an open file.
  private async respondWith(connection: Connection, request: RequestHead, entry: CachedFile, isHead: boolean, keepAlive: boolean): Promise<boolean> {
    const facts = entry.extra as FileFacts;
    const selection = select(request.headers, entry, !isHead, facts.etag);
    const close = { close: !keepAlive, version: request.version };
    if (selection.status === 304) {
      const validators = [
        ['Last-Modified', facts.lastModified],
        ['ETag', facts.etag],
      ] as const;
      return this.sendHead(connection, request, 304, responseHead(304, validators, close), keepAlive);
    }
    if (selection.status === 416) return this.answer(connection, request, 416, keepAlive, [['Content-Range', `bytes */${entry.size}`]]);
    let head: string;
    if (selection.status === 200) {
      head = `HTTP/1.1 200 OK\r\nDate: ${currentHttpDate()}\r\n${facts.fields200}${connectionField(close)}\r\n`;
    } else {
      const last = selection.start + selection.length - 1;
      const name = entry.path.slice(entry.path.lastIndexOf(sep) + 1);
      head = responseHead(
        206,
        [
          ['Content-Type', contentType(name)],
          ['Content-Length', selection.length],
          ['Last-Modified', facts.lastModified],
          ['ETag', facts.etag],
          ['Accept-Ranges', 'bytes'],
          ['Content-Range', `bytes ${selection.start}-${last}/${entry.size}`],
        ],
        close,
      );
    }
    if (isHead) return this.sendHead(connection, request, selection.status, head, keepAlive);
    const headBytes = Buffer.from(head, 'latin1');
    let sent = 0;
    try {
      sent = await sendBody(connection.socket, entry.file, selection.start, selection.length, headBytes, (bytes) => {
        this.counts.bytesOut += bytes;
        this.setPhase(connection, 'response');
      });
    } catch (error) {
      // The file changed under the cache (it shrank, or cannot be read): the next request opens it anew.
      const { code, syscall } = error as { code?: string; syscall?: string };
      if (code === 'ERR_FILE_SHRUNK' || syscall === 'read') this.files.retire(entry);
      throw error;
    } finally {
      this.count(connection, request, selection.status, sent);
    }
    return keepAlive;
  }

  // Opens the file at `path` if it is a regular file inside the root (or,
  // with followSymlinks, wherever its links lead); else the status to answer.
  private async openInside(path: string): Promise<OpenedFile | { status: number }> {
    const { followSymlinks } = this.options;
    let real = path;
    let file: OverlappedFile;
    try {
      if (!followSymlinks) {
        real = await realpath(path);
        if (!isInside(this.root, real, sep)) return { status: 403 };
      }
      file = await open(real, { backend: this.backend });
    } catch (error) {
      return { status: statusOfError(error) };
    }
    try {
      const handle = await file.stat();
      const kind = handle.mode & S_IFMT;
      if (kind !== 0 && kind !== S_IFREG) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
      // The name may have been swapped for a link between realpath and
      // open: what was opened must still be what the name holds. (With
      // followSymlinks the name is only read for later checks.)
      const now = followSymlinks ? await stat(path) : await lstat(real);
      if (!followSymlinks && (now.dev !== handle.dev || now.ino !== handle.ino)) return await file.close().then(() => ({ status: 403 }));
      // A folder on the real path may have been swapped for a link out of
      // the root between realpath and open, and the lstat above follows it
      // too: where the system says which file a descriptor is, that path
      // must be inside the root.
      if (!followSymlinks) {
        const opened = await openedPath(file);
        // Removed since it was opened: as if it had not been there.
        if (opened === null) return await file.close().then(() => ({ status: 404 }));
        if (opened !== undefined && !isInside(this.root, opened, sep)) return await file.close().then(() => ({ status: 403 }));
      }
      const seen = { dev: now.dev, ino: now.ino, size: now.size, mtimeMs: now.mtimeMs };
      // Changed between the two stats: the first check reopens it.
      if (now.size !== handle.size || Math.abs(now.mtimeMs - handle.mtimeMs) > 0.01) seen.size = -1;
      return { file, size: handle.size, mtimeMs: handle.mtimeMs, seen };
    } catch (error) {
      await file.close();
      return { status: statusOfError(error) };
    }
  }

  // What `path` holds now, read as openInside reads it, without opening it.
  private async identify(path: string): Promise<Identity> {
    try {
      let now;
      if (this.options.followSymlinks) {
        now = await stat(path);
      } else {
        const real = await realpath(path);
        if (!isInside(this.root, real, sep)) return { status: 403 };
        now = await lstat(real);
      }
      if (!now.isFile()) return { status: 404 };
      return { dev: now.dev, ino: now.ino, size: now.size, mtimeMs: now.mtimeMs };
    } catch (error) {
      return { status: statusOfError(error) };
    }
  }

  private count(connection: Connection, request: RequestHead | undefined, status: number, bytes: number): void {
    this.counts.requests++;
    const counts = this.counts;
    if (status < 200) counts.status1xx++;
    else if (status < 300) counts.status2xx++;
    else if (status < 400) counts.status3xx++;
    else if (status < 500) counts.status4xx++;
    else counts.status5xx++;
    this.options.onResponse?.({
      method: request?.method ?? '-',
      target: request?.target ?? '-',
      status,
      bytes,
      remoteAddress: connection.socket.remoteAddress,
    });
  }

  private async sendHead(connection: Connection, request: RequestHead, status: number, head: string, keepAlive: boolean): Promise<boolean> {
    const bytes = Buffer.from(head, 'latin1');
    await connection.socket.send(bytes);
    this.counts.bytesOut += bytes.length;
    this.count(connection, request, status, bytes.length);
    return keepAlive;
  }

  // A response with a short text body (errors, 405, 416); HEAD gets its head only.
  private async answer(
    connection: Connection,
    request: RequestHead | undefined,
    status: number,
    keepAlive: boolean,
    extra: ReadonlyArray<readonly [string, string]> = [],
  ): Promise<boolean> {
    const body = `${status} ${REASONS[status] ?? ''}\n`;
    const head = responseHead(
      status,
      [['Content-Type', 'text/plain; charset=utf-8'], ['Content-Length', body.length], ...extra],
      { close: !keepAlive, version: request?.version ?? '1.1' },
    );
    const bytes = Buffer.from(request?.method === 'HEAD' ? head : head + body, 'latin1');
    await connection.socket.send(bytes);
    this.counts.bytesOut += bytes.length;
    this.count(connection, request, status, bytes.length);
    return keepAlive;
  }
}

/**
 * Starts a static file server of `options.root`: GET and HEAD over
 * HTTP/1.1 with keep-alive and pipelining, single ranges, conditional
 * requests; no directory listings (a path ending in `/` serves the
 * `index.html` there). Resolves once it listens.
 *
 * @throws `ENOENT` / `ENOTDIR` when the root is not a folder; `EADDRINUSE` when the port is taken; `ERR_*` for bad options
 *
 * @example
 * ```ts
 * import { createFileServer } from '@overlapped/file-server';
 *
 * const server = await createFileServer({ root: './public', port: 0 });
 * console.log(`http://127.0.0.1:${server.address().port}/`);
 * process.once('SIGINT', async () => console.log(await server.close()));
 * ```
 */
export async function createFileServer(options: FileServerOptions): Promise<FileServer> {
  const resolved = resolveFileServerOptions(options);
  // The native realpath, as for every request's path: on Windows it gives
  // the names' case as stored, whatever case the root was given in.
  const root = realpathSync.native(resolved.root);
  // Fails as fs fails (ENOENT, ENOTDIR, EACCES) unless the root is a readable folder.
  opendirSync(root).closeSync();
  const server = new StaticFileServer(resolved, root);
  await server.start();
  return server;
}

/**
 * The path of the file `file` has open, as the system names it (the
 * handle's `realpath()`: /proc/self/fd on Linux, F_GETPATH on macOS,
 * GetFinalPathNameByHandleW on Windows); undefined where the system does not
 * say (the portable backend off Linux), null once the file has no name.
 */
async function openedPath(file: OverlappedFile): Promise<string | null | undefined> {
  try {
    return await file.realpath();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOTSUP') return undefined;
    if (code === 'ENOENT') return null;
    throw error;
  }
}
