/**
 * The one place a response body leaves the file for the socket. Today a
 * read-and-send loop on the public APIs: positional reads into two bounded
 * buffers, the next read in flight while the previous chunk is sent, the
 * response head sent in the same send as the first chunk. A native
 * `socket.sendFile` can replace the body of {@link sendBody} alone.
 */
import type { OverlappedFile } from '@overlapped/file';
import type { Socket } from '@overlapped/socket';

/** Bytes per read and per send (head included in the first). */
export const BODY_CHUNK = 256 * 1024;

/** The file ended before the range the response promised was read. */
function shrunk(file: OverlappedFile, position: number): Error {
  return Object.assign(new Error(`the file ended at ${position} while its response was being sent: ${file.path}`), { code: 'ERR_FILE_SHRUNK' });
}

// Reads exactly `length` bytes at `position` into `buffer` from `offset` (short reads continued).
async function readFully(file: OverlappedFile, buffer: Buffer, offset: number, position: number, length: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await file.readAt(buffer, position + done, { offset: offset + done, length: length - done });
    if (n === 0) throw shrunk(file, position + done);
    done += n;
  }
}

/**
 * Sends `head` then `length` bytes of `file` from `position` on `socket`;
 * resolves with the bytes sent (`head.length + length`). The head and the
 * first chunk of the file go out in one send. Memory: two buffers of at
 * most {@link BODY_CHUNK} bytes. `onProgress(bytes)` is called after each
 * send with the bytes it took (the server's idle timeout counts progress,
 * not total time). Rejects with the socket's error (the connection cannot
 * carry another response then), or `ERR_FILE_SHRUNK` when the file ends
 * early.
 *
 * @example
 * ```ts
 * const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n');
 * await sendBody(socket, file, 0, 4096, head);
 * ```
 */
export async function sendBody(
  socket: Socket,
  file: OverlappedFile,
  position: number,
  length: number,
  head: Uint8Array,
  onProgress?: (bytes: number) => void,
): Promise<number> {
  const size = Math.min(BODY_CHUNK, head.length + length);
  let current: Buffer = Buffer.allocUnsafe(Math.max(size, head.length));
  current.set(head, 0);
  let fill = Math.min(length, current.length - head.length);
  await readFully(file, current, head.length, position, fill);
  let used = head.length + fill;
  let next = position + fill;
  let spare: Buffer | undefined;
  let sent = 0;
  for (;;) {
    const sending = socket.send(current.subarray(0, used));
    // The next chunk is read while this one is sent.
    let reading: Promise<void> | undefined;
    if (next < position + length) {
      spare ??= Buffer.allocUnsafe(size);
      fill = Math.min(size, position + length - next);
      reading = readFully(file, spare, 0, next, fill);
    }
    try {
      sent += await sending;
    } catch (error) {
      await reading?.catch(() => {});
      throw error;
    }
    onProgress?.(used);
    if (!reading) return sent;
    await reading;
    [current, spare] = [spare as Buffer, current];
    used = fill;
    next += fill;
  }
}
