/**
 * Errors shaped like Node's own, built in one place.
 *
 * - System errors carry `code` (`ENOENT`, `ECONNRESET`, ...), `errno` (the
 *   negative libuv number Node uses on this platform), `syscall`, and
 *   `path` / `dest` / `address` / `port` where they apply. A Win32 or WSA code
 *   is kept as `rawCode` next to the mapped one.
 * - Argument errors are TypeError / RangeError with `ERR_*` codes, thrown
 *   before any work starts.
 * - Cancelled operations reject with {@link AbortError} (`ABORT_ERR`).
 *
 * Every error made here carries a `Symbol.for` brand, so that
 * {@link isOverlappedError} holds even across two installed copies.
 */
import { getSystemErrorMap, inspect } from 'node:util';

const BRAND = Symbol.for('overlapped.error');

function brand<E extends Error>(error: E): E {
  Object.defineProperty(error, BRAND, { value: true });
  return error;
}

/**
 * Whether `error` was made by an overlapped package (any installed copy).
 *
 * @example
 * ```ts
 * try { port.post(-1); } catch (e) { if (isOverlappedError(e)) console.log(e.code); }
 * ```
 */
export function isOverlappedError(error: unknown): error is Error & { code: string } {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

/** The error codes this project defines itself, beside Node's `ERR_*` and errno names. */
export const ErrorCodes = {
  INVALID_ARG_TYPE: 'ERR_INVALID_ARG_TYPE',
  INVALID_ARG_VALUE: 'ERR_INVALID_ARG_VALUE',
  OUT_OF_RANGE: 'ERR_OUT_OF_RANGE',
  INVALID_STATE: 'ERR_INVALID_STATE',
  ABORT: 'ABORT_ERR',
  PORT_CLOSED: 'ERR_PORT_CLOSED',
  BACKEND_UNAVAILABLE: 'ERR_BACKEND_UNAVAILABLE',
  NATIVE_CORE_UNAVAILABLE: 'ERR_NATIVE_CORE_UNAVAILABLE',
  NOT_SUPPORTED: 'ERR_NOT_SUPPORTED',
  SOCKET_BAD_PORT: 'ERR_SOCKET_BAD_PORT',
} as const;

/** A code from {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

let errnoByName: Map<string, { errno: number; description: string }> | undefined;

function errnoTable(): Map<string, { errno: number; description: string }> {
  if (!errnoByName) {
    errnoByName = new Map();
    for (const [errno, [name, description]] of getSystemErrorMap()) {
      errnoByName.set(name, { errno, description });
    }
  }
  return errnoByName;
}

/**
 * The code name for a negative libuv-style errno (what the native core
 * reports), e.g. `-2` -> `ENOENT` on Linux, `-4058` -> `ENOENT` on Windows.
 *
 * @example
 * ```ts
 * errnoName(-2); // 'ENOENT' (Linux)
 * ```
 */
export function errnoName(errno: number): string {
  return getSystemErrorMap().get(errno)?.[0] ?? `E${-errno}`;
}

/** Details of a system error. */
export interface SystemErrorDetails {
  /** errno-style code name, e.g. `ENOENT`; or give `errno` instead. */
  code?: string;
  /** Negative libuv-style errno; looked up from `code` if omitted. */
  errno?: number;
  /** The system call that failed, e.g. `open`, `connect`. */
  syscall: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
  /** The platform's own code (a Win32 or WSA error), kept beside the mapped one. */
  rawCode?: number;
  /** What went wrong, in place of the code's usual description (`no such file or directory`). */
  description?: string;
  cause?: unknown;
  /**
   * How the message reads, after Node: `'fs'` (`ENOENT: no such file or
   * directory, open 'x'`; the default without an address), `'net'`
   * (`connect ECONNREFUSED 127.0.0.1:80`, or `read ECONNRESET` without an
   * address; the default with one) or `'net-described'` (`listen
   * EADDRINUSE: address already in use 127.0.0.1:80`, as net words listen
   * and bind errors).
   */
  wording?: 'fs' | 'net' | 'net-described';
}

/** A system error as Node shapes it: the details, with `code` always set. */
export interface SystemError
  extends Error,
    Pick<SystemErrorDetails, 'errno' | 'syscall' | 'path' | 'dest' | 'address' | 'port' | 'rawCode'> {
  code: string;
}

/**
 * Builds a system error shaped like Node's: `ENOENT: no such file or
 * directory, open 'x'`, or `connect ECONNREFUSED 127.0.0.1:9` for sockets.
 *
 * @example
 * ```ts
 * throw systemError({ errno: -2, syscall: 'open', path: '/nope' });
 * // Error: ENOENT: no such file or directory, open '/nope'  (code 'ENOENT', errno -2)
 * ```
 */
export function systemError(details: SystemErrorDetails): SystemError {
  const code = details.code ?? (details.errno !== undefined ? errnoName(details.errno) : 'EUNKNOWN');
  const known = errnoTable().get(code);
  const errno = details.errno ?? known?.errno;
  const description = details.description ?? known?.description ?? 'unknown error';
  let message: string;
  const wording = details.wording ?? (details.address !== undefined ? 'net' : 'fs');
  if (wording !== 'fs') {
    message = `${details.syscall} ${code}`;
    if (wording === 'net-described') message += `: ${description}`;
    if (details.address !== undefined) message += ` ${details.address}`;
    if (details.address !== undefined && details.port !== undefined) message += `:${details.port}`;
  } else {
    message = `${code}: ${description}, ${details.syscall}`;
    if (details.path !== undefined) message += ` '${details.path}'`;
    if (details.dest !== undefined) message += ` -> '${details.dest}'`;
  }
  const error = new Error(message, details.cause !== undefined ? { cause: details.cause } : undefined) as SystemError;
  error.code = code;
  if (errno !== undefined) error.errno = errno;
  error.syscall = details.syscall;
  for (const key of ['path', 'dest', 'address', 'port', 'rawCode'] as const) {
    if (details[key] !== undefined) (error as unknown as Record<string, unknown>)[key] = details[key];
  }
  return brand(error);
}

function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? ` Received an instance of ${name}` : ` Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

// A received value as Node's ERR_OUT_OF_RANGE shows it: integers past
// 2 ** 32 with digit separators (9_007_199_254_740_992), bigints with `n`.
function describeNumber(value: unknown): string {
  if (typeof value === 'bigint') {
    const digits = String(value);
    return `${value > 2n ** 32n || value < -(2n ** 32n) ? separateDigits(digits) : digits}n`;
  }
  if (Number.isInteger(value) && Math.abs(value as number) > 2 ** 32) return separateDigits(String(value));
  return inspect(value);
}

function separateDigits(digits: string): string {
  const first = digits.startsWith('-') ? 1 : 0;
  let grouped = '';
  let end = digits.length;
  for (; end >= first + 4; end -= 3) grouped = `_${digits.slice(end - 3, end)}${grouped}`;
  return `${digits.slice(0, end)}${grouped}`;
}

function withCode<E extends Error>(error: E, code: string): E & { code: string } {
  const coded = error as E & { code: string };
  coded.code = code;
  return brand(coded);
}

/**
 * `TypeError` with code `ERR_INVALID_ARG_TYPE`, worded like Node's: a
 * dotted name (`options.signal`) is a property, any other an argument.
 *
 * @example
 * ```ts
 * throw invalidArgType('key', 'number', 'x');
 * // TypeError: The "key" argument must be of type number. Received type string ('x')
 * ```
 */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError & { code: string } {
  const kind = name.includes('.') ? 'property' : 'argument';
  const error = new TypeError(`The "${name}" ${kind} must be ${expected}.${describeReceived(actual)}`);
  return withCode(error, ErrorCodes.INVALID_ARG_TYPE);
}

/**
 * `TypeError` with code `ERR_INVALID_ARG_VALUE`, worded like Node's.
 *
 * @example
 * ```ts
 * throw invalidArgValue('backend', 'epoll', "must be one of 'auto', 'iocp', ...");
 * ```
 */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): TypeError & { code: string } {
  const error = new TypeError(`The argument '${name}' ${reason}. Received ${inspect(value)}`);
  return withCode(error, ErrorCodes.INVALID_ARG_VALUE);
}

/**
 * `RangeError` with code `ERR_OUT_OF_RANGE`, worded like Node's.
 *
 * @example
 * ```ts
 * throw outOfRange('bytes', '>= 0 && <= 4294967295', -1);
 * // RangeError: The value of "bytes" is out of range. It must be >= 0 && <= 4294967295. Received -1
 * ```
 */
export function outOfRange(name: string, range: string, received: unknown): RangeError & { code: string } {
  const error = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${describeNumber(received)}`);
  return withCode(error, ErrorCodes.OUT_OF_RANGE);
}

