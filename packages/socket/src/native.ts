/**
 * Sockets on the native core: every wait (accept, connect, recv, send,
 * shutdown, close, forward) is an op on a completion port; setup
 * (socket, bind, listen, addresses, options) is a synchronous call.
 */
import { availableParallelism } from 'node:os';
import type { Duplex } from 'node:stream';

import {
  AbortError,
  type CompletionPort,
  errnoName,
  type NativeBackendName,
  systemError,
} from '@overlapped/common';
import { CompletionPort as NativePort, loadNativeCore, type NativeBinding } from '@overlapped/iocp';

import type { OpOptions, Server, Socket, SocketAddress } from './types.js';
import { AcceptedQueue, asyncDispose, type QueuedSend, SendQueue, socketClosed, withBytesWritten } from './util.js';
import { socketToStream } from './stream.js';

/**
 * The socket op kinds of native/common/backend.h (64-127), for code that
 * drives the port's ops itself.
 *
 * @example
 * ```ts
 * import { SocketOpKinds } from '@overlapped/socket';
 * port.submitOp({ kind: SocketOpKinds.recv, handle: fd, buffers: buffer }, (status, bytes) => {});
 * ```
 */
export const SocketOpKinds = {
  accept: 65,
  connect: 66,
  recv: 67,
  send: 68,
  shutdown: 69,
  close: 70,
  forward: 71,
} as const;

const sharedPorts = new Map<string, CompletionPort>();

/** The port all sockets of `backend` share (created on first use; it keeps no process alive when idle). */
export function sharedPort(backend: NativeBackendName): CompletionPort {
  let port = sharedPorts.get(backend);
  if (!port) {
    port = new NativePort({ backend, threads: Math.min(2, availableParallelism()) });
    sharedPorts.set(backend, port);
  }
  return port;
}

/** Makes a dedicated port (for an echo server's `threads`). */
export function dedicatedPort(backend: NativeBackendName, threads: number): CompletionPort {
  return new NativePort({ backend, threads });
}

export function binding(): NativeBinding {
  return loadNativeCore();
}

type Failure = [number, number];
function failed(value: unknown): value is Failure {
  return Array.isArray(value) && typeof value[0] === 'number' && value[0] < 0;
}

/** What a connect or listen error names (net puts no address on a stream's errors). */
interface ErrorPlace {
  address?: string;
  port?: number;
}

const NO_PLACE: ErrorPlace = {};

function failure(result: Failure, syscall: string, place: ErrorPlace = NO_PLACE): Error {
  // net words listen and bind errors with the code's description.
  const wording = syscall === 'listen' || syscall === 'bind' ? 'net-described' : 'net';
  return systemError({ errno: result[0], syscall, ...place, rawCode: result[1] || undefined, wording });
}

/** The error of an op that completed with `status` (`result`: the raw platform code). */
function opFailure(
  status: number,
  result: number,
  syscall: string,
  place: ErrorPlace,
  signal: AbortSignal | undefined,
  isClosed: () => boolean,
): Error {
  if (errnoName(status) === 'ECANCELED') {
    if (signal?.aborted) return new AbortError(undefined, { cause: signal.reason });
    if (isClosed()) return socketClosed(syscall);
    return new AbortError(undefined, { cause: syscall });
  }
  // The socket was closed under the op (closesocket aborts what is pending
  // on Windows): whatever the kernel said, the cause is close.
  if (isClosed()) return socketClosed(syscall);
  return systemError({ errno: status, syscall, ...place, rawCode: result || undefined, wording: 'net' });
}

