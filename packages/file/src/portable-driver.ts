/**
 * The file driver of the portable backend: the same calls on node:fs
 * FileHandle, so the API works wherever Node runs. Share modes are not
 * enforced, `direct` is refused (see capabilities), vectored ops are one
 * readv/writev call, preallocation writes zeros, and an AbortSignal only
 * stops waiting (node:fs cannot cancel a read in flight; the op still
 * finishes in the background and its buffer stays referenced until then).
 */
import { constants, promises as fs, type Stats } from 'node:fs';

import { AbortError, bufferDetached, isDetached, isOverlappedError, systemError } from '@overlapped/common';

import type { BatchDone, FileCapabilities, FileDriver, OpenRequest, ResolvedBatchOp } from './driver.js';
import { STAT_FIELDS } from './kinds.js';

type FileHandle = fs.FileHandle;

const ZERO_CHUNK = 1 << 20;

/** open(2) flags for a request: dispositions as O_CREAT / O_EXCL / O_TRUNC. */
export function portableOpenFlags(request: OpenRequest): number {
  let flags = request.access === 'read' ? constants.O_RDONLY : request.access === 'write' ? constants.O_WRONLY : constants.O_RDWR;
  switch (request.disposition) {
    case 'create-new':
      flags |= constants.O_CREAT | constants.O_EXCL;
      break;
    case 'create-always':
      flags |= constants.O_CREAT | constants.O_TRUNC;
      break;
    case 'open-always':
      flags |= constants.O_CREAT;
      break;
    case 'truncate-existing':
      flags |= constants.O_TRUNC;
      break;
    default:
      break;
  }
  if (request.writeThrough) flags |= constants.O_DSYNC ?? constants.O_SYNC ?? 0;
  return flags;
}

/** Rethrows a node:fs error in this package's shape (same code, syscall and path). */
function rethrow(error: unknown, syscall: string, path: string): never {
  const e = error as NodeJS.ErrnoException;
  if (e?.name === 'AbortError') throw error;
  // Only system errors (ENOENT, EBADF...): an ERR_* error keeps its class.
  if (typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) {
    throw systemError({ code: e.code, errno: e.errno, syscall, path, cause: error });
  }
  throw error;
}

