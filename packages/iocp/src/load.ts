/**
 * Loads the native core: the file OVERLAPPED_ADDON_PATH names if set, else a
 * local from-source build (`native/build/Release`) unless PREBUILDS_ONLY is
 * set (to a yes: `1`, `true`; `0`, `false` and empty are no), then
 * `prebuilds/<platform>-<arch>/` through node-gyp-build. A core that cannot load is reported with
 * its own code, the paths tried and the cause; it never crashes the process.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  codedError,
  envFlag,
  ErrorCodes,
  type NativeBackendName,
  OP_TABLE_ABI_ID,
  type PortDriver,
} from '@overlapped/common';

const require = createRequire(import.meta.url);

/**
 * The native Port object (native/common/port.h): the full {@link PortDriver}
 * contract, native ops included.
 */
export type NativePort = Required<PortDriver> & {
  /** Ops submitted and not yet drained. */
  opsInFlight(): number;
};

/** What the addon exports. */
export interface NativeBinding {
  Port: new (
    backend: NativeBackendName,
    threads: number,
    concurrency: number,
    ringCapacity: number,
    onWake: () => void,
    /** io_uring: socket ops share the first file ring (as on kernels without multishot recv). */
    socketsShareRing?: boolean,
  ) => NativePort;
  backends(): NativeBackendName[];
  probe(name: NativeBackendName): { available: boolean; code?: string; errno?: number; message?: string };
  /** An ArrayBuffer of `size` zeroed bytes at a multiple of `alignment` (a power of two). */
  allocAligned?(size: number, alignment: number): ArrayBuffer;
  /** The id of the op table the core was built from (@overlapped/common's OP_TABLE_ABI_ID when they agree). */
  abiVersion: string;
  /** The op table the core was built from: its ops' kinds, names, layouts and traits, and shared constants. */
  opTable: {
    abiId: string;
    ops: { kind: number; family: string; name: string; layout: object; traits: Record<string, string | boolean> }[];
    constants: Record<string, number | Record<string, number>>;
  };
  /** A new TCP socket of family 4 or 6, or [negative errno, raw code]. */
  socketOpen(family: number): number | [number, number];
  /** Binds (and listens when backlog >= 0): 0 or [negative errno, raw code]. */
  socketBind(socket: number, host: string, port: number, backlog: number): 0 | [number, number];
  /** [address, port] of the local (peer false) or remote end, or [negative errno, raw code]. */
  socketName(socket: number, peer: boolean): [string, number] | [number, number];
  /** Option 1 TCP_NODELAY, 2 SO_LINGER 0: 0 or [negative errno, raw code]. */
  socketSetOption(socket: number, option: number, value: number): 0 | [number, number];
  /** Sends what fits at once without waiting: bytes, or a negative errno (EAGAIN: nothing fits). */
  socketTrySend(socket: number, bytes: Uint8Array): number;
  /**
   * sendFile's fast path: reads up to 64 KiB of the file at position (into
   * native memory) and sends head and them at once without waiting:
   * [bytes sent, head included; bytes of the file read], or a negative errno.
   */
  socketTrySendFile(socket: number, file: number, position: number, length: number, head: Uint8Array): [number, number] | number;
  /** Closes a socket no op uses: 0 or [negative errno, raw code]. */
  socketClose(socket: number): 0 | [number, number];
  /**
   * The sockets' event drivers on the JS thread's event loop (Linux builds):
   * 'poll' where the process's event loop can be reached, else ''. Every
   * other events* call names its driver first: 0 'poll', 1 'uring'.
   */
  eventsKind?(): string;
  /**
   * Starts a driver: batches of `records` (4 int32 each) over `data`, one `onBatch(count)` call per wake. Where the
   * driver's memory starts in `data` (the first page boundary when `data` has a page to spare; the records' offsets count
   * from there), or a negative errno.
   */
  eventsInit?(driver: number, data: ArrayBuffer, records: Int32Array, onBatch: (count: number) => void): number;
  /** Takes over a connected socket: its connection id, or a negative errno. */
  eventsOpen?(driver: number, socket: number): number;
  /** Sends now what the kernel takes and queues the rest: bytes queued, or a negative errno (the connection is closed then). */
  eventsWrite?(driver: number, id: number, bytes: Uint8Array): number;
  eventsEnd?(driver: number, id: number): void;
  eventsPause?(driver: number, id: number): void;
  eventsResume?(driver: number, id: number): void;
  /** True when it closed now; false when a closed record follows once the queue is out. */
  eventsClose?(driver: number, id: number): boolean;
  eventsReset?(driver: number, id: number): void;
  /**
   * Promise receives on the JS thread's event loop (Linux builds): batches of
   * `records` (4 doubles each: watcher id, op token, status, bytes), one
   * `onBatch(count)` call per loop iteration. `starts` (optional): where JS
   * stages, while a batch is delivered ([0] is 1 then), recvs into a
   * watcher's last buffer, queued once the batch returned; [1] the count,
   * then {watcher id, token (0: taken back)} each. 0 or a negative errno
   * (-ENOSYS: the process's event loop cannot be reached).
   */
  loopRecvInit?(records: Float64Array, onBatch: (count: number) => void, starts?: Float64Array): number;
  /** Watches a connected socket: the watcher's id, or a negative errno. */
  loopRecvOpen?(socket: number): number;
  /** Queues a recv into `buffer` (done once the socket is readable): 0, or a negative errno. */
  loopRecv?(id: number, token: number, buffer: Uint8Array): number;
  /** Takes a queued recv off its watcher: false when it finished (its record is on its way). */
  loopRecvCancel?(id: number, token: number): boolean;
  /** Closes a watcher (the socket stays open): true when its id is free now. */
  loopRecvClose?(id: number): boolean;
  /** Whether an op of the socket's own (a sendFile) holds its descriptor: a close then leaves the descriptor open for JS to close through the port. */
  eventsLend?(driver: number, id: number, lent: boolean): void;
  /** The event drivers' connection records alive in the process, every environment's (a leak check). */
  eventsRecords?(): number;
  /** Where a driver's memory starts, modulo the page size (0: on a page boundary), or -1 before eventsInit (a check of where the kernel copies received bytes). */
  eventsMemoryPageOffset?(driver: number): number;
  /** The 'uring' driver's wakes and the wakes among them that found nothing to do (zeros for 'poll'): a check that a wake's own completions make no second one. */
  eventsWakes?(driver: number): [wakes: number, empty: number];
}

