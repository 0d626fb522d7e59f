/**
 * sendFile's argument checks and what the drivers share: the request a
 * driver gets, the key under which an OverlappedFile lends its handle, and
 * the chunk loop of the portable backend.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

import {
  invalidArgType,
  invalidArgValue,
  validateFunction,
  validateInteger,
  validateObject,
  type BackendName,
} from '@overlapped/common';

import type { SendableFile, SendFileOptions } from './types.js';
import { checkBuffer, checkOpOptions } from './util.js';

/** The key of @overlapped/file's handle lending (a registered symbol: two installed copies agree). */
export const lendHandle = Symbol.for('@overlapped/file.lendHandle');

/** An OverlappedFile as sendFile uses it. */
export interface LendingFile extends SendableFile {
  [lendHandle]<T>(
    use: (handle: unknown, backend: BackendName, readAt: (view: Uint8Array, position: number) => Promise<number>) => Promise<T>,
  ): Promise<T>;
}

/** A validated sendFile. */
export interface SendFileRequest {
  /** An OverlappedFile, or an absolute path the driver opens read-only (and closes). */
  readonly file: LendingFile | string;
  readonly position: number;
  /** Bytes of the file; Number.MAX_SAFE_INTEGER for "to its end". */
  readonly length: number;
  /** Bytes sent first; empty for none. */
  readonly head: Uint8Array;
  readonly onProgress: ((bytesSent: number) => void) | undefined;
}

/** Bytes of the file sendFile sends when no length is given: all of it past the position. */
export const TO_END = Number.MAX_SAFE_INTEGER;

const EMPTY = new Uint8Array(0);

function isLendingFile(file: unknown): file is LendingFile {
  return typeof file === 'object' && file !== null && typeof (file as Partial<LendingFile>)[lendHandle] === 'function';
}

/** Checks sendFile's arguments (ERR_* errors, before any I/O). */
function checkSendFile(file: unknown, options: SendFileOptions | undefined): SendFileRequest {
  let target: LendingFile | string;
  if (typeof file === 'string' || file instanceof URL) {
    const path = typeof file === 'string' ? file : fileURLToPath(file);
    if (path.length === 0 || path.includes('\u0000')) {
      throw invalidArgValue('file', file, 'must be a non-empty path without null bytes');
    }
    target = resolve(path);
  } else if (isLendingFile(file)) {
    target = file;
  } else {
    throw invalidArgType('file', 'an OverlappedFile, a string or a URL', file);
  }
  validateObject(options, 'options', true);
  const position = options?.position ?? 0;
  validateInteger(position, 'options.position', 0, Number.MAX_SAFE_INTEGER);
  const length = options?.length ?? TO_END;
  validateInteger(length, 'options.length', 0, Number.MAX_SAFE_INTEGER);
  const head = options?.head === undefined ? EMPTY : checkBuffer(options.head, 'options.head');
  const onProgress = options?.onProgress;
  if (onProgress !== undefined) validateFunction(onProgress, 'options.onProgress');
  return { file: target, position, length, head, onProgress };
}

/**
 * Checks a sendFile call of a socket of `socketBackend`: its arguments,
 * its signal, and that the socket can send from the file (a native socket
 * needs a native handle, which a portable backend's file has not).
 */
export function checkSendFileCall(
  file: unknown,
  options: SendFileOptions | undefined,
  socketBackend: BackendName,
): { request: SendFileRequest; signal: AbortSignal | undefined } {
  const request = checkSendFile(file, options);
  const signal = checkOpOptions(options);
  const target = request.file;
  if (typeof target === 'string' || socketBackend === 'portable' || target.backend !== 'portable') return { request, signal };
  throw invalidArgValue(
    'file',
    target.path,
    `is open on the portable backend, which a ${socketBackend} socket cannot send from: open it with backend '${socketBackend}', or pass its path`,
  );
}
