/**
 * The test file the file scenarios share: made once under os.tmpdir() and
 * kept (so that a second run starts at once), read through before use so
 * that it sits in the page cache. Every 4 KiB block begins with its own
 * block number (uint32 little endian), which lets a reader check that the
 * bytes it got came from the position it asked for; the rest is random.
 */
import { closeSync, fstatSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';

export const BLOCK = 4096;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** The block number a block of the fixture begins with. */
export function blockTag(buffer: Uint8Array, offset = 0): number {
  return (
    ((buffer[offset] as number) |
      ((buffer[offset + 1] as number) << 8) |
      ((buffer[offset + 2] as number) << 16) |
      ((buffer[offset + 3] as number) << 24)) >>>
    0
  );
}

/** A path under os.tmpdir() for a scratch file of the file scenarios. */
export function scratchPath(name: string): string {
  return join(tmpdir(), `overlapped-bench-${process.pid}-${name}`);
}

/** Removes a scratch file; missing is fine. */
export function removeScratch(path: string): void {
  rmSync(path, { force: true });
}

function fixtureLooksRight(path: string, size: number): boolean {
  try {
    if (statSync(path).size !== size) return false;
    const fd = openSync(path, 'r');
    try {
      const block = Buffer.alloc(BLOCK);
      // Spot checks at both ends and in the middle: a fixture written by an
      // older layout or cut short is made again.
      for (const index of [0, 1, size / BLOCK / 2, size / BLOCK - 1]) {
        if (readSync(fd, block, 0, BLOCK, index * BLOCK) !== BLOCK || blockTag(block) !== index) return false;
      }
      return true;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * Returns the path of the fixture of `size` bytes (a multiple of 8 MiB),
 * making it if it is missing or wrong, and reads it through once so that it
 * is in the page cache.
 *
 * @example
 * ```ts
 * const path = ensureFixture(256 * MiB, console.log); // /tmp/overlapped-bench-fixture-256M.bin
 * ```
 */
export function ensureFixture(size: number, log: (line: string) => void): string {
  const path = join(tmpdir(), `overlapped-bench-fixture-${size / MiB}M.bin`);
  const chunk = Buffer.allocUnsafe(8 * MiB);
  if (!fixtureLooksRight(path, size)) {
    log(`making the ${size / MiB} MiB fixture ${path}`);
    randomFillSync(chunk);
    const fd = openSync(path, 'w');
    try {
      for (let position = 0; position < size; position += chunk.length) {
        for (let offset = 0; offset < chunk.length; offset += BLOCK) {
          chunk.writeUInt32LE((position + offset) / BLOCK, offset);
        }
        writeSync(fd, chunk, 0, chunk.length, position);
      }
    } finally {
      closeSync(fd);
    }
  }
  // Read it through: whatever is not in the page cache yet comes in now.
  const fd = openSync(path, 'r');
  try {
    const total = fstatSync(fd).size;
    for (let position = 0; position < total; position += chunk.length) readSync(fd, chunk, 0, chunk.length, position);
  } finally {
    closeSync(fd);
  }
  return path;
}

/**
 * `count` random block-aligned positions in a file of `size` bytes, the same
 * list for every contender.
 *
 * @example
 * ```ts
 * const positions = randomPositions(GiB, 200_000); // Float64Array of multiples of 4096 below 1 GiB
 * ```
 */
export function randomPositions(size: number, count: number, seed = 0x9e3779b9): Float64Array {
  const blocks = size / BLOCK;
  const positions = new Float64Array(count);
  // xorshift32: a fixed sequence, so that every contender reads the same blocks.
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    positions[i] = (state % blocks) * BLOCK;
  }
  return positions;
}

/** Seconds since `start` (from process.hrtime.bigint()). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
