/**
 * What an OverlappedFile needs from a backend, per handle. The native
 * driver runs each call as one op on the backend's shared completion port;
 * the portable driver runs it on node:fs.
 */
import type { BackendName } from '@overlapped/common';

/** A resolved open request, validated. */
export interface OpenRequest {
  path: string;
  disposition: keyof typeof import('./kinds.js').DISPOSITIONS;
  access: 'read' | 'write' | 'read-write';
  share: ReadonlyArray<'read' | 'write' | 'delete'>;
  direct: boolean;
  writeThrough: boolean;
  hint: 'normal' | 'sequential' | 'random';
}

/** One read or write of a batch, resolved to a view and a position. */
export interface ResolvedBatchOp {
  write: boolean;
  view: Uint8Array;
  position: number;
}

/** Completion of a whole batch: the byte counts, or the first error (after every op settled). */
export type BatchDone = (error: Error | null, results: number[]) => void;

/** What each backend can do with files. */
export interface FileCapabilities {
  /** The backend serving the file. */
  backend: BackendName;
  /** Unbuffered I/O (`direct: true`): O_DIRECT / FILE_FLAG_NO_BUFFERING. */
  direct: boolean;
  /** Share modes are enforced (Windows only). */
  shareModes: boolean;
  /** How `readvAt` / `writevAt` run: one native vectored op, or emulated. */
  vectored: 'native' | 'emulated';
  /** How `preallocate` runs: allocating blocks natively, or by writing zeros. */
  preallocate: 'native' | 'emulated';
  /** Ops run on the backend's completion port (native workers), not on libuv's pool. */
  nativeOps: boolean;
  /** `flush({ dataOnly: true })` flushes data without metadata where the system allows. */
  dataOnlyFlush: boolean;
  /** `copyFile` runs its read -> write loop on native workers (copy_file_range on Linux), not through JS. */
  nativeCopy: boolean;
}

/** The per-handle operations a backend provides; errors are Node-shaped system errors. */
export interface FileDriver<H = unknown> {
  readonly backend: BackendName;
  readonly capabilities: FileCapabilities;
  open(request: OpenRequest, signal: AbortSignal | undefined): Promise<H>;
  /** `settled`, if given, is called once when the read completes, before the promise settles. */
  read(handle: H, view: Uint8Array, position: number, path: string, signal: AbortSignal | undefined, settled?: () => void): Promise<number>;
  write(handle: H, view: Uint8Array, position: number, path: string, signal: AbortSignal | undefined): Promise<number>;
  readv(handle: H, views: Uint8Array[], position: number, path: string, signal: AbortSignal | undefined): Promise<number>;
  writev(handle: H, views: Uint8Array[], position: number, path: string, signal: AbortSignal | undefined): Promise<number>;
  batch(handle: H, ops: ResolvedBatchOp[], path: string, done: BatchDone): void;
  sync(handle: H, dataOnly: boolean, path: string): Promise<void>;
  allocate(handle: H, size: number, path: string): Promise<void>;
  truncate(handle: H, size: number, path: string): Promise<void>;
  stat(handle: H, path: string): Promise<Float64Array>;
  /** The path the system has for the open file; ENOTSUP where it does not say, ENOENT once the file has no name. */
  realpath(handle: H, path: string): Promise<string>;
  close(handle: H, path: string): Promise<void>;
  /** Copies [position, position + length) to `target`'s same range on a worker; absent where the backend has no such op. */
  copyRange?(handle: H, target: H, position: number, length: number, bounce: Uint8Array, path: string, signal: AbortSignal | undefined): Promise<number>;
}
