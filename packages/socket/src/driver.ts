/**
 * What a Socket and a Server need from a backend. The native drivers run
 * every wait as an op on a completion port; the portable driver runs on
 * node:net. Arguments reach a driver validated, and a socket's driver is
 * only called while the socket is open.
 */
import type { BackendName, CompletionPort } from '@overlapped/common';

import type { SendFileRequest } from './send-file.js';
import type { SocketAddress } from './types.js';

/** The local and remote names of a connected socket. */
export interface SocketNames {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** One connected socket on a backend. */
export interface SocketDriver {
  readonly names: SocketNames;
  /** True once close() was called (a connection that ended is not closed until then). */
  readonly closed: boolean;
  /** Receives once into a non-empty `buffer`. */
  recv(buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number>;
  /** Sends all of a non-empty `buffer`; a rejection carries `bytesWritten`. */
  send(buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number>;
  /** Sends a file (after the head), in the send order; a rejection carries `bytesWritten`. */
  sendFile(request: SendFileRequest, signal: AbortSignal | undefined): Promise<number>;
  /** Shuts down the sending side (called once). */
  shutdown(): Promise<void>;
  /** Ends the ops in flight (ERR_SOCKET_CLOSED) and closes (called once); then runs the socket's `onClose`. */
  close(): Promise<void>;
  setNoDelay(on: boolean): void;
  /** True while no recv or send is in flight (the socket can be handed to an event driver). */
  readonly idle: boolean;
  /**
   * Sends what the kernel takes now, on this thread, when no send is in
   * flight; returns the bytes it took (0 on EAGAIN, on an error, which the
   * next send reports, or where the backend has no such path). Absent where
   * the backend never sends without an op.
   */
  trySend?(buffer: Uint8Array): number;
  /** Makes the coming close() a reset (SO_LINGER 0: RST, unsent bytes dropped). */
  resetOnClose(): void;
}

/**
 * A connection a listener accepted, before it becomes a socket: the server
 * admits it (maxConnections) and then opens it, or refuses it. `raw` is the
 * backend's own handle (a socket handle number, or a net.Socket), for the
 * echo server's loops.
 */
export interface AcceptedConnection<R = unknown> {
  readonly raw: R;
  /** Makes the socket's driver; `onClose` runs once when it closes. */
  open(onClose: () => void): SocketDriver;
  /** Closes the connection at once. */
  refuse(): void;
}

/** A listening socket on a backend. */
export interface ListenerDriver {
  readonly address: SocketAddress;
  /** See {@link Server.acceptMode}. */
  readonly acceptMode: 'multishot' | 'posted' | 'node';
  /** Accept ops submitted so far (0 on the portable backend). */
  readonly acceptOps: number;
  /** Stops accepting and closes the listening socket (called once). */
  close(): Promise<void>;
}

/** A validated listen request. */
export interface ListenRequest {
  host: string;
  family: 4 | 6;
  port: number;
  backlog: number;
  acceptDepth: number;
  multishot: boolean;
  /** The completion port of a native listener and its sockets; default the backend's shared one. */
  completionPort?: CompletionPort;
}

/** A backend's sockets: connect and listen. */
export interface SocketBackendDriver {
  readonly backend: BackendName;
  connect(host: string, family: 4 | 6, port: number, signal: AbortSignal | undefined): Promise<SocketDriver>;
  /** Listens; each accepted connection goes to `accepted`, in order. */
  listen(request: ListenRequest, accepted: (connection: AcceptedConnection) => void): Promise<ListenerDriver>;
}
