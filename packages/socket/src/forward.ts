/**
 * forward(from, to): what `from` receives is sent on `to` until `from`
 * ends, then `to` is shut down. On the native backends it is one op (the
 * native core's forward kind) that the worker threads or the kernel run
 * step after step, with no JS per message; on the portable backend it is
 * a recv/send loop over node:net.
 */
import {
  AbortError,
  codedError,
  errnoName,
  invalidArgType,
  invalidArgValue,
  systemError,
  validateInteger,
} from '@overlapped/common';

import { FORWARD_FAILED_SIDE, FORWARD_STATS_BYTES } from './kinds.js';
import { NativeSocketDriver } from './native.js';
import { type SocketInternals, socketInternals } from './socket.js';
import type { OpOptions, Socket } from './types.js';
import { abortedBeforeStart, checkOpOptions, socketClosed, withBytesWritten } from './util.js';

/** Options of {@link forward}. */
export interface ForwardOptions extends OpOptions {
  /** Bytes of the forward's one buffer, its whole memory for data; default 64 KiB. */
  bufferSize?: number;
}

const DEFAULT_BUFFER_SIZE = 64 * 1024;
const MAX_BUFFER_SIZE = 2 ** 30;

// The sockets a forward reads from, and those it writes to, now.
const reading = new WeakSet<Socket>();
const writing = new WeakSet<Socket>();

function checkSocket(value: unknown, name: string): [Socket, SocketInternals] {
  const internals = socketInternals(value);
  if (internals) return [value as Socket, internals];
  throw invalidArgType(name, 'a Socket of @overlapped/socket (from connect or listen)', value);
}

/**
 * Moves every byte `from` receives to `to`, in order, until `from` reads
 * the end (its peer shut down); then shuts down `to`'s sending side and
 * resolves with the bytes moved. On the native backends the whole loop
 * is one op on the worker threads (io_uring, the reactor, IOCP): no JS
 * runs per message, and its memory is one `bufferSize` buffer. A `to`
 * that does not read stalls this forward only: it stops receiving from
 * `from` until `to` drains.
 *
 * An echo is `forward(socket, socket)`; a TCP proxy is `forward(a, b)`
 * with `forward(b, a)`. While a forward runs, leave `from`'s receives and
 * `to`'s sends to it (theirs would interleave with its bytes); a second
 * forward from the same `from`, or to the same `to`, rejects with
 * `ERR_INVALID_STATE`. Neither socket is closed by it.
 *
 * @throws `ERR_INVALID_ARG_TYPE` when `from` or `to` is not a socket of this package; `ERR_INVALID_ARG_VALUE`
 *   when they are served by two backends (or ports); `ERR_OUT_OF_RANGE` for a bad `bufferSize`
 * @returns the bytes moved. It rejects with the error of either side (`recv ECONNRESET` from `from`, `send EPIPE`
 *   to `to`, system errors shaped as Node's), with `ERR_SOCKET_CLOSED` when either socket is closed while it runs,
 *   or with an `AbortError` when `signal` aborts; every such error carries `bytesWritten`, the bytes moved.
 *
 * @example
 * ```ts
 * import { connect, forward, listen } from '@overlapped/socket';
 *
 * // A TCP proxy: every client is joined to the upstream, both ways.
 * const proxy = await listen({
 *   port: 8080,
 *   onConnection: async (client) => {
 *     const upstream = await connect({ host: '127.0.0.1', port: 9000 });
 *     const closeBoth = () => Promise.all([client.close(), upstream.close()]);
 *     const both = [forward(client, upstream), forward(upstream, client)];
 *     for (const direction of both) direction.catch(closeBoth); // a reset on one side ends both
 *     await Promise.allSettled(both);
 *     await closeBoth();
 *   },
 * });
 * ```
 */
