// The port's op staging on a driver of our own: an op the native core
// refuses, or whose buffer is detached before the end of the turn, fails
// alone with a typed error; the ops staged with it go ahead.
import { describe, expect, it } from 'vitest';

import {
  bufferDetached,
  CompletionPort,
  type DriverFactory,
  isDetached,
  OpKinds,
  type PortDriver,
  RECORD_WORDS,
  validateBufferSource,
} from '../src/index.js';

interface Submitted {
  token: number;
  buffer: Uint8Array | null;
}

/** A driver that completes each op it is given with the buffer's length, and can refuse chosen ones. */
function fakeDriver(options: { refuse?: (index: number) => boolean; throwOnBatch?: boolean } = {}) {
  const submitted: Submitted[] = [];
  const pending: Array<[number, number]> = [];
  let wake: () => void = () => {};
  const ring = new ArrayBuffer(4096 * RECORD_WORDS * 8);
  const driver: PortDriver = {
    ring,
    postBatch: () => {},
    drain: () => {
      const view = new Float64Array(ring);
      const count = pending.length;
      pending.splice(0).forEach(([token, bytes], i) => view.set([0, bytes, token, 0], i * RECORD_WORDS));
      return count;
    },
    busy: () => pending.length > 0,
    counters: () => ({ posted: 0, delivered: 0, peakQueued: 0, peakRunning: 0, activePosters: 0 }),
    setRef: () => {},
    stopPosters: () => {},
    destroy: () => {},
    submit: (_kind, token, _key, _handle, _offset, _arg, buffers) => {
      const buffer = Array.isArray(buffers) ? (buffers[0] ?? null) : buffers;
      submitted.push({ token, buffer });
      pending.push([token, buffer?.byteLength ?? 0]);
      queueMicrotask(wake);
    },
    submitBatch: (fields, count, buffers) => {
      if (options.throwOnBatch) throw Object.assign(new Error('The port is closed'), { code: 'ERR_PORT_CLOSED' });
      const refused: Array<[number, string, string]> = [];
      for (let i = 0; i < count; i++) {
        if (options.refuse?.(submitted.length)) {
          submitted.push({ token: 0, buffer: null });
          refused.push([i, 'ERR_INVALID_ARG_TYPE', 'refused by the test driver']);
          continue;
        }
        const buffer = buffers[i] ?? null;
        submitted.push({ token: fields[i * 6 + 1] as number, buffer });
        pending.push([fields[i * 6 + 1] as number, buffer?.byteLength ?? 0]);
      }
      queueMicrotask(wake);
      return refused.length > 0 ? refused : undefined;
    },
    cancel: () => false,
  };
  const factory: DriverFactory = (_config, onWake) => {
    wake = onWake;
    return { driver, capabilities: { nativeWorkers: true, nativePosters: false, kernelQueue: false, ops: true } };
  };
  return { factory, submitted };
}

const nop = (buffers?: Uint8Array) => ({ kind: OpKinds.nop, ...(buffers ? { buffers } : {}) });

describe('ops staged in one turn', () => {
  it('fail alone when the native core refuses one of them', async () => {
    const { factory } = fakeDriver({ refuse: (index) => index === 1 });
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    const outcomes = await Promise.allSettled([
      port.runOp(nop(new Uint8Array(3)), { syscall: 'nop' }),
      port.runOp(nop(new Uint8Array(5)), { syscall: 'nop' }),
      port.runOp(nop(new Uint8Array(7)), { syscall: 'nop' }),
    ]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 3 });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_INVALID_ARG_TYPE' } });
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(TypeError);
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 7 });
    expect(port.opsInFlight).toBe(0);
    await port.close();
  });

  it('each fail with the error when the native call throws, none left waiting', async () => {
    const { factory } = fakeDriver({ throwOnBatch: true });
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    const errors: unknown[] = [];
    const settled = Promise.allSettled([
      port.runOp(nop(new Uint8Array(3)), { syscall: 'nop' }),
      new Promise((resolve, reject) => port.submitOp(nop(), (status, result, more, error) => (error ? reject(error) : resolve(status)))),
    ]);
    for (const outcome of await settled) errors.push(outcome.status === 'rejected' ? (outcome.reason as { code?: string }).code : outcome.value);
    expect(errors).toEqual(['ERR_PORT_CLOSED', 'ERR_PORT_CLOSED']);
    expect(port.opsInFlight).toBe(0);
    await port.close();
  });

  it('never hand the backend a buffer detached after the call: that op fails with ERR_INVALID_STATE', async () => {
    const { factory, submitted } = fakeDriver();
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    const before = new Uint8Array(4);
    const detached = new Uint8Array(16);
    const after = new Uint8Array(8);
    const ops = [before, detached, after].map((view) => port.runOp(nop(view), { syscall: 'nop' }));
    const clone = structuredClone(detached.buffer, { transfer: [detached.buffer] });
    const outcomes = await Promise.allSettled(ops);
    expect(clone.byteLength).toBe(16);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as { code?: string }).code))).toEqual([4, 'ERR_INVALID_STATE', 8]);
    expect(submitted.map((s) => s.buffer)).toEqual([before, after]);
    await port.close();
  });

  it('fail with ERR_INVALID_STATE when the buffer is detached while the op is in flight', async () => {
    const { factory } = fakeDriver();
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    const view = new Uint8Array(32);
    const op = port.runOp({ kind: OpKinds.nop, buffers: [view] }, { syscall: 'nop' });
    // A list of buffers is submitted at once: this detach is mid-op.
    structuredClone(view.buffer, { transfer: [view.buffer] });
    await expect(op).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    await port.close();
  });
});

