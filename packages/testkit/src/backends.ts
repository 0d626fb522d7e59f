/**
 * Which backends can run here, and how a suite makes a port on each.
 */
import { type BackendName, CompletionPort, type PortOptions } from '@overlapped/common';
import { CompletionPort as NativePort, nativeCandidates } from '@overlapped/iocp';
import { CompletionPort as PortablePort } from '@overlapped/portable';

/** Whether `backend` can run in this process, and why not. */
export function backendAvailability(backend: BackendName): { available: boolean; reason?: string } {
  if (backend === 'portable') return { available: true };
  const candidate = nativeCandidates().find((c) => c.name === backend);
  const outcome = candidate?.probe() ?? { available: false, message: 'unknown backend' };
  return outcome.available
    ? { available: true }
    : { available: false, reason: `${outcome.message ?? 'unavailable'}${outcome.code ? ` (${outcome.code})` : ''}` };
}

/** Makes a port on `backend`. */
export function makePort<V = unknown>(backend: BackendName, options: PortOptions<V> = {}): CompletionPort<V> {
  if (backend === 'portable') {
    // The portable port has one worker; a suite asking for more gets one.
    const { threads, concurrency, ...rest } = options ?? ({} as PortOptions<V>);
    const single = (n: unknown) => (typeof n === 'number' && Number.isInteger(n) && n > 1 ? 1 : n);
    return new PortablePort<V>(
      options === null || typeof options !== 'object'
        ? (options as never)
        : ({ ...rest, threads: single(threads), concurrency: single(concurrency) } as never),
    );
  }
  // Anything but an object goes through untouched, so that the port's own
  // validation sees it.
  if (options === null || typeof options !== 'object') return new NativePort<V>(options as never);
  return new NativePort<V>({ ...options, backend });
}
