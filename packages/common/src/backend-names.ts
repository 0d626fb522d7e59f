/**
 * The backends, best first on the platform that has them.
 *
 * - `iocp`: Windows I/O completion ports.
 * - `io_uring`: Linux io_uring rings.
 * - `threadpool`: port semantics on native worker threads (any POSIX system).
 * - `portable`: pure TypeScript over Node's own fs and net.
 */
export const BACKEND_NAMES = ['iocp', 'io_uring', 'threadpool', 'portable'] as const;

/** One of {@link BACKEND_NAMES}. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** A backend name, or `auto` to take the best one that runs here. */
export type BackendRequest = BackendName | 'auto';

/** The backends that run native code. */
export type NativeBackendName = Exclude<BackendName, 'portable'>;

/**
 * Whether `value` names a backend.
 *
 * @example
 * ```ts
 * isBackendName('io_uring'); // true
 * isBackendName('epoll');    // false
 * ```
 */
export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && (BACKEND_NAMES as readonly string[]).includes(value);
}
