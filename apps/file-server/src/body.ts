/**
 * The one place a response body leaves the file for the socket:
 * `socket.sendFile`, with the response head as its head, so that a small
 * response is one write and the file's bytes never enter JavaScript on the
 * native backends (TransmitFile, splice, sendfile(2)).
 */
import type { OverlappedFile } from '@overlapped/file';
import type { Socket } from '@overlapped/socket';

/** The file ended before the range the response promised was sent. */
function shrunk(file: OverlappedFile, position: number): Error {
  return Object.assign(new Error(`the file ended at ${position} while its response was being sent: ${file.path}`), { code: 'ERR_FILE_SHRUNK' });
}

/**
 * Sends `head` then `length` bytes of `file` from `position` on `socket`;
 * resolves with the bytes sent (`head.length + length`). The head leaves
 * with the file's first bytes. `onProgress(bytes)` is called with the
 * bytes sent since its last call while the body goes out (the server's
 * idle timeout counts progress, not total time). Rejects with the
 * socket's error (the connection cannot carry another response then), or
 * `ERR_FILE_SHRUNK` when the file ends early.
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
  let reported = 0;
  const sent = await socket.sendFile(file, {
    position,
    length,
    head,
    onProgress: onProgress
      ? (total) => {
          onProgress(total - reported);
          reported = total;
        }
      : undefined,
  });
  if (sent < head.length + length) throw shrunk(file, position + Math.max(0, sent - head.length));
  return sent;
}
