/**
 * Files kept open between requests, like nginx's `open_file_cache`: a
 * bounded number of recently served files stay open with what their
 * responses need (size, validators, the head fields of a 200), so that a
 * request for one of them costs no path resolution, open, stat or close.
 * An entry is trusted for `validMs` after it was opened or last checked;
 * the first request after that checks it again (the same path resolution
 * and `lstat` as an open, no open) and reopens the file when its identity,
 * size or modification time changed, or answers what an open would (403,
 * 404) when it is gone or now leads out of the root.
 */
import type { OverlappedFile } from '@overlapped/file';

/** What the file system says of a path, as {@link FileSource.identify} reads it. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** A file as the server opened it: its handle and what its `stat` said. */
export interface OpenedFile {
  file: OverlappedFile;
  size: number;
  mtimeMs: number;
  /**
   * The path's identity when it was opened, read the way checks read it
   * (node:fs): later checks compare with this. (The handle's own `stat`
   * may round the times differently: on Windows they differ by a
   * microsecond.)
   */
  seen: FileIdentity;
}

/** What a path holds now, for the check of a cached entry: its identity, or a status to answer. */
export type Identity = FileIdentity | { status: number };

/** How the cache opens and checks files (the server's rules: root, symbolic links). */
export interface FileSource {
  /** Opens the regular file at `path`, or says which status to answer. */
  open(path: string): Promise<OpenedFile | { status: number }>;
  /** What `path` holds now, without opening it. */
  identify(path: string): Promise<Identity>;
}

/** One open file, shared by the responses that use it. */
export interface CachedFile extends OpenedFile {
  readonly path: string;
  /** Per-file data the server keeps beside it (its validators, head fields). */
  readonly extra: unknown;
  /** Date.now() when it was opened or last found unchanged. */
  checkedAt: number;
  /** Responses using it now; it is closed once retired and unused. */
  users: number;
  /** Out of the cache: closed when the last user releases it. */
  retired: boolean;
  /** When it last went to the back of the order (the cache's count of moves). */
  stamp: number;
}

/** The cache's counters. */
export interface OpenFileCounters {
  /** Files opened (each miss and each reopen of a changed file). */
  opened: number;
  /** Requests served from an entry (fresh, or found unchanged by a check). */
  hits: number;
  /** Checks made of entries past `validMs`. */
  checks: number;
}

/**
 * A bounded map from paths to open files, the least recently used evicted
 * first. A hit moves its entry to the back of the order only when it is
 * not in the back half already (fewer than `maxFiles / 2` moves since its
 * own): exact for small caches, and a hot file in a large one is not
 * moved (the map not rewritten) on every request. `maxFiles` 0 keeps
 * nothing: each request opens its file and closes it after.
 */
export class OpenFileCache {
  readonly #source: FileSource;
  readonly #maxFiles: number;
  readonly #validMs: number;
  readonly #describe: (path: string, opened: OpenedFile) => unknown;
  // Insertion order is recency: the front is evicted first.
  readonly #entries = new Map<string, CachedFile>();
  readonly #closing = new Set<Promise<void>>();
  readonly #recentMoves: number;
  #moves = 0;
  readonly counters: OpenFileCounters = { opened: 0, hits: 0, checks: 0 };

  constructor(source: FileSource, maxFiles: number, validMs: number, describe: (path: string, opened: OpenedFile) => unknown) {
    this.#source = source;
    this.#maxFiles = maxFiles;
    this.#validMs = validMs;
    this.#describe = describe;
    this.#recentMoves = Math.max(1, maxFiles >> 1);
  }

  /** Files open in the cache now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The entry of `path` if it was checked less than `validMs` ago, taken
   * for one response (give it back with {@link release}); else undefined.
   * Synchronous: the common case costs no promise.
   */
  fresh(path: string, now: number): CachedFile | undefined {
    const entry = this.#entries.get(path);
    if (entry === undefined || now - entry.checkedAt >= this.#validMs) return undefined;
    this.#used(entry);
    this.counters.hits++;
    entry.users++;
    return entry;
  }

  /**
   * The file at `path`, taken for one response: the cached entry once a
   * check finds it unchanged, else the file opened anew (and cached); or
   * the status to answer.
   */
  async acquire(path: string): Promise<CachedFile | { status: number }> {
    const cached = this.#entries.get(path);
    if (cached !== undefined) {
      cached.users++;
      this.counters.checks++;
      let now: Identity;
      try {
        now = await this.#source.identify(path);
      } catch (error) {
        this.release(cached);
        throw error;
      }
      const { seen } = cached;
      if (!('status' in now) && now.dev === seen.dev && now.ino === seen.ino && now.size === seen.size && now.mtimeMs === seen.mtimeMs) {
        cached.checkedAt = Date.now();
        if (!cached.retired) this.#used(cached);
        this.counters.hits++;
        return cached;
      }
      this.retire(cached);
      this.release(cached);
      if ('status' in now) return now;
    }
    const opened = await this.#source.open(path);
    if ('status' in opened) return opened;
    this.counters.opened++;
    const entry: CachedFile = {
      ...opened,
      path,
      extra: this.#describe(path, opened),
      checkedAt: Date.now(),
      users: 1,
      retired: false,
      stamp: ++this.#moves,
    };
    if (this.#maxFiles === 0) {
      entry.retired = true;
      return entry;
    }
    // Another response may have opened the same path meanwhile: the newer wins.
    const before = this.#entries.get(path);
    if (before !== undefined) this.retire(before);
    this.#entries.set(path, entry);
    while (this.#entries.size > this.#maxFiles) this.retire(this.#entries.values().next().value as CachedFile);
    return entry;
  }

  /** Gives back an entry taken by {@link fresh} or {@link acquire}. */
  release(entry: CachedFile): void {
    entry.users--;
    if (entry.retired && entry.users === 0) this.#close(entry);
  }

  /** Takes `entry` out of the cache (a read of it failed, or it changed); closed once unused. */
  retire(entry: CachedFile): void {
    if (entry.retired) return;
    entry.retired = true;
    if (this.#entries.get(entry.path) === entry) this.#entries.delete(entry.path);
    if (entry.users === 0) this.#close(entry);
  }

  /** Retires every entry; resolves once every file not in use is closed. */
  async clear(): Promise<void> {
    for (const entry of [...this.#entries.values()]) this.retire(entry);
    await Promise.all(this.#closing);
  }

  // Moves `entry` to the back unless it is in the back half already.
  #used(entry: CachedFile): void {
    if (this.#moves - entry.stamp < this.#recentMoves) return;
    entry.stamp = ++this.#moves;
    this.#entries.delete(entry.path);
    this.#entries.set(entry.path, entry);
  }

  #close(entry: CachedFile): void {
    const closing = entry.file.close().then(
      () => {},
      () => {},
    );
    this.#closing.add(closing);
    void closing.then(() => this.#closing.delete(closing));
  }
}
