#!/usr/bin/env node
/**
 * echo-server: an @overlapped/socket echo server on the command line.
 *
 *   echo-server [--host 127.0.0.1] [--port 7000] [--mode native|js|events] [--backend auto]
 *               [--threads N] [--buffer-size B] [--max-connections N] [--idle-timeout MS]
 *               [--stats-interval S]
 *
 * Prints "listening <host>:<port> ..." once bound (port 0 picks a free one),
 * its counters every --stats-interval seconds, and on SIGINT / SIGTERM
 * closes the server, prints the final counters and exits 0. Exit 2: bad
 * arguments; 1: the server could not start or close.
 */
import { parseArgs } from 'node:util';

import { type EchoServerOptions, resolveServerOptions, runEchoServer } from './index.js';

const usage = `usage: echo-server [options]

  --host ADDR              address to listen on (127.0.0.1)
  --port N                 port; 0 picks a free one (7000)
  --mode native|js|events  native: the echo loop on the worker threads; js: in JS on
                           recv/send; events: JS handlers on the event API (native)
  --backend NAME           auto, iocp, io_uring, threadpool or portable (auto)
  --threads N              worker threads of the native backends; 0 = default (0)
  --buffer-size BYTES      buffer per connection (16384)
  --max-connections N      connections past this are refused (10000)
  --idle-timeout MS        close connections silent this long; 0 = never (0)
  --stats-interval S       seconds between counter lines; 0 = only at exit (5)`;

function integer(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`--${name} must be a number, got '${text}'`);
  return value;
}

async function main(): Promise<number> {
  let options: EchoServerOptions;
  let statsInterval: number;
  try {
    const { values } = parseArgs({
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        mode: { type: 'string' },
        backend: { type: 'string' },
        threads: { type: 'string' },
        'buffer-size': { type: 'string' },
        'max-connections': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'stats-interval': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    options = {
      ...(values.host !== undefined && { host: values.host }),
      ...(values.port !== undefined && { port: integer(values.port, 'port') }),
      ...(values.mode !== undefined && { mode: values.mode as 'native' | 'js' | 'events' }),
      ...(values.backend !== undefined && { backend: values.backend as EchoServerOptions['backend'] }),
      ...(values.threads !== undefined && { threads: integer(values.threads, 'threads') }),
      ...(values['buffer-size'] !== undefined && { bufferSize: integer(values['buffer-size'], 'buffer-size') }),
      ...(values['max-connections'] !== undefined && { maxConnections: integer(values['max-connections'], 'max-connections') }),
      ...(values['idle-timeout'] !== undefined && { idleTimeout: integer(values['idle-timeout'], 'idle-timeout') }),
    };
    resolveServerOptions(options);
    statsInterval = integer(values['stats-interval'], 'stats-interval') ?? 5;
    if (!(statsInterval >= 0 && statsInterval <= 86400)) throw new Error('--stats-interval must be in [0, 86400]');
  } catch (error) {
    console.error(`echo-server: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const ac = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (ac.signal.aborted) return;
    console.log(`${signal}: closing`);
    // Bounded: a close that hangs must not keep the process alive forever.
    setTimeout(() => {
      console.error('echo-server: close did not finish within 10 s');
      process.exit(1);
    }, 10_000).unref();
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await runEchoServer(options, { signal: ac.signal, statsInterval: statsInterval * 1000 });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`echo-server: ${(error as Error).message ?? String(error)}`);
    process.exit(1);
  },
);
