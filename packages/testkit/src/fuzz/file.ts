/**
 * A differential fuzzer for @overlapped/file. Seeded rounds of concurrent
 * ops (writeAt, readAt, writevAt, readvAt, batch, cursor reads and writes,
 * appends, truncate, preallocate, size queries, flushes, reopens) at
 * positions up to 64 GiB in a sparse file, each round checked against
 * what the README promises (./model.ts says exactly what that is), the
 * bytes touched since the last check compared through node:fs every few
 * hundred ops, and the whole file compared at the end, page by page where
 * anything was written plus probes where a misplaced write would land.
 * A failure is shrunk to a minimal program, printed and saved, and can be
 * replayed.
 *
 *   node packages/testkit/dist/fuzz/file.js --backend io_uring --ops 100000 --seed random
 *   node packages/testkit/dist/fuzz/file.js --backend threadpool --replay /tmp/overlapped-fuzz-....json
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import type { BackendName } from '@overlapped/common';
import { open, type OverlappedFile } from '@overlapped/file';

import { backendAvailability } from '../backends.js';
import { type Random, seededRandom } from '../random.js';
import type { TestApi } from '../harness.js';
import {
  applyRound,
  conflict,
  dataOf,
  describeOp,
  type Effect,
  effectOf,
  type FuzzOp,
  type FuzzProgram,
  type FuzzState,
  PAGE,
  SparseFile,
} from './model.js';

export { type FuzzOp, type FuzzProgram } from './model.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** Positions reach this far: a sparse file of up to 64 GiB. */
const MAX_POSITION = 64 * GiB;
/**
 * preallocate never asks for more: fallocate allocates every hole below
 * the size asked, and the portable backend writes zeros up to it.
 */
const MAX_PREALLOCATE = 64 * MiB;

/** Options of one fuzz run. */
export interface FileFuzzOptions {
  backend: BackendName;
  seed: number;
  /** Ops to call (default 10,000). */
  ops?: number;
  /** Compare the bytes written since the last comparison through node:fs every this many ops (default 500). */
  checkEvery?: number;
  /** Folder for the file (default: a fresh one under the temp folder). */
  dir?: string;
}

/** What a run found. */
export interface FileFuzzReport {
  backend: BackendName;
  seed: number;
  ops: number;
  rounds: number;
  /** The first mismatch, or undefined. */
  mismatch?: { round: number; message: string };
  milliseconds: number;
}

function length(random: Random): number {
  const roll = random.next();
  if (roll < 0.78) return 1 + random.int(4 * KiB);
  if (roll < 0.97) return 1 + random.int(64 * KiB);
  return 1 + random.int(512 * KiB);
}

// Where ops go: near the start, across the end, around the 2 GiB and
// 4 GiB boundaries, near a recent write, or anywhere up to 64 GiB.
function position(random: Random, file: SparseFile, recent: number[]): number {
  const roll = random.next();
  let at: number;
  if (roll < 0.3) at = random.int(256 * KiB);
  else if (roll < 0.5) at = file.size - 64 * KiB + random.int(128 * KiB);
  else if (roll < 0.6) at = 2 ** 32 - 64 * KiB + random.int(128 * KiB);
  else if (roll < 0.68) at = 2 ** 31 - 64 * KiB + random.int(128 * KiB);
  else if (roll < 0.8 || recent.length === 0) at = random.int(MAX_POSITION);
  else at = random.pick(recent) - 4 * KiB + random.int(8 * KiB);
  return Math.max(0, Math.min(MAX_POSITION, at));
}

function lengths(random: Random): number[] {
  const count = 1 + random.int(random.next() < 0.8 ? 4 : 16);
  return Array.from({ length: count }, () => (random.next() < 0.9 ? 1 + random.int(4 * KiB) : 1 + random.int(32 * KiB)));
}

