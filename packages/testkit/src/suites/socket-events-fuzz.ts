/**
 * A model-based fuzz of the event API: seeded random sequences of write,
 * end, pause, resume, close, reset, sendFile and setTimeout on both ends of
 * one connection, checked against what the API promises: each side receives
 * a prefix of what the other sent, byte-exact (all of it when nobody closed
 * or reset early), `close` exactly once and last, `end` at most once and
 * before `close`, no event after `close`, `bytesRead` the bytes received,
 * and `bytesWritten + bufferedAmount` what write() accepted plus what
 * settled sendFiles sent. Bounded in steps and time.
 */
import assert from 'node:assert/strict';

import type { BackendName } from '@overlapped/common';
import { connect, type EventServer, type EventSocket, listen } from '@overlapped/socket';

import { sleep } from '../harness.js';
import { bounded, HOST, pattern } from './socket-helpers.js';

/** A small seeded generator (mulberry32): the same seed, the same sequence. */
function random(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % below) >>> 0;
  };
}

/** One end as the model sees it. */
interface Side {
  name: string;
  socket: EventSocket | undefined;
  /** What this end sent, in call order (writes and sendFiles' heads and ranges). */
  sent: Buffer[];
  /** What it received. */
  received: Buffer[];
  events: string[];
  /** write() bytes accepted, and bytes of sendFiles that settled. */
  accepted: number;
  /** sendFiles not settled yet. */
  filesRunning: number;
  ended: boolean;
  closing: boolean;
  /** close() or reset() before the end of the sequence: the peer may miss bytes. */
  cutShort: boolean;
  closed: Promise<void>;
  violations: string[];
}

function newSide(name: string): { side: Side; onClose: () => void } {
  let onClose!: () => void;
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const side: Side = {
    name,
    socket: undefined,
    sent: [],
    received: [],
    events: [],
    accepted: 0,
    filesRunning: 0,
    ended: false,
    closing: false,
    cutShort: false,
    closed,
    violations: [],
  };
  return { side, onClose };
}

/** The handlers that record `side`'s events and flag any after close. */
function handlersOf(side: Side, onClose: () => void) {
  const note = (event: string): void => {
    if (side.events.includes('close')) side.violations.push(`${event} after close`);
    side.events.push(event);
  };
  return {
    open: (socket: EventSocket) => {
      side.socket = socket;
    },
    data: (socket: EventSocket, bytes: Uint8Array) => {
      note('data');
      side.received.push(Buffer.from(bytes));
      const total = side.received.reduce((sum, chunk) => sum + chunk.length, 0);
      if (socket.bytesRead !== total) side.violations.push(`bytesRead ${socket.bytesRead} after ${total} bytes`);
    },
    drain: () => note('drain'),
    // Our side stays open: the sequence decides when it ends.
    end: () => note('end'),
    timeout: () => note('timeout'),
    error: () => note('error'),
    close: () => {
      note('close');
      onClose();
    },
  };
}

/** Checks the counters of an open side: bytesWritten + bufferedAmount is what it accepted. */
function checkCounters(side: Side): void {
  const socket = side.socket!;
  if (side.events.includes('close') || side.filesRunning > 0) return;
  if (socket.bufferedAmount < 0) side.violations.push(`bufferedAmount ${socket.bufferedAmount}`);
  if (socket.bytesWritten + socket.bufferedAmount !== side.accepted) {
    side.violations.push(`bytesWritten ${socket.bytesWritten} + bufferedAmount ${socket.bufferedAmount} != accepted ${side.accepted}`);
  }
}

/**
 * How a sendFile fails when the connection closes under it: ours, or the
 * peer's reset (which Wine's TransmitFile reports as WSAENOTCONN when the
 * reset lands while the transmit runs).
 */
const CLOSED_CODES = ['ERR_SOCKET_CLOSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ENOTCONN'];

const ACTIONS = ['write', 'write', 'write', 'end', 'pause', 'resume', 'close', 'reset', 'sendFile', 'setTimeout', 'wait'] as const;

