/**
 * The bad-argument matrix: every public entry of @overlapped/common
 * (CompletionPort), @overlapped/file and @overlapped/socket, each with
 * every kind of bad argument it can be given, one row per case. A row
 * calls the entry once and says what must come of it: a typed error with
 * its code, or (SharedArrayBuffer views, zero lengths) that it works, with
 * the bytes checked. A new case is one row; a new entry is one `entry()`
 * call naming its arguments and their kinds.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';

import { type BackendName, OpKinds } from '@overlapped/common';
import { allocAligned, copyFile, fileCapabilities, open } from '@overlapped/file';
import { connect, createEchoServer, listen, type Socket, socketBackend } from '@overlapped/socket';

import { type Area, FIXTURE, type MatrixContext } from './context.js';

/** What must come of a row's call. */
export type Expect =
  /** A thrown or rejected error with this code (and the class Node gives it). */
  | { code: string }
  /** A system error (an errno code such as EFBIG, with its syscall), whichever the system gives. */
  | { system: true }
  /** The call works: `check` gets what it returned or resolved to. */
  | { works: (value: any, ctx: MatrixContext, fixture: any) => void | Promise<void> }
  /** Any one of these. */
  | { either: Expect[] };

export interface Row {
  /** The public entry, e.g. `file.readAt`. */
  entry: string;
  /** What is bad about this call, e.g. `position: NaN`. */
  label: string;
  area: Area;
  /** Makes what the call needs, before the turn the call is made in. */
  prepare?: (ctx: MatrixContext) => unknown;
  /** Makes the call; the companion op is started in the same turn, just before. */
  run: (ctx: MatrixContext, fixture: any) => unknown;
  expect: Expect | ((ctx: MatrixContext) => Expect);
  /**
   * A failure already known and owned elsewhere: the row still runs and its
   * outcome is reported, but it does not fail the suite (on `backends`, or
   * on every backend).
   */
  known?: { reason: string; backends?: BackendName[] };
}

const TYPE = 'ERR_INVALID_ARG_TYPE';
const VALUE = 'ERR_INVALID_ARG_VALUE';
const RANGE = 'ERR_OUT_OF_RANGE';
const STATE = 'ERR_INVALID_STATE';
const BAD_PORT = 'ERR_SOCKET_BAD_PORT';

/** A bad value of some kind and the code it must be refused with. */
interface Bad {
  label: string;
  value: () => unknown;
  code: string;
}

const bad = (label: string, value: () => unknown, code: string): Bad => ({ label, value, code });

/**
 * A view whose ArrayBuffer has been transferred away (detached).
 *
 * @example
 * ```ts
 * assert.throws(() => socket.send(detachedView()), { code: 'ERR_INVALID_STATE' });
 * ```
 */
export function detachedView(size = 16): Uint8Array {
  const view = new Uint8Array(size);
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}

/** A Uint8Array over a new SharedArrayBuffer, filled with `fill` (or zeros). */
function sharedView(size: number, fill?: Uint8Array): Uint8Array {
  const view = new Uint8Array(new SharedArrayBuffer(size));
  if (fill) view.set(fill.subarray(0, size));
  return view;
}

/** Bytes that differ from the fixture. */
function pattern(size: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length: size }, (_, i) => (i * 13 + seed) & 0xff));
}

// The kinds of argument and their bad values.
const kinds = {
  /** An integer with a lower bound (`min`, default 0). */
  integer: (min = 0): Bad[] => [
    bad('wrong type', () => '1', TYPE),
    bad('NaN', () => NaN, RANGE),
    bad('negative', () => min - 1, RANGE),
    bad('2 ** 53', () => 2 ** 53, RANGE),
    bad('fraction', () => 1.5, RANGE),
  ],
  buffer: (): Bad[] => [
    bad('wrong type', () => 'abc', TYPE),
    bad('an ArrayBuffer', () => new ArrayBuffer(8), TYPE),
    bad('detached', () => detachedView(), STATE),
  ],
  options: (): Bad[] => [bad('wrong type', () => 'x', TYPE), bad('null', () => null, TYPE)],
  signal: (): Bad[] => [bad('wrong type', () => ({ aborted: false }), TYPE)],
  callback: (): Bad[] => [bad('wrong type', () => 'x', TYPE)],
  boolean: (): Bad[] => [bad('wrong type', () => 'yes', TYPE)],
  oneOf: (): Bad[] => [bad('unknown value', () => 'nope', VALUE), bad('wrong type', () => 5, VALUE)],
  object: (): Bad[] => [bad('wrong type', () => 'x', TYPE)],
  /** A TCP port, checked as net checks it (a number or a string of one; `zero` says whether 0 is refused). */
  port: (zero: boolean): Bad[] => [
    bad('wrong type', () => true, TYPE),
    bad('not a number', () => 'x', BAD_PORT),
    bad('NaN', () => NaN, BAD_PORT),
    bad('negative', () => -1, BAD_PORT),
    bad('2 ** 53', () => 2 ** 53, BAD_PORT),
    bad('fraction', () => 1.5, BAD_PORT),
    bad('past 65535', () => 65536, BAD_PORT),
    ...(zero ? [bad('zero', () => 0, BAD_PORT)] : []),
  ],
};

type Path = Array<string | number>;

/** `args` with the value at `path` replaced (objects on the way are copied). */
function replaced(args: unknown[], path: Path, value: unknown): unknown[] {
  const copy = (container: any, at: number): any => {
    const key = path[at] as string | number;
    const out = Array.isArray(container) ? [...container] : { ...(container ?? {}) };
    out[key] = at === path.length - 1 ? value : copy(container?.[key], at + 1);
    return out;
  };
  return copy(args, 0);
}