/** The folder this package is installed in. */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url));

let loaded: { binding: NativeBinding } | { error: Error } | undefined;

/**
 * Loads the native core from `root` (default: this package). Throws an
 * error with code `ERR_NATIVE_CORE_UNAVAILABLE`, `tried` (the paths looked
 * at) and `cause` if there is no usable binary.
 *
 * @example
 * ```ts
 * import { loadNativeCore } from '@overlapped/iocp';
 * const core = loadNativeCore();
 * core.backends(); // ['io_uring', 'threadpool'] on Linux
 * ```
 */
export function loadNativeCore(root: string = packageRoot): NativeBinding {
  if (root === packageRoot && loaded) {
    if ('error' in loaded) throw loaded.error;
    return loaded.binding;
  }
  const tag = `${process.platform}-${process.arch}`;
  // A from-source build (scripts/build-from-source.mjs, or node-gyp in
  // native/) wins over the prebuilds, unless PREBUILDS_ONLY asks to test
  // exactly what is shipped.
  const localBuild = join(root, 'native', 'build', 'Release', 'overlapped.node');
  const prebuildsOnly = envFlag('PREBUILDS_ONLY');
  // OVERLAPPED_ADDON_PATH names one binary to load and nothing else (the
  // sanitizer build the tests run).
  const addonPath = process.env['OVERLAPPED_ADDON_PATH'];
  const tried = addonPath ? [addonPath] : [...(prebuildsOnly ? [] : [localBuild]), join(root, 'prebuilds', tag)];
  let result: { binding: NativeBinding } | { error: Error };
  try {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    const file = addonPath ? addonPath : !prebuildsOnly && existsSync(localBuild) ? localBuild : nodeGypBuild.resolve(root);
    const binding = require(file) as NativeBinding;
    // The op kinds, record layouts and constants the core was built with
    // must be the ones the TypeScript packages use (both come from one op
    // table; its id changes whenever it does).
    if (binding.abiVersion !== OP_TABLE_ABI_ID) {
      throw new Error(
        `${file} was built from op table ${String(binding.abiVersion)}, but the installed @overlapped/common has ` +
          `${OP_TABLE_ABI_ID}: install @overlapped/iocp and @overlapped/common of the same release, or rebuild the ` +
          `native core from this @overlapped/iocp (node scripts/build-from-source.mjs)`,
      );
    }
    result = { binding };
  } catch (cause) {
    const found = tried.filter((dir) => existsSync(dir));
    const error = codedError(
      ErrorCodes.NATIVE_CORE_UNAVAILABLE,
      `The overlapped native core cannot load on ${tag} (Node ${process.version}): ${
        (cause as Error).message?.split('\n')[0] ?? String(cause)
      }. Tried: ${tried.join(', ')}${found.length === 0 ? ' (none exist)' : ''}`,
      { tried, cause },
    );
    result = { error };
  }
  if (root === packageRoot) loaded = result;
  if ('error' in result) throw result.error;
  return result.binding;
}

/**
 * The native core, or the error saying why it cannot load.
 *
 * @example
 * ```ts
 * const outcome = tryLoadNativeCore();
 * if ('error' in outcome) console.warn(outcome.error.message);
 * ```
 */
export function tryLoadNativeCore(): { binding: NativeBinding } | { error: Error & { code?: string } } {
  try {
    return { binding: loadNativeCore() };
  } catch (error) {
    return { error: error as Error };
  }
}
