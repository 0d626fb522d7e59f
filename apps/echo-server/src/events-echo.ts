/**
 * The echo server of `--mode events`, written on the event API of
 * @overlapped/socket: the example to copy for a server whose per-message
 * code is JavaScript. The backend keeps receiving for each socket and calls
 * `data` with a view of the bytes; `write` sends them back at once where
 * the kernel takes them and copies the rest. A client that does not read
 * pauses its own socket (write() said false) until its queue drains.
 */
import { type EchoCounters, listen } from '@overlapped/socket';

import type { EchoServerLike, EchoServerOptions } from './index.js';

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Starts the event API echo server: `bufferSize` is each connection's
 * receive buffer and the queue at which it stops reading.
 *
 * @example
 * ```ts
 * const server = await createEventEchoServer({ port: 7000 });
 * setInterval(() => console.log(server.counters()), 1000).unref();
 * ```
 */
export async function createEventEchoServer(options: EchoServerOptions): Promise<EchoServerLike> {
  const counters: EchoCounters = { accepted: 0, active: 0, bytesIn: 0, bytesOut: 0, resets: 0, errors: 0, refused: 0, timeouts: 0 };
  const idleTimeout = options.idleTimeout ?? 0;
  const server = await listen({
    host: options.host,
    port: options.port,
    backend: options.backend,
    maxConnections: options.maxConnections,
    readBufferSize: options.bufferSize,
    highWaterMark: options.bufferSize,
    handlers: {
      open(socket) {
        counters.accepted++;
        counters.active++;
        if (idleTimeout > 0) socket.setTimeout(idleTimeout);
      },
      data(socket, bytes) {
        // `bytes` is valid during this call only: write() copies what it keeps.
        counters.bytesIn += bytes.byteLength;
        counters.bytesOut += bytes.byteLength;
        if (!socket.write(bytes)) socket.pause();
      },
      drain(socket) {
        socket.resume();
      },
      end(socket) {
        // The client is done sending: finish our side once the echo is out.
        socket.end();
      },
      timeout(socket) {
        counters.timeouts++;
        socket.close();
      },
      error(_socket, error) {
        if (RESET_CODES.has((error as { code?: string }).code ?? '')) counters.resets++;
        else counters.errors++;
      },
      close() {
        counters.active--;
      },
    },
  });
  return {
    backend: server.backend,
    address: () => server.address(),
    counters: () => ({ ...counters, refused: server.refused }),
    close: () => server.close({ force: true }),
  };
}