/** Runs one op on `port`, tracking its token in `inFlight` so that close can cancel it. */
function runOp(
  port: CompletionPort,
  request: { kind: number; handle: number; buffers?: Uint8Array | Uint8Array[]; arg?: number; path?: string },
  syscall: string,
  place: ErrorPlace,
  signal: AbortSignal | undefined,
  inFlight: Set<number> | undefined,
  isClosed: () => boolean,
): Promise<number> {
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  return new Promise<number>((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    const token = port.submitOp(request, (status, result, _more, error) => {
      inFlight?.delete(token);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) {
        // The port failed the op itself (its buffer was detached).
        reject(error);
      } else if (status === 0) {
        resolve(result);
      } else {
        reject(opFailure(status, result, syscall, place, signal, isClosed));
      }
    });
    inFlight?.add(token);
    if (signal) {
      onAbort = () => port.cancelOp(token);
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/** A native send: the fast path's bytes, and its op once it started. */
interface PendingSend extends QueuedSend {
  /** Bytes the fast path sent before the op: the op sends the rest. */
  sent: number;
  /** The op's token once it started; 0 while it waits. */
  token: number;
}

/** Bytes of an accept op's address record (backend.h kAcceptAddressBytes): local, then remote. */
const ACCEPT_ADDRESS_BYTES = 128;
const ACCEPT_ADDRESS_ENTRY_BYTES = 64;

/** An accepted socket's local and remote [address, port], when its accept op learned them. */
export interface AcceptedNames {
  local: [string, number];
  remote: [string, number];
}

// One entry of an accept's address record: port (little endian), the
// text's length, the family, the numeric address as ASCII text.
function addressEntry(record: Uint8Array, at: number): [string, number] | undefined {
  const length = record[at + 2]!;
  if (length === 0 || length > ACCEPT_ADDRESS_ENTRY_BYTES - 4) return undefined;
  const text = String.fromCharCode(...record.subarray(at + 4, at + 4 + length));
  return [text, record[at]! | (record[at + 1]! << 8)];
}

/** The names an accept op wrote into its address record (iocp: GetAcceptExSockaddrs), or undefined. */
export function acceptedNames(record: Uint8Array): AcceptedNames | undefined {
  const local = addressEntry(record, 0);
  const remote = addressEntry(record, ACCEPT_ADDRESS_ENTRY_BYTES);
  return local && remote ? { local, remote } : undefined;
}

export function associate(port: CompletionPort, handle: number, place: ErrorPlace): void {
  port.associate(handle, 0, { syscall: 'associate', ...place });
}

// A socket dropped without close() would leak its handle: close it when
// the object is collected. No op can be in flight then (each op's callback
// keeps its socket reachable until it completes).
const leaked = new FinalizationRegistry<number>((handle) => {
  binding().socketClose(handle);
});

/** A socket on the native core. */
export class NativeSocket implements Socket {
  readonly backend: NativeBackendName;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly #port: CompletionPort;
  readonly #handle: number;
  readonly #inFlight = new Set<number>();
  // Cancels of ops that span two sockets (forward), run by close().
  readonly #closeCancels = new Set<() => void>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #shutdown: Promise<void> | undefined;
  readonly #onClose: (() => void) | undefined;
  // Made once, shared by every op of this socket: how an op learns that the
  // socket was closed under it.
  readonly #isClosed = (): boolean => this.#closed;
  readonly #trySend: boolean;
  // Sends go one op at a time, in call order: the head is in flight, the
  // others wait. The send op's second buffer is one double where the
  // backend keeps the bytes it has sent (read when the op fails).
  readonly #sends = new SendQueue<PendingSend>();
  #progress: Float64Array | undefined;
  #progressBytes: Uint8Array | undefined;

  /** Wraps a connected socket handle; names are those given, else read from the kernel. */
  constructor(
    backend: NativeBackendName,
    port: CompletionPort,
    handle: number,
    onClose?: () => void,
    names?: AcceptedNames,
  ) {
    this.backend = backend;
    this.#port = port;
    this.#handle = handle;
    this.#onClose = onClose;
    this.#trySend = backend !== 'iocp';
    leaked.register(this, handle, this);
    const core = binding();
    const local = names?.local ?? core.socketName(handle, false);
    const remote = names?.remote ?? core.socketName(handle, true);
    [this.localAddress, this.localPort] = failed(local) ? ['', 0] : (local as [string, number]);
    [this.remoteAddress, this.remotePort] = failed(remote) ? ['', 0] : (remote as [string, number]);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The socket handle (fd or SOCKET). */
  get handle(): number {
    return this.#handle;
  }

  /** The port this socket's ops run on. */
  get port(): CompletionPort {
    return this.#port;
  }

  /** Makes close() run `cancel` (before the socket goes), until {@link forgetOnClose}. */
  cancelOnClose(cancel: () => void): void {
    this.#closeCancels.add(cancel);
  }

  /** Undoes {@link cancelOnClose} (the forward ended). */
  forgetOnClose(cancel: () => void): void {
    this.#closeCancels.delete(cancel);
  }

  #op(kind: number, syscall: string, buffer: Uint8Array | undefined, arg: number, signal?: AbortSignal): Promise<number> {
    if (this.#closed) return Promise.reject(socketClosed(syscall));
    return runOp(this.#port, { kind, handle: this.#handle, buffers: buffer, arg }, syscall, NO_PLACE, signal, this.#inFlight, this.#isClosed);
  }

  recv(buffer: Uint8Array, options?: OpOptions): Promise<number> {
    return this.#op(SocketOpKinds.recv, 'recv', buffer, 0, options?.signal);
  }

  send(buffer: Uint8Array, options?: OpOptions): Promise<number> {
    if (this.#closed) return Promise.reject(withBytesWritten(socketClosed('send'), 0));
    if (buffer.byteLength === 0) return Promise.resolve(0);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(withBytesWritten(new AbortError(undefined, { cause: signal.reason }), 0));
    let sent = 0;
    // Fast path (POSIX backends): with no send in flight, what fits in the
    // socket buffer goes out now, in one syscall and without a completion;
    // only the rest (or everything, on EAGAIN or an error, which the op
    // then reports) becomes a send op.
    if (this.#trySend && this.#sends.length === 0) {
      const result = binding().socketTrySend(this.#handle, buffer);
      if (result === buffer.byteLength) return Promise.resolve(result);
      if (result > 0) sent = result;
    }
    return this.#sends.add(
      (resolve, reject) => ({ buffer, sent, signal, resolve, reject, onAbort: undefined, token: 0 }),
      this.#abortSend,
      this.#startSend,
    );
  }

  readonly #startSend = (send: PendingSend): void => {
    if (!this.#progress) {
      this.#progress = new Float64Array(1);
      this.#progressBytes = new Uint8Array(this.#progress.buffer);
    }
    this.#progress[0] = 0;
    const rest = send.sent === 0 ? send.buffer : send.buffer.subarray(send.sent);
    try {
      send.token = this.#port.submitOp(
        { kind: SocketOpKinds.send, handle: this.#handle, buffers: [rest, this.#progressBytes!] },
        (status, result, _more, failed) => {
          this.#inFlight.delete(send.token);
          const bytes = send.sent + (status === 0 ? result : this.#progress![0]!);
          // `failed`: the port failed the op itself (its buffer was detached).
          const error = status === 0 ? undefined : (failed ?? opFailure(status, result, 'send', NO_PLACE, send.signal, this.#isClosed));
          this.#settleSend(send, error, bytes);
        },
      );
    } catch (error) {
      // The port refused the op (it was closed): nothing more was sent.
      this.#settleSend(send, error as Error, send.sent);
      return;
    }
    this.#inFlight.add(send.token);
  };

  // Settles `send` (the head of the queue, or one that waits) and starts the
  // next one if the head left.
  #settleSend(send: PendingSend, error: Error | undefined, bytes: number): void {
    const next = this.#sends.settle(send, error, bytes) === 'head' ? this.#sends.head : undefined;
    if (next) this.#startSend(next);
  }

  readonly #abortSend = (send: PendingSend): void => {
    // An op in flight is cancelled and settles through its completion (with
    // what the kernel took); a send still waiting never started.
    if (send.token !== 0) this.#port.cancelOp(send.token);
    else this.#settleSend(send, new AbortError(undefined, { cause: send.signal?.reason }), 0);
  };

  /**
   * Half-closes (shuts down our sending side). A second call does nothing
   * more and settles as the first one did, as net's `end()` does.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#op(SocketOpKinds.shutdown, 'shutdown', undefined, 1).then(() => undefined);
    return this.#shutdown;
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    leaked.unregister(this);
    // Sends that wait behind the one in flight never start.
    for (const send of this.#sends.list().slice(1)) this.#settleSend(send, socketClosed('send'), 0);
    // Ops in flight end first (a pending recv would otherwise keep the
    // socket alive in the kernel); the close is queued after their cancels.
    for (const token of this.#inFlight) this.#port.cancelOp(token);
    for (const cancel of this.#closeCancels) cancel();
    this.#closing = runOp(
      this.#port,
      { kind: SocketOpKinds.close, handle: this.#handle },
      'close',
      {},
      undefined,
      undefined,
      () => false,
    ).then(
      () => this.#onClose?.(),
      () => this.#onClose?.(),
    );
    return this.#closing;
  }

  /** `await using socket = ...`: closes the socket when the scope ends. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }

  setNoDelay(on = true): void {
    if (this.#closed) throw socketClosed('setNoDelay');
    const result = binding().socketSetOption(this.#handle, 1, on ? 1 : 0);
    if (failed(result)) throw failure(result, 'setsockopt');
  }

  /** Makes the next close reset the connection (SO_LINGER 0). */
  resetOnClose(): void {
    if (this.#closed) throw socketClosed('setsockopt');
    const result = binding().socketSetOption(this.#handle, 2, 0);
    if (failed(result)) throw failure(result, 'setsockopt');
  }

  toStream(): Duplex {
    return socketToStream(this);
  }
}

/**
 * A listening socket on the native core. On io_uring with multishot accept
 * one op yields every connection (and is submitted again if the kernel ends
 * it); elsewhere `acceptDepth` accept ops are kept posted.
 */
export class NativeServer implements Server {
  readonly backend: NativeBackendName;
  readonly acceptMode: 'multishot' | 'posted';
  readonly #port: CompletionPort;
  readonly #handle: number;
  readonly #address: SocketAddress;
  readonly #maxConnections: number;
  readonly #onAccepted: (handle: number, names: AcceptedNames | undefined) => void;
  readonly #inFlight = new Set<number>();
  #acceptOps = 0;
  #connections = 0;
  #refused = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #accepting = 0;
  #acceptsDone: (() => void) | undefined;
  readonly #accepted = new AcceptedQueue<Socket>();
  readonly #onConnection: ((socket: Socket) => void) | undefined;

  private constructor(
    backend: NativeBackendName,
    port: CompletionPort,
    handle: number,
    address: SocketAddress,
    options: {
      acceptDepth: number;
      multishot: boolean;
      maxConnections: number;
      onConnection?: (socket: Socket) => void;
      onAccepted?: (handle: number) => void;
    },
  ) {
    this.backend = backend;
    this.#port = port;
    this.#handle = handle;
    this.#address = address;
    this.#maxConnections = options.maxConnections;
    this.#onConnection = options.onConnection;
    this.#onAccepted = options.onAccepted ?? ((accepted, names) => this.#deliver(accepted, names));
    const multishot = options.multishot && port.supportsMultishot(SocketOpKinds.accept);
    this.acceptMode = multishot ? 'multishot' : 'posted';
    for (let i = 0; i < (multishot ? 1 : options.acceptDepth); i++) this.#postAccept();
  }

  /**
   * Binds and listens, then keeps one multishot accept op (where the
   * backend has it and `multishot` is true) or `acceptDepth` accept ops
   * posted. `onAccepted`, when given, takes the raw handles instead (the
   * echo server).
   */
  static create(
    backend: NativeBackendName,
    port: CompletionPort,
    options: {
      host: string;
      family: 4 | 6;
      port: number;
      backlog: number;
      acceptDepth: number;
      multishot: boolean;
      maxConnections: number;
      onConnection?: (socket: Socket) => void;
      onAccepted?: (handle: number) => void;
    },
  ): NativeServer {
    const core = binding();
    const place = { address: options.host, port: options.port };
    const handle = core.socketOpen(options.family);
    if (failed(handle)) throw failure(handle, 'socket', place);
    const bound = core.socketBind(handle as number, options.host, options.port, options.backlog);
    if (failed(bound)) {
      core.socketClose(handle as number);
      throw failure(bound, 'listen', place);
    }
    const name = core.socketName(handle as number, false);
    if (failed(name)) {
      core.socketClose(handle as number);
      throw failure(name, 'getsockname', place);
    }
    associate(port, handle as number, place);
    const [address, boundPort] = name as [string, number];
    return new NativeServer(backend, port, handle as number, { address, port: boundPort, family: options.family === 6 ? 'IPv6' : 'IPv4' }, options);
  }

  get connections(): number {
    return this.#connections;
  }

  get refused(): number {
    return this.#refused;
  }

  get acceptOps(): number {
    return this.#acceptOps;
  }

  address(): SocketAddress {
    return { ...this.#address };
  }

  /** Counts a connection the owner accepted itself (the echo server) as live. */
  track(delta: number): void {
    this.#connections += delta;
  }

  /** Whether one more connection may be live; if not, closes `handle` and counts it refused. */
  admit(handle: number): boolean {
    if (this.#connections < this.#maxConnections) return true;
    this.#refused++;
    binding().socketClose(handle);
    return false;
  }

  // Submits one accept op: multishot (its callback runs once per
  // connection, `more` true, until a last completion) or single-shot.
  // Either way, the op's last completion submits the next one while the
  // server listens. A single-shot op carries an address record, which iocp
  // fills from the AcceptEx buffer (a multishot op would share one record
  // among its connections, so it has none).
  #postAccept(): void {
    if (this.#closed || this.#port.closed) return;
    this.#accepting++;
    this.#acceptOps++;
    const record = this.acceptMode === 'multishot' ? undefined : new Uint8Array(ACCEPT_ADDRESS_BYTES);
    const token = this.#port.submitOp(
      record
        ? { kind: SocketOpKinds.accept, handle: this.#handle, buffers: record }
        : { kind: SocketOpKinds.accept, handle: this.#handle, multishot: true },
      (status, accepted, more) => {
        if (!more) {
          this.#inFlight.delete(token);
          this.#accepting--;
        }
        if (status === 0) {
          if (this.#closed) {
            binding().socketClose(accepted);
          } else {
            // The next accept is posted before the app sees this socket.
            if (!more) this.#postAccept();
            this.#onAccepted(accepted, record && acceptedNames(record));
          }
        } else if (!more && !this.#closed) {
          // A failed accept (EMFILE, ECONNABORTED...), which also ends a
          // multishot one, is tried again a little later, so that a full
          // fd table does not spin.
          setTimeout(() => this.#postAccept(), 10).unref();
        }
        if (!more) this.#checkDone();
      },
    );
    this.#inFlight.add(token);
  }

  #checkDone(): void {
    if (this.#closed && this.#accepting === 0) this.#acceptsDone?.();
  }

  #deliver(handle: number, names: AcceptedNames | undefined): void {
    if (!this.admit(handle)) return;
    associate(this.#port, handle, {});
    this.#connections++;
    let counted = true;
    const socket = new NativeSocket(
      this.backend,
      this.#port,
      handle,
      () => {
        if (counted) this.#connections--;
        counted = false;
      },
      names,
    );
    if (this.#onConnection) {
      this.#onConnection(socket);
      return;
    }
    this.#accepted.push(socket);
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = new Promise<void>((resolve) => {
      this.#acceptsDone = resolve;
      for (const token of this.#inFlight) this.#port.cancelOp(token);
      this.#checkDone();
    }).then(() => {
      binding().socketClose(this.#handle);
      this.#accepted.end();
    });
    return this.#closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<Socket> {
    return this.#accepted.iterator(() => this.#closed, () => this.close());
  }

  /** `await using server = ...`: closes the server when the scope ends. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Connects a new native socket to host:port. */
export async function nativeConnect(
  backend: NativeBackendName,
  port: CompletionPort,
  host: string,
  family: 4 | 6,
  remotePort: number,
  signal: AbortSignal | undefined,
): Promise<NativeSocket> {
  const core = binding();
  const place = { address: host, port: remotePort };
  const handle = core.socketOpen(family);
  if (failed(handle)) throw failure(handle, 'socket', place);
  const fd = handle as number;
  if (backend === 'iocp') {
    // ConnectEx needs a bound socket.
    const bound = core.socketBind(fd, family === 6 ? '::' : '0.0.0.0', 0, -1);
    if (failed(bound)) {
      core.socketClose(fd);
      throw failure(bound, 'bind', place);
    }
  }
  associate(port, fd, place);
  try {
    await runOp(port, { kind: SocketOpKinds.connect, handle: fd, path: host, arg: remotePort }, 'connect', place, signal, undefined, () => false);
  } catch (error) {
    core.socketClose(fd);
    throw error;
  }
  return new NativeSocket(backend, port, fd);
}

/**
 * Starts the native forward op: what `from` receives goes to `to` (the op's
 * `arg`: its target handle) until `from` ends. `stats` (2 or 3 doubles) is
 * kept current by the workers: bytes received, bytes sent, and where it has
 * a third, the side that failed (0 recv, 1 send). Closes neither socket.
 * `done` gets the status, the bytes moved (on a failure, the raw platform
 * code) and the error of an op the port failed itself.
 */
export function startNativeForward(
  port: CompletionPort,
  from: number,
  to: number,
  buffer: Uint8Array,
  stats: Float64Array,
  done: (status: number, result: number, failure: Error | undefined) => void,
): number {
  const counters = new Uint8Array(stats.buffer, stats.byteOffset, stats.byteLength);
  return port.submitOp({ kind: SocketOpKinds.forward, handle: from, arg: to, buffers: [buffer, counters] }, (status, result, _more, failure) =>
    done(status, result, failure),
  );
}

