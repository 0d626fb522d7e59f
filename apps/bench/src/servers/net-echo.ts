#!/usr/bin/env node
/**
 * The Node `net` echo server the echo scenarios compare against: what a Node
 * user writes, `socket.on('data', d => socket.write(d))`, with Nagle off like
 * every other contender. Prints "listening <port>" once bound; SIGINT /
 * SIGTERM close it with exit 0.
 *
 *   node net-echo.js [port] [host]
 */
import { createServer } from 'node:net';

import { listenUntilSignal } from './node-listen.js';

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? '127.0.0.1';
const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', (d) => socket.write(d));
  // A reset from the peer is the end of that connection, not of the server.
  socket.on('error', () => socket.destroy());
});
listenUntilSignal(server, port, host);
