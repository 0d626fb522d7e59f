/**
 * The socket driver of the native core: every wait (accept, connect, recv,
 * send, shutdown, close, forward) is an op on a completion port;
 * setup (socket, bind, listen, addresses, options) is a synchronous call.
 */
import { availableParallelism } from 'node:os';

import {
  AbortError,
  type CompletionPort,
  DISPOSITIONS,
  FileOpKinds,
  OPEN_BITS,
  SHARE_BITS,
  type NativeBackendName,
  type OpCallback,
  OpGroup,
  type OpErrorDetails,
  systemError,
} from '@overlapped/common';
import { CompletionPort as NativePort, loadNativeCore, type NativeBinding } from '@overlapped/iocp';

import type {
  AcceptedConnection,
  ListenerDriver,
  ListenRequest,
  SocketBackendDriver,
  SocketDriver,
  SocketNames,
} from './driver.js';
import {
  ACCEPT_ADDRESS_BYTES,
  ACCEPT_ADDRESS_ENTRY_BYTES,
  FORWARD_STATS_BYTES,
  SHUTDOWN_SEND,
  SOCKET_OPTION_LINGER_ZERO,
  SOCKET_OPTION_NO_DELAY,
  SocketOpKinds,
} from './kinds.js';
import { loopRecvDriver, type LoopRecvWatcher } from './loop-recv.js';
import { lendHandle, type SendFileRequest } from './send-file.js';
import type { SocketAddress } from './types.js';
import { type QueuedSend, SendQueue, socketClosed } from './util.js';

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

function failure(result: Failure, syscall: string, place: ErrorPlace = {}): Error {
  // net words listen and bind errors with the code's description.
  const wording = syscall === 'listen' || syscall === 'bind' ? 'net-described' : 'net';
  return systemError({ errno: result[0], syscall, ...place, rawCode: result[1] || undefined, wording });
}

// The error details of a connected socket's ops: one object each, shared.
const RECV: OpErrorDetails = { syscall: 'recv' };
const SEND: OpErrorDetails = { syscall: 'send' };
const SHUTDOWN: OpErrorDetails = { syscall: 'shutdown' };
const CLOSE: OpErrorDetails = { syscall: 'close' };
const SENDFILE: OpErrorDetails = { syscall: 'sendfile' };

// A path sendFile opens itself: read-only, sharing everything (as fs.open
// does on Windows), read front to back.
const SEND_FILE_OPEN_BITS =
  DISPOSITIONS['open-existing'] |
  OPEN_BITS.accessRead |
  ((SHARE_BITS.read | SHARE_BITS.write | SHARE_BITS.delete) << OPEN_BITS.shareShift) |
  OPEN_BITS.hintSequential;

// How often a sendFile with onProgress reads its progress while its op runs.
const PROGRESS_INTERVAL_MS = 100;

// The most sendFile's fast path reads (SocketTrySendFile, kTrySendFileBytes).
const TRY_SEND_FILE_BYTES = 64 * 1024;

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

/** What a socket dropped without close() leaves behind: its handle, and its receives' watcher on the loop. */
interface Leavings {
  handle: number;
  watcher: LoopRecvWatcher | undefined;
}

// A socket dropped without close() would leak its handle: close it when
// its op group is collected. No op can be in flight then: the port holds
// each op's group until the op completes.
const leaked = new FinalizationRegistry<Leavings>((leavings) => {
  leavings.watcher?.close();
  binding().socketClose(leavings.handle);
});

/** A native send: the fast path's bytes, and its op once it started. */
interface PendingSend extends QueuedSend {
  /** Bytes the fast path sent before the op: the op sends the rest. */
  sent: number;
  /** The op's token once it started; 0 while it waits. */
  token: number;
  /** A sendFile: its request, and its file's handle (undefined until a path is opened). */
  file?: { request: SendFileRequest; handle: number | undefined; opened: boolean };
}

