/**
 * The progress bar: one line on a terminal, redrawn in place (carriage
 * return, then erase to the end of the line), at most ten times a second.
 * Off a terminal it draws nothing, so that logs and pipes stay clean.
 */
const MiB = 1024 * 1024;

/**
 * Formats the bar's line for `done` of `total` bytes after `seconds`, to fit
 * `columns` columns.
 *
 * @example
 * ```ts
 * formatProgress(512 * 1024 * 1024, 1024 * 1024 * 1024, 1, 60);
 * // '[##########----------]  50%  512.0/1024.0 MiB  512.0 MiB/s'
 * ```
 */
export function formatProgress(done: number, total: number, seconds: number, columns: number): string {
  const fraction = total === 0 ? 1 : Math.min(1, done / total);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const amounts = `${(done / MiB).toFixed(1)}/${(total / MiB).toFixed(1)} MiB`;
  const rate = seconds > 0 ? `${(done / MiB / seconds).toFixed(1)} MiB/s` : '';
  const text = `${percent}  ${amounts}  ${rate}`.trimEnd();
  const width = Math.max(10, Math.min(40, columns - text.length - 4));
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}`;
}

/** A progress bar on `stream` when it is a terminal; a no-op otherwise. */
export class ProgressBar {
  readonly #stream: { write(text: string): unknown; columns?: number } | undefined;
  readonly #total: number;
  readonly #start = process.hrtime.bigint();
  #lastDraw = 0;
  #drawn = false;

  constructor(stream: { write(text: string): unknown; isTTY?: boolean; columns?: number }, total: number) {
    this.#stream = stream.isTTY ? stream : undefined;
    this.#total = total;
  }

  /** Records progress; redraws when the last draw is 100 ms old (or `force`). */
  update(done: number, force = false): void {
    if (!this.#stream) return;
    const now = Date.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const seconds = Number(process.hrtime.bigint() - this.#start) / 1e9;
    this.#stream.write(`\r${formatProgress(done, this.#total, seconds, this.#stream.columns || 80)}\x1b[K`);
    this.#drawn = true;
  }

  /** Erases the bar, leaving the cursor at the start of an empty line. */
  clear(): void {
    if (this.#stream && this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }
}
