/**
 * What the file scenarios take from @overlapped/file, and the backends its
 * contenders run on.
 */
import type { BackendName } from '@overlapped/common';
import { nativeCandidates } from '@overlapped/iocp';

/** The @overlapped/file module (passed in, so that a scenario names what it measures). */
export type OverlappedFileModule = typeof import('@overlapped/file');

/**
 * The backends a file contender runs on: each native backend available
 * here, then portable.
 *
 * @example
 * ```ts
 * fileBackends(); // ['io_uring', 'threadpool', 'portable'] on Linux
 * ```
 */
export function fileBackends(options: { portable?: boolean } = {}): BackendName[] {
  const native = nativeCandidates()
    .filter((candidate) => candidate.probe().available)
    .map((candidate) => candidate.name);
  return options.portable === false ? native : [...native, 'portable'];
}
