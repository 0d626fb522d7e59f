/**
 * Completions delivered to JS per second: each port backend against a
 * worker_threads MessagePort carrying the same messages ({ key, bytes }).
 *
 * - "native threads -> JS": native threads post, a JS callback receives
 *   (the path of every I/O completion); compared with a worker posting
 *   through a MessagePort to a JS 'message' listener.
 * - "JS post -> JS": the JS thread posts and receives (a user's own
 *   completions), on every backend, portable included.
 */
import { Worker } from 'node:worker_threads';

import type { BackendName, CompletionPort } from '@overlapped/common';
import { CompletionPort as NativePort, nativeCandidates } from '@overlapped/iocp';
import { CompletionPort as PortablePort } from '@overlapped/portable';

import { type Contender, runScenario, type ScenarioResult } from '../harness.js';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ count }) => {
  for (let i = 0; i < count; i++) parentPort.postMessage({ key: i % 1000, bytes: i });
});
`;

function messagePortContender(count: number): Contender {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  return {
    name: 'MessagePort (worker_threads)',
    async run() {
      let seen = 0;
      let sum = 0;
      const done = new Promise<void>((resolve) => {
        const onMessage = (message: { key: number; bytes: number }) => {
          sum += message.bytes;
          if (++seen === count) {
            worker.off('message', onMessage);
            resolve();
          }
        };
        worker.on('message', onMessage);
      });
      const start = process.hrtime.bigint();
      worker.postMessage({ count });
      await done;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (sum !== (count * (count - 1)) / 2) throw new Error('MessagePort lost messages');
      return { units: count, seconds };
    },
    async dispose() {
      await worker.terminate();
    },
  };
}

function nativePostersContender(backend: BackendName, count: number, posters: number): Contender {
  let resolveRound: (() => void) | undefined;
  let expected = 0;
  let seen = 0;
  const port = new NativePort({
    backend: backend as Exclude<BackendName, 'portable'>,
    threads: 2,
    onCompletion: () => {
      if (++seen === expected) resolveRound?.();
    },
  });
  return {
    name: `${backend}: native threads -> JS`,
    async run() {
      seen = 0;
      expected = count;
      const done = new Promise<void>((resolve) => (resolveRound = resolve));
      const start = process.hrtime.bigint();
      port.postFromNativeThreads({ threads: posters, count: count / posters, key: 1 });
      await done;
      return { units: count, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
    },
    dispose: () => port.close(),
  };
}

function jsPostContender(backend: BackendName, count: number): Contender {
  let resolveRound: (() => void) | undefined;
  let expected = 0;
  let seen = 0;
  const onCompletion = () => {
    if (++seen === expected) resolveRound?.();
  };
  const port: CompletionPort =
    backend === 'portable'
      ? new PortablePort({ onCompletion })
      : new NativePort({ backend: backend as Exclude<BackendName, 'portable'>, threads: 2, onCompletion });
  return {
    name: `${backend}: JS post -> JS`,
    async run() {
      seen = 0;
      expected = count;
      const done = new Promise<void>((resolve) => (resolveRound = resolve));
      const start = process.hrtime.bigint();
      for (let i = 0; i < count; i++) port.post(i % 1000, i);
      await done;
      return { units: count, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
    },
    dispose: () => port.close(),
  };
}

/** Runs the scenario on every backend available here. */
export async function portDelivery(options: {
  count: number;
  rounds: number;
  log: (line: string) => void;
}): Promise<ScenarioResult> {
  const { count, rounds, log } = options;
  const available = nativeCandidates()
    .filter((c) => c.probe().available)
    .map((c) => c.name);
  const contenders: Contender[] = [messagePortContender(count)];
  for (const backend of available) contenders.push(nativePostersContender(backend, count, 2));
  for (const backend of [...available, 'portable' as const]) contenders.push(jsPostContender(backend, count));
  const result = await runScenario(
    'port-delivery: completions delivered to JS',
    'completions/s',
    'MessagePort (worker_threads)',
    contenders,
    rounds,
    log,
  );
  return result;
}
