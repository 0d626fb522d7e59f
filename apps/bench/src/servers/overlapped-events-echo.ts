#!/usr/bin/env node
/**
 * The echo written on the sockets' native event driver (the driver under
 * the event API of io_uring and threadpool sockets): `data` -> `write`, on
 * the JS thread, with the driver's own backpressure (a connection whose
 * queue passes 1 MiB stops reading until it drained). Nagle off like every
 * other contender. Prints "listening <port>"; SIGINT / SIGTERM close it with
 * exit 0.
 *
 *   node overlapped-events-echo.js <backend> [port] [host]
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Connection {
  write(bytes: Uint8Array): number;
  pause(): void;
  resume(): void;
  setNoDelay(on: boolean): void;
  close(): void;
  reset(): void;
}

const backend = process.argv[2] ?? 'io_uring';
const port = Number(process.argv[3] ?? 0);
const host = process.argv[4] ?? '127.0.0.1';
const HIGH_WATER = 1 << 20;

// @overlapped/socket as echo-server resolves it (the bench does not depend on it).
const socketEntry = createRequire(new URL('../../../echo-server/package.json', import.meta.url)).resolve('@overlapped/socket');
const dist = dirname(socketEntry);
const { eventDriverFor, socketDriverFor } = (await import(pathToFileURL(join(dist, 'backends.js')).href)) as {
  eventDriverFor(backend: string): { open(socket: unknown, sink: object): Connection } | undefined;
  socketDriverFor(backend: string): {
    listen(request: object, accepted: (connection: { open(onClose: () => void): unknown }) => void): Promise<{ address: { port: number }; close(): Promise<void> }>;
  };
};
const driver = eventDriverFor(backend);
if (!driver) {
  console.error(`no native event driver for ${backend}`);
  process.exit(2);
}
const open = new Set<Connection>();
const listener = await socketDriverFor(backend).listen(
  { host, family: 4, port, backlog: 511, acceptDepth: 8, multishot: true },
  (accepted) => {
    const connection: Connection = driver.open(accepted.open(() => {}), {
      data: (view: Uint8Array) => {
        if (connection.write(view) >= HIGH_WATER) connection.pause();
      },
      writable: () => connection.resume(),
      end: () => connection.close(),
      closed: () => open.delete(connection),
    });
    connection.setNoDelay(true);
    open.add(connection);
  },
);
console.log(`listening ${listener.address.port}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const connection of open) connection.reset();
    void listener.close().then(() => process.exit(0));
  });
}