/** One candidate op of the kind the dice pick. */
function candidate(random: Random, state: FuzzState, recent: number[]): FuzzOp {
  const file = state.file;
  const roll = random.next() * 100;
  const data = () => 1 + random.int(0xffff_fffe);
  let op: FuzzOp;
  if (roll < 18) op = { op: 'writeAt', at: position(random, file, recent), length: length(random), data: data() };
  else if (roll < 36) op = { op: 'readAt', at: position(random, file, recent), length: random.next() < 0.02 ? 0 : length(random) };
  else if (roll < 42) op = { op: 'writevAt', at: position(random, file, recent), lengths: lengths(random), data: data() };
  else if (roll < 48) op = { op: 'readvAt', at: position(random, file, recent), lengths: lengths(random) };
  else if (roll < 56) {
    const count = 1 + random.int(16);
    op = {
      op: 'batch',
      requests: Array.from({ length: count }, () => ({
        write: random.next() < 0.5,
        at: position(random, file, recent),
        length: 1 + random.int(random.next() < 0.9 ? 4 * KiB : 64 * KiB),
        data: data(),
      })),
    };
  } else if (roll < 61) op = { op: 'read', length: length(random) };
  else if (roll < 66) op = { op: 'write', length: length(random), data: data() };
  else if (roll < 69) op = { op: 'seek', to: random.next() < 0.5 ? position(random, file, recent) : state.end };
  else if (roll < 81) op = { op: 'append', length: length(random), data: data() };
  else if (roll < 84) {
    const pick = random.next();
    const size =
      pick < 0.4
        ? random.int(MiB)
        : pick < 0.7
          ? Math.max(0, file.size - random.int(64 * KiB))
          : pick < 0.9
            ? file.size + random.int(MiB)
            : random.int(MAX_POSITION);
    op = { op: 'truncate', size: Math.min(size, MAX_POSITION) };
  } else if (roll < 87) {
    // Mostly no growth (it allocates the holes below); else up to 1 MiB more.
    const grows = random.next() < 0.4 && file.size + MiB <= MAX_PREALLOCATE;
    op = { op: 'preallocate', size: grows ? file.size + 1 + random.int(MiB) : random.int(Math.min(MAX_PREALLOCATE, Math.max(file.size, 1)) + 1) };
  } else if (roll < 92) op = { op: 'size' };
  else if (roll < 92.05) op = { op: 'flush' };
  else if (roll < 92.8) op = { op: 'reopen', disposition: random.next() < 0.5 ? 'open-existing' : 'open-always' };
  else op = { op: 'readAt', at: position(random, file, recent), length: length(random) };
  if (op.op === 'writeAt' || op.op === 'readAt') {
    if (random.next() < 0.2) op.offset = 1 + random.int(7);
  }
  const pause = random.next();
  if (pause < 0.05) op.pause = 'tick';
  else if (pause < 0.08) op.pause = 'turn';
  return op;
}

/** A program of about `ops` ops, every round valid by the model's rules. */
export function generateProgram(seed: number, ops: number): FuzzProgram {
  const random = seededRandom(seed);
  const initialLength = seed % 2 === 1 ? random.int(256 * KiB) : 0;
  const program: FuzzProgram = { seed, initial: { length: initialLength, data: 1 + random.int(0xffff_fffe) }, rounds: [] };
  const file = new SparseFile();
  if (initialLength > 0) file.write(0, dataOf(program.initial.data, initialLength));
  const state: FuzzState = { file, end: file.size, cursor: 0 };
  // Where the last writes went, so that later ops come back to them.
  const recent: number[] = [];
  let made = 0;
  while (made < ops) {
    const want = Math.min(ops - made, 1 + random.int(random.next() < 0.7 ? 8 : 32));
    const round: FuzzOp[] = [];
    const effects: Effect[] = [];
    for (let tries = 0; round.length < want && tries < want * 4; tries++) {
      const op = candidate(random, state, recent);
      const trial: FuzzState = { file, end: state.end, cursor: state.cursor };
      const effect = effectOf(op, trial);
      if (conflict(effects, effect, file.size) !== undefined) continue;
      round.push(op);
      effects.push(effect);
      for (const write of effect.writes) recent[recent.length < 64 ? recent.length : random.int(64)] = write.at;
      state.end = trial.end;
      state.cursor = trial.cursor;
      if (effect.reopen) break;
    }
    if (round.length === 0) continue;
    applyRound(file, effects);
    if (effects.some((e) => e.reopen)) {
      state.end = file.size;
      state.cursor = 0;
    }
    program.rounds.push(round);
    made += round.length;
  }
  return program;
}

