/**
 * Argument validation, after Node's `lib/internal/validators.js`: each check
 * throws the `ERR_*` error Node would, before any work is submitted.
 */
import { types } from 'node:util';

import { bufferDetached, invalidArgType, invalidArgValue, outOfRange } from './errors.js';

/**
 * Checks that `value` is an integer in `[min, max]`.
 *
 * @example
 * ```ts
 * validateInteger(bytes, 'bytes', 0, 0xffffffff);
 * ```
 */
export function validateInteger(
  value: unknown,
  name: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
}

/**
 * Checks that `value` is a plain object (or, if `optional`, undefined).
 *
 * @example
 * ```ts
 * validateObject(options, 'options', true);
 * ```
 */
export function validateObject(value: unknown, name: string, optional = false): asserts value is object {
  if (optional && value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType(name, 'of type object', value);
  }
}

/**
 * Checks that `value` is a function.
 *
 * @example
 * ```ts
 * validateFunction(onCompletion, 'options.onCompletion');
 * ```
 */
export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
}

/**
 * Checks that `value` is one of `allowed`.
 *
 * @example
 * ```ts
 * validateOneOf(mode, 'mode', ['native', 'js']);
 * ```
 */
export function validateOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): asserts value is T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    const list = allowed.map((item) => `'${item}'`).join(', ');
    throw invalidArgValue(name, value, `must be one of: ${list}`);
  }
}

/**
 * Checks that `value` is an AbortSignal (or undefined).
 *
 * @example
 * ```ts
 * validateAbortSignal(options.signal, 'options.signal');
 * ```
 */
export function validateAbortSignal(value: unknown, name: string): asserts value is AbortSignal | undefined {
  if (value === undefined) return;
  if (
    value === null ||
    typeof value !== 'object' ||
    !('aborted' in value) ||
    typeof (value as AbortSignal).addEventListener !== 'function'
  ) {
    throw invalidArgType(name, 'an instance of AbortSignal', value);
  }
}

/**
 * Checks that `value` is a Buffer, TypedArray or DataView (over an
 * ArrayBuffer or a SharedArrayBuffer) whose memory is still there: a view
 * of a detached ArrayBuffer throws `ERR_INVALID_STATE`.
 *
 * @example
 * ```ts
 * validateBufferSource(buffer, 'buffer');
 * ```
 */
export function validateBufferSource(value: unknown, name: string): asserts value is ArrayBufferView {
  if (!ArrayBuffer.isView(value)) {
    throw invalidArgType(name, 'an instance of Buffer, TypedArray, or DataView', value);
  }
  if (value.byteLength === 0 && isDetached(value)) throw bufferDetached(name);
}

const detachedGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'detached')?.get;

/**
 * Whether `view`'s ArrayBuffer was detached (transferred away). A view over
 * a SharedArrayBuffer never is.
 *
 * @example
 * ```ts
 * structuredClone(buffer.buffer, { transfer: [buffer.buffer] });
 * isDetached(buffer); // true
 * ```
 */
export function isDetached(view: ArrayBufferView): boolean {
  // A detached buffer has no bytes, so a view with bytes is not detached.
  if (view.byteLength !== 0) return false;
  const buffer = view.buffer;
  if (!types.isArrayBuffer(buffer)) return false;
  if (detachedGetter !== undefined) return detachedGetter.call(buffer) as boolean;
  if (buffer.byteLength !== 0) return false;
  // Before ArrayBuffer.prototype.detached (V8 11.4): a view of a detached
  // buffer cannot be made.
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}
