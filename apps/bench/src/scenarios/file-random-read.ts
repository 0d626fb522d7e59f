/**
 * 4 KiB random reads of a file in the page cache, `depth` in flight:
 *
 * - @overlapped/file per-op promises (`readAt`) on each backend, against
 *   `fs.promises` FileHandle.read and callback `fs.read` (Node's defaults:
 *   the libuv pool of 4 threads), each keeping `depth` reads in flight;
 * - @overlapped/file batches (`batch`, 16 reads a call, `depth` in flight)
 *   against fio's io_uring engine at the same depth and submit batch;
 * - Bun's `fs.promises` FileHandle.read, the same loop as Node's, run by
 *   Bun in a process of its own (its rounds alternate with the others').
 *
 * Every JS contender reads the same random blocks and checks each block's
 * tag: the bytes must come from the position asked for.
 */
import { spawn } from 'node:child_process';
import { close as closeCallback, open as openCallback, read as readCallback } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

import type { BackendName } from '@overlapped/common';

import { type Contender, type Goal, reportGoals, runScenario, type ScenarioResult } from '../harness.js';
import { findBun } from '../runtimes.js';
import { benchScript } from '../servers/child.js';
import { BLOCK, ensureFixture, randomPositions, secondsSince } from './file-fixture.js';
import { FIO_NAME, fioRandomReadContender, fioVersion } from './fio.js';
import { fileBackends, type OverlappedFileModule } from './overlapped-file.js';
import { checkBlock, fileHandleReads, readInLanes } from './random-reads.js';

const SUBMIT_BATCH = 16;

function fsPromisesContender(path: string, positions: Float64Array, depth: number): Contender {
  return {
    name: `fs.promises FileHandle.read`,
    async run() {
      return { units: positions.length, seconds: await fileHandleReads(path, positions, depth) };
    },
  };
}

function fsCallbackContender(path: string, positions: Float64Array, depth: number): Contender {
  return {
    name: `fs.read (callback)`,
    async run() {
      const fd = await promisify(openCallback)(path, 'r');
      try {
        const start = process.hrtime.bigint();
        await new Promise<void>((resolve, reject) => {
          let next = 0;
          let done = 0;
          let failed = false;
          const issue = (buffer: Buffer) => {
            const position = positions[next++] as number;
            readCallback(fd, buffer, 0, BLOCK, position, (error, bytesRead) => {
              if (failed) return;
              try {
                if (error) throw error;
                checkBlock(buffer, position, bytesRead);
              } catch (cause) {
                failed = true;
                reject(cause);
                return;
              }
              if (++done === positions.length) resolve();
              else if (next < positions.length) issue(buffer);
            });
          };
          for (let i = 0; i < depth && next < positions.length; i++) issue(Buffer.allocUnsafe(BLOCK));
        });
        return { units: positions.length, seconds: secondsSince(start) };
      } finally {
        await promisify(closeCallback)(fd);
      }
    },
  };
}

/** The name Bun's contender reports under. */
export const BUN_FILE_HANDLE = 'Bun fs.promises FileHandle.read';

/**
 * Bun's `fs.promises` FileHandle.read in its own process
 * (runners/bun-random-read.ts), one round per `run()`: the figure is the
 * seconds Bun measured around its reads, as fio's is fio's own. A block
 * that comes back wrong fails the round.
 *
 * @example
 * ```ts
 * const bun = findBun();
 * if (bun.available) contenders.push(bunFileHandleContender(bun.path, path, fileSize, 200_000, 64));
 * ```
 */