/** Why `program` breaks the model's rules (a shrunk program may), or undefined. */
function invalid(program: FuzzProgram): string | undefined {
  const file = new SparseFile();
  if (program.initial.length > 0) file.write(0, dataOf(program.initial.data, program.initial.length));
  const state: FuzzState = { file, end: file.size, cursor: 0 };
  for (const [index, round] of program.rounds.entries()) {
    const effects: Effect[] = [];
    for (const op of round) {
      const effect = effectOf(op, state);
      const why = conflict(effects, effect, file.size);
      if (why !== undefined) return `round ${index}: ${why}`;
      effects.push(effect);
    }
    applyRound(file, effects);
    if (effects.some((e) => e.reopen)) {
      state.end = file.size;
      state.cursor = 0;
    }
  }
  return undefined;
}

class Mismatch extends Error {
  constructor(
    readonly round: number,
    message: string,
  ) {
    super(message);
  }
}

const pauses = {
  tick: () => Promise.resolve(),
  turn: () => new Promise<void>((resolve) => setImmediate(resolve)),
};

/** Calls `op` on `file`; resolves with what it resolved with, plus the buffers a read filled. */
function call(file: OverlappedFile, op: FuzzOp): Promise<{ value: unknown; buffers?: Buffer[] }> {
  const wrap = (value: unknown, buffers?: Buffer[]) => ({ value, buffers });
  switch (op.op) {
    case 'writeAt': {
      const offset = op.offset ?? 0;
      const carrier = Buffer.alloc(offset + op.length + 3, 0x5a);
      dataOf(op.data, op.length).copy(carrier, offset);
      return file.writeAt(carrier, op.at, { offset, length: op.length }).then((n) => wrap(n));
    }
    case 'readAt': {
      const offset = op.offset ?? 0;
      const carrier = Buffer.alloc(offset + op.length + 3, 0xee);
      return file.readAt(carrier, op.at, { offset, length: op.length }).then((n) => wrap(n, [carrier.subarray(offset, offset + op.length)]));
    }
    case 'writevAt': {
      const bytes = dataOf(op.data, op.lengths.reduce((sum, n) => sum + n, 0));
      let at = 0;
      const views = op.lengths.map((n) => bytes.subarray(at, (at += n)));
      return file.writevAt(views, op.at).then((n) => wrap(n));
    }
    case 'readvAt': {
      const buffers = op.lengths.map((n) => Buffer.alloc(n, 0xee));
      return file.readvAt(buffers, op.at).then((n) => wrap(n, buffers));
    }
    case 'batch': {
      const buffers = op.requests.map((r) => (r.write ? dataOf(r.data, r.length) : Buffer.alloc(r.length, 0xee)));
      return file
        .batch(op.requests.map((r, i) => ({ op: r.write ? ('write' as const) : ('read' as const), buffer: buffers[i] as Buffer, position: r.at })))
        .then((counts) => wrap(counts, buffers));
    }
    case 'read': {
      const buffer = Buffer.alloc(op.length, 0xee);
      return file.read(buffer).then((n) => wrap(n, [buffer]));
    }
    case 'write':
      return file.write(dataOf(op.data, op.length)).then((n) => wrap(n));
    case 'seek':
      file.position = op.to;
      return Promise.resolve(wrap(undefined));
    case 'append':
      return file.append(dataOf(op.data, op.length)).then((n) => wrap(n));
    case 'truncate':
      return file.truncate(op.size).then(() => wrap(undefined));
    case 'preallocate':
      return file.preallocate(op.size).then(() => wrap(undefined));
    case 'size':
      return file.size().then((n) => wrap(n));
    case 'flush':
      return file.flush().then(() => wrap(undefined));
    case 'reopen':
      return Promise.reject(new Error('reopen is run by the round, not called'));
  }
}

