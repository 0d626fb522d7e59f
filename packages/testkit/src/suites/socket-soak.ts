/**
 * The echo soak: a few hundred connections against an echo server in each
 * mode, many at once, each doing one of the things clients do (a whole
 * exchange, a half-close before reading, a reset mid-transfer, never
 * reading, sending a byte and vanishing), from node:net clients and from
 * clients on the backend's own sockets. Every byte of every finished
 * exchange is checked; afterwards no connection is live and (on Linux) the
 * process holds the descriptors it held before. Seeded, bounded in count
 * and in time.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as net from 'node:net';

import type { BackendName } from '@overlapped/common';
import { connect, createEchoServer, type EchoConnectionEnd } from '@overlapped/socket';

import { sleep, type TestApi, waitFor } from '../harness.js';
import { bounded, HOST, pattern, recvExactly } from './socket-helpers.js';
import { randomSource } from './socket-streams.js';

/** Options of {@link defineSocketSoakSuite}. */
export interface SocketSoakOptions {
  /** Connections per echo mode; default 500. */
  connections?: number;
  /** Connections live at once; default 100. */
  concurrency?: number;
  /** Seed of the run (sizes, behaviours, chunking); default 1. */
  seed?: number;
}

type Behaviour = 'exchange' | 'half-close' | 'reset' | 'never-reads' | 'vanish';
const BEHAVIOURS: Behaviour[] = ['exchange', 'exchange', 'half-close', 'reset', 'never-reads', 'vanish'];

function openDescriptors(): number | undefined {
  // (Under Wine, /proc/self/fd is the Wine process's own table.)
  if (process.platform !== 'linux') return undefined;
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** A node:net client: writes `data` in `chunks` pieces, half-closes (before or after the echo), collects the echo to the end. */
function netExchange(port: number, data: Buffer, chunks: number, halfCloseFirst: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const client = net.connect({ host: HOST, port, allowHalfOpen: true });
    const received: Buffer[] = [];
    let got = 0;
    client.on('data', (chunk: Buffer) => {
      received.push(chunk);
      got += chunk.length;
      if (!halfCloseFirst && got === data.length) client.end();
    });
    client.on('end', () => {
      client.destroy();
      resolve(Buffer.concat(received));
    });
    client.on('error', reject);
    client.once('connect', async () => {
      const step = Math.ceil(data.length / chunks);
      for (let at = 0; at < data.length; at += step) {
        if (!client.write(data.subarray(at, at + step))) await new Promise((r) => client.once('drain', r));
        await new Promise((r) => setImmediate(r));
      }
      if (halfCloseFirst || data.length === 0) client.end();
    });
  });
}

/** A node:net client that sends, reads some of the echo, then resets the connection. */
function netReset(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = net.connect({ host: HOST, port });
    let got = 0;
    client.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= Math.min(data.length, 4096) && !client.destroyed) {
        client.resetAndDestroy();
        resolve();
      }
    });
    client.on('error', reject);
    client.once('connect', () => client.write(data));
  });
}

/** A node:net client that sends up to `size` bytes, never reads, and goes away after `ms`. */
function netNeverReads(port: number, size: number, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = net.connect({ host: HOST, port });
    client.pause();
    client.on('error', reject);
    client.once('connect', async () => {
      const block = pattern(64 * 1024, size);
      for (let written = 0; written < size && client.write(block); ) written += block.length;
      await sleep(ms);
      client.destroy();
      resolve();
    });
  });
}

/** A node:net client that sends one byte and vanishes. */
function netVanish(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = net.connect({ host: HOST, port }, () => {
      client.end('x');
      client.destroy();
      resolve();
    });
    client.on('error', reject);
  });
}

/**
 * Defines the echo soak for `backend` on `api`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * defineSocketSoakSuite({ describe, it }, 'io_uring', { connections: 500 });
 * ```
 */