/**
 * `TypeError` with code `ERR_INVALID_STATE` for a buffer whose ArrayBuffer
 * was detached (transferred with `structuredClone` or `postMessage`), as
 * Node's web streams report a detached view. `when` says at which point it
 * was found.
 *
 * @example
 * ```ts
 * throw bufferDetached('buffer');
 * // TypeError: The "buffer" argument's ArrayBuffer is detached
 * ```
 */
export function bufferDetached(name: string, when?: string): TypeError & { code: string } {
  const error = new TypeError(`The "${name}" argument's ArrayBuffer is detached${when === undefined ? '' : ` (${when})`}`);
  return withCode(error, ErrorCodes.INVALID_STATE);
}

/**
 * The negative libuv-style errno of a code name on this platform, e.g.
 * `EINVAL` -> -22 on Linux, -4071 on Windows; undefined if unknown.
 *
 * @example
 * ```ts
 * errnoOf('EINVAL'); // -22 (Linux)
 * ```
 */
export function errnoOf(code: string): number | undefined {
  return errnoTable().get(code)?.errno;
}

/**
 * `RangeError` with code `ERR_SOCKET_BAD_PORT`, worded like Node's: what
 * net throws for a port that is not an integer in [0, 65535] (in (0,
 * 65535] where `allowZero` is false).
 *
 * @example
 * ```ts
 * throw badPort('options.port', 70000);
 * // RangeError: options.port should be >= 0 and < 65536. Received type number (70000).
 * ```
 */