/** One connected socket on the native core. */
export class NativeSocketDriver implements SocketDriver {
  readonly names: SocketNames;
  readonly #port: CompletionPort;
  readonly #handle: number;
  // The socket's ops: close cancels them, and they fail with
  // ERR_SOCKET_CLOSED once it was called.
  readonly #ops: OpGroup;
  readonly #onClose: (() => void) | undefined;
  readonly #trySend: boolean;
  // The native core, looked up once rather than on each send.
  readonly #core: NativeBinding;
  // Sends go one op at a time, in call order: the head is in flight, the
  // others wait. The send op's second buffer is one double where the
  // backend keeps the bytes it has sent (read when the op fails).
  readonly #sends = new SendQueue<PendingSend>();
  #progress: Float64Array | undefined;
  #progressBytes: Uint8Array | undefined;
  // Where recvs run: the loop's watcher of this socket (made at the first
  // recv), or null for the port's recv ops (iocp, no native loop driver).
  #watcher: LoopRecvWatcher | null | undefined;
  readonly #leavings: Leavings;

  /** Wraps a connected socket handle; names are those given, else read from the kernel. */
  constructor(backend: NativeBackendName, port: CompletionPort, handle: number, onClose?: () => void, names?: AcceptedNames) {
    this.#port = port;
    this.#handle = handle;
    this.#onClose = onClose;
    this.#trySend = backend !== 'iocp';
    if (backend === 'iocp') this.#watcher = null;
    this.#ops = new OpGroup(port, { closedError: socketClosed, wording: 'net' });
    this.#leavings = { handle, watcher: undefined };
    leaked.register(this.#ops, this.#leavings, this.#ops);
    const core = binding();
    this.#core = core;
    const local = names?.local ?? core.socketName(handle, false);
    const remote = names?.remote ?? core.socketName(handle, true);
    const [localAddress, localPort] = failed(local) ? ['', 0] : (local as [string, number]);
    const [remoteAddress, remotePort] = failed(remote) ? ['', 0] : (remote as [string, number]);
    this.names = { localAddress, localPort, remoteAddress, remotePort };
  }

  get closed(): boolean {
    return this.#ops.closed;
  }

  /** The port the socket's ops run on (a forward's two sockets must share one). */
  get port(): CompletionPort {
    return this.#port;
  }

  /**
   * Starts a forward op from this socket to `to` (see {@link forwardRequest}),
   * one of this socket's ops: close() cancels it. Returns the token.
   */
  forward(to: NativeSocketDriver, buffer: Uint8Array, stats: Float64Array, done: OpCallback): number {
    return this.#ops.submit(forwardRequest(this.#handle, to.#handle, buffer, stats), done);
  }

  /**
   * Hands the socket's handle to an event driver (no op may be in flight):
   * the driver owns the handle and calls {@link handedOverClosed} once it
   * closed it. Until then the event socket runs its sendFile ops here
   * (one at a time, with the driver's queue empty), each lent to the
   * driver (`EventConnection.lend`): a connection that closes under one
   * leaves the handle to {@link close}, which closes it after the op.
   */
  handOver(): number {
    leaked.unregister(this.#ops);
    // The event driver watches the socket on the same loop itself.
    this.#watcher?.close();
    this.#watcher = null;
    return this.#handle;
  }

  /** The event driver closed the handle it was handed: no more ops; the socket's `onClose` runs. */
  handedOverClosed(): void {
    this.#ops.close();
    this.#onClose?.();
  }

  recv(buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number> {
    const watcher = this.#watcher === undefined ? this.#watch() : this.#watcher;
    if (watcher !== null) return this.#ops.runLocal(watcher, buffer, RECV, signal);
    return this.#ops.run({ kind: SocketOpKinds.recv, handle: this.#handle, buffers: buffer }, RECV, signal);
  }

  // The socket's watcher on the JS thread's loop, where the native core has
  // the driver; null (recvs stay port ops) elsewhere.
  #watch(): LoopRecvWatcher | null {
    const watcher = (!this.#ops.closed && loopRecvDriver(binding())?.open(this.#handle)) || null;
    this.#watcher = watcher;
    this.#leavings.watcher = watcher ?? undefined;
    return watcher;
  }

  send(buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number> {
    let sent = 0;
    // Fast path (POSIX backends): with no send in flight, what fits in the
    // socket buffer goes out now, in one syscall and without a completion;
    // only the rest (or everything, on EAGAIN or an error, which the op
    // then reports) becomes a send op.
    if (this.#trySend && this.#sends.length === 0) {
      const result = this.#core.socketTrySend(this.#handle, buffer);
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
    if (send.file) {
      this.#startFile(send);
      return;
    }
    const rest = send.sent === 0 ? send.buffer : send.buffer.subarray(send.sent);
    try {
      send.token = this.#ops.submit(
        { kind: SocketOpKinds.send, handle: this.#handle, buffers: [rest, this.#progressBytes!] },
        (status, result, _more, failed) => {
          const bytes = send.sent + (status === 0 ? result : this.#progress![0]!);
          // `failed`: the port failed the op itself (its buffer was detached).
          const error = status === 0 ? undefined : (failed ?? this.#ops.error(status, result, SEND, send.signal));
          this.#settleSend(send, error, bytes);
        },
      );
    } catch (error) {
      // The port refused the op (it was closed): nothing more was sent.
      this.#settleSend(send, error as Error, send.sent);
    }
  };

  // Settles `send` (the head of the queue, or one that waits) and starts the
  // next one if the head left.
  #settleSend(send: PendingSend, error: Error | undefined, bytes: number): void {
    const next = this.#sends.settle(send, error, bytes) === 'head' ? this.#sends.head : undefined;
    if (next) this.#startSend(next);
  }

  sendFile(request: SendFileRequest, signal: AbortSignal | undefined): Promise<number> {
    const queue = (rest: SendFileRequest, handle: number | undefined, sent: number): Promise<number> =>
      this.#sends.add(
        (resolve, reject) => ({
          buffer: rest.head,
          sent,
          signal,
          resolve,
          reject,
          onAbort: undefined,
          token: 0,
          file: { request: rest, handle, opened: false },
        }),
        this.#abortSend,
        this.#startSend,
      );
    // The file's close() waits for the op; a path is opened when the
    // sendFile's turn comes, and closed when it settles.
    const file = request.file;
    if (typeof file === 'string') return queue(request, undefined, 0);
    return file[lendHandle]((handle) => {
      // Fast path (POSIX backends), as send's: with no send in flight, a
      // range of up to 64 KiB is read into native memory and sent with the
      // head in one non-blocking sendmsg on this thread; only what the
      // socket does not take (or everything, on EAGAIN or an error, which
      // the op then reports) becomes a sendfile op.
      if (this.#trySend && this.#sends.length === 0 && request.length <= TRY_SEND_FILE_BYTES) {
        const tried = binding().socketTrySendFile(this.#handle, handle as number, request.position, request.length, request.head);
        if (typeof tried !== 'number') {
          const [sent, read] = tried;
          // Everything read went out: the range, or the file up to its end.
          if (sent === request.head.byteLength + read) {
            if (sent > 0) request.onProgress?.(sent);
            return Promise.resolve(sent);
          }
          const fromHead = Math.min(sent, request.head.byteLength);
          const fromFile = sent - fromHead;
          const rest = {
            ...request,
            head: request.head.subarray(fromHead),
            position: request.position + fromFile,
            length: request.length - fromFile,
          };
          return queue(rest, handle as number, sent);
        }
      }
      return queue(request, handle as number, 0);
    });
  }

  // A sendFile's turn: its file opened first when it is a path.
  #startFile(send: PendingSend): void {
    const file = send.file!;
    if (file.handle !== undefined) {
      this.#submitFile(send);
      return;
    }
    const path = file.request.file as string;
    this.#port.runOp({ kind: FileOpKinds.open, arg: SEND_FILE_OPEN_BITS, path }, { syscall: 'open', path }).then(
      (handle) => {
        file.handle = handle;
        file.opened = true;
        // Aborted or closed while it opened: nothing is sent.
        if (this.#sends.head === send) this.#submitFile(send);
        else this.#closeOpened(send);
      },
      (error: Error) => this.#settleSend(send, error, 0),
    );
  }

  #submitFile(send: PendingSend): void {
    const { request, handle } = send.file!;
    const progress = this.#progress!;
    const onProgress = request.onProgress;
    let reported = 0;
    const report = (bytes: number): void => {
      if (bytes > reported) onProgress!((reported = bytes));
    };
    const before = send.sent;
    const timer = onProgress ? setInterval(() => report(before + progress[0]!), PROGRESS_INTERVAL_MS) : undefined;
    try {
      send.token = this.#ops.submit(
        {
          kind: SocketOpKinds.sendfile,
          handle: this.#handle,
          arg: handle!,
          offset: request.position,
          length: request.length,
          buffers: [request.head, this.#progressBytes!],
        },
        (status, result, _more, failed) => {
          if (timer) clearInterval(timer);
          const bytes = before + (status === 0 ? result : progress[0]!);
          if (onProgress) report(bytes);
          this.#closeOpened(send);
          const error = status === 0 ? undefined : (failed ?? this.#ops.error(status, result, SENDFILE, send.signal));
          this.#settleSend(send, error, bytes);
        },
      );
    } catch (error) {
      if (timer) clearInterval(timer);
      this.#closeOpened(send);
      this.#settleSend(send, error as Error, before);
    }
  }

  // Closes the handle a sendFile opened for its path (best effort).
  #closeOpened(send: PendingSend): void {
    const file = send.file!;
    if (!file.opened) return;
    file.opened = false;
    this.#port.runOp({ kind: FileOpKinds.close, handle: file.handle! }, CLOSE).catch(() => undefined);
  }

  readonly #abortSend = (send: PendingSend): void => {
    // An op in flight is cancelled and settles through its completion (with
    // what the kernel took); a send still waiting never started.
    if (send.token !== 0) this.#ops.cancel(send.token);
    else this.#settleSend(send, new AbortError(undefined, { cause: send.signal?.reason }), 0);
  };

  shutdown(): Promise<void> {
    return this.#ops.run({ kind: SocketOpKinds.shutdown, handle: this.#handle, arg: SHUTDOWN_SEND }, SHUTDOWN).then(() => undefined);
  }

  close(): Promise<void> {
    leaked.unregister(this.#ops);
    // Sends that wait behind the one in flight never start.
    for (const send of this.#sends.list().slice(1)) this.#settleSend(send, socketClosed(send.file ? 'sendfile' : 'send'), 0);
    // Ops in flight end first (a pending recv would otherwise keep the
    // socket alive in the kernel); the close is queued after their cancels.
    this.#ops.close();
    // The watcher stops with the recvs cancelled, before the handle closes.
    this.#watcher?.close();
    this.#watcher = null;
    const done = (): void => this.#onClose?.();
    return this.#port.runOp({ kind: SocketOpKinds.close, handle: this.#handle }, CLOSE).then(done, done);
  }

  setNoDelay(on: boolean): void {
    const result = binding().socketSetOption(this.#handle, SOCKET_OPTION_NO_DELAY, on ? 1 : 0);
    if (failed(result)) throw failure(result, 'setsockopt');
  }

  get idle(): boolean {
    return this.#ops.size === 0 && this.#sends.length === 0;
  }

  trySend(buffer: Uint8Array): number {
    if (!this.#trySend || this.#sends.length !== 0 || this.#ops.closed) return 0;
    return Math.max(0, binding().socketTrySend(this.#handle, buffer));
  }

  resetOnClose(): void {
    // After close() the handle's number may belong to another socket.
    if (this.#ops.closed) return;
    // A failure (the connection is gone already) leaves nothing to reset.
    binding().socketSetOption(this.#handle, SOCKET_OPTION_LINGER_ZERO, 1);
  }
}

/**
 * A listening socket on the native core. On io_uring with multishot accept
 * one op yields every connection (and is submitted again if the kernel ends
 * it); elsewhere `acceptDepth` accept ops are kept posted.
 */
class NativeListener implements ListenerDriver {
  readonly acceptMode: 'multishot' | 'posted';
  readonly address: SocketAddress;
  readonly #backend: NativeBackendName;
  readonly #port: CompletionPort;
  readonly #handle: number;
  readonly #accepted: (connection: AcceptedConnection<number>) => void;
  readonly #inFlight = new Set<number>();
  #acceptOps = 0;
  #closed = false;
  #accepting = 0;
  #acceptsDone: (() => void) | undefined;

  constructor(
    backend: NativeBackendName,
    port: CompletionPort,
    handle: number,
    address: SocketAddress,
    request: ListenRequest,
    accepted: (connection: AcceptedConnection<number>) => void,
  ) {
    this.#backend = backend;
    this.#port = port;
    this.#handle = handle;
    this.address = address;
    this.#accepted = accepted;
    const multishot = request.multishot && port.supportsMultishot(SocketOpKinds.accept);
    this.acceptMode = multishot ? 'multishot' : 'posted';
    for (let i = 0; i < (multishot ? 1 : request.acceptDepth); i++) this.#postAccept();
  }

  get acceptOps(): number {
    return this.#acceptOps;
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
            this.#accepted(this.#connection(accepted, record && acceptedNames(record)));
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

  #connection(handle: number, names: AcceptedNames | undefined): AcceptedConnection<number> {
    return {
      raw: handle,
      open: (onClose) => {
        associate(this.#port, handle, {});
        return new NativeSocketDriver(this.#backend, this.#port, handle, onClose, names);
      },
      refuse: () => binding().socketClose(handle),
    };
  }

  #checkDone(): void {
    if (this.#closed && this.#accepting === 0) this.#acceptsDone?.();
  }

  close(): Promise<void> {
    this.#closed = true;
    return new Promise<void>((resolve) => {
      this.#acceptsDone = resolve;
      for (const token of this.#inFlight) this.#port.cancelOp(token);
      this.#checkDone();
    }).then(() => {
      binding().socketClose(this.#handle);
    });
  }
}

/** The sockets of one native backend. */
export class NativeSocketBackend implements SocketBackendDriver {
  readonly backend: NativeBackendName;

  constructor(backend: NativeBackendName) {
    this.backend = backend;
  }

  async connect(host: string, family: 4 | 6, remotePort: number, signal: AbortSignal | undefined): Promise<SocketDriver> {
    const port = sharedPort(this.backend);
    const core = binding();
    const place = { address: host, port: remotePort };
    const handle = core.socketOpen(family);
    if (failed(handle)) throw failure(handle, 'socket', place);
    const fd = handle as number;
    if (this.backend === 'iocp') {
      // ConnectEx needs a bound socket.
      const bound = core.socketBind(fd, family === 6 ? '::' : '0.0.0.0', 0, -1);
      if (failed(bound)) {
        core.socketClose(fd);
        throw failure(bound, 'bind', place);
      }
    }
    associate(port, fd, place);
    try {
      await port.runOp({ kind: SocketOpKinds.connect, handle: fd, path: host, arg: remotePort }, { syscall: 'connect', ...place }, signal);
    } catch (error) {
      core.socketClose(fd);
      throw error;
    }
    return new NativeSocketDriver(this.backend, port, fd);
  }

  /**
   * Binds and listens, then keeps one multishot accept op (where the
   * backend has it and `multishot` is true) or `acceptDepth` accept ops
   * posted.
   */
  async listen(request: ListenRequest, accepted: (connection: AcceptedConnection<number>) => void): Promise<ListenerDriver> {
    const port = request.completionPort ?? sharedPort(this.backend);
    const core = binding();
    const place = { address: request.host, port: request.port };
    const handle = core.socketOpen(request.family);
    if (failed(handle)) throw failure(handle, 'socket', place);
    const fd = handle as number;
    const bound = core.socketBind(fd, request.host, request.port, request.backlog);
    if (failed(bound)) {
      core.socketClose(fd);
      throw failure(bound, 'listen', place);
    }
    const name = core.socketName(fd, false);
    if (failed(name)) {
      core.socketClose(fd);
      throw failure(name, 'getsockname', place);
    }
    associate(port, fd, place);
    const [address, boundPort] = name as [string, number];
    const family = request.family === 6 ? 'IPv6' : 'IPv4';
    return new NativeListener(this.backend, port, fd, { address, port: boundPort, family }, request, accepted);
  }
}

/**
 * The native forward op: what `from` receives goes to `to` (the op's `arg`)
 * until `from` ends. `stats` (2 or 3 doubles, FORWARD_STATS_BYTES) is kept
 * current by the workers: bytes received, bytes sent, and where it has a
 * third, the side that failed (FORWARD_FAILED_SIDE). Closes neither socket.
 */
function forwardRequest(from: number, to: number, buffer: Uint8Array, stats: Float64Array) {
  const counters = new Uint8Array(stats.buffer, stats.byteOffset, Math.min(stats.byteLength, FORWARD_STATS_BYTES));
  return { kind: SocketOpKinds.forward, handle: from, arg: to, buffers: [buffer, counters] };
}

/** Starts a forward op between two raw handles of `port` (the echo server's: a socket to itself). Returns the token. */
export function startNativeForward(
  port: CompletionPort,
  from: number,
  to: number,
  buffer: Uint8Array,
  stats: Float64Array,
  done: (status: number) => void,
): number {
  return port.submitOp(forwardRequest(from, to, buffer, stats), (status) => done(status));
}
