/**
 * echo-server: runs an @overlapped/socket echo server until told to stop,
 * printing its counters as it goes. The command line (cli.ts) is a thin
 * layer over {@link runEchoServer}, which takes the server factory as an
 * argument so that the lifecycle (start, periodic counters, clean stop) is
 * the same whatever serves the bytes.
 */
import { type BackendRequest, codedError, invalidArgValue, validateInteger, validateOneOf } from '@overlapped/common';
import { createEchoServer, type EchoCounters } from '@overlapped/socket';

import { createEventEchoServer } from './events-echo.js';

export { createEventEchoServer } from './events-echo.js';

/** The echo server options echo-server passes on to `createEchoServer`. */
export interface EchoServerOptions {
  /** Address to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Port; 0 picks a free one. Default 7000. */
  port?: number;
  /**
   * `native`: the loop runs on the worker threads; `js`: the loop in JS on
   * the public recv/send API; `events`: JS handlers on the event API
   * (src/events-echo.ts). Default `native`.
   */
  mode?: 'native' | 'js' | 'events';
  /** Bytes per connection buffer. Default 16384. */
  bufferSize?: number;
  /** Connections past this many are refused. Default 10000. */
  maxConnections?: number;
  /** Milliseconds of silence after which a connection is closed; 0 = never. Default 0. */
  idleTimeout?: number;
  /** `auto`, `iocp`, `io_uring`, `threadpool` or `portable`. Default `auto`. */
  backend?: BackendRequest;
  /** Worker threads for the native backends; 0 = the backend's default. Default 0. */
  threads?: number;
}

export type { EchoCounters };

/** What echo-server needs of a running echo server. */
export interface EchoServerLike {
  address(): { address?: string; port: number; family?: string } | string | null;
  counters(): EchoCounters;
  close(): Promise<void> | void;
  /** The backend chosen (when the server says). */
  backend?: string;
}

/**
 * Creates an echo server; by default `@overlapped/socket`'s
 * `createEchoServer`, or {@link createEventEchoServer} in `events` mode.
 * `threads` and `idleTimeout` are left out when 0 (the defaults).
 */
export type EchoServerFactory = (options: EchoServerOptions) => EchoServerLike | Promise<EchoServerLike>;

const MODES = ['native', 'js', 'events'] as const;
const BACKENDS: readonly BackendRequest[] = ['auto', 'iocp', 'io_uring', 'threadpool', 'portable'];

/**
 * Fills in defaults and checks every option, throwing `ERR_*` errors.
 *
 * @example
 * ```ts
 * resolveServerOptions({ port: 0, mode: 'js' }); // { host: '127.0.0.1', port: 0, mode: 'js', ... }
 * ```
 */
export function resolveServerOptions(options: EchoServerOptions = {}): Required<EchoServerOptions> {
  const o: Required<EchoServerOptions> = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 7000,
    mode: options.mode ?? 'native',
    bufferSize: options.bufferSize ?? 16384,
    maxConnections: options.maxConnections ?? 10000,
    idleTimeout: options.idleTimeout ?? 0,
    backend: options.backend ?? 'auto',
    threads: options.threads ?? 0,
  };
  if (typeof o.host !== 'string' || o.host === '') throw invalidArgValue('host', o.host, 'must be a non-empty string');
  validateInteger(o.port, 'port', 0, 65535);
  validateOneOf(o.mode, 'mode', MODES);
  validateInteger(o.bufferSize, 'bufferSize', 1, 64 * 1024 * 1024);
  validateInteger(o.maxConnections, 'maxConnections', 1, 1_000_000);
  validateInteger(o.idleTimeout, 'idleTimeout', 0, 2 ** 31 - 1);
  validateOneOf(o.backend, 'backend', BACKENDS);
  validateInteger(o.threads, 'threads', 0, 256);
  return o;
}

/**
 * The counters on one line: `accepted=3 active=1 bytesIn=... refused=0`.
 *
 * @example
 * ```ts
 * formatCounters(server.counters()); // 'accepted=3 active=1 bytesIn=4096 bytesOut=4096 resets=0 errors=0 refused=0'
 * ```
 */
export function formatCounters(c: EchoCounters): string {
  const record = c as unknown as Record<string, number>;
  const names = ['accepted', 'active', 'bytesIn', 'bytesOut', 'resets', 'errors', 'refused'];
  const extra = Object.keys(record).filter((k) => !names.includes(k) && typeof record[k] === 'number');
  return [...names, ...extra].map((k) => `${k}=${record[k] ?? 0}`).join(' ');
}

/** How {@link runEchoServer} reports and when it stops. */
export interface RunOptions {
  /** Creates the server; `@overlapped/socket`'s by default (the event API echo in `events` mode). */
  factory?: EchoServerFactory;
  /** Aborting it closes the server (the CLI aborts on SIGINT / SIGTERM). */
  signal: AbortSignal;
  /** Milliseconds between counter lines; 0 = none. Default 5000. */
  statsInterval?: number;
  /** Where lines go. Default `console.log`. */
  log?: (line: string) => void;
  /** Called once the server listens, with its bound address. */
  onListening?: (address: { host: string; port: number }) => void;
}

/**
 * Starts an echo server, prints `listening <host>:<port> ...`, prints its
 * counters every `statsInterval` ms, and when `signal` aborts closes the
 * server and prints the final counters. Resolves with those counters.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * process.once('SIGTERM', () => ac.abort());
 * const final = await runEchoServer({ port: 0, mode: 'native' }, { signal: ac.signal });
 * ```
 */
export async function runEchoServer(options: EchoServerOptions, run: RunOptions): Promise<EchoCounters> {
  const o = resolveServerOptions(options);
  const log = run.log ?? ((line: string) => console.log(line));
  const factory = run.factory ?? (o.mode === 'events' ? createEventEchoServer : (createEchoServer as EchoServerFactory));
  if (run.signal.aborted) throw codedError('ABORT_ERR', 'aborted before start');
  const { threads, idleTimeout, ...rest } = o;
  const server = await factory({ ...rest, ...(threads > 0 && { threads }), ...(idleTimeout > 0 && { idleTimeout }) });
  const raw = server.address();
  const bound = typeof raw === 'object' && raw !== null ? { host: raw.address ?? o.host, port: raw.port } : { host: o.host, port: o.port };
  log(`listening ${bound.host}:${bound.port} mode=${o.mode} backend=${server.backend ?? o.backend}`);
  run.onListening?.(bound);
  const interval = run.statsInterval ?? 5000;
  const timer = interval > 0 ? setInterval(() => log(`counters ${formatCounters(server.counters())}`), interval) : undefined;
  await new Promise<void>((resolve) => {
    if (run.signal.aborted) resolve();
    else run.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  if (timer) clearInterval(timer);
  await server.close();
  const final = server.counters();
  log(`closed; final counters ${formatCounters(final)}`);
  return final;
}
