/**
 * What the file fuzzer checks against: a sparse in-memory file, the ops a
 * program is made of, and what the README promises each of them does when
 * several are in flight at once.
 *
 * The rules (packages/file/README.md):
 * - Ops called in one round are in flight together and complete in any
 *   order. A round never holds two ops whose outcome depends on that order:
 *   no two writes overlap, no read overlaps a write, and a truncate shares
 *   its round only with ops that stay below its size (writes end at or
 *   before it, reads end at or before both it and the size the round
 *   started with, preallocates ask no more than it) and with no size query.
 * - Everything else may share a round: writes and preallocates only grow
 *   the file, so a read that crosses the end may see any size between the
 *   round's start and its end; it must then return that many bytes, and
 *   they must be the file's bytes (zeros in a hole).
 * - Append and cursor ops reserve their range at call time: the model
 *   computes their positions in call order. The append end starts at the
 *   size at open, moves to the end of every write (of any kind) and
 *   preallocate that ends past it, by every append, and truncate sets it.
 */

/** One call of a round. `pause` yields before the call (a microtask, or a turn of the event loop). */
export type FuzzOp = (
  | { op: 'writeAt'; at: number; length: number; data: number; offset?: number }
  | { op: 'readAt'; at: number; length: number; offset?: number }
  | { op: 'writevAt'; at: number; lengths: number[]; data: number }
  | { op: 'readvAt'; at: number; lengths: number[] }
  | { op: 'batch'; requests: Array<{ write: boolean; at: number; length: number; data: number }> }
  | { op: 'read'; length: number }
  | { op: 'write'; length: number; data: number }
  | { op: 'seek'; to: number }
  | { op: 'append'; length: number; data: number }
  | { op: 'truncate'; size: number }
  | { op: 'preallocate'; size: number }
  | { op: 'size' }
  | { op: 'flush' }
  | { op: 'reopen'; disposition: 'open-existing' | 'open-always' }
) & { pause?: 'tick' | 'turn' };

/** A whole run: the file's first content (a data seed and a length; 0 bytes: made empty), then rounds of ops. */
export interface FuzzProgram {
  seed: number;
  initial: { length: number; data: number };
  rounds: FuzzOp[][];
}

/** Bytes `op` writes: `length` pseudo-random bytes from `seed` (xorshift32, never all zeros). */
export function dataOf(seed: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let state = (seed >>> 0) || 0x9e3779b9;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes.writeUInt32LE(state >>> 0, i);
  }
  for (; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

export const PAGE = 4096;

/** A sparse file: 4 KiB pages that were written, a size, zeros everywhere else. */
export class SparseFile {
  readonly pages = new Map<number, Uint8Array>();
  size = 0;

  write(at: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const position = at + done;
      const index = Math.floor(position / PAGE);
      const within = position - index * PAGE;
      const count = Math.min(PAGE - within, bytes.length - done);
      let page = this.pages.get(index);
      if (page === undefined) {
        page = new Uint8Array(PAGE);
        this.pages.set(index, page);
      }
      page.set(bytes.subarray(done, done + count), within);
      done += count;
    }
    this.size = Math.max(this.size, at + bytes.length);
  }

  truncate(size: number): void {
    const keep = Math.ceil(size / PAGE);
    for (const index of [...this.pages.keys()]) if (index >= keep) this.pages.delete(index);
    const tail = this.pages.get(Math.floor(size / PAGE));
    if (tail !== undefined && size % PAGE !== 0) tail.fill(0, size % PAGE);
    this.size = size;
  }

  grow(size: number): void {
    this.size = Math.max(this.size, size);
  }

  /** The bytes of `[at, at + length)`, zeros where nothing was written, whatever the size. */
  bytes(at: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const position = at + done;
      const index = Math.floor(position / PAGE);
      const within = position - index * PAGE;
      const count = Math.min(PAGE - within, length - done);
      const page = this.pages.get(index);
      if (page !== undefined) out.set(page.subarray(within, within + count), done);
      done += count;
    }
    return out;
  }
}

/** The handle-side state a round starts from: the file, the append end and the cursor. */
export interface FuzzState {
  file: SparseFile;
  end: number;
  cursor: number;
}

/** What one op does, known when it is called. */
export interface Effect {
  /** Ranges written, with their bytes. */
  writes: Array<{ at: number; bytes: Buffer }>;
  /** Ranges read, with the buffer lengths of each (one entry for a plain read). */
  reads: Array<{ at: number; length: number }>;
  truncate?: number;
  preallocate?: number;
  sizeQuery?: boolean;
  /** Where an append lands (what it resolves with). */
  appendAt?: number;
  reopen?: boolean;
}

/**
 * The effect of calling `op` in state `state` (whose end and cursor move
 * as the op's call moves them).
 */
