// An OpGroup on a driver of our own that completes ops only when told to
// (and cancelled ones with ECANCELED): abort, close and error mapping.
import { describe, expect, it } from 'vitest';

import { codedError, CompletionPort, type DriverFactory, errnoOf, OpGroup, OpKinds, type PortDriver, RECORD_WORDS } from '../src/index.js';

function heldDriver() {
  const inFlight = new Set<number>();
  // Ops a cancel does not reach (they complete on their own, as one the
  // kernel finished, or failed, before the cancel).
  const uncancellable = new Set<number>();
  const done: Array<[number, number]> = [];
  let wake: () => void = () => {};
  const ring = new ArrayBuffer(4096 * RECORD_WORDS * 8);
  const complete = (token: number, status: number) => {
    inFlight.delete(token);
    done.push([token, status]);
    queueMicrotask(wake);
  };
  const driver: PortDriver = {
    ring,
    postBatch: () => {},
    drain: () => {
      const view = new Float64Array(ring);
      const count = done.length;
      done.splice(0).forEach(([token, status], i) => view.set([0, status === 0 ? 1 : 0, token, status], i * RECORD_WORDS));
      return count;
    },
    busy: () => inFlight.size > 0 || done.length > 0,
    counters: () => ({ posted: 0, delivered: 0, peakQueued: 0, peakRunning: 0, activePosters: 0 }),
    setRef: () => {},
    stopPosters: () => {},
    destroy: () => {},
    submit: (_kind, token) => {
      inFlight.add(token);
    },
    cancel: (token) => {
      if (!inFlight.has(token) || uncancellable.has(token)) return false;
      complete(token, errnoOf('ECANCELED'));
      return true;
    },
  };
  const factory: DriverFactory = (_config, onWake) => {
    wake = onWake;
    return { driver, capabilities: { nativeWorkers: true, nativePosters: false, kernelQueue: false, ops: true } };
  };
  return { factory, inFlight, uncancellable, complete };
}

const closedError = (syscall: string) => codedError('ERR_SOCKET_CLOSED', `Socket is closed (${syscall})`, { syscall });
// A path makes each op a submission of its own (no staging), so the driver sees it at once.
const request = { kind: OpKinds.nop, path: 'x' };

describe('OpGroup', () => {
  it('fails ops in flight at close, and ops after it, with the closed error', async () => {
    const { factory, inFlight, uncancellable, complete } = heldDriver();
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    const group = new OpGroup(port, { closedError, wording: 'net' });
    const cancelled = group.run(request, { syscall: 'recv' });
    const reset = group.run(request, { syscall: 'send' });
    const resetToken = [...inFlight][1]!;
    uncancellable.add(resetToken);
    expect(group.size).toBe(2);
    group.close();
    // What the kernel reports for a handle closed under an op is not the op's error.
    complete(resetToken, errnoOf('ECONNRESET'));
    await expect(cancelled).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED', syscall: 'recv' });
    await expect(reset).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED', syscall: 'send' });
    await expect(group.run(request, { syscall: 'recv' })).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    expect(() => group.submit(request, () => {})).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
    expect(group.size).toBe(0);
    expect(inFlight.size).toBe(0);
    await port.close();
  });

  it('rejects an aborted op with an AbortError and stays usable', async () => {
    const { factory, inFlight, complete } = heldDriver();
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    const group = new OpGroup(port, { closedError, wording: 'net' });
    const controller = new AbortController();
    const aborted = group.run(request, { syscall: 'recv' }, controller.signal);
    controller.abort(new Error('enough'));
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: { message: 'enough' } });
    const next = group.run(request, { syscall: 'recv' });
    complete([...inFlight][0]!, 0);
    await expect(next).resolves.toBe(1);
    expect(group.closed).toBe(false);
    await port.close();
  });

  it('words system errors as net does, and gives submit callers the same error', async () => {
    const { factory, inFlight, complete } = heldDriver();
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    const group = new OpGroup(port, { closedError, wording: 'net' });
    const failed = group.run(request, { syscall: 'recv' });
    complete([...inFlight][0]!, errnoOf('ECONNRESET'));
    await expect(failed).rejects.toMatchObject({ code: 'ECONNRESET', syscall: 'recv', message: 'recv ECONNRESET' });
    const viaSubmit = new Promise<Error>((resolve) => {
      group.submit(request, (status, result) => resolve(group.error(status, result, { syscall: 'send' })));
    });
    complete([...inFlight][0]!, errnoOf('EPIPE'));
    await expect(viaSubmit).resolves.toMatchObject({ code: 'EPIPE', message: 'send EPIPE' });
    expect(group.size).toBe(0);
    await port.close();
  });

  it('tracks ops that end in any order: close cancels exactly the ones still in flight', async () => {
    const { factory, inFlight, complete } = heldDriver();
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    const group = new OpGroup(port, { closedError, wording: 'net' });
    const ops = Array.from({ length: 5 }, () => group.run(request, { syscall: 'recv' }));
    const tokens = [...inFlight];
    // The middle one first, then the newest, then the oldest.
    complete(tokens[2]!, 0);
    complete(tokens[4]!, 0);
    complete(tokens[0]!, 0);
    await expect(Promise.all([ops[0], ops[2], ops[4]])).resolves.toEqual([1, 1, 1]);
    expect(group.size).toBe(2);
    expect(group.cancel(tokens[2]!)).toBe(false);
    group.close();
    await expect(ops[1]).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    await expect(ops[3]).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    expect(group.size).toBe(0);
    expect(inFlight.size).toBe(0);
    await port.close();
  });

  it('validates its options and requests', () => {
    const { factory } = heldDriver();
    const port = new CompletionPort('io_uring', factory, { threads: 1 });
    expect(() => new OpGroup(port, {} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => new OpGroup(port, { closedError, wording: 'tcp' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    const group = new OpGroup(port, { closedError });
    expect(() => group.run({ kind: -1 }, { syscall: 'x' })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    void port.close();
  });
});
