#!/usr/bin/env bun
/**
 * The `Bun.serve` + `Bun.file` static file server the file-server scenario
 * compares against: what Bun's documentation shows a Bun user, a `fetch`
 * handler that answers `new Response(Bun.file(path))` (Bun sends the file
 * with sendfile where it can) and an `error` handler that turns a missing
 * file into 404. A path that leaves the root is refused with 403. Run by
 * Bun, not Node. SIGINT / SIGTERM close it with exit 0.
 *
 *   bun bun-serve-files.js <root> <port> [host]
 */
import { resolve, sep } from 'node:path';

// The part of Bun's API used here (Bun's own types are not installed).
declare const Bun: {
  file(path: string): Blob;
  serve(options: {
    hostname: string;
    port: number;
    fetch(request: Request): Response;
    error(error: Error): Response;
  }): { port: number; stop(closeActiveConnections?: boolean): void };
};

const root = resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 0);
const hostname = process.argv[4] ?? '127.0.0.1';

const server = Bun.serve({
  hostname,
  port,
  fetch(request) {
    const path = resolve(root, `.${decodeURIComponent(new URL(request.url).pathname)}`);
    if (!path.startsWith(root + sep)) return new Response(null, { status: 403 });
    return new Response(Bun.file(path));
  },
  error() {
    return new Response(null, { status: 404 });
  },
});
console.log(`listening ${server.port}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.stop(true);
    process.exit(0);
  });
}