export function effectOf(op: FuzzOp, state: FuzzState): Effect {
  const effect: Effect = { writes: [], reads: [] };
  const reserve = (at: number, length: number) => {
    if (length > 0) state.end = Math.max(state.end, at + length);
  };
  switch (op.op) {
    case 'writeAt':
      effect.writes.push({ at: op.at, bytes: dataOf(op.data, op.length) });
      reserve(op.at, op.length);
      break;
    case 'readAt':
      effect.reads.push({ at: op.at, length: op.length });
      break;
    case 'writevAt': {
      const total = op.lengths.reduce((sum, n) => sum + n, 0);
      effect.writes.push({ at: op.at, bytes: dataOf(op.data, total) });
      reserve(op.at, total);
      break;
    }
    case 'readvAt':
      effect.reads.push({ at: op.at, length: op.lengths.reduce((sum, n) => sum + n, 0) });
      break;
    case 'batch':
      for (const request of op.requests) {
        if (request.write) {
          effect.writes.push({ at: request.at, bytes: dataOf(request.data, request.length) });
          reserve(request.at, request.length);
        } else {
          effect.reads.push({ at: request.at, length: request.length });
        }
      }
      break;
    case 'read':
      effect.reads.push({ at: state.cursor, length: op.length });
      state.cursor += op.length;
      break;
    case 'write':
      effect.writes.push({ at: state.cursor, bytes: dataOf(op.data, op.length) });
      reserve(state.cursor, op.length);
      state.cursor += op.length;
      break;
    case 'seek':
      state.cursor = op.to;
      break;
    case 'append':
      effect.appendAt = state.end;
      effect.writes.push({ at: state.end, bytes: dataOf(op.data, op.length) });
      state.end += op.length;
      break;
    case 'truncate':
      effect.truncate = op.size;
      state.end = op.size;
      break;
    case 'preallocate':
      effect.preallocate = op.size;
      reserve(0, op.size);
      break;
    case 'size':
      effect.sizeQuery = true;
      break;
    case 'flush':
      break;
    case 'reopen':
      effect.reopen = true;
      break;
  }
  return effect;
}

/**
 * Why `candidate` cannot share a round with `effects` (which started at
 * size `startSize`), or undefined if it can.
 */
export function conflict(effects: readonly Effect[], candidate: Effect, startSize: number): string | undefined {
  if (candidate.reopen) return effects.length > 0 ? 'a reopen is a round of its own' : undefined;
  if (effects.some((e) => e.reopen)) return 'a reopen is a round of its own';
  const overlaps = (a: number, alength: number, b: number, blength: number) => a < b + blength && b < a + alength;
  // The candidate's own ranges (a batch's requests) must not clash either.
  const all = [...effects, candidate];
  for (const [i, write] of candidate.writes.entries()) {
    for (const other of all) {
      for (const [j, w] of other.writes.entries()) {
        if (other === candidate && j <= i) continue;
        if (overlaps(write.at, write.bytes.length, w.at, w.bytes.length)) return 'two writes overlap';
      }
      for (const r of other.reads) if (overlaps(write.at, write.bytes.length, r.at, r.length)) return 'a write overlaps a read';
    }
  }
  for (const read of candidate.reads) {
    for (const other of effects) {
      for (const w of other.writes) if (overlaps(read.at, read.length, w.at, w.bytes.length)) return 'a read overlaps a write';
    }
  }
  const truncates = all.filter((e) => e.truncate !== undefined);
  if (truncates.length > 1) return 'two truncates';
  const cut = truncates[0]?.truncate;
  if (cut !== undefined) {
    for (const e of all) {
      if (e.sizeQuery) return 'a size query beside a truncate';
      if (e.preallocate !== undefined && e.preallocate > cut) return 'a preallocate past a truncate';
      for (const w of e.writes) if (w.at + w.bytes.length > cut) return 'a write past a truncate';
      for (const r of e.reads) if (r.at + r.length > Math.min(cut, startSize)) return 'a read past a truncate or the start size';
    }
  }
  return undefined;
}

/** The file after a round's effects (they commute, by the rules above). */
export function applyRound(file: SparseFile, effects: readonly Effect[]): void {
  for (const effect of effects) for (const write of effect.writes) file.write(write.at, write.bytes);
  for (const effect of effects) if (effect.preallocate !== undefined) file.grow(effect.preallocate);
  for (const effect of effects) if (effect.truncate !== undefined) file.truncate(effect.truncate);
}

/** A short description of an op, for reports. */
export function describeOp(op: FuzzOp): string {
  const pause = op.pause ? ` (after a ${op.pause})` : '';
  switch (op.op) {
    case 'writeAt':
      return `writeAt(${op.length} bytes #${op.data}, ${op.at}${op.offset ? `, { offset: ${op.offset} }` : ''})${pause}`;
    case 'readAt':
      return `readAt(${op.length} bytes, ${op.at}${op.offset ? `, { offset: ${op.offset} }` : ''})${pause}`;
    case 'writevAt':
      return `writevAt([${op.lengths.join(', ')}] #${op.data}, ${op.at})${pause}`;
    case 'readvAt':
      return `readvAt([${op.lengths.join(', ')}], ${op.at})${pause}`;
    case 'batch':
      return `batch([${op.requests.map((r) => `${r.write ? 'write' : 'read'} ${r.length}${r.write ? ` #${r.data}` : ''} @${r.at}`).join(', ')}])${pause}`;
    case 'read':
      return `read(${op.length} bytes)${pause}`;
    case 'write':
      return `write(${op.length} bytes #${op.data})${pause}`;
    case 'seek':
      return `position = ${op.to}${pause}`;
    case 'append':
      return `append(${op.length} bytes #${op.data})${pause}`;
    case 'truncate':
      return `truncate(${op.size})${pause}`;
    case 'preallocate':
      return `preallocate(${op.size})${pause}`;
    case 'size':
      return `size()${pause}`;
    case 'flush':
      return `flush()${pause}`;
    case 'reopen':
      return `close(), then open(${op.disposition})`;
  }
}
