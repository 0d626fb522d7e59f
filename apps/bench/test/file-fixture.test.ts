/**
 * The parts of the file scenarios that decide what a figure means: fio's
 * JSON read the right way, and the random positions every contender shares.
 */
import { describe, expect, it } from 'vitest';

import { BLOCK, blockTag, randomPositions } from '../src/scenarios/file-fixture.js';
import { fioVersion, parseFioReadIops } from '../src/scenarios/fio.js';

// Trimmed from `fio --output-format=json` (fio-3.33), with a note before
// the JSON as fio prints on some systems.
const FIO_OUTPUT = `note: both iodepth >= 1 and synchronous I/O engine are selected, queue depth will be capped at 1
{
  "fio version" : "fio-3.33",
  "jobs" : [
    {
      "jobname" : "randread",
      "error" : 0,
      "read" : { "io_bytes" : 819200000, "bw" : 2402345, "iops" : 600586.510264, "runtime" : 341, "total_ios" : 200000 },
      "write" : { "io_bytes" : 0, "iops" : 0.0, "runtime" : 0, "total_ios" : 0 }
    }
  ]
}
`;

describe('fio output', () => {
  it('reads the IOPS and the number of reads of the first job, past a leading note', () => {
    expect(parseFioReadIops(FIO_OUTPUT)).toEqual({ iops: 600586.510264, ios: 200000 });
  });

  it('a failed job or no JSON is an error, not a figure', () => {
    expect(() => parseFioReadIops(FIO_OUTPUT.replace('"error" : 0', '"error" : 5'))).toThrow(/error 5/);
    expect(() => parseFioReadIops('fio: engine io_uring not loadable\n')).toThrow(/no JSON/);
    expect(() => parseFioReadIops('{ "jobs": [] }')).toThrow(/no job/);
  });
});

describe('fio missing', () => {
  it('is reported as undefined (the scenario then skips fio), not thrown', () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      expect(fioVersion()).toBeUndefined();
    } finally {
      process.env['PATH'] = path;
    }
  });
});

describe('random positions', () => {
  it('are block aligned, inside the file, the same on every call, and spread', () => {
    const size = 1024 * 1024 * 1024;
    const a = randomPositions(size, 10_000);
    const b = randomPositions(size, 10_000);
    expect(Array.from(a)).toEqual(Array.from(b));
    for (const position of a) {
      expect(position % BLOCK).toBe(0);
      expect(position).toBeGreaterThanOrEqual(0);
      expect(position).toBeLessThan(size);
    }
    // 10,000 draws from 262,144 blocks repeat about 190 times if uniform.
    expect(new Set(a).size).toBeGreaterThan(9_700);
    expect(Math.min(...a)).toBeLessThan(size / 100);
    expect(Math.max(...a)).toBeGreaterThan(size - size / 100);
  });

  it('a block tag is the little-endian uint32 at its start', () => {
    const block = new Uint8Array(BLOCK);
    block.set([0x78, 0x56, 0x34, 0x12]);
    expect(blockTag(block)).toBe(0x12345678);
    block.set([0xff, 0xff, 0xff, 0xff], 8);
    expect(blockTag(block, 8)).toBe(0xffffffff);
  });
});
