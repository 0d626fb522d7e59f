#!/usr/bin/env node
/**
 * The node:http static file server the file-server scenario compares
 * against: what a Node user writes without a framework, `fs.stat` for the
 * length, then `fs.createReadStream(path)` piped into the response. A
 * missing file is 404, a path that leaves the root 403. SIGINT / SIGTERM
 * close it with exit 0.
 *
 *   node node-http-files.js <root> <port> [host]
 */
import { createReadStream, stat } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { resolve, sep } from 'node:path';
import { pipeline } from 'node:stream';

import { listenUntilSignal } from './node-listen.js';

const root = resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 0);
const host = process.argv[4] ?? '127.0.0.1';

function fail(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'content-length': 0 }).end();
}

const server = createServer((request, response) => {
  let path: string;
  try {
    path = resolve(root, `.${decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)}`);
  } catch {
    return fail(response, 400);
  }
  if (!path.startsWith(root + sep)) return fail(response, 403);
  stat(path, (error, stats) => {
    if (error || !stats.isFile()) return fail(response, 404);
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': stats.size });
    if (request.method === 'HEAD') return response.end();
    // A client gone mid-file ends the stream; nothing more to do.
    pipeline(createReadStream(path), response, () => {});
  });
});
listenUntilSignal(server, port, host);
