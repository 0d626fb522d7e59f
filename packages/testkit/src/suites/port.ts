/**
 * The completion-port conformance suite, written once and run against every
 * backend: exactly-once delivery at volume (from JS and from native
 * threads), order per poster, keys and values intact, backpressure, close,
 * use after close, invalid arguments, stats, and a clean process exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';

import { type BackendName, type Completion, type CompletionPort, errnoName, OpKinds, SocketOpKinds } from '@overlapped/common';
import { loadNativeCore } from '@overlapped/iocp';

import { makePort } from '../backends.js';
import { canForceGc, forceGc, sleep, type TestApi, waitFor } from '../harness.js';

/** Scale of the suite's volume tests; 1 = the full million. */
export interface PortSuiteOptions {
  /** Completions in the volume tests (default 1,000,000). */
  volume?: number;
  /** Per-test timeout in ms (default 120 s). */
  timeoutMs?: number;
}

const exitChild = fileURLToPath(new URL('../../fixtures/port-exit-child.mjs', import.meta.url));

function expectCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.equal((error as { code?: unknown }).code, code, `expected ${code}, got ${String(error)}`);
    return true;
  };
}

/** Collects completions from a callback port until `count` arrived. */
function collector<V>(): { seen: Array<Completion<V>>; onCompletion: (c: Completion<V>) => void } {
  const seen: Array<Completion<V>> = [];
  return { seen, onCompletion: (c) => seen.push(c) };
}

/**
 * Defines the port suite for `backend` on `api`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * definePortSuite({ describe, it }, 'io_uring');
 * ```
 */