export function forward(from: Socket, to: Socket, options?: ForwardOptions): Promise<number> {
  const [source, sourceParts] = checkSocket(from, 'from');
  const [target, targetParts] = checkSocket(to, 'to');
  const signal = checkOpOptions(options);
  const bufferSize = options?.bufferSize ?? DEFAULT_BUFFER_SIZE;
  validateInteger(bufferSize, 'options.bufferSize', 1, MAX_BUFFER_SIZE);
  const native = sourceParts.driver instanceof NativeSocketDriver ? sourceParts.driver : undefined;
  const nativeTarget = targetParts.driver instanceof NativeSocketDriver ? targetParts.driver : undefined;
  if (source.backend !== target.backend || native?.port !== nativeTarget?.port) {
    throw invalidArgValue('to', `${target.backend} socket`, `must be served by the same backend and port as "from" (${source.backend})`);
  }
  if (source.closed || target.closed) return Promise.reject(withBytesWritten(socketClosed('forward'), 0));
  if (signal?.aborted) return Promise.reject(abortedBeforeStart(signal));
  if (reading.has(source) || writing.has(target)) {
    const which = reading.has(source) ? '"from" is read by another forward' : '"to" is written by another forward';
    return Promise.reject(withBytesWritten(codedError('ERR_INVALID_STATE', `Invalid state: ${which}`), 0));
  }
  reading.add(source);
  writing.add(target);
  const buffer = Buffer.allocUnsafe(bufferSize);
  const ends = { from: source, to: target, fromCancels: sourceParts.closeCancels, toCancels: targetParts.closeCancels };
  const running = native && nativeTarget ? nativeForward(native, nativeTarget, ends, buffer, signal) : loopForward(ends, buffer, signal);
  return running.finally(() => {
    reading.delete(source);
    writing.delete(target);
  });
}

/** A forward's two sockets, and the cancels each one's close() runs first. */
interface ForwardEnds {
  from: Socket;
  to: Socket;
  fromCancels: Set<() => void>;
  toCancels: Set<() => void>;
}

/** The native forward op: one op of `from`'s (its close cancels it), cancelled too by `to`'s close. */
function nativeForward(
  from: NativeSocketDriver,
  to: NativeSocketDriver,
  ends: ForwardEnds,
  buffer: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<number> {
  // Bytes received, bytes sent, the side that failed: kept by the workers.
  const stats = new Float64Array(FORWARD_STATS_BYTES / 8);
  return new Promise<number>((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    const cancel = () => from.port.cancelOp(token);
    // The callback holds both sockets, so neither is collected (and
    // closed) while the forward runs.
    let token = 0;
    try {
      token = from.forward(to, buffer, stats, (status, result, _more, failure) => {
        ends.toCancels.delete(cancel);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        if (status === 0 && failure === undefined) {
          resolve(result);
          return;
        }
        let error: Error;
        if (failure !== undefined) {
          error = failure;
        } else if (ends.from.closed || ends.to.closed) {
          error = socketClosed('forward');
        } else if (errnoName(status) === 'ECANCELED') {
          error = new AbortError(undefined, { cause: signal?.aborted ? signal.reason : 'forward' });
        } else {
          const syscall = stats[2] === FORWARD_FAILED_SIDE.send ? 'send' : 'recv';
          error = systemError({ errno: status, syscall, rawCode: result || undefined, wording: 'net' });
        }
        reject(withBytesWritten(error, stats[1]!));
      });
    } catch (error) {
      // The port refused the op (it was closed).
      reject(withBytesWritten(error as Error, 0));
      return;
    }
    ends.toCancels.add(cancel);
    if (signal) {
      onAbort = cancel;
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/**
 * The portable forward: recv and send on the public API, one buffer. An
 * abort, or the close of either socket, ends the receive or send it waits
 * in.
 */
async function loopForward(ends: ForwardEnds, buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number> {
  const { from, to } = ends;
  const stop = new AbortController();
  const end = () => stop.abort();
  signal?.addEventListener('abort', end, { once: true });
  ends.fromCancels.add(end);
  ends.toCancels.add(end);
  const step = { signal: stop.signal };
  let moved = 0;
  try {
    for (;;) {
      const received = await from.recv(buffer, step);
      if (received === 0) break;
      await to.send(buffer.subarray(0, received), step);
      moved += received;
    }
    // Best effort, as on the native backends: a `to` gone since changes
    // nothing of what was moved.
    await to.shutdown().catch(() => undefined);
    return moved;
  } catch (error) {
    const e = error as Error & { bytesWritten?: number };
    moved += e.bytesWritten ?? 0;
    let failure: Error = e;
    if (from.closed || to.closed) failure = socketClosed('forward');
    else if (e.name === 'AbortError') failure = new AbortError(undefined, { cause: signal?.aborted ? signal.reason : 'forward' });
    throw withBytesWritten(failure, moved);
  } finally {
    signal?.removeEventListener('abort', end);
    ends.fromCancels.delete(end);
    ends.toCancels.delete(end);
  }
}
