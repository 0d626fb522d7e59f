/**
 * The part of @overlapped/file that the file scenarios use, loaded at run
 * time: when the package is not built here the overlapped contenders are
 * left out and the Node and fio contenders still run.
 */
import { nativeCandidates } from '@overlapped/iocp';

export interface BatchRequest {
  op: 'read' | 'write';
  buffer: Uint8Array;
  position: number;
  offset?: number;
  length?: number;
}

export interface OverlappedFile {
  readAt(buffer: Uint8Array, position: number, options?: { offset?: number; length?: number }): Promise<number>;
  writeAt(buffer: Uint8Array, position: number, options?: { offset?: number; length?: number }): Promise<number>;
  batch(requests: BatchRequest[]): Promise<number[]>;
  preallocate(size: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface OverlappedFileModule {
  open(
    path: string,
    options: { disposition: 'create-always' | 'open-existing'; access: 'read' | 'write' | 'read-write'; backend?: string },
  ): Promise<OverlappedFile>;
  copyFile(source: string, destination: string, options?: { backend?: string }): Promise<unknown>;
}

/** Loads @overlapped/file, or returns undefined when it is not there. */
export async function loadOverlappedFile(): Promise<OverlappedFileModule | undefined> {
  const specifier = '@overlapped/file';
  try {
    return (await import(specifier)) as OverlappedFileModule;
  } catch {
    return undefined;
  }
}

/** The backends a file contender runs on: each native backend available here, then portable. */
export function fileBackends(options: { portable?: boolean } = {}): string[] {
  const native = nativeCandidates()
    .filter((candidate) => candidate.probe().available)
    .map((candidate) => candidate.name as string);
  return options.portable === false ? native : [...native, 'portable'];
}
