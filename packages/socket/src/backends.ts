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
import { registerEventDriver } from './event-driver.js';
import { NativeSocketBackend } from './native.js';
import { nativeEventDriver } from './native-events.js';
import { NodeEventDriver } from './node-events.js';
import { OpsEventDriver } from './ops-events.js';
import { PortableSocketBackend } from './portable.js';

// The event driver of each backend: one line each. io_uring and threadpool
// sockets run on the native drivers on the JS thread's event loop
// (native-events.ts) where the core has them; the generic 'ops' driver
// serves every native backend that has none.
registerEventDriver('io_uring', () => nativeEventDriver('io_uring') ?? new OpsEventDriver());
registerEventDriver('threadpool', () => nativeEventDriver('threadpool') ?? new OpsEventDriver());
registerEventDriver('iocp', () => new OpsEventDriver());
registerEventDriver('portable', () => new NodeEventDriver());

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

