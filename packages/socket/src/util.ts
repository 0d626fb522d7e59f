/**
 * Helpers the backends share: argument checks, name resolution, errors.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

import {
  codedError,
  invalidArgType,
  validateAbortSignal,
  validateBufferSource,
  validateInteger,
  validateObject,
} from '@overlapped/common';

import type { OpOptions } from './types.js';

/** The error of an op on a closed socket or server. */
export function socketClosed(syscall: string): Error & { code: string } {
  return codedError('ERR_SOCKET_CLOSED', `Socket is closed (${syscall})`, { syscall });
}

/** Checks a buffer argument and returns it as a Uint8Array view of the same memory. */
export function checkBuffer(buffer: unknown, name = 'buffer'): Uint8Array {
  validateBufferSource(buffer, name);
  const view = buffer as ArrayBufferView;
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Checks op options. */
export function checkOpOptions(options: OpOptions | undefined): AbortSignal | undefined {
  validateObject(options, 'options', true);
  validateAbortSignal(options?.signal, 'options.signal');
  return options?.signal;
}

/** Checks a host argument. */
export function checkHost(host: unknown, name: string): string {
  if (typeof host !== 'string') throw invalidArgType(name, 'of type string', host);
  if (host.length === 0) throw invalidArgType(name, 'a non-empty string', host);
  return host;
}

/** Checks a port argument (0 allowed where `allowZero`). */
export function checkPort(port: unknown, name: string, allowZero: boolean): number {
  validateInteger(port, name, allowZero ? 0 : 1, 65535);
  return port;
}

/** A numeric address for `host` (names are looked up once). */
export async function numericHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const family = isIP(host);
  if (family === 4 || family === 6) return { address: host, family };
  const found = await lookup(host);
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}
