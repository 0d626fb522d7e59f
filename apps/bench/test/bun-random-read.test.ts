/**
 * Bun's file-random-read contender: Bun, in its own process, reads the
 * blocks every contender reads and checks each one, round after round.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { BLOCK } from '../src/scenarios/file-fixture.js';
import { bunFileHandleContender } from '../src/scenarios/file-random-read.js';
import { findBun } from '../src/runtimes.js';

const bun = findBun();
const folder = mkdtempSync(join(tmpdir(), 'overlapped-bench-bun-read-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

// A file of `blocks` 4 KiB blocks, each beginning with its block number
// plus `shift` (0: the fixture's layout).
function tagged(name: string, blocks: number, shift = 0): string {
  const bytes = Buffer.alloc(blocks * BLOCK, 0xa5);
  for (let i = 0; i < blocks; i++) bytes.writeUInt32LE(i + shift, i * BLOCK);
  const path = join(folder, name);
  writeFileSync(path, bytes);
  return path;
}

describe.runIf(bun.available)(`Bun fs.promises FileHandle.read (${bun.available ? bun.version : 'no Bun here'})`, () => {
  const path = bun.available ? bun.path : '';

  it('reads every position asked, round after round, and ends with its stdin', async () => {
    const contender = bunFileHandleContender(path, tagged('good.bin', 256), 256 * BLOCK, 5000, 64);
    for (let round = 0; round < 2; round++) {
      const { units, seconds } = await contender.run();
      expect(units).toBe(5000);
      expect(seconds).toBeGreaterThan(0);
    }
    await contender.dispose?.();
  });

  it('fails the round when a block comes back from the wrong place', async () => {
    const contender = bunFileHandleContender(path, tagged('shifted.bin', 256, 1), 256 * BLOCK, 5000, 64);
    await expect(contender.run()).rejects.toThrow(/tagged/);
    await contender.dispose?.();
  });
});

describe.runIf(!bun.available)('Bun fs.promises FileHandle.read', () => {
  it('is skipped with a reason', () => {
    expect(bun.available ? '' : bun.reason).toMatch(/\w/);
  });
});
