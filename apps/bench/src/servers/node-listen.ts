/**
 * What the Node-API servers of the bench share (net-echo, node-http-files,
 * also run by Bun): listen, say "listening <port>", and on SIGINT / SIGTERM
 * drop every connection, close and exit 0.
 */
import type { AddressInfo, Server, Socket } from 'node:net';

/**
 * Starts `server` on `host:port` and closes it on SIGINT / SIGTERM.
 *
 * @example
 * ```ts
 * listenUntilSignal(createServer((socket) => socket.pipe(socket)), 0, '127.0.0.1'); // prints "listening 40521"
 * ```
 */
export function listenUntilSignal(server: Server, port: number, host: string): void {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(port, host, () => {
    console.log(`listening ${(server.address() as AddressInfo).port}`);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const socket of sockets) socket.destroy();
      server.close(() => process.exit(0));
    });
  }
}
