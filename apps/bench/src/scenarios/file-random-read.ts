/**
 * 4 KiB random reads of a file in the page cache, `depth` in flight:
 *
 * - @overlapped/file per-op promises (`readAt`) on each backend, against
 *   `fs.promises` FileHandle.read and callback `fs.read` (Node's defaults:
 *   the libuv pool of 4 threads), each keeping `depth` reads in flight;
 * - @overlapped/file batches (`batch`, 16 reads a call, `depth` in flight)
 *   against fio's io_uring engine at the same depth and submit batch.
 *
 * Every JS contender reads the same random blocks and checks each block's
 * tag: the bytes must come from the position asked for.
 */
import { close as closeCallback, open as openCallback, read as readCallback } from 'node:fs';
import { open as openPromise } from 'node:fs/promises';
import { promisify } from 'node:util';

import type { BackendName } from '@overlapped/common';

import { type Contender, type Goal, reportGoals, runScenario, type ScenarioResult } from '../harness.js';
import { BLOCK, blockTag, ensureFixture, randomPositions, secondsSince } from './file-fixture.js';
import { FIO_NAME, fioRandomReadContender, fioVersion } from './fio.js';
import { fileBackends, type OverlappedFileModule } from './overlapped-file.js';

const SUBMIT_BATCH = 16;

function checkBlock(buffer: Uint8Array, position: number, bytes: number): void {
  if (bytes !== BLOCK || blockTag(buffer) !== position / BLOCK) {
    throw new Error(`read at ${position} returned ${bytes} bytes tagged ${blockTag(buffer)}`);
  }
}

// `depth` lanes, each with one read in flight at a time, take the next
// position until none is left; every block is checked. Returns the seconds.
async function readInLanes(
  positions: Float64Array,
  depth: number,
  read: (buffer: Buffer, position: number) => Promise<number>,
): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: depth }, async () => {
      const buffer = Buffer.allocUnsafe(BLOCK);
      while (next < positions.length) {
        const position = positions[next++] as number;
        checkBlock(buffer, position, await read(buffer, position));
      }
    }),
  );
  return secondsSince(start);
}

function fsPromisesContender(path: string, positions: Float64Array, depth: number): Contender {
  return {
    name: `fs.promises FileHandle.read`,
    async run() {
      const handle = await openPromise(path, 'r');
      try {
        const seconds = await readInLanes(positions, depth, async (buffer, position) => {
          const { bytesRead } = await handle.read(buffer, 0, BLOCK, position);
          return bytesRead;
        });
        return { units: positions.length, seconds };
      } finally {
        await handle.close();
      }
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
  const result = await runScenario(
    `file-random-read: 4 KiB random reads, ${depth} in flight, ${fileSize / 1024 / 1024} MiB file in the page cache${fio ? ` (${fio})` : ''}`,
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
    goals.push({ contender: `${backend}: readAt`, against: 'fs.promises FileHandle.read', atLeast: 3 });
    goals.push({ contender: `${backend}: readAt`, against: 'fs.read (callback)', atLeast: 1 });
  }
  for (const backend of fileBackends({ portable: false })) {
    goals.push({ contender: `${backend}: batch (${SUBMIT_BATCH} a call)`, against: FIO_NAME, atLeast: 1 });
  }
  reportGoals(result, goals, log);
  return result;
}
