#!/usr/bin/env node
/**
 * file-server: a static HTTP/1.1 file server on the command line.
 *
 *   file-server --root DIR [--port 8080] [--host 127.0.0.1] [--backend auto] [...]
 *
 * Prints "listening http://<host>:<port>/ ..." once bound (port 0 picks a
 * free one). On SIGINT / SIGTERM it stops accepting, lets responses in
 * flight finish (up to --shutdown-timeout), prints the final counters with
 * --log, and exits 0. Exit 2: bad arguments (one line says why); 1: the
 * server could not start (EADDRINUSE, a missing root...) or close.
 */
import { parseArgs } from 'node:util';

import type { FileServerCounters } from './server.js';
import { createFileServer, type FileServerOptions, resolveFileServerOptions } from './index.js';

const usage = `usage: file-server --root DIR [options]

  --root DIR               folder to serve (required)
  --host ADDR              address to listen on (127.0.0.1)
  --port N                 port; 0 picks a free one (8080)
  --backend NAME           auto, iocp, io_uring, threadpool or portable (auto)
  --threads N              worker threads of the native backends; 0 = default (0)
  --max-connections N      connections past this are closed at once (1000)
  --header-timeout MS      a request head must arrive within this (10000)
  --idle-timeout MS        close connections idle or stalled this long; 0 = never (60000)
  --shutdown-timeout MS    on SIGINT/SIGTERM, let responses finish this long (5000)
  --max-request-line B     longest request line; past it 414 (8192)
  --max-header-size B      largest header section; past it 431 (16384)
  --max-headers N          most header fields; past it 431 (100)
  --follow-symlinks        serve files that links lead to outside the root
  --cache-files N          files kept open between requests; 0 = none (1000)
  --cache-valid MS         serve a cached file this long before checking it again (1000)
  --log                    a line per response, and the counters at exit
  -h, --help               this text`;

function integer(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new Error(`--${name} must be a whole number, got '${text}'`);
  return Number(text);
}

/**
 * The counters on one line: `requests=3 bytesOut=12288 2xx=3 ...`.
 *
 * @example
 * ```ts
 * formatCounters(server.counters()); // 'accepted=1 open=0 refused=0 requests=3 ...'
 * ```
 */
function formatCounters(c: FileServerCounters): string {
  return Object.entries(c)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
}

function parse(argv: string[]): { options: FileServerOptions; log: boolean } | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      root: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      'max-connections': { type: 'string' },
      'header-timeout': { type: 'string' },
      'idle-timeout': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      'max-request-line': { type: 'string' },
      'max-header-size': { type: 'string' },
      'max-headers': { type: 'string' },
      'follow-symlinks': { type: 'boolean' },
      'cache-files': { type: 'string' },
      'cache-valid': { type: 'string' },
      log: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  if (values.root === undefined) throw new Error('--root DIR is required');
  const options: FileServerOptions = {
    root: values.root,
    ...(values.host !== undefined && { host: values.host }),
    ...(values.port !== undefined && { port: integer(values.port, 'port') }),
    ...(values.backend !== undefined && { backend: values.backend as FileServerOptions['backend'] }),
    ...(values.threads !== undefined && { threads: integer(values.threads, 'threads') }),
    ...(values['max-connections'] !== undefined && { maxConnections: integer(values['max-connections'], 'max-connections') }),
    ...(values['header-timeout'] !== undefined && { headerTimeout: integer(values['header-timeout'], 'header-timeout') }),
    ...(values['idle-timeout'] !== undefined && { idleTimeout: integer(values['idle-timeout'], 'idle-timeout') }),
    ...(values['shutdown-timeout'] !== undefined && { shutdownTimeout: integer(values['shutdown-timeout'], 'shutdown-timeout') }),
    ...(values['max-request-line'] !== undefined && { maxRequestLine: integer(values['max-request-line'], 'max-request-line') }),
    ...(values['max-header-size'] !== undefined && { maxHeaderBytes: integer(values['max-header-size'], 'max-header-size') }),
    ...(values['max-headers'] !== undefined && { maxHeaders: integer(values['max-headers'], 'max-headers') }),
    ...(values['follow-symlinks'] !== undefined && { followSymlinks: values['follow-symlinks'] }),
    ...(values['cache-files'] !== undefined && { cacheFiles: integer(values['cache-files'], 'cache-files') }),
    ...(values['cache-valid'] !== undefined && { cacheValid: integer(values['cache-valid'], 'cache-valid') }),
  };
  resolveFileServerOptions(options);
  return { options, log: values.log ?? false };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (error) {
    // One line: the first of the message (option errors quote the value).
    console.error(`file-server: ${String((error as Error).message).split('\n')[0]} (--help for usage)`);
    return 2;
  }
  if (parsed === 'help') {
    console.log(usage);
    return 0;
  }
  const { options, log } = parsed;
  if (log) {
    options.onResponse = (entry) => console.log(`${entry.remoteAddress} "${entry.method} ${entry.target}" ${entry.status} ${entry.bytes}`);
  }
  const server = await createFileServer(options);
  const { address, port } = server.address();
  const shown = address.includes(':') ? `[${address}]` : address;
  console.log(`listening http://${shown}:${port}/ root=${server.root} backend=${server.backend}`);
  if ((options.threads ?? 0) > 0) {
    console.error('file-server: --threads: the socket API has no per-server thread count yet; its shared port serves');
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // Bounded: a close that hangs must not keep the process alive forever.
  const bound = (options.shutdownTimeout ?? 5000) + 5000;
  setTimeout(() => {
    console.error(`file-server: close did not finish within ${bound} ms`);
    process.exit(1);
  }, bound).unref();
  // A second signal while closing is ignored: the bound above holds.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  const final = await server.close();
  if (log) console.log(`${signal}: closed; counters ${formatCounters(final)}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`file-server: ${(error as Error).message ?? String(error)}`);
    process.exit(1);
  },
);