function pathName(path: Path): string {
  return path.map((part, i) => (typeof part === 'number' ? (i === 0 ? `#${part}` : `[${part}]`) : `.${part}`)).join('').replace(/^\./, '');
}

/**
 * The rows of one entry: for each argument (`path` into the argument list,
 * which `good` makes afresh per row), every bad value of its kind, the
 * other arguments good.
 */
function entry(
  name: string,
  area: Area,
  call: (ctx: MatrixContext, args: any[]) => unknown,
  good: (ctx: MatrixContext) => unknown[],
  params: Array<[label: string, path: Path, values: Bad[]]>,
): Row[] {
  const rows: Row[] = [];
  for (const [label, path, values] of params) {
    for (const value of values) {
      rows.push({
        entry: name,
        label: `${label || pathName(path)}: ${value.label}`,
        area,
        run: (ctx) => call(ctx, replaced(good(ctx), path, value.value())),
        expect: { code: value.code },
      });
    }
  }
  return rows;
}

/** A row of its own. */
function row(entryName: string, label: string, area: Area, body: Omit<Row, 'entry' | 'label' | 'area'>): Row {
  return { entry: entryName, label, area, ...body };
}

const works = (check: (value: any, ctx: MatrixContext, fixture: any) => void | Promise<void>): Expect => ({ works: check });
const code = (value: string): Expect => ({ code: value });
const systemError: Expect = { system: true };
/** Ops through a port run on native backends only; the portable port refuses them. */
const nativeOps = (expect: Expect) => (ctx: MatrixContext): Expect => (ctx.native ? expect : code('ERR_NOT_SUPPORTED'));

/** Calls `body` with a new view, then transfers its ArrayBuffer away in the same turn (keeping the clone alive). */
function detachAfter(ctx: MatrixContext, view: Uint8Array, body: (view: Uint8Array) => unknown): unknown {
  const result = body(view);
  ctx.keep(structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] }));
  return result;
}

/** A submitOp call as a promise of [status, result], rejecting with the error the port hands over. */
function submitted(ctx: MatrixContext, request: any): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    ctx.port.submitOp(request, (status, result, _more, error) => (error ? reject(error) : resolve([status, result])));
  });
}

function submittedBatch(ctx: MatrixContext, requests: any[]): Promise<Array<[number, number]>> {
  return new Promise((resolve, reject) => {
    const out: Array<[number, number]> = [];
    let left = requests.length;
    ctx.port.submitOps(requests, (index, status, result, error) => {
      if (error) return reject(error);
      out[index] = [status, result];
      if (--left === 0) resolve(out);
    });
  });
}

