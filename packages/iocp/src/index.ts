/**
 * @overlapped/iocp: the native completion port and worker thread pool.
 * Backends: `iocp` (Windows), `io_uring` (Linux) and `threadpool` (POSIX).
 *
 * @packageDocumentation
 */
import {
  type BackendCandidate,
  type BackendRequest,
  CompletionPort as PortCore,
  ErrorCodes,
  type NativeBackendName,
  type PortOptions,
  type ProbeOutcome,
  resolveBackendRequest,
  selectBackend,
  validateObject,
} from '@overlapped/common';

import { join } from 'node:path';

import { packageRoot, tryLoadNativeCore } from './load.js';

export { loadNativeCore, packageRoot, tryLoadNativeCore } from './load.js';
export type { NativeBinding, NativePort } from './load.js';

/** The native backends, best first. */
export const NATIVE_BACKENDS: readonly NativeBackendName[] = ['iocp', 'io_uring', 'threadpool'];

/**
 * The native backends that exist on `platform`, best first: iocp on
 * Windows, io_uring then threadpool on Linux, threadpool on other POSIX
 * systems.
 *
 * @example
 * ```ts
 * platformBackends('linux'); // ['io_uring', 'threadpool']
 * ```
 */
export function platformBackends(platform: NodeJS.Platform = process.platform): NativeBackendName[] {
  if (platform === 'win32') return ['iocp'];
  if (platform === 'linux') return ['io_uring', 'threadpool'];
  return ['threadpool'];
}

/**
 * The native rungs of the backend ladder for this platform, best first
 * (see {@link platformBackends}), each with a probe that never throws: a
 * missing core (with how to build it from source) or a backend the kernel
 * refuses (io_uring_disabled, seccomp, memlock) each say why. Each backend
 * is probed once per process; later walks of the ladder reuse the answer.
 *
 * @example
 * ```ts
 * import { selectBackend } from '@overlapped/common';
 * const chosen = selectBackend('auto', [...nativeCandidates(), { name: 'portable', probe: () => ({ available: true }) }]);
 * ```
 */
export function nativeCandidates(): BackendCandidate[] {
  return platformBackends().map((name) => ({ name, probe: () => probeOnce(name) }));
}

/**
 * What each backend's probe found, kept for the life of the process: what
 * decides it (the kernel, its seccomp filter, io_uring_disabled, the
 * native core on disk) does not change under a running process, and a
 * probe is not free (on io_uring it sets up and tears down a ring), so a
 * server that opens a file per request must not pay for it every time.
 */
const probed = new Map<NativeBackendName, ProbeOutcome>();

function probeOnce(name: NativeBackendName): ProbeOutcome {
  let outcome = probed.get(name);
  if (outcome === undefined) {
    outcome = probeBackend(name);
    probed.set(name, outcome);
  }
  return { ...outcome };
}

function probeBackend(name: NativeBackendName): ProbeOutcome {
  const core = tryLoadNativeCore();
  if ('error' in core) {
    return {
      available: false,
      code: ErrorCodes.NATIVE_CORE_UNAVAILABLE,
      message: core.error.message,
      remedy:
        `To build the native core from source (a C++17 compiler is needed): ` +
        `node ${join(packageRoot, 'scripts', 'build-from-source.mjs')}`,
    };
  }
  if (!core.binding.backends().includes(name)) {
    return { available: false, code: 'ENOTSUP', message: `not built for ${process.platform}` };
  }
  const outcome = core.binding.probe(name);
  return outcome.available ? { available: true } : { available: false, code: outcome.code, message: outcome.message };
}

/** Options of a native completion port. */
export interface NativePortOptions<V = unknown> extends PortOptions<V> {
  /**
   * `auto` (default, or `OVERLAPPED_BACKEND`) takes the best native backend
   * that runs here; naming one that cannot run throws `ERR_BACKEND_UNAVAILABLE`.
   */
  backend?: Exclude<BackendRequest, 'portable'>;
}

/**
 * A completion port on the native core: worker threads created up front wait
 * on the kernel's queue (IOCP, io_uring) or the thread pool's, at most
 * `concurrency` of them run completions at once, and completions reach JS in
 * batches through a shared ring, one wake-up per drain.
 *
 * @example
 * ```ts
 * import { CompletionPort } from '@overlapped/iocp';
 *
 * const port = new CompletionPort<string>({ threads: 4, concurrency: 2 });
 * port.post(1, 0, 'job done');
 * port.postFromNativeThreads({ threads: 2, count: 1000, key: 10 });
 * let seen = 0;
 * for await (const c of port) {
 *   if (++seen === 2001) break;
 * }
 * console.log(port.stats()); // { backend: 'io_uring', posted: 2001, completed: 2001, ... }
 * await port.close();
 * ```
 */
export class CompletionPort<V = unknown> extends PortCore<V> {
  constructor(options: NativePortOptions<V> = {}) {
    validateObject(options, 'options', true);
    const selection = selectBackend(resolveBackendRequest(options.backend), nativeCandidates());
    const name = selection.name as NativeBackendName;
    super(
      name,
      (config, wake) => {
        const core = tryLoadNativeCore();
        if ('error' in core) throw core.error;
        // OVERLAPPED_URING_SOCKETS_RING=shared puts io_uring's socket ops on
        // the first file ring, the path kernels before 6.0 take (tests and
        // comparisons reach it with this).
        const socketsShareRing = process.env['OVERLAPPED_URING_SOCKETS_RING'] === 'shared';
        const driver = new core.binding.Port(name, config.threads, config.concurrency, config.ringCapacity, wake, socketsShareRing);
        return {
          driver,
          capabilities: { nativeWorkers: true, nativePosters: true, kernelQueue: name !== 'threadpool', ops: true },
        };
      },
      options,
    );
  }
}