describe('buffer checks', () => {
  it('tell a detached view from an empty one and from a SharedArrayBuffer view', () => {
    const view = new Uint8Array(8);
    expect(isDetached(view)).toBe(false);
    structuredClone(view.buffer, { transfer: [view.buffer] });
    expect(isDetached(view)).toBe(true);
    expect(isDetached(new Uint8Array(0))).toBe(false);
    expect(isDetached(new Uint8Array(new SharedArrayBuffer(0)))).toBe(false);
    expect(() => validateBufferSource(view, 'buffer')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    expect(() => validateBufferSource(new Uint8Array(new SharedArrayBuffer(4)), 'buffer')).not.toThrow();
    const error = bufferDetached('buffer');
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('The "buffer" argument\'s ArrayBuffer is detached');
  });
});

/** A driver that keeps every op in flight until the test completes it. */
function holdingDriver() {
  const inFlight = new Map<number, number>();
  const ready: Array<[number, number, number]> = [];
  let wake: () => void = () => {};
  const ring = new ArrayBuffer(4096 * RECORD_WORDS * 8);
  const take = (token: number, bytes: number) => inFlight.set(token, bytes);
  const driver: PortDriver = {
    ring,
    postBatch: () => {},
    drain: () => {
      const view = new Float64Array(ring);
      const batch = ready.splice(0, 4096);
      batch.forEach(([token, bytes, status], i) => view.set([0, bytes, token, status], i * RECORD_WORDS));
      return batch.length;
    },
    busy: () => ready.length > 0 || inFlight.size > 0,
    counters: () => ({ posted: 0, delivered: 0, peakQueued: 0, peakRunning: 0, activePosters: 0 }),
    setRef: () => {},
    stopPosters: () => {},
    destroy: () => {},
    submit: (_kind, token, _key, _handle, _offset, arg) => {
      take(token, arg);
    },
    submitBatch: (fields, count) => {
      for (let i = 0; i < count; i++) take(fields[i * 6 + 1] as number, fields[i * 6 + 5] as number);
    },
    cancel: (token) => {
      if (!inFlight.has(token)) return false;
      inFlight.delete(token);
      ready.push([token, 0, -125]);
      queueMicrotask(wake);
      return true;
    },
  };
  const factory: DriverFactory = (_config, onWake) => {
    wake = onWake;
    return { driver, capabilities: { nativeWorkers: true, nativePosters: false, kernelQueue: false, ops: true } };
  };
  // Completes every op in flight but `except`, each with its arg as its result.
  const completeAll = (except: number) => {
    for (const [token, bytes] of inFlight) {
      if (token === except) continue;
      inFlight.delete(token);
      ready.push([token, bytes, 0]);
    }
    queueMicrotask(wake);
  };
  return { factory, completeAll };
}

describe('ops in flight', () => {
  it('an op that lasts while ten thousand later ones start and finish keeps its own completion, and can be cancelled', async () => {
    const { factory, completeAll } = holdingDriver();
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    const lasting: Array<[number, number]> = [];
    const token = port.submitOp({ kind: OpKinds.nop, arg: 7 }, (status, result) => lasting.push([status, result]));
    for (let round = 0; round < 5; round++) {
      const results = Array.from({ length: 2000 }, (_, i) => port.runOp({ kind: OpKinds.nop, arg: round * 2000 + i }, { syscall: 'nop' }));
      await Promise.resolve();
      completeAll(token);
      expect(await Promise.all(results)).toEqual(Array.from({ length: 2000 }, (_, i) => round * 2000 + i));
      expect(port.opsInFlight).toBe(1);
    }
    expect(lasting).toEqual([]);
    expect(port.cancelOp(token)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(lasting).toEqual([[-125, 0]]);
    expect(port.opsInFlight).toBe(0);
    expect(port.cancelOp(token)).toBe(false);
    await port.close();
  });
});
