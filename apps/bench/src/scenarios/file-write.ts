/**
 * Sequential write of a whole file (into the page cache: no flush), in
 * chunks, `depth` chunks in flight, each contender writing a new file:
 *
 * - @overlapped/file `writeAt` into a file preallocated to its final size,
 *   and into a file that grows with each write, on each backend;
 * - `fs.promises` FileHandle.write at the same positions, `depth` in flight
 *   (the baseline).
 *
 * Open and close are inside the timed part; the file is removed right after
 * it (unlinking drops its dirty pages), so that the writeback of one
 * round's gigabyte does not land on the next contender.
 */
import { open as openPromise } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';

import type { BackendName } from '@overlapped/common';

import { type Contender, runScenario, type ScenarioResult } from '../harness.js';
import { MiB, removeScratch, scratchPath, secondsSince } from './file-fixture.js';
import { fileBackends, type OverlappedFileModule } from './overlapped-file.js';

/** Runs `depth` lanes that take the next chunk position until `size` is written. */
async function writeLanes(
  size: number,
  chunkSize: number,
  depth: number,
  writeChunk: (position: number, length: number) => Promise<number>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (next < size) {
        const position = next;
        const length = Math.min(chunkSize, size - position);
        next += length;
        const written = await writeChunk(position, length);
        if (written !== length) throw new Error(`short write at ${position}: ${written} of ${length}`);
      }
    }),
  );
}

function checkSize(path: string, size: number): void {
  const actual = statSync(path).size;
  if (actual !== size) throw new Error(`${path} is ${actual} bytes, ${size} written`);
}

function fsPromisesContender(size: number, chunk: Buffer, depth: number): Contender {
  const path = scratchPath('write-fs-promises');
  return {
    name: 'fs.promises FileHandle.write',
    async run() {
      removeScratch(path);
      const start = process.hrtime.bigint();
      const handle = await openPromise(path, 'w');
      try {
        await writeLanes(size, chunk.length, depth, async (position, length) => {
          const { bytesWritten } = await handle.write(chunk, 0, length, position);
          return bytesWritten;
        });
      } finally {
        await handle.close();
      }
      const seconds = secondsSince(start);
      checkSize(path, size);
      removeScratch(path);
      return { units: size / MiB, seconds };
    },
    dispose: () => removeScratch(path),
  };
}

function writeAtContender(
  mod: OverlappedFileModule,
  backend: BackendName,
  preallocate: boolean,
  size: number,
  chunk: Buffer,
  depth: number,
): Contender {
  const path = scratchPath(`write-${backend}-${preallocate ? 'preallocated' : 'growing'}`);
  return {
    name: `${backend}: writeAt, ${preallocate ? 'preallocated' : 'growing'}`,
    async run() {
      removeScratch(path);
      const start = process.hrtime.bigint();
      const file = await mod.open(path, { disposition: 'create-always', access: 'write', backend });
      try {
        if (preallocate) await file.preallocate(size);
        await writeLanes(size, chunk.length, depth, (position, length) =>
          file.writeAt(chunk, position, { offset: 0, length }),
        );
      } finally {
        await file.close();
      }
      const seconds = secondsSince(start);
      checkSize(path, size);
      removeScratch(path);
      return { units: size / MiB, seconds };
    },
    dispose: () => removeScratch(path),
  };
}

/** Runs the scenario: fs.promises and @overlapped/file (preallocated, growing) on every backend available here. */
export async function fileWrite(options: {
  fileSize: number;
  chunkSize: number;
  depth: number;
  rounds: number;
  file: OverlappedFileModule;
  log: (line: string) => void;
}): Promise<ScenarioResult> {
  const { fileSize, chunkSize, depth, rounds, file, log } = options;
  const chunk = randomFillSync(Buffer.allocUnsafe(chunkSize));
  const contenders: Contender[] = [fsPromisesContender(fileSize, chunk, depth)];
  for (const backend of fileBackends()) {
    contenders.push(writeAtContender(file, backend, true, fileSize, chunk, depth));
    contenders.push(writeAtContender(file, backend, false, fileSize, chunk, depth));
  }
  return runScenario(
    `file-write: sequential write of ${fileSize / MiB} MiB in ${chunkSize / 1024} KiB chunks, ${depth} in flight, no flush`,
    'MiB/s',
    'fs.promises FileHandle.write',
    contenders,
    rounds,
    log,
  );
}
