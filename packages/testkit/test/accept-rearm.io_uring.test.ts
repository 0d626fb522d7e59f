// io_uring only: when the kernel ends a server's multishot accept (here with
// EMFILE, in a child process whose RLIMIT_NOFILE is lowered), the server
// submits it again and, once descriptors are free, accepts every connection
// that waited; afterwards one op serves again.
import { fork, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { backendAvailability } from '../src/index.js';

const child = fileURLToPath(new URL('../fixtures/accept-emfile-child.mjs', import.meta.url));
const available = backendAvailability('io_uring').available;
const havePrlimit = spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).status === 0;

function connectAll(port: number, count: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port });
          socket.once('connect', () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
}

describe.runIf(available && havePrlimit)('multishot accept ended by the kernel [io_uring]', () => {
  it('is submitted again after EMFILE and accepts every waiting connection', async () => {
    const server = fork(child, ['4'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const messages: Array<Record<string, unknown>> = [];
    let notify: (() => void) | undefined;
    server.on('message', (message) => {
      messages.push(message as Record<string, unknown>);
      notify?.();
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    const next = async (): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 30_000;
      while (messages.length === 0) {
        if (Date.now() > deadline || server.exitCode !== null) throw new Error('the server process said nothing');
        await new Promise<void>((resolve) => {
          notify = resolve;
          setTimeout(resolve, 100);
        });
      }
      return messages.shift()!;
    };
    const clients: net.Socket[] = [];
    try {
      const listening = await next();
      expect(listening.mode).toBe('multishot');
      expect(listening.ops).toBe(1);
      const count = 24;
      clients.push(...(await connectAll(listening.listening as number, count)));
      server.send({ connected: count });

      const stall = await next();
      // Fewer than all were accepted before the descriptors ran out, and
      // each EMFILE ended the op, which the server then submitted again.
      expect(stall.stalled as number).toBeGreaterThan(0);
      expect(stall.stalled as number).toBeLessThan(count);
      expect(stall.opsAtStall as number).toBeGreaterThan(3);

      const after = await next();
      expect(after.accepted).toBe(count);
      expect(after.modeAfter).toBe('multishot');

      clients.push(...(await connectAll(listening.listening as number, 2)));
      server.send({ connected: 2 });
      const later = await next();
      expect(later.acceptedLater).toBe(2);
      // Two connections within the room left: the op that is armed took
      // both, no new one was needed.
      expect(later.opsLater).toBe(after.opsAfter);
      expect(later.closed).toBe(true);
      expect(await exited).toBe(0);
    } finally {
      for (const socket of clients) socket.destroy();
      if (server.exitCode === null) server.kill();
    }
  }, 60_000);
});