/** Runs `work`; an abort of `signal` rejects at once with AbortError (the work still finishes). */
function abortable<T>(work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work();
  if (signal.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError(undefined, { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    work().then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

// node:fs takes a buffer's address when the call is made; a buffer
// transferred (detached) before the op finished moved bytes to or from
// memory that is no longer the caller's, so its count is not reported.
function intact(views: Uint8Array | Uint8Array[], lengths: number | number[], bytes: number): number {
  if (!Array.isArray(views)) {
    if ((views as Uint8Array).byteLength < (lengths as number)) throw bufferDetached('buffer', 'while the op was in flight; what it transferred is lost');
    return bytes;
  }
  for (const view of views) {
    if (view.byteLength === 0 && isDetached(view)) throw bufferDetached('buffers', 'while the op was in flight; what it transferred is lost');
  }
  return bytes;
}

function statFields(stats: Stats): Float64Array {
  const fields = new Float64Array(STAT_FIELDS.length);
  fields[0] = stats.size;
  fields[1] = (stats.blocks ?? 0) * 512;
  fields[2] = stats.blksize ?? 4096;
  fields[3] = stats.mode;
  fields[4] = stats.nlink;
  fields[5] = stats.ino;
  fields[6] = stats.dev;
  fields[7] = stats.atimeMs;
  fields[8] = stats.mtimeMs;
  fields[9] = stats.ctimeMs;
  fields[10] = stats.birthtimeMs;
  return fields;
}

export class PortableFileDriver implements FileDriver<FileHandle> {
  readonly backend = 'portable' as const;
  readonly capabilities: FileCapabilities = {
    backend: 'portable',
    direct: false,
    shareModes: false,
    vectored: 'native',
    preallocate: 'emulated',
    nativeOps: false,
    dataOnlyFlush: true,
    nativeCopy: false,
  };

  async open(request: OpenRequest, signal: AbortSignal | undefined): Promise<FileHandle> {
    const opening = fs.open(request.path, portableOpenFlags(request), 0o666);
    const handle = await abortable(() => opening, signal).catch((error) => {
      // An abort only stops waiting: a handle that still arrives is closed.
      if ((error as Error)?.name === 'AbortError') {
        opening.then((late) => late.close()).catch(() => undefined);
      }
      return rethrow(error, 'open', request.path);
    });
    // A directory opens read-only on POSIX; every backend refuses it.
    const stats = await handle.stat().catch(() => undefined);
    if (stats?.isDirectory()) {
      await handle.close().catch(() => undefined);
      throw systemError({ code: 'EISDIR', syscall: 'open', path: request.path });
    }
    return handle;
  }

  read(handle: FileHandle, view: Uint8Array, position: number, path: string, signal: AbortSignal | undefined, settled?: () => void): Promise<number> {
    const length = view.byteLength;
    const read = abortable(
      () => handle.read(view, 0, length, position).then((r) => intact(view, length, r.bytesRead)),
      signal,
    ).catch((error) => rethrow(error, 'read', path));
    return settled ? read.finally(settled) : read;
  }

  write(handle: FileHandle, view: Uint8Array, position: number, path: string, signal: AbortSignal | undefined): Promise<number> {
    const length = view.byteLength;
    return abortable(
      () => handle.write(view, 0, length, position).then((r) => intact(view, length, r.bytesWritten)),
      signal,
    ).catch((error) => rethrow(error, 'write', path));
  }

  readv(handle: FileHandle, views: Uint8Array[], position: number, path: string, signal: AbortSignal | undefined): Promise<number> {
    return abortable(() => handle.readv(views, position).then((r) => intact(views, [], r.bytesRead)), signal).catch((error) =>
      rethrow(error, 'read', path),
    );
  }

  writev(handle: FileHandle, views: Uint8Array[], position: number, path: string, signal: AbortSignal | undefined): Promise<number> {
    return abortable(() => handle.writev(views, position).then((r) => intact(views, [], r.bytesWritten)), signal).catch((error) =>
      rethrow(error, 'write', path),
    );
  }

  batch(handle: FileHandle, ops: ResolvedBatchOp[], path: string, done: BatchDone): void {
    const results = new Array<number>(ops.length);
    let firstError: Error | null = null;
    Promise.all(
      ops.map((op, i) =>
        (op.write ? this.write(handle, op.view, op.position, path, undefined) : this.read(handle, op.view, op.position, path, undefined)).then(
          (n) => {
            results[i] = n;
          },
          (error: Error) => {
            results[i] = -1;
            firstError ??= error;
          },
        ),
      ),
    ).then(() => done(firstError, results));
  }

  async sync(handle: FileHandle, dataOnly: boolean, path: string): Promise<void> {
    await (dataOnly ? handle.datasync() : handle.sync()).catch((error) => rethrow(error, dataOnly ? 'fdatasync' : 'fsync', path));
  }

  // node:fs has no fallocate: the missing range is written with zeros,
  // which allocates it just the same (slower, and it dirties the cache).
  // OverlappedFile holds writes back meanwhile, so no zero lands over one.
  // What fallocate refuses at once is refused here before a byte is
  // written: a size past the file system's limit (EFBIG, from setting the
  // size first) and more than the free space (ENOSPC); a failure puts the
  // size back.
  async allocate(handle: FileHandle, size: number, path: string): Promise<void> {
    const { size: current } = await handle.stat().catch((error) => rethrow(error, 'fallocate', path));
    if (current >= size) return;
    await handle.truncate(size).catch((error) => rethrow(error, 'fallocate', path));
    try {
      const space = await fs.statfs(path).catch(() => undefined);
      if (space !== undefined && space.bavail * space.bsize < size - current) {
        throw systemError({ code: 'ENOSPC', syscall: 'fallocate', path });
      }
      const zeros = new Uint8Array(Math.min(ZERO_CHUNK, size - current));
      for (let at = current; at < size; ) {
        const length = Math.min(zeros.byteLength, size - at);
        const { bytesWritten } = await handle.write(zeros, 0, length, at);
        at += bytesWritten;
      }
    } catch (error) {
      await handle.truncate(current).catch(() => undefined);
      if (isOverlappedError(error)) throw error;
      rethrow(error, 'fallocate', path);
    }
  }

  async truncate(handle: FileHandle, size: number, path: string): Promise<void> {
    await handle.truncate(size).catch((error) => rethrow(error, 'ftruncate', path));
  }

  async stat(handle: FileHandle, path: string): Promise<Float64Array> {
    return statFields(await handle.stat().catch((error) => rethrow(error, 'fstat', path)));
  }

  async realpath(handle: FileHandle, path: string): Promise<string> {
    // Only Linux says, through /proc (the native backends also ask macOS
    // and Windows, which node:fs cannot).
    if (process.platform !== 'linux') throw systemError({ code: 'ENOTSUP', syscall: 'realpath', path });
    let name: string;
    try {
      name = await fs.readlink(`/proc/self/fd/${handle.fd}`);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') rethrow(error, 'realpath', path);
      // No such link: the handle is not open (its error), or there is no
      // /proc here and nothing else says.
      await handle.stat().catch((statError) => rethrow(statError, 'realpath', path));
      throw systemError({ code: 'ENOTSUP', syscall: 'realpath', path });
    }
    // Unlinked since (Linux gives the last name with " (deleted)" after it).
    const { nlink } = await handle.stat().catch((error) => rethrow(error, 'realpath', path));
    if (nlink === 0) throw systemError({ code: 'ENOENT', syscall: 'realpath', path });
    return name;
  }

  async close(handle: FileHandle, path: string): Promise<void> {
    await handle.close().catch((error) => rethrow(error, 'close', path));
  }
}