/** Receives exactly `size` bytes on `socket`. */
async function recvAll(socket: Socket, size: number): Promise<Buffer> {
  const out = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const n = await socket.recv(out.subarray(got));
    if (n === 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

function portRows(): Row[] {
  const nop = (buffers?: Uint8Array) => ({ kind: OpKinds.nop, ...(buffers ? { buffers } : {}) });
  const requestParams = (at: Path): Array<[string, Path, Bad[]]> => [
    ['', at, kinds.object().concat(bad('null', () => null, TYPE))],
    ['', [...at, 'kind'], kinds.integer().concat(bad('past 127', () => 128, RANGE))],
    ['', [...at, 'key'], kinds.integer()],
    ['', [...at, 'handle'], kinds.integer(-1)],
    ['', [...at, 'offset'], kinds.integer(-1)],
    ['', [...at, 'arg'], kinds.integer(Number.MIN_SAFE_INTEGER)],
    ['', [...at, 'length'], kinds.integer()],
    ['', [...at, 'buffers'], kinds.buffer().concat(bad('a list holding a string', () => ['x'], TYPE))],
    ['', [...at, 'path'], [bad('wrong type', () => 5, TYPE), bad('a null byte', () => 'a\u0000b', VALUE)]],
    ['', [...at, 'multishot'], kinds.boolean()],
  ];
  const runOp = (ctx: MatrixContext, args: any[]) => ctx.port.runOp(args[0], args[1], args[2], args[3]);
  const closed = (name: string, call: (ctx: MatrixContext) => unknown) =>
    row(`port.${name}`, 'closed port', 'port', { run: call, expect: code('ERR_PORT_CLOSED') });
  return [
    ...entry('new CompletionPort', 'port', (ctx, [options]) => ctx.newPort(options), () => [{ threads: 1 }], [
      ['options', [0], kinds.options()],
      ['', [0, 'threads'], kinds.integer(1).concat(bad('zero', () => 0, RANGE))],
      ['', [0, 'concurrency'], kinds.integer(1)],
      ['', [0, 'onCompletion'], kinds.callback()],
    ]),
    ...entry('port.post', 'port', (ctx, args) => ctx.port.post(args[0], args[1], args[2]), () => [1, 0, undefined], [
      ['key', [0], kinds.integer()],
      ['bytes', [1], kinds.integer().concat(bad('2 ** 32', () => 2 ** 32, RANGE))],
    ]),
    ...entry('port.postFromNativeThreads', 'port', (ctx, [options]) => ctx.port.postFromNativeThreads(options), () => [{ threads: 1, count: 1 }], [
      ['options', [0], kinds.options().concat(bad('missing', () => undefined, TYPE))],
      ['', [0, 'threads'], kinds.integer(1)],
      ['', [0, 'count'], kinds.integer()],
      ['', [0, 'key'], kinds.integer()],
    ]),
    ...entry('port.submitOp', 'port', (ctx, [request, callback]) => ctx.port.submitOp(request, callback), () => [nop(), () => {}], [
      ...requestParams([0]),
      ['callback', [1], kinds.callback()],
    ]),
    ...entry('port.submitOps', 'port', (ctx, [requests, callback]) => ctx.port.submitOps(requests, callback), () => [[nop()], () => {}], [
      ['requests', [0], kinds.object()],
      ...requestParams([0, 0]),
      ['', [0, 0, 'multishot'], [bad('true', () => true, VALUE)]],
      ['', [0, 0, 'path'], [bad('a path', () => '/x', VALUE)]],
      ['callback', [1], kinds.callback()],
    ]),
    ...entry('port.runOp', 'port', runOp, () => [nop(), { syscall: 'nop' }, undefined, undefined], [
      ...requestParams([0]),
      ['details', [1], kinds.object().concat(bad('null', () => null, TYPE))],
      ['signal', [2], kinds.signal()],
      ['settled', [3], kinds.callback()],
    ]),
    ...entry('port.cancelOp', 'port', (ctx, [token]) => ctx.port.cancelOp(token), () => [-1], [
      ['token', [0], [bad('wrong type', () => '-1', TYPE), bad('NaN', () => NaN, RANGE), bad('positive', () => 1, RANGE), bad('-(2 ** 53)', () => -(2 ** 53), RANGE), bad('fraction', () => -1.5, RANGE)]],
    ]),
    ...entry('port.associate', 'port', (ctx, args) => ctx.port.associate(args[0], args[1], args[2]), () => [0, 0, { syscall: 'associate' }], [
      ['handle', [0], kinds.integer()],
      ['key', [1], kinds.integer()],
      ['details', [2], kinds.object()],
    ]),
    ...entry('port.supportsMultishot', 'port', (ctx, [kind]) => ctx.port.supportsMultishot(kind), () => [0], [
      ['kind', [0], kinds.integer().concat(bad('past 127', () => 128, RANGE))],
    ]),
    // Legal, though odd: each must work (on a backend that runs ops).
    row('port.runOp', 'buffers: SharedArrayBuffer view', 'port', {
      run: (ctx) => ctx.port.runOp(nop(sharedView(16)), { syscall: 'nop' }),
      expect: nativeOps(works((result) => assert.equal(result, 0))),
    }),
    row('port.submitOp', 'buffers: SharedArrayBuffer view', 'port', {
      run: (ctx) => submitted(ctx, nop(sharedView(16))),
      expect: nativeOps(works(([status]) => assert.equal(status, 0))),
    }),
    row('port.submitOps', 'buffers: SharedArrayBuffer view', 'port', {
      run: (ctx) => submittedBatch(ctx, [nop(sharedView(16)), nop(Buffer.alloc(4))]),
      expect: nativeOps(works((results) => assert.deepEqual(results, [[0, 0], [0, 0]]))),
    }),
    row('port.runOp', 'buffers: zero length', 'port', {
      run: (ctx) => ctx.port.runOp(nop(new Uint8Array(0)), { syscall: 'nop' }),
      expect: nativeOps(works((result) => assert.equal(result, 0))),
    }),
    // Detached after the call, before the end of the turn: that op alone fails.
    row('port.runOp', 'buffers: detached before the flush', 'port', {
      run: (ctx) => detachAfter(ctx, new Uint8Array(16), (view) => ctx.port.runOp(nop(view), { syscall: 'nop' })),
      expect: nativeOps(code(STATE)),
    }),
    row('port.submitOp', 'buffers: detached before the flush', 'port', {
      run: (ctx) => detachAfter(ctx, new Uint8Array(16), (view) => submitted(ctx, nop(view))),
      expect: nativeOps(code(STATE)),
    }),
    closed('post', (ctx) => ctx.closedPort.post(1)),
    closed('postFromNativeThreads', (ctx) => ctx.closedPort.postFromNativeThreads({ threads: 1, count: 1 })),
    closed('submitOp', (ctx) => ctx.closedPort.submitOp(nop(), () => {})),
    closed('submitOps', (ctx) => ctx.closedPort.submitOps([nop()], () => {})),
    closed('runOp', (ctx) => ctx.closedPort.runOp(nop(), { syscall: 'nop' })),
    closed('associate', (ctx) => ctx.closedPort.associate(0, 0, { syscall: 'associate' })),
    row('port.cancelOp', 'closed port', 'port', { run: (ctx) => ctx.closedPort.cancelOp(-1), expect: works((value) => assert.equal(value, false)) }),
  ];
}

function fileRows(): Row[] {
  const buffer = () => Buffer.alloc(8);
  const ioParams = (at: number): Array<[string, Path, Bad[]]> => [
    ['options', [at], kinds.options()],
    ['', [at, 'offset'], kinds.integer().concat(bad('past the buffer', () => 9, RANGE))],
    ['', [at, 'length'], kinds.integer().concat(bad('past the buffer', () => 9, RANGE))],
    ['', [at, 'signal'], kinds.signal()],
  ];
  const vectors = (): Bad[] => [
    bad('wrong type', () => 'x', TYPE),
    bad('empty list', () => [], RANGE),
    bad('a string in the list', () => [Buffer.alloc(4), 'x'], TYPE),
    bad('a detached view in the list', () => [detachedView()], STATE),
    bad('more than 1024', () => Array.from({ length: 1025 }, () => Buffer.alloc(1)), RANGE),
  ];
  const readAll = (path: string) => readFileSync(path);
  const closed = (name: string, call: (ctx: MatrixContext) => unknown) =>
    row(`file.${name}`, 'closed file', 'file', { run: call, expect: code('EBADF') });
  const data = pattern(64, 5);
  return [
    ...entry('file.open', 'file', (_ctx, [path, options]) => open(path, options), (ctx) => [ctx.filePath, { backend: ctx.backend }], [
      ['path', [0], [bad('wrong type', () => 42, TYPE), bad('empty', () => '', VALUE), bad('a null byte', () => 'a\u0000b', VALUE)]],
      ['options', [1], kinds.options()],
      ['', [1, 'disposition'], kinds.oneOf()],
      ['', [1, 'access'], kinds.oneOf()],
      ['', [1, 'share'], [bad('wrong type', () => 'read', TYPE), bad('unknown value', () => ['all'], VALUE)]],
      ['', [1, 'direct'], kinds.boolean()],
      ['', [1, 'writeThrough'], kinds.boolean()],
      ['', [1, 'hint'], kinds.oneOf()],
      ['', [1, 'backend'], kinds.oneOf()],
      ['', [1, 'signal'], kinds.signal()],
    ]),
    ...entry('file.fileCapabilities', 'file', (_ctx, [backend]) => fileCapabilities(backend), () => ['auto'], [['backend', [0], kinds.oneOf()]]),
    ...entry('file.allocAligned', 'file', (_ctx, args) => allocAligned(args[0], args[1]), () => [4096, 4096], [
      ['size', [0], kinds.integer()],
      ['alignment', [1], kinds.integer(1).concat(bad('not a power of two', () => 3, VALUE), bad('zero', () => 0, RANGE))],
    ]),
    ...entry('file.copyFile', 'file', (_ctx, args) => copyFile(args[0], args[1], args[2]), (ctx) => [ctx.filePath, `${ctx.filePath}.copy`, { backend: ctx.backend }], [
      ['source', [0], [bad('wrong type', () => 42, TYPE)]],
      ['destination', [1], [bad('wrong type', () => 42, TYPE)]],
      ['options', [2], kinds.options()],
      ['', [2, 'queueDepth'], kinds.integer(1)],
      ['', [2, 'chunkSize'], kinds.integer(1)],
      ['', [2, 'onProgress'], kinds.callback()],
      ['', [2, 'signal'], kinds.signal()],
      ['', [2, 'backend'], kinds.oneOf()],
    ]),
    ...entry('file.readAt', 'file', (ctx, args) => ctx.file.readAt(args[0], args[1], args[2]), () => [buffer(), 0, {}], [
      ['buffer', [0], kinds.buffer()],
      ['position', [1], kinds.integer()],
      ...ioParams(2),
    ]),
    ...entry('file.writeAt', 'file', (ctx, args) => ctx.file.writeAt(args[0], args[1], args[2]), () => [buffer(), 0, {}], [
      ['buffer', [0], kinds.buffer()],
      ['position', [1], kinds.integer()],
      ...ioParams(2),
    ]),
    ...entry('file.readvAt', 'file', (ctx, args) => ctx.file.readvAt(args[0], args[1], args[2]), () => [[buffer()], 0, {}], [
      ['buffers', [0], vectors()],
      ['position', [1], kinds.integer()],
      ['options', [2], kinds.options()],
      ['', [2, 'signal'], kinds.signal()],
    ]),
    ...entry('file.writevAt', 'file', (ctx, args) => ctx.file.writevAt(args[0], args[1], args[2]), () => [[buffer()], 0, {}], [
      ['buffers', [0], vectors()],
      ['position', [1], kinds.integer()],
      ['options', [2], kinds.options()],
      ['', [2, 'signal'], kinds.signal()],
    ]),
    ...entry('file.batch', 'file', (ctx, args) => ctx.file.batch(args[0], args[1]), () => [[{ op: 'read', buffer: buffer(), position: 0 }]], [
      ['requests', [0], kinds.object()],
      ['', [0, 0], [bad('null', () => null, TYPE)]],
      ['', [0, 0, 'op'], kinds.oneOf()],
      ['', [0, 0, 'buffer'], kinds.buffer()],
      ['', [0, 0, 'position'], kinds.integer()],
      ['', [0, 0, 'offset'], kinds.integer()],
      ['', [0, 0, 'length'], kinds.integer()],
      ['callback', [1], kinds.callback()],
    ]),
    ...entry('file.read', 'file', (ctx, args) => ctx.file.read(args[0], args[1]), () => [buffer(), {}], [['buffer', [0], kinds.buffer()], ...ioParams(1)]),
    ...entry('file.write', 'file', (ctx, args) => ctx.file.write(args[0], args[1]), () => [buffer(), {}], [['buffer', [0], kinds.buffer()], ...ioParams(1)]),
    ...entry('file.append', 'file', (ctx, args) => ctx.file.append(args[0], args[1]), () => [buffer(), {}], [['buffer', [0], kinds.buffer()], ...ioParams(1)]),
    ...entry('file.position', 'file', (ctx, [value]) => {
      ctx.file.position = value;
    }, () => [0], [['position', [0], kinds.integer()]]),
    ...entry('file.truncate', 'file', (ctx, [size]) => ctx.file.truncate(size), () => [64], [['size', [0], kinds.integer()]]),
    ...entry('file.preallocate', 'file', (ctx, [size]) => ctx.file.preallocate(size), () => [64], [['size', [0], kinds.integer()]]),
    ...entry('file.flush', 'file', (ctx, [options]) => ctx.file.flush(options), () => [{}], [
      ['options', [0], kinds.options()],
      ['', [0, 'dataOnly'], kinds.boolean()],
    ]),
    ...entry('file.createReadStream', 'file', (ctx, [options]) => ctx.file.createReadStream(options).destroy(), () => [{}], [
      ['options', [0], kinds.options()],
      ['', [0, 'start'], kinds.integer()],
      ['', [0, 'end'], kinds.integer()],
      ['', [0, 'chunkSize'], kinds.integer(1)],
      ['', [0, 'queueDepth'], kinds.integer(1)],
      ['', [0, 'signal'], kinds.signal()],
    ]),
    ...entry('file.createWriteStream', 'file', (ctx, [options]) => ctx.file.createWriteStream(options).destroy(), () => [{}], [
      ['options', [0], kinds.options()],
      ['', [0, 'start'], kinds.integer()],
      ['', [0, 'chunkSize'], kinds.integer(1)],
      ['', [0, 'queueDepth'], kinds.integer(1)],
      ['', [0, 'signal'], kinds.signal()],
    ]),

    // SharedArrayBuffer views are legal (node:fs takes them too): bytes checked.
    row('file.readAt', 'buffer: SharedArrayBuffer view', 'file', {
      prepare: () => sharedView(64),
      run: (ctx, view) => ctx.file.readAt(view, 0),
      expect: works((bytes, _ctx, view) => {
        assert.equal(bytes, 64);
        assert.ok(Buffer.from(view).equals(FIXTURE));
      }),
    }),
    row('file.readAt', 'buffer: SharedArrayBuffer view with offset and length', 'file', {
      prepare: () => sharedView(64),
      run: (ctx, view) => ctx.file.readAt(view, 0, { offset: 8, length: 16 }),
      expect: works((bytes, _ctx, view: Uint8Array) => {
        assert.equal(bytes, 16);
        assert.ok(Buffer.from(view.subarray(8, 24)).equals(FIXTURE.subarray(0, 16)));
        assert.ok(view.subarray(0, 8).every((b) => b === 0));
      }),
    }),
    row('file.readAt', 'buffer: Uint16Array over a SharedArrayBuffer', 'file', {
      prepare: () => new Uint16Array(new SharedArrayBuffer(64)),
      run: (ctx, view) => ctx.file.readAt(view, 0),
      expect: works((bytes, _ctx, view: Uint16Array) => {
        assert.equal(bytes, 64);
        assert.ok(Buffer.from(view.buffer).equals(FIXTURE));
      }),
    }),
    row('file.readvAt', 'buffers: SharedArrayBuffer views', 'file', {
      prepare: () => [sharedView(16), sharedView(48)],
      run: (ctx, views) => ctx.file.readvAt(views, 0),
      expect: works((bytes, _ctx, views: Uint8Array[]) => {
        assert.equal(bytes, 64);
        assert.ok(Buffer.concat(views).equals(FIXTURE));
      }),
    }),
    row('file.batch', 'buffer: SharedArrayBuffer views, read and write', 'file', {
      prepare: async (ctx) => ({ ...(await ctx.freshFile()), view: sharedView(64) }),
      run: (ctx, { file, view }) =>
        Promise.all([ctx.file.batch([{ op: 'read', buffer: view, position: 0 }]), file.batch([{ op: 'write', buffer: sharedView(64, data), position: 0 }])]),
      expect: works((results, _ctx, { path, view }) => {
        assert.deepEqual(results, [[64], [64]]);
        assert.ok(Buffer.from(view).equals(FIXTURE));
        assert.ok(readAll(path).equals(data));
      }),
    }),
    row('file.read', 'buffer: SharedArrayBuffer view', 'file', {
      prepare: () => sharedView(64),
      run: (ctx, view) => {
        ctx.file.position = 0;
        return ctx.file.read(view);
      },
      expect: works((bytes, _ctx, view) => {
        assert.equal(bytes, 64);
        assert.ok(Buffer.from(view).equals(FIXTURE));
      }),
    }),

    // Writes from SharedArrayBuffer views, each into a new file, checked on disk.
    ...(
      [
        ['file.writeAt', (file: any) => file.writeAt(sharedView(64, data), 0), 64],
        ['file.writevAt', (file: any) => file.writevAt([sharedView(16, data), sharedView(48, data.subarray(16))], 0), 64],
        ['file.write', (file: any) => Promise.all([file.write(sharedView(16, data)), file.write(sharedView(48, data.subarray(16)))]), [16, 48]],
        ['file.append', (file: any) => Promise.all([file.append(sharedView(16, data)), file.append(sharedView(48, data.subarray(16)))]), [0, 16]],
        [
          'file.createWriteStream',
          (file: any) => {
            const stream = file.createWriteStream({ start: 0 });
            stream.write(sharedView(16, data));
            stream.end(sharedView(48, data.subarray(16)));
            return finished(stream);
          },
          undefined,
        ],
      ] as const
    ).map(([name, call, result]) =>
      row(name, 'buffer: SharedArrayBuffer view', 'file', {
        prepare: async (ctx) => ctx.freshFile(),
        run: (_ctx, { file }) => call(file),
        expect: works((value, _ctx, { path }) => {
          if (result !== undefined) assert.deepEqual(value, result);
          assert.ok(readAll(path).equals(data));
        }),
      }),
    ),
    // The largest position is valid: reads there find nothing, writes fail
    // with the system's error (EFBIG), never with a rounded position.
    row('file.readAt', 'position: 2 ** 53 - 1', 'file', { run: (ctx) => ctx.file.readAt(Buffer.alloc(8), 2 ** 53 - 1), expect: works((bytes) => assert.equal(bytes, 0)) }),
    row('file.readvAt', 'position: 2 ** 53 - 1', 'file', { run: (ctx) => ctx.file.readvAt([Buffer.alloc(8)], 2 ** 53 - 1), expect: works((bytes) => assert.equal(bytes, 0)) }),
    ...(
      [
        ['file.writeAt', (file: any) => file.writeAt(Buffer.from('edge'), 2 ** 53 - 1)],
        ['file.writevAt', (file: any) => file.writevAt([Buffer.from('edge')], 2 ** 53 - 1)],
        ['file.batch', (file: any) => file.batch([{ op: 'write', buffer: Buffer.from('edge'), position: 2 ** 53 - 1 }])],
        ['file.truncate', (file: any) => file.truncate(2 ** 53 - 1)],
      ] as const
    ).map(([name, call]) =>
      row(name, 'position or size: 2 ** 53 - 1', 'file', {
        prepare: async (ctx) => ctx.freshFile(),
        run: (_ctx, { file }) => call(file),
        expect: systemError,
      }),
    ),

    // Zero lengths move nothing and say so.
    row('file.readAt', 'buffer: zero length', 'file', { run: (ctx) => ctx.file.readAt(Buffer.alloc(0), 0), expect: works((bytes) => assert.equal(bytes, 0)) }),
    row('file.writeAt', 'buffer: zero length', 'file', {
      run: (ctx) => ctx.file.writeAt(new Uint8Array(0), 0),
      expect: works((bytes, ctx) => {
        assert.equal(bytes, 0);
        assert.ok(readAll(ctx.filePath).equals(FIXTURE));
      }),
    }),
    row('file.readvAt', 'buffers: one of zero length', 'file', { run: (ctx) => ctx.file.readvAt([Buffer.alloc(0)], 0), expect: works((bytes) => assert.equal(bytes, 0)) }),
    row('file.writevAt', 'buffers: one of zero length', 'file', { run: (ctx) => ctx.file.writevAt([Buffer.alloc(0)], 0), expect: works((bytes) => assert.equal(bytes, 0)) }),
    row('file.batch', 'requests: none', 'file', { run: (ctx) => ctx.file.batch([]), expect: works((results) => assert.deepEqual(results, [])) }),
    row('file.batch', 'buffer: zero length', 'file', {
      run: (ctx) => ctx.file.batch([{ op: 'read', buffer: Buffer.alloc(0), position: 0 }]),
      expect: works((results) => assert.deepEqual(results, [0])),
    }),
    row('file.read', 'buffer: zero length', 'file', { run: (ctx) => ctx.file.read(Buffer.alloc(0)), expect: works((bytes) => assert.equal(bytes, 0)) }),
    row('file.write', 'buffer: zero length', 'file', {
      prepare: async (ctx) => ctx.freshFile(),
      run: (_ctx, { file }) => file.write(Buffer.alloc(0)),
      expect: works((bytes, _ctx, { path }) => {
        assert.equal(bytes, 0);
        assert.equal(readAll(path).length, 0);
      }),
    }),
    row('file.append', 'buffer: zero length', 'file', {
      prepare: async (ctx) => ctx.freshFile(),
      run: (_ctx, { file }) => file.append(Buffer.alloc(0)),
      expect: works((position) => assert.equal(position, 0)),
    }),

    // Detached after the call, in the same turn: the op fails alone, never reads as 0 bytes.
    ...(
      [
        ['file.readAt', (ctx: MatrixContext, view: Uint8Array) => ctx.file.readAt(view, 0)],
        ['file.read', (ctx: MatrixContext, view: Uint8Array) => ctx.file.read(view)],
        ['file.batch', (ctx: MatrixContext, view: Uint8Array) => ctx.file.batch([{ op: 'read', buffer: view, position: 0 }])],
        ['file.readvAt', (ctx: MatrixContext, view: Uint8Array) => ctx.file.readvAt([view], 0)],
      ] as const
    ).map(([name, call]) =>
      row(name, 'buffer: detached before the flush', 'file', { run: (ctx) => detachAfter(ctx, new Uint8Array(64), (view) => call(ctx, view)), expect: code(STATE) }),
    ),
    ...(
      [
        ['file.writeAt', (file: any, view: Uint8Array) => file.writeAt(view, 0)],
        ['file.write', (file: any, view: Uint8Array) => file.write(view)],
        ['file.append', (file: any, view: Uint8Array) => file.append(view)],
        ['file.batch', (file: any, view: Uint8Array) => file.batch([{ op: 'write', buffer: view, position: 0 }])],
        ['file.writevAt', (file: any, view: Uint8Array) => file.writevAt([view], 0)],
      ] as const
    ).map(([name, call]) =>
      row(name, 'buffer: detached before the flush', 'file', {
        prepare: async (ctx) => ctx.freshFile(),
        run: (ctx, { file }) => detachAfter(ctx, Uint8Array.from(data), (view) => call(file, view)),
        expect: code(STATE),
      }),
    ),

    // A closed file refuses every op with EBADF, before anything reaches its
    // handle (which the system may have given to another file since).
    closed('readAt', (ctx) => ctx.closedFile.readAt(Buffer.alloc(4), 0)),
    closed('writeAt', (ctx) => ctx.closedFile.writeAt(Buffer.alloc(4), 0)),
    closed('readvAt', (ctx) => ctx.closedFile.readvAt([Buffer.alloc(4)], 0)),
    closed('writevAt', (ctx) => ctx.closedFile.writevAt([Buffer.alloc(4)], 0)),
    closed('batch', (ctx) => ctx.closedFile.batch([{ op: 'read', buffer: Buffer.alloc(4), position: 0 }])),
    closed('read', (ctx) => ctx.closedFile.read(Buffer.alloc(4))),
    closed('write', (ctx) => ctx.closedFile.write(Buffer.alloc(4))),
    closed('append', (ctx) => ctx.closedFile.append(Buffer.alloc(4))),
    closed('size', (ctx) => ctx.closedFile.size()),
    closed('stat', (ctx) => ctx.closedFile.stat()),
    closed('truncate', (ctx) => ctx.closedFile.truncate(0)),
    closed('preallocate', (ctx) => ctx.closedFile.preallocate(4096)),
    closed('flush', (ctx) => ctx.closedFile.flush()),
    row('file.preallocate', 'file open for reading only', 'file', {
      prepare: async (ctx) => {
        const file = await open(ctx.filePath, { backend: ctx.backend, access: 'read' });
        ctx.defer(() => file.close());
        return file;
      },
      // Within the file's size: nothing needs writing, but the handle must still be able to.
      run: (_ctx, file) => file.preallocate(16),
      expect: code('EBADF'),
    }),
    row('file.createReadStream', 'end before start', 'file', {
      run: (ctx) => ctx.file.createReadStream({ start: 10, end: 5 }).destroy(),
      expect: code(RANGE),
    }),
    row('file.writeAt', 'closed file: the file opened after it is untouched', 'file', {
      prepare: async (ctx) => {
        const gone = await ctx.freshFile();
        await gone.file.close();
        return { gone: gone.file, ...(await ctx.freshFile()) };
      },
      run: (_ctx, { gone }) =>
        Promise.allSettled([gone.writeAt(Buffer.from('lost'), 0), gone.truncate(4096), gone.preallocate(8192), gone.writevAt([Buffer.from('x')], 0), gone.flush()]),
      expect: works((outcomes: PromiseSettledResult<unknown>[], _ctx, { path }) => {
        for (const outcome of outcomes) {
          assert.equal(outcome.status, 'rejected');
          assert.equal(((outcome as PromiseRejectedResult).reason as { code?: string }).code, 'EBADF');
        }
        assert.equal(readAll(path).length, 0, 'the ops of the closed file reached the file that took its handle');
      }),
    }),
  ];
}

function socketRows(): Row[] {
  const data = pattern(64, 9);
  const closed = (name: string, call: (ctx: MatrixContext) => unknown) =>
    row(`socket.${name}`, 'closed socket', 'socket', { run: call, expect: code('ERR_SOCKET_CLOSED') });
  const listenOptions = (ctx: MatrixContext) => [{ backend: ctx.backend, host: '127.0.0.1', port: 0 }];
  return [
    ...entry('socket.listen', 'socket', async (_ctx, [options]) => (await listen(options)).close(), listenOptions, [
      ['options', [0], kinds.options()],
      ['', [0, 'host'], [bad('wrong type', () => 5, TYPE), bad('empty', () => '', TYPE)]],
      ['', [0, 'port'], kinds.port(false)],
      ['', [0, 'backlog'], kinds.integer(1)],
      ['', [0, 'acceptDepth'], kinds.integer(1)],
      ['', [0, 'multishot'], kinds.boolean()],
      ['', [0, 'maxConnections'], kinds.integer()],
      ['', [0, 'onConnection'], kinds.callback()],
      ['', [0, 'backend'], kinds.oneOf()],
    ]),
    ...entry('socket.connect', 'socket', async (_ctx, [options]) => (await connect(options)).close(), (ctx) => [{ backend: ctx.backend, host: '127.0.0.1', port: ctx.server.address().port }], [
      ['options', [0], kinds.options().concat(bad('missing', () => undefined, TYPE))],
      ['', [0, 'host'], [bad('wrong type', () => 5, TYPE), bad('empty', () => '', TYPE)]],
      ['', [0, 'port'], kinds.port(true)],
      ['', [0, 'signal'], kinds.signal()],
      ['', [0, 'backend'], kinds.oneOf()],
    ]),
    ...entry('socket.createEchoServer', 'socket', async (_ctx, [options]) => (await createEchoServer(options)).close(), listenOptions, [
      ['options', [0], kinds.options()],
      ['', [0, 'host'], [bad('wrong type', () => 5, TYPE)]],
      ['', [0, 'port'], kinds.port(false)],
      ['', [0, 'backlog'], kinds.integer(1)],
      ['', [0, 'mode'], kinds.oneOf()],
      ['', [0, 'bufferSize'], kinds.integer(1)],
      ['', [0, 'maxConnections'], kinds.integer()],
      ['', [0, 'idleTimeout'], kinds.integer()],
      ['', [0, 'threads'], kinds.integer(1)],
      ['', [0, 'backend'], kinds.oneOf()],
    ]),
    ...entry('socket.socketBackend', 'socket', (_ctx, [request]) => socketBackend(request), () => ['auto'], [['request', [0], kinds.oneOf()]]),
    ...entry('socket.recv', 'socket', (ctx, args) => ctx.socket.recv(args[0], args[1]), () => [Buffer.alloc(8), {}], [
      ['buffer', [0], kinds.buffer().concat(bad('zero length', () => Buffer.alloc(0), TYPE))],
      ['options', [1], kinds.options()],
      ['', [1, 'signal'], kinds.signal()],
    ]),
    ...entry('socket.send', 'socket', (ctx, args) => ctx.socket.send(args[0], args[1]), () => [Buffer.alloc(0), {}], [
      ['buffer', [0], kinds.buffer()],
      ['options', [1], kinds.options()],
      ['', [1, 'signal'], kinds.signal()],
    ]),
    // A range of 0 bytes: the baseline sends nothing into the shared pair.
    ...entry('socket.sendFile', 'socket', (ctx, args) => ctx.socket.sendFile(args[0], args[1]), (ctx) => [ctx.filePath, { position: 0, length: 0 }], [
      ['file', [0], [bad('wrong type', () => 5, TYPE), bad('null', () => null, TYPE), bad('plain object', () => ({ path: 'x' }), TYPE), bad('empty', () => '', VALUE), bad('null byte', () => 'a\u0000b', VALUE)]],
      ['options', [1], kinds.options()],
      ['', [1, 'position'], kinds.integer()],
      ['', [1, 'length'], kinds.integer()],
      ['', [1, 'head'], kinds.buffer()],
      ['', [1, 'signal'], kinds.signal()],
      ['', [1, 'onProgress'], kinds.callback()],
    ]),
    // A native socket needs a native handle; the portable socket reads any file.
    row('socket.sendFile', 'file: a portable backend\'s file', 'socket', {
      prepare: async (ctx) => {
        const file = await open(ctx.filePath, { backend: 'portable' });
        ctx.defer(() => file.close());
        return file;
      },
      run: (ctx, file) => ctx.socket.sendFile(file, { length: 0 }),
      expect: (ctx) => (ctx.backend === 'portable' ? works((bytes) => assert.equal(bytes, 0)) : code(VALUE)),
    }),
    ...entry('socket.setNoDelay', 'socket', (ctx, [on]) => ctx.socket.setNoDelay(on), () => [true], [['on', [0], kinds.boolean()]]),

    row('socket.send', 'buffer: SharedArrayBuffer view', 'socket', {
      prepare: (ctx) => ctx.pair(),
      run: (_ctx, { a }) => a.send(sharedView(64, data)),
      expect: works(async (bytes, _ctx, { b }) => {
        assert.equal(bytes, 64);
        assert.ok((await recvAll(b, 64)).equals(data));
      }),
    }),
    row('socket.recv', 'buffer: SharedArrayBuffer view', 'socket', {
      prepare: async (ctx) => {
        const pair = await ctx.pair();
        await pair.b.send(data);
        return { ...pair, view: sharedView(64) };
      },
      run: (_ctx, { a, view }) => a.recv(view),
      expect: works(async (bytes, _ctx, { a, view }) => {
        assert.ok(bytes > 0);
        const rest = bytes < 64 ? await recvAll(a, 64 - bytes) : Buffer.alloc(0);
        assert.ok(Buffer.concat([Buffer.from(view.subarray(0, bytes)), rest]).equals(data));
      }),
    }),
    row('socket.send', 'buffer: zero length', 'socket', { run: (ctx) => ctx.socket.send(new Uint8Array(0)), expect: works((bytes) => assert.equal(bytes, 0)) }),
    row('socket.recv', 'buffer: detached before the flush', 'socket', {
      prepare: (ctx) => ctx.pair(),
      run: (ctx, { a }) => detachAfter(ctx, new Uint8Array(64), (view) => a.recv(view)),
      expect: code(STATE),
    }),
    // A send may have gone out in full before the buffer was transferred
    // (POSIX backends send what fits at once); if not, it fails alone.
    row('socket.send', 'buffer: detached before the flush', 'socket', {
      prepare: (ctx) => ctx.pair(),
      run: (ctx, { a }) => detachAfter(ctx, Uint8Array.from(data), (view) => a.send(view)),
      expect: {
        either: [
          code(STATE),
          works(async (bytes, _ctx, { b }) => {
            assert.equal(bytes, 64);
            assert.ok((await recvAll(b, 64)).equals(data));
          }),
        ],
      },
    }),
    closed('recv', (ctx) => ctx.closedSocket.recv(Buffer.alloc(4))),
    closed('send', (ctx) => ctx.closedSocket.send(Buffer.alloc(4))),
    closed('shutdown', (ctx) => ctx.closedSocket.shutdown()),
    closed('setNoDelay', (ctx) => ctx.closedSocket.setNoDelay(true)),
    closed('sendFile', (ctx) => ctx.closedSocket.sendFile(ctx.filePath)),
  ];
}

let cached: Row[] | undefined;

/**
 * Every row, in a fixed order (the child and the suite agree on it).
 *
 * @example
 * ```ts
 * const entries = new Set(badArgumentRows().map((row) => row.entry));
 * ```
 */
export function badArgumentRows(): Row[] {
  cached ??= [...portRows(), ...fileRows(), ...socketRows()];
  return cached;
}

/**
 * A row's name in reports.
 *
 * @example
 * ```ts
 * rowName(badArgumentRows()[0]!); // 'new CompletionPort(options: wrong type)'
 * ```
 */
export function rowName(row: Row): string {
  return `${row.entry}(${row.label})`;
}