export function definePortSuite(api: TestApi, backend: BackendName, options: PortSuiteOptions = {}): void {
  const volume = options.volume ?? 1_000_000;
  const timeout = options.timeoutMs ?? 120_000;
  const { describe, it } = api;
  const isNative = backend !== 'portable';

  describe(`completion port [${backend}]`, () => {
    it('reports the backend serving it and what it supports', async () => {
      const port = makePort(backend, { threads: 2, concurrency: 1 });
      assert.equal(port.backend, backend);
      const caps = port.capabilities();
      assert.equal(caps.backend, backend);
      assert.equal(caps.nativeWorkers, isNative);
      assert.equal(caps.nativePosters, isNative);
      assert.equal(caps.kernelQueue, backend === 'iocp' || backend === 'io_uring');
      assert.equal(caps.ops, isNative);
      const stats = port.stats();
      assert.equal(stats.backend, backend);
      assert.equal(stats.threads, isNative ? 2 : 1);
      assert.equal(stats.concurrency, isNative ? 1 : 1);
      await port.close();
    });

    it(`delivers ${volume.toLocaleString('en-US')} completions posted from JS exactly once, in order`, async () => {
      let next = 0;
      let misordered = 0;
      const port = makePort(backend, {
        onCompletion: (c) => {
          if (c.bytes !== next || c.key !== next % 1000) misordered++;
          next++;
        },
      });
      for (let i = 0; i < volume; i++) port.post(i % 1000, i);
      await port.close();
      assert.equal(misordered, 0);
      assert.equal(next, volume);
      const stats = port.stats();
      assert.equal(stats.posted, volume);
      assert.equal(stats.completed, volume);
      assert.equal(stats.inFlight, 0);
    }, timeout);

    it(`delivers ${volume.toLocaleString('en-US')} completions posted from 4 native threads exactly once, in order per poster`, async () => {
      const port = makePort(backend, { threads: 4, concurrency: 2 });
      if (!isNative) {
        assert.throws(() => port.postFromNativeThreads({ threads: 4, count: 10 }), expectCode('ERR_NOT_SUPPORTED'));
        await port.close();
        return;
      }
      const perThread = Math.floor(volume / 4);
      const expected = [0, 0, 0, 0];
      let errors = 0;
      let seen = 0;
      port.postFromNativeThreads({ threads: 4, count: perThread, key: 500 });
      // Interleave JS posts with the native ones: they are a fifth poster.
      let jsNext = 0;
      for (let i = 0; i < 1000; i++) port.post(7, i);
      for await (const c of port) {
        seen++;
        if (c.key === 7) {
          if (c.bytes !== jsNext++) errors++;
        } else {
          const poster = c.key - 500;
          if (poster < 0 || poster > 3 || c.bytes !== expected[poster]) errors++;
          else expected[poster] = (expected[poster] as number) + 1;
        }
        if (seen === perThread * 4 + 1000) break;
      }
      assert.equal(errors, 0);
      assert.deepEqual(expected, [perThread, perThread, perThread, perThread]);
      assert.equal(jsNext, 1000);
      await port.close();
      const stats = port.stats();
      assert.equal(stats.posted, perThread * 4 + 1000);
      assert.equal(stats.completed, stats.posted);
      assert.ok(stats.peakRunning >= 1 && stats.peakRunning <= 2, `peakRunning ${stats.peakRunning} > concurrency 2`);
    }, timeout);

    it('never runs more than `concurrency` workers at once', async () => {
      const port = makePort(backend, { threads: 4, concurrency: 1 });
      if (isNative) port.postFromNativeThreads({ threads: 4, count: 20_000, key: 0 });
      for (let i = 0; i < 20_000; i++) port.post(9, i);
      let seen = 0;
      const total = isNative ? 100_000 : 20_000;
      for await (const _ of port) if (++seen === total) break;
      await port.close();
      assert.equal(port.stats().peakRunning, 1);
    }, timeout);

    it('hands keys and values back intact, including across a garbage collection', async () => {
      const values: unknown[] = [
        { nested: { list: [1, 2, 3] } },
        'text',
        0,
        null,
        false,
        Number.NaN,
        Symbol.for('marker'),
        Buffer.from('bytes'),
        [undefined],
      ];
      const { seen, onCompletion } = collector<unknown>();
      const port = makePort<unknown>(backend, { onCompletion });
      const keys = [0, 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
      const objects: Array<{ id: number; payload: Buffer }> = [];
      for (let i = 0; i < 2000; i++) objects.push({ id: i, payload: Buffer.alloc(64, i & 0xff) });
      values.forEach((value, i) => port.post(keys[i % keys.length] as number, 0xffff_ffff - i, value));
      port.post(3, 3); // no value: delivered as undefined
      // Values held only by the port must survive a collection in flight.
      for (const object of objects) port.post(11, object.id, { ...object });
      objects.length = 0;
      if (canForceGc()) forceGc();
      await port.close();
      assert.equal(seen.length, values.length + 1 + 2000);
      values.forEach((value, i) => {
        const c = seen[i] as Completion<unknown>;
        assert.equal(c.key, keys[i % keys.length]);
        assert.equal(c.bytes, 0xffff_ffff - i);
        if (typeof value === 'number' && Number.isNaN(value)) assert.ok(Number.isNaN(c.value));
        else assert.equal(c.value, value); // the same object, not a copy
      });
      assert.equal(seen[values.length]?.value, undefined);
      for (let i = 0; i < 2000; i++) {
        const c = seen[values.length + 1 + i] as Completion<{ id: number; payload: Buffer }>;
        assert.equal(c.bytes, i);
        assert.equal(c.value?.id, i);
        assert.ok(c.value?.payload.equals(Buffer.alloc(64, i & 0xff)));
      }
    }, timeout);

    it('delivers to an async iterator in order and ends it after close', async () => {
      const port = makePort<number>(backend);
      for (let i = 0; i < 10_000; i++) port.post(1, i, i * 2);
      const closing = port.close();
      let next = 0;
      for await (const c of port) {
        assert.equal(c.bytes, next);
        assert.equal(c.value, next * 2);
        next++;
      }
      assert.equal(next, 10_000);
      await closing;
    }, timeout);

    it('close() delivers pending completions first, and is idempotent', async () => {
      const { seen, onCompletion } = collector();
      const port = makePort(backend, { onCompletion });
      for (let i = 0; i < 50_000; i++) port.post(2, i);
      if (isNative) port.postFromNativeThreads({ threads: 2, count: 10_000 });
      const first = port.close();
      const second = port.close();
      assert.equal(first, second);
      assert.equal(port.closed, true);
      await first;
      const stats = port.stats();
      // Native posters may be stopped early by close(); whatever they posted arrives.
      assert.equal(seen.length, stats.posted);
      assert.ok(stats.posted >= 50_000);
      assert.equal(stats.inFlight, 0);
      assert.deepEqual(
        seen.filter((c) => c.key === 2).map((c) => c.bytes),
        Array.from({ length: 50_000 }, (_, i) => i),
      );
      await port.close();
    }, timeout);

    it('rejects use after close with ERR_PORT_CLOSED and keeps its stats', async () => {
      const port = makePort(backend);
      port.post(1);
      await port.close();
      assert.throws(() => port.post(1), expectCode('ERR_PORT_CLOSED'));
      assert.throws(() => port.postFromNativeThreads({ threads: 1, count: 1 }), expectCode('ERR_PORT_CLOSED'));
      assert.equal(port.stats().posted, 1);
      assert.equal(port.stats().completed, 1);
      const iterator = port[Symbol.asyncIterator]();
      assert.equal((await iterator.next()).done, false); // the one buffered completion
      assert.deepEqual(await iterator.next(), { done: true, value: undefined });
      await port.close();
    });

    it('rejects invalid arguments with ERR_* codes before doing anything', async () => {
      assert.throws(() => makePort(backend, { threads: 0 }), expectCode('ERR_OUT_OF_RANGE'));
      assert.throws(() => makePort(backend, { threads: 1.5 }), expectCode('ERR_OUT_OF_RANGE'));
      assert.throws(() => makePort(backend, { threads: '2' as never }), expectCode('ERR_INVALID_ARG_TYPE'));
      assert.throws(() => makePort(backend, { concurrency: -1 }), expectCode('ERR_OUT_OF_RANGE'));
      assert.throws(() => makePort(backend, { onCompletion: 5 as never }), expectCode('ERR_INVALID_ARG_TYPE'));
      assert.throws(() => makePort(backend, null as never), expectCode('ERR_INVALID_ARG_TYPE'));
      const port = makePort(backend, { onCompletion: () => {} });
      assert.throws(() => port.post(-1), expectCode('ERR_OUT_OF_RANGE'));
      assert.throws(() => port.post(1.5), expectCode('ERR_OUT_OF_RANGE'));
      assert.throws(() => port.post(2 ** 53), expectCode('ERR_OUT_OF_RANGE'));
      assert.throws(() => port.post('1' as never), expectCode('ERR_INVALID_ARG_TYPE'));
      assert.throws(() => port.post(1, -1), expectCode('ERR_OUT_OF_RANGE'));
      assert.throws(() => port.post(1, 2 ** 32), expectCode('ERR_OUT_OF_RANGE'));
      assert.throws(() => port.post(1, null as never), expectCode('ERR_INVALID_ARG_TYPE'));
      assert.throws(() => port.postFromNativeThreads({ threads: 0, count: 1 }), expectCode('ERR_OUT_OF_RANGE'));
      assert.throws(() => port.postFromNativeThreads(undefined as never), expectCode('ERR_INVALID_ARG_TYPE'));
      assert.throws(() => port[Symbol.asyncIterator](), expectCode('ERR_INVALID_STATE'));
      assert.equal(port.stats().posted, 0);
      await port.close();
    });

    it('keeps stats that add up while completions are in flight', async () => {
      const port = makePort(backend, { threads: 2 });
      for (let i = 0; i < 20_000; i++) port.post(1, i);
      let checks = 0;
      let seen = 0;
      for await (const _ of port) {
        seen++;
        if (seen % 1000 === 0) {
          const s = port.stats();
          assert.equal(s.posted, s.completed + s.inFlight);
          assert.equal(s.posted, 20_000);
          assert.ok(s.completed >= seen);
          assert.equal(s.buffered, s.completed - seen);
          checks++;
        }
        if (seen === 20_000) break;
      }
      assert.equal(checks, 20);
      await port.close();
      const s = port.stats();
      assert.deepEqual([s.posted, s.completed, s.inFlight, s.buffered], [20_000, 20_000, 0, 0]);
    }, timeout);

    it('bounds memory when native threads post faster than JS reads', async () => {
      const port = makePort(backend, { threads: 2 });
      if (!isNative) {
        await port.close();
        return;
      }
      const perThread = 200_000;
      port.postFromNativeThreads({ threads: 4, count: perThread, key: 0 });
      // Read nothing for a while: posters must stall, not queue everything.
      await sleep(300);
      const stalled = port.stats();
      assert.ok(stalled.posted < perThread * 4, `posters did not stall: ${stalled.posted} posted`);
      // Each poster may overshoot the high-water mark by one batch of 64.
      const bound = 65_536 + 4 * 64;
      assert.ok(stalled.posted - stalled.completed <= bound, `in flight ${stalled.posted - stalled.completed}`);
      assert.ok(stalled.buffered <= 65_536 + 4096, `buffered ${stalled.buffered}`);
      assert.ok(stalled.peakQueued <= bound, `peakQueued ${stalled.peakQueued}`);
      let seen = 0;
      for await (const _ of port) if (++seen === perThread * 4) break;
      const done = port.stats();
      assert.equal(done.completed, perThread * 4);
      assert.ok(done.peakQueued <= bound, `peakQueued ${done.peakQueued}`);
      await port.close();
    }, timeout);

    it('rethrows a throwing callback as uncaught without losing the rest of the batch', async () => {
      const seen: number[] = [];
      const port = makePort(backend, {
        onCompletion: (c) => {
          seen.push(c.bytes);
          if (c.bytes === 5) throw new Error('callback failed on purpose');
        },
      });
      const uncaught: unknown[] = [];
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      try {
        for (let i = 0; i < 10; i++) port.post(1, i);
        await port.close();
        await waitFor(() => uncaught.length === 1, 'the uncaught callback error', 5000);
      } finally {
        process.off('uncaughtException', onUncaught);
        for (const listener of listeners) process.on('uncaughtException', listener);
      }
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal((uncaught[0] as Error).message, 'callback failed on purpose');
    });

    it('runs ops through the port: each completes exactly once, buffers held until then', async () => {
      const port = makePort(backend, { threads: 4, concurrency: 2 });
      if (!isNative) {
        assert.throws(() => port.submitOp({ kind: OpKinds.nop }, () => {}), expectCode('ERR_NOT_SUPPORTED'));
        await port.close();
        return;
      }
      const count = 20_000;
      const results = new Array<number>(count).fill(-1);
      const calls = new Array<number>(count).fill(0);
      for (let i = 0; i < count; i++) {
        // Each op holds a buffer only the port references.
        port.submitOp({ kind: OpKinds.nop, buffers: new Uint8Array(64).fill(i & 0xff) }, (status) => {
          calls[i] = (calls[i] as number) + 1;
          results[i] = status;
        });
      }
      assert.equal(port.opsInFlight, count);
      if (canForceGc()) forceGc();
      await waitFor(() => port.opsInFlight === 0, 'every op to complete');
      assert.ok(calls.every((c) => c === 1), 'an op completed more or less than once');
      assert.ok(results.every((r) => r === 0), 'a NOP failed');
      assert.equal(await port.runOp({ kind: OpKinds.nop }, { syscall: 'nop' }), 0);
      // Posted completions and ops share the port without mixing.
      assert.equal(port.stats().posted, 0);
      await port.close();
    }, timeout);

    it('submits a batch of ops with one call: each completes exactly once, with its index', async () => {
      const port = makePort(backend, { threads: 2 });
      if (!isNative) {
        assert.throws(() => port.submitOps([{ kind: OpKinds.nop }], () => {}), expectCode('ERR_NOT_SUPPORTED'));
        await port.close();
        return;
      }
      // Larger than an io_uring SQ, so a batch also has to flush mid-way.
      const count = 10_000;
      const calls = new Array<number>(count).fill(0);
      let failed = 0;
      const requests = Array.from({ length: count }, (_, i) => ({ kind: OpKinds.nop, buffers: new Uint8Array(16).fill(i & 0xff) }));
      port.submitOps(requests, (index, status) => {
        calls[index] = (calls[index] as number) + 1;
        if (status !== 0) failed++;
      });
      assert.equal(port.opsInFlight, count);
      if (canForceGc()) forceGc();
      await waitFor(() => port.opsInFlight === 0, 'every batched op to complete');
      assert.ok(calls.every((c) => c === 1), 'a batched op completed more or less than once');
      assert.equal(failed, 0);
      // A kind the backend lacks fails inside a batch without hurting the rest.
      const statuses: number[] = [];
      port.submitOps([{ kind: OpKinds.nop }, { kind: 63 }, { kind: OpKinds.nop }], (index, status) => {
        statuses[index] = status;
      });
      await waitFor(() => port.opsInFlight === 0, 'the mixed batch');
      assert.equal(statuses[0], 0);
      assert.ok((statuses[1] as number) < 0);
      assert.equal(statuses[2], 0);
      await port.close();
    }, timeout);

    it('fails an op kind the backend lacks with a system error', async () => {
      const port = makePort(backend);
      if (!isNative) return port.close();
      const error = await port
        .runOp({ kind: 127 }, { syscall: 'frobnicate', path: '/x' })
        .then(() => assert.fail('an unknown op kind succeeded'), (e: unknown) => e as { code: string; syscall: string; path: string; errno: number });
      assert.ok(['ENOSYS', 'ENOTSUP'].includes(error.code), `code ${error.code}`);
      assert.equal(error.syscall, 'frobnicate');
      assert.equal(error.path, '/x');
      assert.equal(typeof error.errno, 'number');
      await port.close();
    });

    it('cancels ops: an aborted signal rejects with AbortError, before or during the op', async () => {
      const port = makePort(backend);
      if (!isNative) return port.close();
      const aborted = AbortSignal.abort(new Error('no longer needed'));
      const early = await port.runOp({ kind: OpKinds.nop }, { syscall: 'nop' }, aborted).catch((e: unknown) => e);
      assert.equal((early as Error).name, 'AbortError');
      assert.equal((early as { code: string }).code, 'ABORT_ERR');
      assert.equal(((early as Error).cause as Error).message, 'no longer needed');
      assert.equal(port.opsInFlight, 0); // never submitted
      // Abort right after submission: a NOP may finish first; either way it settles once.
      const settled = await Promise.allSettled(
        Array.from({ length: 1000 }, () => {
          const controller = new AbortController();
          const result = port.runOp({ kind: OpKinds.nop }, { syscall: 'nop' }, controller.signal);
          controller.abort();
          return result;
        }),
      );
      for (const outcome of settled) {
        if (outcome.status === 'rejected') assert.equal((outcome.reason as Error).name, 'AbortError');
        else assert.equal(outcome.value, 0);
      }
      assert.throws(() => port.runOp({ kind: 0 }, { syscall: 'nop' }, 'signal' as never), expectCode('ERR_INVALID_ARG_TYPE'));
      // `settled` runs once per op, before its promise settles: on success,
      // on a cancel, and for a signal aborted before the op started.
      let calls = 0;
      let settledFirst = 0;
      const counted = (signal?: AbortSignal): Promise<string> => {
        let seen = -1;
        return port
          .runOp({ kind: OpKinds.nop }, { syscall: 'nop' }, signal, () => {
            calls++;
            seen = calls;
          })
          .then(
            () => 'ok',
            (error: Error & { code?: string }) => (error.name === 'AbortError' ? error.name : String(error.code)),
          )
          .then((outcome) => {
            if (seen > 0) settledFirst++;
            return outcome;
          });
      };
      const plain = await Promise.all(Array.from({ length: 100 }, () => counted()));
      assert.deepEqual(new Set(plain), new Set(['ok']));
      assert.equal(await counted(AbortSignal.abort()), 'AbortError');
      const racing = Array.from({ length: 100 }, () => {
        const controller = new AbortController();
        const outcome = counted(controller.signal);
        controller.abort();
        return outcome;
      });
      for (const outcome of await Promise.all(racing)) assert.ok(['ok', 'AbortError'].includes(outcome), outcome);
      assert.equal(calls, 201, 'settled ran once per op');
      assert.equal(settledFirst, 201, 'settled ran before each promise settled');
      await port.close();
      assert.equal(await counted(), 'ERR_PORT_CLOSED', 'a closed port rejects the op');
      assert.equal(calls, 202, 'settled ran for the op the closed port rejected');
      assert.throws(() => port.submitOp({ kind: OpKinds.nop }, () => {}), expectCode('ERR_PORT_CLOSED'));
    }, timeout);

    it('keeps an op that outlasts thousands of later ops findable: it completes once and cancels', async () => {
      const port = makePort(backend, { threads: 2 });
      if (!isNative) return port.close();
      const core = loadNativeCore();
      const listener = core.socketOpen(4) as number;
      assert.equal(typeof listener, 'number');
      const client = new net.Socket();
      try {
        assert.equal(core.socketBind(listener, '127.0.0.1', 0, 16), 0);
        const [, listenPort] = core.socketName(listener, false) as [string, number];
        port.associate(listener, 0, { syscall: 'associate' });
        const outcomes: Array<Array<{ status: number; result: number }>> = [[], []];
        const accept = (index: number) =>
          port.submitOp({ kind: SocketOpKinds.accept, handle: listener }, (status, result) => {
            (outcomes[index] as Array<{ status: number; result: number }>).push({ status, result });
          });
        // Op ids are issued in order from 1, and the port keeps the ops in
        // flight in a table of 4096 slots by id: the second accept comes
        // 4096 ids after the first, whose slot is still taken, and every
        // 4096th op after each of them collides with it again.
        const first = accept(0);
        const run = async (count: number) => {
          let done = 0;
          port.submitOps(Array.from({ length: count }, () => ({ kind: OpKinds.nop })), () => done++);
          await waitFor(() => done === count, `${count} nops`);
        };
        await run(4095);
        const second = accept(1);
        assert.equal(second, first - 4096);
        await run(3 * 4096);
        assert.equal(port.opsInFlight, 2);
        // A connection completes one of the two accepts with a socket.
        await new Promise<void>((resolve, reject) => client.once('error', reject).connect(listenPort, '127.0.0.1', resolve));
        await waitFor(() => outcomes[0]?.length === 1 || outcomes[1]?.length === 1, 'an accept to complete');
        const waiting = outcomes[0]?.length === 1 ? 1 : 0;
        assert.equal(port.cancelOp(waiting === 0 ? first : second), true);
        await waitFor(() => port.opsInFlight === 0, 'the cancelled accept to complete');
        const accepted = outcomes[1 - waiting] as Array<{ status: number; result: number }>;
        const cancelled = outcomes[waiting] as Array<{ status: number; result: number }>;
        assert.equal(accepted.length, 1, 'the accept completed once');
        assert.equal(accepted[0]?.status, 0);
        assert.equal(cancelled.length, 1, 'the cancelled accept completed once');
        assert.equal(errnoName(cancelled[0]?.status as number), 'ECANCELED');
        assert.equal(port.cancelOp(first), false);
        assert.equal(port.cancelOp(second), false);
        await port.runOp({ kind: SocketOpKinds.close, handle: accepted[0]?.result as number }, { syscall: 'close' });
      } finally {
        client.destroy();
        await port.runOp({ kind: SocketOpKinds.close, handle: listener }, { syscall: 'close' });
        await port.close();
      }
    }, timeout);

    it('close() settles every op in flight', async () => {
      const port = makePort(backend, { threads: 2 });
      if (!isNative) return port.close();
      const outcomes = Array.from({ length: 5000 }, () => port.runOp({ kind: OpKinds.nop }, { syscall: 'nop' }).then(
        (value) => value,
        (error: Error) => error.name,
      ));
      await port.close();
      const settled = await Promise.all(outcomes);
      assert.equal(port.opsInFlight, 0);
      assert.ok(settled.every((s) => s === 0 || s === 'AbortError'), `unexpected ${settled.find((s) => s !== 0 && s !== 'AbortError')}`);
    }, timeout);

    for (const scenario of ['idle-open', 'closed', 'busy-open', 'posters-running'] as const) {
      it(`lets the process exit cleanly with a port ${scenario}`, async () => {
        const result = await runExitChild(backend, scenario);
        assert.equal(result.code, 0, `exit ${result.code} ${result.signal ?? ''}\n${result.output}`);
        assert.match(result.output, /^delivered \d+/m);
        if (scenario === 'busy-open') assert.match(result.output, /^delivered 100000$/m);
      }, timeout);
    }
  });
}

function runExitChild(
  backend: BackendName,
  scenario: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [exitChild, backend, scenario], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`exit child for ${backend}/${scenario} hung; output:\n${output}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

export type { CompletionPort };
