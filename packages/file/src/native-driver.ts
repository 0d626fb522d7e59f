/**
 * The file driver of the native backends (iocp, io_uring, threadpool): each
 * call is one op on the backend's shared completion port. The port is made
 * on first use and does not keep the process alive while no op is in flight.
 */
import { ftruncate } from 'node:fs';
import { availableParallelism } from 'node:os';

import { errnoName, systemError, type CompletionPort, type NativeBackendName } from '@overlapped/common';
import { CompletionPort as NativePort } from '@overlapped/iocp';

import type { BatchDone, FileCapabilities, FileDriver, OpenRequest, ResolvedBatchOp } from './driver.js';
import { DISPOSITIONS, FileOpKinds, OpenBits, SHARE_BITS, STAT_FIELDS } from './kinds.js';

const ports = new Map<NativeBackendName, CompletionPort>();

/**
 * Worker threads of a file port: one more than the cores. Page-cache reads
 * and writes are short copies, and a worker spends much of each round trip
 * waiting to be woken (by a handoff, then by JS taking the completions);
 * with one more worker than cores those waits overlap. On two cores, 4 KiB
 * random reads at 64 in flight went from about 0.75M to 0.9M reads/s on
 * io_uring with three workers instead of two (four did no better than
 * three); in the bench, alternating with fs.read, readAt went from 1.00x to
 * 1.08x-1.15x callback fs.read on io_uring and 1.02x to 1.03x-1.13x on
 * threadpool, batch from 0.97x-1.01x to 1.06x-1.08x fio on io_uring and
 * from 1.00x to 0.89x-0.99x on threadpool (two runs each, noisy).
 */
const FILE_PORT_THREADS = availableParallelism() + 1;

/** The one port of `backend`, made on first use. */
function portFor(backend: NativeBackendName): CompletionPort {
  let port = ports.get(backend);
  if (port === undefined || port.closed) {
    port = new NativePort({ backend, threads: FILE_PORT_THREADS });
    ports.set(backend, port);
  }
  return port;
}

/** Encodes an open request as the native op's `arg` (backend.h `file_open`). */
export function openBits(request: OpenRequest): number {
  let bits: number = DISPOSITIONS[request.disposition];
  if (request.access !== 'write') bits |= OpenBits.accessRead;
  if (request.access !== 'read') bits |= OpenBits.accessWrite;
  let share = 0;
  for (const mode of request.share) share |= SHARE_BITS[mode];
  bits |= share << OpenBits.shareShift;
  if (request.direct) bits |= OpenBits.direct;
  if (request.writeThrough) bits |= OpenBits.writeThrough;
  if (request.hint === 'sequential') bits |= OpenBits.hintSequential;
  if (request.hint === 'random') bits |= OpenBits.hintRandom;
  return bits;
}

/** A request object the driver reuses for its reads and batches (runOp and submitOps read it before they return). */
interface RequestSlot {
  kind: number;
  handle: number;
  offset: number;
  buffers: Uint8Array | undefined;
}

export class NativeFileDriver implements FileDriver<number> {
  readonly backend: NativeBackendName;
  readonly capabilities: FileCapabilities;
  readonly #port: CompletionPort;
  // io_uring has IORING_OP_FTRUNCATE from Linux 6.9; before, the kernel
  // answers EINVAL and truncation goes through node:fs (libuv's pool).
  #uringTruncate = true;

  constructor(backend: NativeBackendName) {
    this.backend = backend;
    this.#port = portFor(backend);
    const windows = backend === 'iocp';
    this.capabilities = {
      backend,
      direct: windows || process.platform === 'linux',
      shareModes: windows,
      vectored: windows ? 'emulated' : 'native',
      preallocate: 'native',
      nativeOps: true,
      dataOnlyFlush: true,
      // A worker copies each range: a pool worker, an io_uring helper
      // thread (copy_file_range has no io_uring opcode) or an iocp worker.
      nativeCopy: true,
    };
  }

