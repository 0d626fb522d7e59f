/**
 * The part of @overlapped/file that ocopy uses, loaded at run time so that
 * ocopy can say clearly when the package is not built rather than fail to
 * start.
 */
export interface OverlappedFile {
  readAt(
    buffer: Uint8Array,
    position: number,
    options?: { offset?: number; length?: number; signal?: AbortSignal },
  ): Promise<number>;
  close(): Promise<void>;
}

export interface CopyOptions {
  queueDepth?: number;
  chunkSize?: number;
  signal?: AbortSignal;
  backend?: string;
  onProgress?: (progress: unknown, total?: unknown) => void;
}

export interface OverlappedFileModule {
  open(
    path: string,
    options: { disposition: 'open-existing'; access: 'read'; backend?: string },
  ): Promise<OverlappedFile>;
  copyFile(source: string, destination: string, options?: CopyOptions): Promise<unknown>;
}

/** Loads @overlapped/file, or returns the reason it cannot be loaded. */
export async function loadOverlappedFile(): Promise<OverlappedFileModule | Error> {
  const specifier = '@overlapped/file';
  try {
    return (await import(specifier)) as OverlappedFileModule;
  } catch (error) {
    return error as Error;
  }
}

/**
 * The bytes copied so far from an onProgress call, whichever shape it has:
 * a number, or an object with `bytesCopied`, `copied` or `bytes`.
 */
export function progressBytes(progress: unknown): number {
  if (typeof progress === 'number') return progress;
  if (typeof progress === 'bigint') return Number(progress);
  if (progress && typeof progress === 'object') {
    const record = progress as Record<string, unknown>;
    for (const key of ['bytesCopied', 'copied', 'bytes', 'done']) {
      const value = record[key];
      if (typeof value === 'number') return value;
    }
  }
  return 0;
}