export function badPort(name: string, port: unknown, allowZero = true): RangeError & { code: string } {
  const error = new RangeError(`${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536.${describeReceived(port)}.`);
  return withCode(error, ErrorCodes.SOCKET_BAD_PORT);
}

/**
 * An `Error` with one of this project's own codes (see {@link ErrorCodes}),
 * or a `TypeError` / `RangeError` when `type` says so.
 *
 * @example
 * ```ts
 * throw codedError('ERR_PORT_CLOSED', 'The port is closed');
 * ```
 */
export function codedError(
  code: string,
  message: string,
  extra?: Record<string, unknown>,
  type: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor = Error,
): Error & { code: string } {
  const error = new type(message, extra?.['cause'] !== undefined ? { cause: extra['cause'] } : undefined);
  if (extra) {
    for (const [key, value] of Object.entries(extra)) {
      if (key !== 'cause') (error as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return withCode(error, code);
}

/**
 * The error a cancelled operation rejects with: `name` `AbortError`, `code`
 * `ABORT_ERR`, and the signal's reason as `cause`, like Node's.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * ac.abort();
 * const error = new AbortError(undefined, { cause: ac.signal.reason });
 * error.code; // 'ABORT_ERR'
 * ```
 */
export class AbortError extends Error {
  readonly code = ErrorCodes.ABORT;
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
    brand(this);
  }
}
