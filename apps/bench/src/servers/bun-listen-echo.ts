#!/usr/bin/env bun
/**
 * The `Bun.listen` echo server the echo scenarios compare against: what a
 * Bun user writes for speed, the echo in a JS `data` callback. Run by Bun,
 * not Node.
 *
 * `socket.write` returns how many bytes went out; whatever it could not
 * take is kept (a copy: the received view is Bun's to reuse) and written
 * from the `drain` callback, in order, and the socket stops reading until
 * the queue is empty: a correct echo, with the memory per connection
 * bounded. On the peer's end of stream, the rest of the queue goes out,
 * then the socket ends. Prints "listening <port>" once bound; SIGINT /
 * SIGTERM close it with exit 0.
 *
 *   bun bun-listen-echo.js [port] [host]
 */

export {};

// The part of Bun's API used here (Bun's own types are not installed).
interface EchoState {
  /** Bytes written by `socket.write` short of what it was given, in order. */
  queue: Uint8Array[];
  /** The peer ended its side: end ours once the queue is out. */
  ended: boolean;
}

interface BunSocket {
  data: EchoState;
  write(data: Uint8Array): number;
  end(): void;
  pause(): void;
  resume(): void;
  terminate(): void;
  setNoDelay(noDelay?: boolean): boolean;
}

interface BunListener {
  port: number;
  stop(closeActiveConnections?: boolean): void;
}

declare const Bun: {
  listen(options: {
    hostname: string;
    port: number;
    socket: {
      open(socket: BunSocket): void;
      data(socket: BunSocket, data: Uint8Array): void;
      drain(socket: BunSocket): void;
      end(socket: BunSocket): void;
      close(socket: BunSocket): void;
      error(socket: BunSocket, error: Error): void;
    };
  }): BunListener;
};

const port = Number(process.argv[2] ?? 0);
const hostname = process.argv[3] ?? '127.0.0.1';
const sockets = new Set<BunSocket>();

// A copy of `view` from `start`: Bun's `data` is a Buffer, whose slice()
// would be a view, not a copy.
function copyFrom(view: Uint8Array, start: number): Uint8Array {
  const copy = new Uint8Array(view.length - start);
  copy.set(view.subarray(start));
  return copy;
}

// Writes the queue's chunks in order until the socket takes less than a
// whole chunk; returns true when the queue is empty.
function flush(socket: BunSocket): boolean {
  const queue = socket.data.queue;
  while (queue.length > 0) {
    const chunk = queue[0] as Uint8Array;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      if (written > 0) queue[0] = chunk.subarray(written);
      return false;
    }
    queue.shift();
  }
  return true;
}

const listener = Bun.listen({
  hostname,
  port,
  socket: {
    open(socket) {
      socket.setNoDelay(true);
      socket.data = { queue: [], ended: false };
      sockets.add(socket);
    },
    data(socket, data) {
      const state = socket.data;
      if (state.queue.length > 0) {
        state.queue.push(copyFrom(data, 0));
        return;
      }
      const written = socket.write(data);
      if (written < data.length) {
        state.queue.push(copyFrom(data, Math.max(written, 0)));
        socket.pause();
      }
    },
    drain(socket) {
      if (!flush(socket)) return;
      if (socket.data.ended) socket.end();
      else socket.resume();
    },
    end(socket) {
      socket.data.ended = true;
      if (socket.data.queue.length === 0) socket.end();
    },
    close(socket) {
      sockets.delete(socket);
    },
    // A reset from the peer is the end of that connection, not of the server.
    error(socket) {
      socket.terminate();
    },
  },
});
console.log(`listening ${listener.port}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const socket of sockets) socket.terminate();
    listener.stop(true);
    process.exit(0);
  });
}