/** Checks one read of `[at, at + length)`: its count between what the round's first and last sizes allow, its bytes the file's. */
function checkRead(what: string, at: number, length: number, count: unknown, bytes: Buffer, file: SparseFile, startSize: number): void {
  const clamp = (size: number) => Math.max(0, Math.min(length, size - at));
  const low = clamp(startSize);
  const high = clamp(file.size);
  if (typeof count !== 'number' || count < low || count > high) {
    throw new Error(`${what}: read ${String(count)} bytes, expected ${low === high ? low : `${low} to ${high}`} (size ${startSize} -> ${file.size})`);
  }
  const expected = file.bytes(at, count);
  if (!bytes.subarray(0, count).equals(expected)) {
    let first = 0;
    while (bytes[first] === expected[first]) first++;
    throw new Error(
      `${what}: byte ${at + first} reads 0x${(bytes[first] as number).toString(16)}, expected 0x${(expected[first] as number).toString(16)}` +
        ` (${count} bytes read at ${at})`,
    );
  }
}

/** Checks what each op of a round resolved with, against the file after the round. */
function checkRound(round: FuzzOp[], effects: Effect[], outcomes: PromiseSettledResult<{ value: unknown; buffers?: Buffer[] }>[], file: SparseFile, startSize: number): void {
  for (const [i, op] of round.entries()) {
    const outcome = outcomes[i] as PromiseSettledResult<{ value: unknown; buffers?: Buffer[] }>;
    const what = describeOp(op);
    if (outcome.status === 'rejected') {
      const error = outcome.reason as Error;
      throw new Error(`${what} rejected: ${error?.stack ?? String(error)}`);
    }
    const { value, buffers } = outcome.value;
    const effect = effects[i] as Effect;
    switch (op.op) {
      case 'writeAt':
      case 'write':
        if (value !== op.length) throw new Error(`${what}: resolved ${String(value)}, expected ${op.length}`);
        break;
      case 'writevAt': {
        const total = op.lengths.reduce((sum, n) => sum + n, 0);
        if (value !== total) throw new Error(`${what}: resolved ${String(value)}, expected ${total}`);
        break;
      }
      case 'append':
        if (value !== effect.appendAt) throw new Error(`${what}: landed at ${String(value)}, expected ${String(effect.appendAt)}`);
        break;
      case 'readAt':
      case 'read':
      case 'readvAt': {
        const read = effect.reads[0] as { at: number; length: number };
        checkRead(what, read.at, read.length, value, Buffer.concat(buffers ?? []), file, startSize);
        break;
      }
      case 'batch': {
        const counts = value as number[];
        let reads = 0;
        for (const [j, request] of op.requests.entries()) {
          if (request.write) {
            if (counts[j] !== request.length) throw new Error(`${what}: request ${j} wrote ${String(counts[j])}, expected ${request.length}`);
          } else {
            const read = effect.reads[reads++] as { at: number; length: number };
            checkRead(`${what}, request ${j}`, read.at, read.length, counts[j], (buffers ?? [])[j] as Buffer, file, startSize);
          }
        }
        break;
      }
      case 'size':
        if (typeof value !== 'number' || value < startSize || value > file.size) {
          throw new Error(`${what}: ${String(value)}, expected ${startSize} to ${file.size}`);
        }
        break;
      default:
        break;
    }
  }
}