  copyRange: FileDriver<number>['copyRange'] = (handle, target, position, length, bounce, path, signal) =>
    this.#port.runOp(
      { kind: FileOpKinds.copyRange, handle, arg: target, offset: position, length, buffers: bounce },
      { syscall: 'copy', path },
      signal,
    );

  async open(request: OpenRequest, signal: AbortSignal | undefined): Promise<number> {
    return this.#port.runOp(
      { kind: FileOpKinds.open, arg: openBits(request), path: request.path },
      { syscall: 'open', path: request.path },
      signal,
    );
  }

  read(handle: number, view: Uint8Array, position: number, path: string, signal: AbortSignal | undefined, settled?: () => void): Promise<number> {
    // runOp reads the request before it returns and keeps only the buffer,
    // so one request object serves every read.
    const request = this.#readRequest;
    request.handle = handle;
    request.offset = position;
    request.buffers = view;
    try {
      return this.#port.runOp(request, this.#details('read', path), signal, settled);
    } finally {
      request.buffers = undefined;
    }
  }

  readonly #readRequest: RequestSlot = {
    kind: FileOpKinds.read,
    handle: -1,
    offset: -1,
    buffers: undefined,
  };

  write(handle: number, view: Uint8Array, position: number, path: string, signal: AbortSignal | undefined): Promise<number> {
    return this.#port.runOp(
      { kind: FileOpKinds.write, handle, offset: position, buffers: view },
      this.#details('write', path),
      signal,
    );
  }

  // The error details of reads and writes, one object per path and
  // syscall, so that a hot loop of reads does not make one per op.
  readonly #readDetails = new Map<string, { syscall: string; path: string }>();
  readonly #writeDetails = new Map<string, { syscall: string; path: string }>();

  #details(syscall: 'read' | 'write', path: string): { syscall: string; path: string } {
    const cache = syscall === 'read' ? this.#readDetails : this.#writeDetails;
    let details = cache.get(path);
    if (details === undefined) {
      if (cache.size >= 1024) cache.clear();
      details = { syscall, path };
      cache.set(path, details);
    }
    return details;
  }

  readv(handle: number, views: Uint8Array[], position: number, path: string, signal: AbortSignal | undefined): Promise<number> {
    return this.#port.runOp(
      { kind: FileOpKinds.readv, handle, offset: position, buffers: views },
      { syscall: 'read', path },
      signal,
    );
  }

  writev(handle: number, views: Uint8Array[], position: number, path: string, signal: AbortSignal | undefined): Promise<number> {
    return this.#port.runOp(
      { kind: FileOpKinds.writev, handle, offset: position, buffers: views },
      { syscall: 'write', path },
      signal,
    );
  }

  // One call into the native core for the whole batch (one kernel
  // submission on io_uring), one callback per op, one `done` per batch.
  batch(handle: number, ops: ResolvedBatchOp[], path: string, done: BatchDone): void {
    const results = new Array<number>(ops.length);
    let left = ops.length;
    let firstError: Error | null = null;
    if (left === 0) {
      queueMicrotask(() => done(null, results));
      return;
    }
    // submitOps reads the requests before it returns and keeps only the
    // buffers, so one set of request objects (per batch size) serves every
    // batch; their buffers are dropped again right after.
    let requests = this.#batchRequests;
    if (requests.length !== ops.length) {
      requests = Array.from({ length: ops.length }, (): RequestSlot => ({ kind: 0, handle: -1, offset: -1, buffers: undefined }));
      this.#batchRequests = requests;
    }
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as ResolvedBatchOp;
      const request = requests[i] as RequestSlot;
      request.kind = op.write ? FileOpKinds.write : FileOpKinds.read;
      request.handle = handle;
      request.offset = op.position;
      request.buffers = op.view;
    }
    try {
      this.#port.submitOps(requests, (index, status, result, error) => {
        if (status === 0) {
          results[index] = result;
        } else {
          results[index] = -1;
          const write = (ops[index] as ResolvedBatchOp).write;
          firstError ??= error ?? systemError({ errno: status, syscall: write ? 'write' : 'read', path, rawCode: result || undefined });
        }
        if (--left === 0) done(firstError, results);
      });
    } finally {
      for (const request of requests) request.buffers = undefined;
    }
  }

  #batchRequests: RequestSlot[] = [];

  async sync(handle: number, dataOnly: boolean, path: string): Promise<void> {
    await this.#port.runOp({ kind: dataOnly ? FileOpKinds.datasync : FileOpKinds.sync, handle }, { syscall: dataOnly ? 'fdatasync' : 'fsync', path });
  }

  async allocate(handle: number, size: number, path: string): Promise<void> {
    await this.#port.runOp({ kind: FileOpKinds.allocate, handle, arg: size }, { syscall: 'fallocate', path });
  }

  async truncate(handle: number, size: number, path: string): Promise<void> {
    if (this.backend === 'io_uring' && !this.#uringTruncate) return truncateThroughFs(handle, size, path);
    try {
      await this.#port.runOp({ kind: FileOpKinds.truncate, handle, arg: size }, { syscall: 'ftruncate', path });
    } catch (error) {
      if (this.backend !== 'io_uring' || (error as { code?: string }).code !== 'EINVAL') throw error;
      // EINVAL can mean a kernel without IORING_OP_FTRUNCATE (before 6.9):
      // if node:fs succeeds where the ring did not, it serves from now on.
      await truncateThroughFs(handle, size, path);
      this.#uringTruncate = false;
    }
  }

  async stat(handle: number, path: string): Promise<Float64Array> {
    const fields = new Float64Array(STAT_FIELDS.length);
    await this.#port.runOp(
      { kind: FileOpKinds.stat, handle, buffers: new Uint8Array(fields.buffer) },
      { syscall: 'fstat', path },
    );
    return fields;
  }

  async realpath(handle: number, path: string): Promise<string> {
    try {
      return await this.#realpathInto(handle, path, 4096);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERANGE') throw error;
      // The longest path a system gives (Windows: 32,767 UTF-16 units, 3
      // bytes each at most in UTF-8).
      return this.#realpathInto(handle, path, 3 * 32768);
    }
  }

  async #realpathInto(handle: number, path: string, size: number): Promise<string> {
    const buffer = Buffer.allocUnsafe(size);
    const length = await this.#port.runOp({ kind: FileOpKinds.realpath, handle, buffers: buffer }, { syscall: 'realpath', path });
    return buffer.toString('utf8', 0, length);
  }

  async close(handle: number, path: string): Promise<void> {
    await this.#port.runOp({ kind: FileOpKinds.close, handle }, { syscall: 'close', path });
  }
}

function truncateThroughFs(fd: number, size: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    ftruncate(fd, size, (error) => {
      if (!error) return resolve();
      reject(systemError({ errno: error.errno, code: error.code ?? errnoName(error.errno ?? 0), syscall: 'ftruncate', path }));
    });
  });
}
