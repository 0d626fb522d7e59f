#!/usr/bin/env bun
/**
 * Bun's side of file-random-read: the same `fs.promises` FileHandle.read
 * loop as Node's contender (scenarios/random-reads.ts), the same random
 * blocks, every block checked, run by Bun in a process of its own. The
 * bench drives it over stdin / stdout, one round per line, so that its
 * rounds alternate with the other contenders' and it stays warm between
 * them:
 *
 *   bun bun-random-read.js <path> <file bytes> <reads> <depth>
 *   stdout: {"ready":true}              once the positions are made
 *   stdin:  run                         one round
 *   stdout: {"reads":N,"seconds":S}     or {"error":"..."}, then exit 1
 *
 * The end of stdin ends it (exit 0).
 */
import { createInterface } from 'node:readline';

import { randomPositions } from '../scenarios/file-fixture.js';
import { fileHandleReads } from '../scenarios/random-reads.js';

const [path, size, count, depth] = process.argv.slice(2);
if (!path || !(Number(size) > 0) || !(Number(count) > 0) || !(Number(depth) > 0)) {
  console.error('usage: bun bun-random-read.js <path> <file bytes> <reads> <depth>');
  process.exit(2);
}
const positions = randomPositions(Number(size), Number(count));
console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== 'run') continue;
  try {
    const seconds = await fileHandleReads(path, positions, Number(depth));
    console.log(JSON.stringify({ reads: positions.length, seconds }));
  } catch (error) {
    console.log(JSON.stringify({ error: String(error) }));
    process.exit(1);
  }
}