/** Compares pages of the file on disk (read through node:fs) with the model. */
function comparePages(path: string, file: SparseFile, pages: Iterable<number>, what: string): void {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size !== file.size) throw new Error(`${what}: the file is ${size} bytes, expected ${file.size}`);
    const buffer = Buffer.alloc(PAGE);
    for (const index of pages) {
      const at = index * PAGE;
      if (at >= file.size) continue;
      const length = Math.min(PAGE, file.size - at);
      const got = readSync(fd, buffer, 0, length, at);
      const expected = file.bytes(at, length);
      if (got !== length || !buffer.subarray(0, length).equals(expected)) {
        let first = 0;
        while (first < length && buffer[first] === expected[first]) first++;
        throw new Error(`${what}: page at ${at}: byte ${at + first} differs (${got} of ${length} bytes read)`);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Runs `program` on `backend` in `dir`; throws a Mismatch at the first difference. */
async function runProgram(program: FuzzProgram, backend: BackendName, dir: string, checkEvery: number): Promise<number> {
  const path = join(dir, `fuzz-${program.seed}.bin`);
  const model = new SparseFile();
  if (program.initial.length > 0) {
    const initial = dataOf(program.initial.data, program.initial.length);
    writeFileSync(path, initial);
    model.write(0, initial);
  }
  const disposition = program.initial.length > 0 ? 'open-existing' : 'create-always';
  let file = await open(path, { disposition, access: 'read-write', backend });
  const state: FuzzState = { file: model, end: model.size, cursor: 0 };
  // Pages written or cut since the last comparison, and probes where a
  // write with a position cut to 31 or 32 bits would have landed.
  let dirty = new Set<number>();
  const probes = new Set<number>();
  let written = 0;
  let sinceCheck = 0;
  let ops = 0;
  try {
    for (const [index, round] of program.rounds.entries()) {
      const startSize = model.size;
      const effects = round.map((op) => effectOf(op, state));
      if (effects.some((e) => e.reopen)) {
        const reopen = round[0] as Extract<FuzzOp, { op: 'reopen' }>;
        await file.close();
        file = await open(path, { disposition: reopen.disposition, access: 'read-write', backend });
        state.end = model.size;
        state.cursor = 0;
        ops++;
        continue;
      }
      const calls: Array<Promise<{ value: unknown; buffers?: Buffer[] }>> = [];
      for (const op of round) {
        if (op.pause) await pauses[op.pause]();
        calls.push(call(file, op));
      }
      const outcomes = await Promise.allSettled(calls);
      applyRound(model, effects);
      try {
        checkRound(round, effects, outcomes, model, startSize);
      } catch (error) {
        throw new Mismatch(index, (error as Error).message);
      }
      for (const effect of effects) {
        for (const write of effect.writes) {
          written += write.bytes.length;
          for (let page = Math.floor(write.at / PAGE); page * PAGE < write.at + write.bytes.length; page++) dirty.add(page);
          if (write.at >= 2 ** 31 && probes.size < 4096) {
            probes.add(Math.floor((write.at % 2 ** 32) / PAGE));
            probes.add(Math.floor((write.at % 2 ** 31) / PAGE));
          }
        }
        if (effect.truncate !== undefined) dirty.add(Math.floor(effect.truncate / PAGE));
        if (effect.preallocate !== undefined) dirty.add(Math.floor(Math.max(0, effect.preallocate - 1) / PAGE));
      }
      ops += round.length;
      sinceCheck += round.length;
      if (sinceCheck >= checkEvery) {
        sinceCheck = 0;
        try {
          comparePages(path, model, dirty, `after round ${index}`);
        } catch (error) {
          throw new Mismatch(index, (error as Error).message);
        }
        dirty = new Set();
      }
    }
    const last = program.rounds.length - 1;
    // The whole file: its size, every page the model holds, the probes, and
    // no more disk than the bytes written and the preallocations explain.
    const { allocated } = await file.stat();
    await file.close();
    try {
      comparePages(path, model, [...model.pages.keys(), ...probes, ...dirty], 'the whole file');
      const bound = written + MAX_PREALLOCATE + 16 * MiB;
      if (allocated > bound) throw new Error(`the whole file: ${allocated} bytes allocated, more than the ${bound} the ops explain`);
    } catch (error) {
      throw new Mismatch(last, (error as Error).message);
    }
    return ops;
  } finally {
    if (!file.closed) await file.close().catch(() => undefined);
    rmSync(path, { force: true });
  }
}

/**
 * Shrinks a failing program: its rounds up to the failing one, then ever
 * smaller sets of ops, keeping a candidate only if it is valid by the
 * model's rules and still fails. Bounded by `budgetMs` and `maxRuns`.
 */
async function shrink(
  program: FuzzProgram,
  failingRound: number,
  fails: (candidate: FuzzProgram) => Promise<Mismatch | undefined>,
  budgetMs = 60_000,
  maxRuns = 300,
): Promise<{ program: FuzzProgram; mismatch?: Mismatch }> {
  const deadline = Date.now() + budgetMs;
  let runs = 0;
  let best: FuzzProgram = { ...program, rounds: program.rounds.slice(0, failingRound + 1) };
  // A race may need a few tries to show again.
  let bestMismatch: Mismatch | undefined;
  for (let attempt = 0; attempt < 3 && bestMismatch === undefined; attempt++) bestMismatch = await fails(best);
  if (bestMismatch === undefined) return { program: best };
  const flat = (p: FuzzProgram) => p.rounds.flatMap((round, r) => round.map((_, i) => [r, i] as const));
  const without = (p: FuzzProgram, drop: Set<string>): FuzzProgram => ({
    ...p,
    rounds: p.rounds.map((round, r) => round.filter((_, i) => !drop.has(`${r}:${i}`))).filter((round) => round.length > 0),
  });
  let chunk = Math.max(1, Math.floor(flat(best).length / 2));
  while (chunk >= 1 && Date.now() < deadline && runs < maxRuns) {
    let progressed = false;
    const ops = flat(best);
    for (let start = 0; start < ops.length && Date.now() < deadline && runs < maxRuns; start += chunk) {
      const drop = new Set(ops.slice(start, start + chunk).map(([r, i]) => `${r}:${i}`));
      const trial = without(best, drop);
      if (trial.rounds.length === 0 || invalid(trial) !== undefined) continue;
      runs++;
      const mismatch = await fails(trial);
      if (mismatch !== undefined) {
        best = trial;
        bestMismatch = mismatch;
        progressed = true;
        break;
      }
    }
    if (!progressed) chunk = Math.floor(chunk / 2);
    else chunk = Math.min(chunk, Math.max(1, Math.floor(flat(best).length / 2)));
  }
  // The initial content, if the failure does without it.
  if (best.initial.length > 0 && Date.now() < deadline) {
    const bare = { ...best, initial: { ...best.initial, length: 0 } };
    const mismatch = invalid(bare) === undefined ? await fails(bare) : undefined;
    if (mismatch !== undefined) {
      best = bare;
      bestMismatch = mismatch;
    }
  }
  return { program: best, mismatch: bestMismatch };
}

/** The program as lines a person can read; with `last`, only its last rounds. */
export function describeProgram(program: FuzzProgram, last = Number.POSITIVE_INFINITY): string {
  const lines = [
    program.initial.length > 0
      ? `open-existing on ${program.initial.length} bytes #${program.initial.data}`
      : 'open create-always (empty)',
  ];
  const first = Math.max(0, program.rounds.length - last);
  if (first > 0) lines.push(`(rounds 0 to ${first - 1} left out: the JSON file holds them)`);
  for (let r = first; r < program.rounds.length; r++) lines.push(`round ${r}: ${(program.rounds[r] as FuzzOp[]).map(describeOp).join(' | ')}`);
  return lines.join('\n');
}

async function runOnce(program: FuzzProgram, backend: BackendName, dir: string, checkEvery: number): Promise<Mismatch | undefined> {
  try {
    await runProgram(program, backend, dir, checkEvery);
    return undefined;
  } catch (error) {
    if (error instanceof Mismatch) return error;
    return new Mismatch(-1, (error as Error)?.stack ?? String(error));
  }
}

/**
 * Runs `ops` fuzzed ops from `seed` on `backend`. On a mismatch the
 * program is shrunk, saved as JSON beside a readable form, and the report
 * says where (`mismatch.message` holds the reproduction).
 *
 * @example
 * ```ts
 * const report = await runFileFuzz({ backend: 'io_uring', seed: 1, ops: 10_000 });
 * if (report.mismatch) console.error(report.mismatch.message);
 * ```
 */
export async function runFileFuzz(options: FileFuzzOptions): Promise<FileFuzzReport> {
  const started = Date.now();
  const ops = options.ops ?? 10_000;
  const checkEvery = options.checkEvery ?? 500;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `overlapped-fuzz-${options.backend}-`));
  const program = generateProgram(options.seed, ops);
  const report: FileFuzzReport = { backend: options.backend, seed: options.seed, ops: 0, rounds: program.rounds.length, milliseconds: 0 };
  try {
    const mismatch = await runOnce(program, options.backend, dir, checkEvery);
    if (mismatch === undefined) {
      report.ops = ops;
    } else {
      const shrunk = await shrink(program, mismatch.round < 0 ? program.rounds.length - 1 : mismatch.round, (p) =>
        runOnce(p, options.backend, dir, 1),
      );
      const saved = join(tmpdir(), `overlapped-fuzz-${options.backend}-${options.seed}-${Date.now()}.json`);
      writeFileSync(saved, JSON.stringify(shrunk.program));
      report.mismatch = {
        round: mismatch.round,
        message:
          `fuzz mismatch on ${options.backend}, seed ${options.seed}, round ${mismatch.round}: ${mismatch.message}\n` +
          (shrunk.mismatch
            ? `shrunk to ${shrunk.program.rounds.reduce((n, r) => n + r.length, 0)} ops, failing with: ${shrunk.mismatch.message}\n`
            : 'the failure did not repeat while shrinking (a race); the program up to the failing round:\n') +
          `${describeProgram(shrunk.program, 12)}\n` +
          `replay: node packages/testkit/dist/fuzz/file.js --backend ${options.backend} --replay ${saved}`,
      };
    }
  } finally {
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  }
  report.milliseconds = Date.now() - started;
  return report;
}

