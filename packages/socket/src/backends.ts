/**
 * Which backend serves a socket, and its driver (one per backend).
 */
import {
  type BackendName,
  type BackendRequest,
  type NativeBackendName,
  resolveBackendRequest,
  selectBackend,
} from '@overlapped/common';
import { nativeCandidates } from '@overlapped/iocp';

import type { SocketBackendDriver } from './driver.js';
import type { EventDriver } from './event-driver.js';
import { NativeSocketBackend } from './native.js';
import { nativeEventDriver } from './native-events.js';
import { PortableSocketBackend } from './portable.js';

/**
 * The backend `request` resolves to: `auto` (or `OVERLAPPED_BACKEND`) picks
 * the best native one that runs here, else `portable`.
 *
 * @example
 * ```ts
 * socketBackend('auto'); // 'io_uring' on a recent Linux
 * ```
 */
export function socketBackend(request?: BackendRequest): BackendName {
  return selectBackend(resolveBackendRequest(request), [
    ...nativeCandidates(),
    { name: 'portable', probe: () => ({ available: true }) },
  ]).name;
}

const drivers = new Map<BackendName, SocketBackendDriver>();

/** The driver of the backend `request` resolves to. */
export function socketDriverFor(request: BackendRequest | undefined): SocketBackendDriver {
  const backend = socketBackend(request);
  let driver = drivers.get(backend);
  if (driver === undefined) {
    driver = backend === 'portable' ? new PortableSocketBackend() : new NativeSocketBackend(backend as NativeBackendName);
    drivers.set(backend, driver);
  }
  return driver;
}

/**
 * The event driver of `backend`'s sockets when it has its own (io_uring and
 * threadpool: the native driver on the JS thread's event loop), else
 * undefined (the generic driver over the socket's recv and send serves).
 */
export function eventDriverFor(backend: BackendName): EventDriver | undefined {
  return backend === 'io_uring' || backend === 'threadpool' ? nativeEventDriver(backend) : undefined;
}