export function bunFileHandleContender(bun: string, path: string, fileSize: number, count: number, depth: number): Contender {
  const runner = benchScript('runners/bun-random-read.js');
  const child = spawn(bun, [runner, path, String(fileSize), String(count), String(depth)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const reply = async (): Promise<Record<string, unknown>> => {
    const line = await Promise.race([lines.next(), exited.then(() => ({ done: true as const, value: undefined }))]);
    if (line.done) throw new Error(`${BUN_FILE_HANDLE}: Bun exited (${child.exitCode ?? child.signalCode})`);
    const message = JSON.parse(line.value) as Record<string, unknown>;
    if (typeof message.error === 'string') throw new Error(`${BUN_FILE_HANDLE}: ${message.error}`);
    return message;
  };
  const ready = reply();
  return {
    name: BUN_FILE_HANDLE,
    async run() {
      await ready;
      child.stdin.write('run\n');
      const { reads, seconds } = (await reply()) as { reads: number; seconds: number };
      return { units: reads, seconds };
    },
    async dispose() {
      child.stdin.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}

function readAtContender(
  mod: OverlappedFileModule,
  backend: BackendName,
  path: string,
  positions: Float64Array,
  depth: number,
): Contender {
  return {
    name: `${backend}: readAt`,
    async run() {
      const file = await mod.open(path, { disposition: 'open-existing', access: 'read', backend });
      try {
        const seconds = await readInLanes(positions, depth, (buffer, position) => file.readAt(buffer, position));
        return { units: positions.length, seconds };
      } finally {
        await file.close();
      }
    },
  };
}

function batchContender(
  mod: OverlappedFileModule,
  backend: BackendName,
  path: string,
  positions: Float64Array,
  depth: number,
): Contender {
  return {
    name: `${backend}: batch (${SUBMIT_BATCH} a call)`,
    async run() {
      const file = await mod.open(path, { disposition: 'open-existing', access: 'read', backend });
      try {
        let next = 0;
        const start = process.hrtime.bigint();
        // depth / 16 lanes, each with one batch of 16 reads in flight: the
        // same depth and submit batch as fio's.
        await Promise.all(
          Array.from({ length: Math.max(1, depth / SUBMIT_BATCH) }, async () => {
            const buffers = Array.from({ length: SUBMIT_BATCH }, () => Buffer.allocUnsafe(BLOCK));
            const wanted: number[] = [];
            while (next < positions.length) {
              wanted.length = 0;
              while (wanted.length < SUBMIT_BATCH && next < positions.length) wanted.push(positions[next++] as number);
              const results = await file.batch(
                wanted.map((position, i) => ({ op: 'read' as const, buffer: buffers[i] as Buffer, position })),
              );
              for (let i = 0; i < wanted.length; i++) {
                checkBlock(buffers[i] as Buffer, wanted[i] as number, results[i] ?? -1);
              }
            }
          }),
        );
        return { units: positions.length, seconds: secondsSince(start) };
      } finally {
        await file.close();
      }
    },
  };
}

/** Runs the scenario: Node's fs, fio and @overlapped/file on every backend available here. */
export async function fileRandomRead(options: {
  fileSize: number;
  count: number;
  depth: number;
  rounds: number;
  file: OverlappedFileModule;
  log: (line: string) => void;
}): Promise<ScenarioResult> {
  const { fileSize, count, depth, rounds, file, log } = options;
  const path = ensureFixture(fileSize, log);
  const positions = randomPositions(fileSize, count);
  const contenders: Contender[] = [fsPromisesContender(path, positions, depth), fsCallbackContender(path, positions, depth)];
  for (const backend of fileBackends()) contenders.push(readAtContender(file, backend, path, positions, depth));
  for (const backend of fileBackends()) contenders.push(batchContender(file, backend, path, positions, depth));
  const fio = fioVersion();
  if (fio) contenders.push(fioRandomReadContender(path, fileSize, count, depth));
  else log('\nfio is not installed: the fio contender is skipped (apt-get install fio)');
  const bun = findBun();
  if (bun.available) contenders.push(bunFileHandleContender(bun.path, path, fileSize, count, depth));
  else log(`\n${BUN_FILE_HANDLE} skipped: ${bun.reason}`);
  const versions = [fio, bun.available ? `Bun ${bun.version}` : undefined].filter((v) => v !== undefined);
  const result = await runScenario(
    `file-random-read: 4 KiB random reads, ${depth} in flight, ${fileSize / 1024 / 1024} MiB file in the page cache${versions.length > 0 ? ` (${versions.join(', ')})` : ''}`,
    'reads/s',
    'fs.promises FileHandle.read',
    contenders,
    rounds,
    log,
  );
  // The goals are the native backends': portable runs on node:fs itself,
  // so it is shown for comparison but cannot be faster than node:fs.
  const goals: Goal[] = [];
  for (const backend of fileBackends({ portable: false })) {
    goals.push({ contender: `${backend}: readAt`, against: 'fs.read (callback)', atLeast: 1.2 });
    goals.push({ contender: `${backend}: readAt`, against: BUN_FILE_HANDLE, atLeast: 1.2 });
  }
  for (const backend of fileBackends({ portable: false })) {
    goals.push({ contender: `${backend}: batch (${SUBMIT_BATCH} a call)`, against: FIO_NAME, atLeast: 1 });
  }
  reportGoals(result, goals, log);
  return result;
}