export function defineSocketSoakSuite(api: TestApi, backend: BackendName, options: SocketSoakOptions = {}): void {
  const { describe, it } = api;
  const connections = options.connections ?? 500;
  const concurrency = options.concurrency ?? 100;
  const seed = options.seed ?? 1;

  describe(`echo soak [${backend}]`, () => {
    for (const mode of ['native', 'js'] as const) {
      it(`${connections} connections of every kind leave no byte wrong and nothing behind (${mode} mode)`, async () => {
        // The shared port and its threads exist before the count is taken.
        const warm = await createEchoServer({ backend, mode, port: 0 });
        const warmClient = await connect({ host: HOST, port: warm.address().port, backend });
        await warmClient.close();
        await warm.close();
        await sleep(20);
        const fdsBefore = openDescriptors();

        const random = randomSource(seed * 7919 + (mode === 'js' ? 1 : 0));
        const server = await createEchoServer({ backend, mode, port: 0, bufferSize: random(2) === 0 ? 4096 : 16 * 1024 });
        const ends: EchoConnectionEnd[] = [];
        server.on('close', (end: EchoConnectionEnd) => ends.push(end));
        const { port } = server.address();
        const tally: Record<string, number> = {};
        let checkedBytes = 0;
        const failures: string[] = [];
        try {
          const run = async (index: number) => {
            const behaviour = BEHAVIOURS[random(BEHAVIOURS.length)]!;
            const ours = random(2) === 0 && behaviour !== 'reset';
            const size = random(4) === 0 ? 1 + random(256 * 1024) : 1 + random(8 * 1024);
            const data = pattern(size, seed * 100_000 + index);
            const label = `${behaviour} #${index} (${ours ? 'our socket' : 'node:net'}, ${size} B)`;
            tally[behaviour] = (tally[behaviour] ?? 0) + 1;
            const work = (async () => {
              if (behaviour === 'exchange' || behaviour === 'half-close') {
                let echoed: Buffer;
                if (ours) {
                  const socket = await connect({ host: HOST, port, backend });
                  try {
                    if (behaviour === 'half-close') {
                      await socket.send(data);
                      await socket.shutdown();
                      echoed = await recvExactly(socket, size + 1);
                    } else {
                      [, echoed] = await Promise.all([socket.send(data), recvExactly(socket, size)]);
                      await socket.shutdown();
                      assert.equal(await socket.recv(Buffer.alloc(16)), 0, 'the server ends after our shutdown');
                    }
                  } finally {
                    await socket.close();
                  }
                } else {
                  echoed = await netExchange(port, data, 1 + random(4), behaviour === 'half-close');
                }
                assert.equal(echoed.length, size, `${label}: echoed length`);
                assert.ok(echoed.equals(data), `${label}: echoed bytes differ`);
                checkedBytes += size;
              } else if (behaviour === 'reset') {
                await netReset(port, data);
              } else if (behaviour === 'never-reads') {
                if (ours) {
                  const socket = await connect({ host: HOST, port, backend });
                  // Bounded: a send that would wait for the reader is aborted.
                  const stop = new AbortController();
                  const sent = socket.send(pattern(2 << 20, index), { signal: stop.signal }).catch(() => 0);
                  await sleep(20 + random(100));
                  stop.abort();
                  await sent;
                  await socket.close();
                } else {
                  await netNeverReads(port, 2 << 20, 20 + random(100));
                }
              } else if (ours) {
                const socket = await connect({ host: HOST, port, backend });
                await socket.send(Buffer.from('x'));
                await socket.close();
              } else {
                await netVanish(port);
              }
            })();
            await bounded(work, 30_000, label).catch((error: unknown) => {
              failures.push(`${label}: ${String(error)}`);
            });
          };
          let next = 0;
          await Promise.all(
            Array.from({ length: Math.min(concurrency, connections) }, async () => {
              while (next < connections && failures.length === 0) await run(next++);
            }),
          );
          assert.deepEqual(failures, [], failures.slice(0, 5).join('\n'));
          await waitFor(() => server.counters().active === 0, 'every connection to end', 30_000);
          const counters = server.counters();
          assert.equal(counters.accepted, connections, `accepted (${JSON.stringify(tally)})`);
          assert.equal(counters.errors, 0, `ends: ${ends.filter((end) => end.reason === 'error').map((end) => end.code).join(', ')}`);
          assert.equal(ends.length, connections);
          const reasons = new Set(ends.map((end) => end.reason));
          for (const reason of reasons) assert.ok(reason === 'shutdown' || reason === 'reset', `an end by ${reason}`);
          const exchanges = (tally['exchange'] ?? 0) + (tally['half-close'] ?? 0);
          assert.ok(ends.filter((end) => end.reason === 'shutdown').length >= exchanges, 'each exchange ended by its shutdown');
          assert.ok(checkedBytes > 0);
        } finally {
          await server.close();
        }
        assert.equal(server.counters().active, 0);
        if (fdsBefore !== undefined) {
          // node:net closes its sockets a turn or two after their 'close'.
          await waitFor(() => openDescriptors() === fdsBefore, `descriptors back to ${fdsBefore} (now ${openDescriptors()})`, 10_000);
        }
      }, 120_000);
    }
  });
}