/**
 * Defines the fuzz tests for `backend`: one test per seed, `ops` ops each.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * defineFileFuzzSuite({ describe, it }, 'io_uring', { seeds: [1, 2, 3], ops: 10_000 });
 * ```
 */
export function defineFileFuzzSuite(
  api: TestApi,
  backend: BackendName,
  options: { seeds: number[]; ops: number; timeoutMs?: number },
): void {
  api.describe(`file fuzz [${backend}]`, () => {
    for (const seed of options.seeds) {
      api.it(
        `${options.ops.toLocaleString('en-US')} fuzzed ops from seed ${seed} match the model`,
        async () => {
          const report = await runFileFuzz({ backend, seed, ops: options.ops });
          console.log(`[fuzz ${backend}] seed ${seed}: ${report.ops} ops in ${report.rounds} rounds, ${report.milliseconds} ms, ${report.mismatch ? 1 : 0} mismatches`);
          if (report.mismatch) throw new Error(report.mismatch.message);
        },
        options.timeoutMs ?? 300_000,
      );
    }
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', multiple: true },
      ops: { type: 'string', default: '10000' },
      seed: { type: 'string', default: 'random' },
      seeds: { type: 'string', default: '1' },
      replay: { type: 'string' },
      'check-every': { type: 'string', default: '500' },
    },
  });
  const backends = (values.backend?.length ? values.backend : ['io_uring', 'threadpool', 'portable', 'iocp']) as BackendName[];
  const ops = Number(values.ops);
  const checkEvery = Number(values['check-every']);
  let failed = 0;
  for (const backend of backends) {
    const availability = backendAvailability(backend);
    if (!availability.available) {
      console.log(`[${backend}] skipped: ${availability.reason}`);
      if (values.backend?.length) failed++;
      continue;
    }
    if (values.replay) {
      const program = JSON.parse(readFileSync(values.replay, 'utf8')) as FuzzProgram;
      const why = invalid(program);
      if (why) console.log(`note: the program breaks the model's rules (${why})`);
      const dir = mkdtempSync(join(tmpdir(), `overlapped-fuzz-${backend}-`));
      const mismatch = await runOnce(program, backend, dir, 1);
      rmSync(dir, { recursive: true, force: true });
      console.log(`${describeProgram(program)}\n[${backend}] replay: ${mismatch ? `mismatch in round ${mismatch.round}: ${mismatch.message}` : 'matches the model'}`);
      if (mismatch) failed++;
      continue;
    }
    const count = Number(values.seeds);
    for (let i = 0; i < count; i++) {
      const seed = values.seed === 'random' ? randomInt(1, 2 ** 31) : Number(values.seed) + i;
      const report = await runFileFuzz({ backend, seed, ops, checkEvery });
      console.log(
        `[${backend}] seed ${seed}: ${report.ops} ops in ${report.rounds} rounds, ${(report.milliseconds / 1000).toFixed(1)} s, ` +
          `${report.mismatch ? 1 : 0} mismatches`,
      );
      if (report.mismatch) {
        console.log(report.mismatch.message);
        failed++;
      }
    }
  }
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
