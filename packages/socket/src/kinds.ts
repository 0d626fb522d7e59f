/**
 * The native socket op kinds and the encodings they share with
 * packages/iocp/native/common/backend.h (`OpKind`, the accept address
 * record, socket options, shutdown sides). Every use in this package
 * imports them from here.
 */

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
  echo: 71,
} as const;

/** Bytes of an accept op's address record (backend.h kAcceptAddressBytes): local, then remote. */
export const ACCEPT_ADDRESS_BYTES = 128;
/** Bytes of one entry of that record. */
export const ACCEPT_ADDRESS_ENTRY_BYTES = 64;

/** Socket option numbers of the native core's socketSetOption (TCP_NODELAY). */
export const SOCKET_OPTION_NO_DELAY = 1;

/** The native core's shutdown side for the sending direction (SHUT_WR / SD_SEND). */
export const SHUTDOWN_SEND = 1;
