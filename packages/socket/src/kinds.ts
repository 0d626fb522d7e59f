/**
 * The native socket op kinds and the encodings they share with the native
 * core (the accept address record, socket options, shutdown sides, a
 * forward's stats), as the
 * op table defines them (@overlapped/common's generated constants). Every
 * use in this package imports them from here.
 */
import {
  ACCEPT_ADDRESS_BYTES,
  ACCEPT_ADDRESS_ENTRY_BYTES,
  FORWARD_FAILED_SIDE,
  FORWARD_STATS_BYTES,
  SHUTDOWN_HOW,
  SOCKET_OPTIONS,
  SocketOpKinds,
} from '@overlapped/common';

/**
 * The socket op kinds of the op table (64-127), for code that drives the
 * port's ops itself.
 *
 * @example
 * ```ts
 * import { SocketOpKinds } from '@overlapped/socket';
 * port.submitOp({ kind: SocketOpKinds.recv, handle: fd, buffers: buffer }, (status, bytes) => {});
 * ```
 */
export { SocketOpKinds };

/** Bytes of an accept op's address record: local, then remote; and of one entry of it. */
export { ACCEPT_ADDRESS_BYTES, ACCEPT_ADDRESS_ENTRY_BYTES };

/** The socket option number of TCP_NODELAY in the native core's socketSetOption. */
export const SOCKET_OPTION_NO_DELAY = SOCKET_OPTIONS.noDelay;

/** The socket option number of SO_LINGER with a zero timeout (close resets) in the native core's socketSetOption. */
export const SOCKET_OPTION_LINGER_ZERO = SOCKET_OPTIONS.lingerZero;

/** The native core's shutdown side for the sending direction (SHUT_WR / SD_SEND). */
export const SHUTDOWN_SEND = SHUTDOWN_HOW.write;

/** Bytes of a forward op's stats (bytes received, bytes sent, the side that failed), and that side's values. */
export { FORWARD_FAILED_SIDE, FORWARD_STATS_BYTES };