/** Applies one random action to `side`; `file` is a file of `fileBytes`. */
function act(side: Side, next: (below: number) => number, step: number, file: { path: string; bytes: Buffer }, log: string[]): Promise<void> | void {
  const socket = side.socket!;
  const action = ACTIONS[next(ACTIONS.length)]!;
  // close and reset are rare: a sequence mostly runs on an open connection.
  if ((action === 'close' || action === 'reset') && next(6) !== 0) return;
  log.push(`${side.name}.${action}`);
  const open = !side.closing && !side.events.includes('close');
  switch (action) {
    case 'write': {
      if (!open || side.ended) return;
      const bytes = pattern(1 + next(next(4) === 0 ? 300_000 : 2000), step * 7 + side.name.length);
      socket.write(bytes);
      side.sent.push(bytes);
      side.accepted += bytes.length;
      return;
    }
    case 'end':
      if (open && !side.ended) socket.end();
      side.ended = true;
      return;
    case 'pause':
      socket.pause();
      return;
    case 'resume':
      socket.resume();
      return;
    case 'close':
    case 'reset':
      if (open) side.cutShort = true;
      side.closing = true;
      if (action === 'close') socket.close();
      else socket.reset();
      return;
    case 'sendFile': {
      if (!open || side.ended) return;
      const position = next(file.bytes.length);
      const length = next(file.bytes.length - position + 1);
      const head = next(2) === 0 ? undefined : pattern(1 + next(100), step);
      if (head) side.sent.push(head);
      side.sent.push(file.bytes.subarray(position, position + length));
      side.filesRunning++;
      const settled = (bytes: number): void => {
        side.filesRunning--;
        side.accepted += bytes;
      };
      socket.sendFile(file.path, { position, length, head }).then(settled, (error: { bytesWritten?: number; code?: string }) => {
        // Only a close or reset under it (ours, or the peer's) fails it.
        if (!CLOSED_CODES.includes(error.code!)) side.violations.push(`sendFile failed with ${error.code}`);
        settled(error.bytesWritten ?? 0);
      });
      return;
    }
    case 'setTimeout':
      if (open) socket.setTimeout(next(2) === 0 ? 0 : 5 + next(20));
      return;
    case 'wait':
      return sleep(next(5));
  }
}

/** Every sequence's checks on the receiving side `to` of what `from` sent. */
function checkSide(from: Side, to: Side, what: string): void {
  assert.deepEqual(to.violations, [], `${what}: ${to.name}`);
  const closes = to.events.filter((event) => event === 'close').length;
  assert.equal(closes, 1, `${what}: ${to.name} closed ${closes} times (${to.events.join(' ')})`);
  assert.equal(to.events.at(-1), 'close', `${what}: ${to.name}'s close is last`);
  const ends = to.events.filter((event) => event === 'end').length;
  assert.ok(ends <= 1, `${what}: ${to.name} saw ${ends} ends`);
  const sent = Buffer.concat(from.sent);
  const received = Buffer.concat(to.received);
  assert.ok(received.length <= sent.length, `${what}: ${to.name} received ${received.length} of ${sent.length} bytes sent`);
  assert.ok(received.equals(sent.subarray(0, received.length)), `${what}: ${to.name} received other bytes than ${from.name} sent`);
  if (!from.cutShort && !to.cutShort && !to.events.includes('error')) {
    assert.equal(received.length, sent.length, `${what}: ${to.name} received ${received.length} of ${sent.length} bytes`);
  }
}

/**
 * Runs one seeded sequence of `steps` random actions on an event
 * connection of `backend` (both ends event sockets), then ends both ends
 * still open and checks the model. `file` is what sendFile sends from.
 *
 * @example
 * ```ts
 * await fuzzEventConnection('io_uring', 7, 40, { path, bytes });
 * ```
 */
export async function fuzzEventConnection(
  backend: BackendName,
  seed: number,
  steps: number,
  file: { path: string; bytes: Buffer },
): Promise<void> {
  const next = random(seed);
  const server = newSide('server');
  const client = newSide('client');
  const log: string[] = [];
  let listener: EventServer | undefined;
  try {
    listener = await listen({ backend, host: HOST, port: 0, handlers: handlersOf(server.side, server.onClose) });
    const socket = await connect({ backend, host: HOST, port: listener.address().port, handlers: handlersOf(client.side, client.onClose) });
    client.side.socket = socket;
    const what = (): string => `seed ${seed} (${log.join(', ')})`;
    await bounded(
      (async () => {
        while (server.side.socket === undefined) await sleep(1);
      })(),
      10_000,
      'the server socket',
    );
    for (let step = 0; step < steps; step++) {
      const side = next(2) === 0 ? server.side : client.side;
      await act(side, next, step, file, log);
      checkCounters(server.side);
      checkCounters(client.side);
      if (next(3) === 0) await sleep(0);
    }
    // The end: what is paused resumes, what is open ends; both close.
    for (const side of [server.side, client.side]) {
      side.socket!.resume();
      side.socket!.setTimeout(0);
      if (!side.ended && !side.closing) side.socket!.end();
    }
    const state = (side: Side): string =>
      `${side.name}: ${side.events.filter((event) => event !== 'data').join(' ') || 'no event'}, ${side.filesRunning} sendFiles running`;
    await bounded(Promise.all([server.side.closed, client.side.closed]), 10_000, () => `both closes (${state(server.side)}; ${state(client.side)}), ${what()}`);
    // A sendFile settles after the close that stopped it.
    await bounded(
      (async () => {
        while (server.side.filesRunning + client.side.filesRunning > 0) await sleep(1);
      })(),
      10_000,
      () => `the sendFiles to settle, ${what()}`,
    );
    checkSide(client.side, server.side, what());
    checkSide(server.side, client.side, what());
  } finally {
    server.side.socket?.reset();
    client.side.socket?.reset();
    await listener?.close();
  }
}
