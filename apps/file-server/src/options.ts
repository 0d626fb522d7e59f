/**
 * The file server's options: defaults and checks (`ERR_*` errors, thrown
 * before anything listens).
 */
import { type BackendRequest, invalidArgValue, validateInteger, validateOneOf } from '@overlapped/common';

/** Options of `createFileServer`. */
export interface FileServerOptions {
  /** The folder served. Required; must exist. */
  root: string;
  /** Address to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** `auto`, `iocp`, `io_uring`, `threadpool` or `portable`, for the sockets and the files. Default `auto`. */
  backend?: BackendRequest;
  /**
   * Worker threads of the native backends; 0 = the backend's default.
   * Passed on to the socket API, which today serves every listener from a
   * shared port of its own size (see the README).
   */
  threads?: number;
  /** Connections past this many live ones are closed at once. Default 1000. */
  maxConnections?: number;
  /** Milliseconds a request head may take to arrive, from its first byte; then the connection is closed. Default 10000. */
  headerTimeout?: number;
  /** Milliseconds a connection may wait for a request, or a response make no progress; then it is closed. 0 = never. Default 60000. */
  idleTimeout?: number;
  /** Milliseconds `close()` lets responses in flight finish before closing their connections. Default 5000. */
  shutdownTimeout?: number;
  /** Serve files that symbolic links lead to outside the root. Default false. */
  followSymlinks?: boolean;
  /** Bytes of the request line; past it: 414. Default 8192. */
  maxRequestLine?: number;
  /** Bytes of the header fields; past it: 431. Default 16384. */
  maxHeaderBytes?: number;
  /** Header fields per request; past it: 431. Default 100. */
  maxHeaders?: number;
  /**
   * Files kept open between requests (least recently used out first); 0
   * opens and closes the file for each request. Default 1000; on Windows
   * 0, because there a file held open cannot be replaced by a rename
   * (`MoveFileEx` fails while any handle is open), so deploying a new
   * version of a file that is being served would fail.
   */
  cacheFiles?: number;
  /**
   * Milliseconds a cached file is served without a check; the first
   * request after that checks the path again (a file changed, replaced or
   * deleted on disk is seen then). 0 checks on every request. Default 1000.
   */
  cacheValid?: number;
  /** Called after each response with a one-line summary (the CLI's `--log`). */
  onResponse?: (entry: ResponseLogEntry) => void;
}

/** One response, as `onResponse` sees it. */
export interface ResponseLogEntry {
  method: string;
  target: string;
  status: number;
  /** Bytes sent on the wire for this response, head included. */
  bytes: number;
  remoteAddress: string;
}

export type ResolvedOptions = Required<Omit<FileServerOptions, 'onResponse'>> & Pick<FileServerOptions, 'onResponse'>;

const BACKENDS: readonly BackendRequest[] = ['auto', 'iocp', 'io_uring', 'threadpool', 'portable'];
const MAX_TIMER = 2 ** 31 - 1;

/**
 * Fills in the defaults and checks every option.
 *
 * @example
 * ```ts
 * resolveFileServerOptions({ root: '/srv/www', port: 0 }); // { root: '/srv/www', host: '127.0.0.1', port: 0, ... }
 * ```
 */
export function resolveFileServerOptions(options: FileServerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalidArgValue('options', options, 'must be an object');
  const o: ResolvedOptions = {
    root: options.root,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8080,
    backend: options.backend ?? 'auto',
    threads: options.threads ?? 0,
    maxConnections: options.maxConnections ?? 1000,
    headerTimeout: options.headerTimeout ?? 10_000,
    idleTimeout: options.idleTimeout ?? 60_000,
    shutdownTimeout: options.shutdownTimeout ?? 5000,
    followSymlinks: options.followSymlinks ?? false,
    maxRequestLine: options.maxRequestLine ?? 8192,
    maxHeaderBytes: options.maxHeaderBytes ?? 16384,
    maxHeaders: options.maxHeaders ?? 100,
    cacheFiles: options.cacheFiles ?? (process.platform === 'win32' ? 0 : 1000),
    cacheValid: options.cacheValid ?? 1000,
    onResponse: options.onResponse,
  };
  if (typeof o.root !== 'string' || o.root === '') throw invalidArgValue('root', o.root, 'must be a non-empty string');
  if (typeof o.host !== 'string' || o.host === '') throw invalidArgValue('host', o.host, 'must be a non-empty string');
  validateInteger(o.port, 'port', 0, 65535);
  validateOneOf(o.backend, 'backend', BACKENDS);
  validateInteger(o.threads, 'threads', 0, 256);
  validateInteger(o.maxConnections, 'maxConnections', 1, 1_000_000);
  validateInteger(o.headerTimeout, 'headerTimeout', 1, MAX_TIMER);
  validateInteger(o.idleTimeout, 'idleTimeout', 0, MAX_TIMER);
  validateInteger(o.shutdownTimeout, 'shutdownTimeout', 0, MAX_TIMER);
  if (typeof o.followSymlinks !== 'boolean') throw invalidArgValue('followSymlinks', o.followSymlinks, 'must be a boolean');
  validateInteger(o.maxRequestLine, 'maxRequestLine', 64, 1024 * 1024);
  validateInteger(o.maxHeaderBytes, 'maxHeaderBytes', 64, 1024 * 1024);
  validateInteger(o.maxHeaders, 'maxHeaders', 1, 10_000);
  validateInteger(o.cacheFiles, 'cacheFiles', 0, 1_000_000);
  validateInteger(o.cacheValid, 'cacheValid', 0, MAX_TIMER);
  if (o.onResponse !== undefined && typeof o.onResponse !== 'function') throw invalidArgValue('onResponse', o.onResponse, 'must be a function');
  return o;
}
