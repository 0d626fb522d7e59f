/**
 * The random-read loops that run under more than one runtime: Node's
 * `fs.promises` contender and Bun's (src/runners/bun-random-read.ts) run
 * this same code, each with its own `node:fs/promises`.
 */
import { open } from 'node:fs/promises';

import { BLOCK, blockTag, secondsSince } from './file-fixture.js';

/**
 * Throws unless a read of the fixture at `position` returned a whole block
 * tagged with its block number.
 *
 * @example
 * ```ts
 * checkBlock(buffer, 8192, await file.readAt(buffer, 8192)); // block 2, or it throws
 * ```
 */
export function checkBlock(buffer: Uint8Array, position: number, bytes: number): void {
  if (bytes !== BLOCK || blockTag(buffer) !== position / BLOCK) {
    throw new Error(`read at ${position} returned ${bytes} bytes tagged ${blockTag(buffer)}`);
  }
}

/**
 * `depth` lanes, each with one read in flight at a time, take the next
 * position until none is left; every block is checked. Returns the seconds.
 *
 * @example
 * ```ts
 * const seconds = await readInLanes(positions, 64, (buffer, position) => file.readAt(buffer, position));
 * ```
 */
export async function readInLanes(
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

/**
 * One round of `fs.promises` FileHandle.read: opens `path`, reads every
 * position with `depth` in flight, closes it; returns the seconds of the
 * reads.
 *
 * @example
 * ```ts
 * const seconds = await fileHandleReads(path, randomPositions(size, 200_000), 64);
 * ```
 */
export async function fileHandleReads(path: string, positions: Float64Array, depth: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    return await readInLanes(positions, depth, async (buffer, position) => {
      const { bytesRead } = await handle.read(buffer, 0, BLOCK, position);
      return bytesRead;
    });
  } finally {
    await handle.close();
  }
}
