/**
 * A Node Duplex over any {@link Socket}: reads are recv ops (one in flight),
 * writes are send ops, `end()` shuts down our side, `destroy()` closes.
 */
import { Duplex } from 'node:stream';

import type { Socket } from './types.js';

const READ_SIZE = 64 * 1024;

/**
 * Wraps `socket` in a Duplex.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * const stream = socketToStream(await connect({ port }));
 * await pipeline(process.stdin, stream, process.stdout);
 * ```
 */
export function socketToStream(socket: Socket): Duplex {
  return new Duplex({
    allowHalfOpen: true,
    read() {
      // A fresh buffer per read: the one pushed belongs to the consumer.
      const buffer = Buffer.allocUnsafe(READ_SIZE);
      socket.recv(buffer).then(
        (bytes) => this.push(bytes === 0 ? null : buffer.subarray(0, bytes)),
        (error: unknown) => this.destroy(error as Error),
      );
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.send(chunk).then(
        () => callback(),
        (error: unknown) => callback(error as Error),
      );
    },
    final(callback) {
      socket.shutdown().then(
        () => callback(),
        (error: unknown) => callback(error as Error),
      );
    },
    destroy(error, callback) {
      socket.close().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}
