/**
 * The overlapped-file conformance suite, written once and run against every
 * backend: positional I/O checked byte for byte against an in-memory model,
 * offsets past 4 GiB, concurrent appends, reads past the end, preallocate,
 * flush, truncate, the dispositions and their errors, cancellation, close
 * with ops in flight, a garbage collection with thousands of ops in flight,
 * invalid arguments, streams and copyFile.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { spawn } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  linkSync,
  openSync,
  promises as fsPromises,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getSystemErrorMap, inspect } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

import { type BackendName, FileOpKinds } from '@overlapped/common';
import { allocAligned, copyFile, fileCapabilities, open } from '@overlapped/file';

import { makePort } from '../backends.js';
import { canForceGc, forceGc, type TestApi, waitFor } from '../harness.js';

/** Scale of the suite. */
export interface FileSuiteOptions {
  /** Ops in the volume tests (default 4000); Wine runs use fewer. */
  volume?: number;
  /** Per-test timeout in ms (default 60 s). */
  timeoutMs?: number;
  /**
   * The suite runs under Wine, not Windows: where Wine differs (its
   * GetFinalPathNameByHandleW gives the name a file was opened by, not the
   * one it was renamed to since), the suite checks what Wine does and says so.
   */
  wine?: boolean;
}

const GiB = 2 ** 30;
const exitChild = fileURLToPath(new URL('../../fixtures/file-exit-child.mjs', import.meta.url));

/** Asserts that `run` throws or rejects with an error whose code is `code`. */
async function expectCode(run: () => unknown, code: string, what = code): Promise<Error> {
  let outcome: unknown;
  try {
    await run();
  } catch (error) {
    outcome = error;
  }
  assert.ok(outcome instanceof Error, `${what}: expected an error with code ${code}, got none`);
  assert.equal((outcome as { code?: unknown }).code, code, `${what}: ${String(outcome)}`);
  return outcome as Error;
}

/** The errno number Node gives `code` on this platform. */
function errnoOf(code: string): number | undefined {
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  return undefined;
}

/**
 * Makes `link` a symbolic link to `target`; false where none can be made
 * (Windows without the privilege; Wine 8, whose symlink call succeeds and
 * makes nothing).
 */
function makeSymlink(target: string, link: string): boolean {
  try {
    symlinkSync(target, link, 'file');
  } catch {
    return false;
  }
  return existsSync(link);
}

/** A deterministic pseudo-random generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * Defines the file suite for `backend` on `api`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * defineFileSuite({ describe, it }, 'io_uring');
 * ```
 */
export function defineFileSuite(api: TestApi, backend: BackendName, options: FileSuiteOptions = {}): void {
  const volume = options.volume ?? 4000;
  const timeout = options.timeoutMs ?? 60_000;
  const { describe, it } = api;
  const native = backend !== 'portable';

  describe(`overlapped file [${backend}]`, () => {
    let dir = '';
    let counter = 0;
    const fresh = (name = 'f') => {
      if (dir === '') {
        dir = mkdtempSync(join(tmpdir(), `overlapped-file-${backend}-`));
        process.once('exit', () => {
          // A file a failed test left open cannot be removed on Windows:
          // the folder then stays behind rather than hide the failure.
          try {
            rmSync(dir, { recursive: true, force: true });
          } catch {}
        });
      }
      return join(dir, `${name}-${counter++}`);
    };
    const openRw = (path: string, disposition: 'create-always' | 'open-existing' = 'create-always') =>
      open(path, { disposition, access: 'read-write', backend });
    // Each test removes what it made; the directory goes at exit.
    const cleanup = (path: string) => rmSync(path, { force: true });

    it('opens on the requested backend and reports its capabilities', async () => {
      const path = fresh();
      const file = await openRw(path);
      assert.equal(file.backend, backend);
      assert.equal(file.path, path);
      const caps = file.capabilities();
      assert.equal(caps.backend, backend);
      assert.equal(caps.nativeOps, native);
      assert.equal(caps.shareModes, backend === 'iocp');
      assert.equal(caps.direct, native);
      assert.equal(caps.nativeCopy, native);
      assert.deepEqual(fileCapabilities(backend), caps);
      assert.equal(file.alignment(), 1);
      await file.close();
      cleanup(path);
    }, timeout);

    it('random positional writes and reads match an in-memory model byte for byte', async () => {
      const path = fresh();
      const file = await openRw(path);
      const size = 1 << 20;
      const model = new Uint8Array(size);
      const random = lcg(0x5eed);
      let end = 0;
      for (let round = 0; round < 8; round++) {
        // Non-overlapping writes in one round may be in flight together;
        // rounds follow one another, so later rounds overwrite earlier ones.
        const writes: Promise<number>[] = [];
        const taken: Array<[number, number]> = [];
        for (let i = 0; i < Math.max(16, volume / 64); i++) {
          const length = 1 + Math.floor(random() * 8192);
          const position = Math.floor(random() * (size - length));
          if (taken.some(([a, b]) => position < b && a < position + length)) continue;
          taken.push([position, position + length]);
          const data = randomBytes(length);
          model.set(data, position);
          end = Math.max(end, position + length);
          const offset = Math.floor(random() * 4);
          const carrier = Buffer.alloc(length + offset + 3);
          data.copy(carrier, offset);
          writes.push(file.writeAt(carrier, position, { offset, length }));
        }
        const written = await Promise.all(writes);
        written.forEach((bytes, i) => assert.equal(bytes, (taken[i] as [number, number])[1] - (taken[i] as [number, number])[0]));
        const reads = [];
        for (let i = 0; i < 64; i++) {
          const length = 1 + Math.floor(random() * 16384);
          const position = Math.floor(random() * size);
          const buffer = Buffer.alloc(length);
          reads.push(
            file.readAt(buffer, position).then((bytes) => {
              const expected = Math.max(0, Math.min(length, end - position));
              assert.equal(bytes, expected, `read of ${length} at ${position}`);
              assert.ok(buffer.subarray(0, bytes).equals(model.subarray(position, position + bytes)), `bytes at ${position}`);
            }),
          );
        }
        await Promise.all(reads);
      }
      await file.close();
      assert.ok(readFileSync(path).equals(Buffer.from(model.subarray(0, end))), 'the file on disk matches the model');
      cleanup(path);
    }, timeout);

    it('writes and reads past 4 GiB in a sparse file', async () => {
      const path = fresh();
      const file = await openRw(path);
      const positions = [4 * GiB - 3, 4 * GiB + 8192, 5 * GiB + 12345, 2 ** 40 + 7];
      const blocks = positions.map(() => randomBytes(4096));
      await Promise.all(positions.map((p, i) => file.writeAt(blocks[i] as Buffer, p)));
      for (const [i, p] of positions.entries()) {
        const back = Buffer.alloc(4096);
        assert.equal(await file.readAt(back, p), 4096);
        assert.ok(back.equals(blocks[i] as Buffer), `bytes at ${p}`);
      }
      const stat = await file.stat();
      assert.equal(stat.size, 2 ** 40 + 7 + 4096);
      assert.ok(stat.allocated < 64 * 1024 * 1024, `sparse: ${stat.allocated} bytes allocated`);
      // The hole reads as zeros.
      const hole = Buffer.alloc(100, 0xff);
      assert.equal(await file.readAt(hole, 3 * GiB), 100);
      assert.ok(hole.equals(Buffer.alloc(100)));
      await file.close();
      cleanup(path);
    }, timeout);

    it('many concurrent appends land in call order with no overlap and no holes', async () => {
      const path = fresh();
      writeFileSync(path, 'head:');
      const file = await open(path, { disposition: 'open-existing', access: 'write', backend });
      const random = lcg(42);
      const parts = Array.from({ length: volume }, (_, i) => Buffer.alloc(1 + Math.floor(random() * 300), i % 251));
      const positions = await Promise.all(parts.map((part) => file.append(part)));
      let expected = 5;
      for (const [i, position] of positions.entries()) {
        assert.equal(position, expected, `append ${i}`);
        expected += (parts[i] as Buffer).length;
      }
      await file.close();
      assert.ok(readFileSync(path).equals(Buffer.concat([Buffer.from('head:'), ...parts])));
      cleanup(path);
    }, timeout);

    it('cursor reads and writes reserve their ranges at call time', async () => {
      const path = fresh();
      const file = await openRw(path);
      const parts = Array.from({ length: 200 }, (_, i) => Buffer.alloc(97, i));
      await Promise.all(parts.map((part) => file.write(part)));
      assert.equal(file.position, 200 * 97);
      file.position = 0;
      const backs = parts.map(() => Buffer.alloc(97));
      const counts = await Promise.all(backs.map((back) => file.read(back)));
      assert.deepEqual(counts, parts.map(() => 97));
      assert.ok(Buffer.concat(backs).equals(Buffer.concat(parts)));
      await file.close();
      cleanup(path);
    }, timeout);

    it('reads at and past the end return what is there, then 0', async () => {
      const path = fresh();
      writeFileSync(path, 'abcdef');
      const file = await open(path, { backend });
      const buffer = Buffer.alloc(10, 0x2e);
      assert.equal(await file.readAt(buffer, 4), 2);
      assert.equal(buffer.toString('latin1'), 'ef........');
      assert.equal(await file.readAt(buffer, 6), 0);
      assert.equal(await file.readAt(buffer, 5 * GiB), 0);
      assert.equal(await file.readvAt([Buffer.alloc(3), Buffer.alloc(3)], 5), 1);
      await file.close();
      cleanup(path);
    }, timeout);

    it('vectored writes and reads move every buffer in order', async () => {
      const path = fresh();
      const file = await openRw(path);
      const parts = [randomBytes(10), randomBytes(4096), randomBytes(1), randomBytes(70000)];
      assert.equal(await file.writevAt(parts, 3 * GiB), 74107);
      const backs = parts.map((p) => Buffer.alloc(p.length));
      assert.equal(await file.readvAt(backs, 3 * GiB), 74107);
      backs.forEach((back, i) => assert.ok(back.equals(parts[i] as Buffer), `buffer ${i}`));
      await file.close();
      cleanup(path);
    }, timeout);

    it('batch runs many reads and writes with one promise, or one callback', async () => {
      const path = fresh();
      const file = await openRw(path);
      const blocks = Array.from({ length: 64 }, () => randomBytes(4096));
      const written = await file.batch(blocks.map((buffer, i) => ({ op: 'write' as const, buffer, position: i * 8192 })));
      assert.deepEqual(written, blocks.map(() => 4096));
      const backs = blocks.map(() => Buffer.alloc(4096));
      const counts = await new Promise<number[]>((resolve, reject) =>
        file.batch(
          backs.map((buffer, i) => ({ op: 'read' as const, buffer, position: i * 8192 })),
          (error, results) => (error ? reject(error) : resolve(results)),
        ),
      );
      assert.deepEqual(counts, blocks.map(() => 4096));
      backs.forEach((back, i) => assert.ok(back.equals(blocks[i] as Buffer)));
      await file.close();
      cleanup(path);
    }, timeout);

    it('preallocate grows the allocation and the size; the new range reads as zeros', async () => {
      const path = fresh();
      const file = await openRw(path);
      await file.writeAt(Buffer.from('xyz'), 0);
      const before = await file.stat();
      const target = 8 * 1024 * 1024;
      await file.preallocate(target);
      const after = await file.stat();
      assert.equal(after.size, target);
      assert.ok(after.allocated >= target, `allocated ${after.allocated} >= ${target}`);
      assert.ok(after.allocated > before.allocated);
      assert.equal(after.blocks, Math.ceil(after.allocated / 512));
      const tail = Buffer.alloc(4096, 1);
      assert.equal(await file.readAt(tail, target - 4096), 4096);
      assert.ok(tail.equals(Buffer.alloc(4096)));
      // Preallocating less than the size changes nothing; nor does 0 (fallocate refuses a zero length).
      await file.preallocate(10);
      await file.preallocate(0);
      assert.equal(await file.size(), target);
      const empty = await openRw(fresh());
      await empty.preallocate(0);
      assert.equal(await empty.size(), 0);
      await empty.close();
      cleanup(empty.path);
      await file.close();
      cleanup(path);
    }, timeout);

    it('flush and data-only flush succeed and the data is on disk', async () => {
      const path = fresh();
      const file = await openRw(path);
      const data = randomBytes(100000);
      await file.writeAt(data, 0);
      await file.flush();
      await file.writeAt(data, 100000);
      await file.flush({ dataOnly: true });
      assert.ok(readFileSync(path).equals(Buffer.concat([data, data])));
      await file.close();
      cleanup(path);
    }, timeout);

    it('truncate shrinks and grows (with zeros); appends continue at the new end', async () => {
      const path = fresh();
      const file = await openRw(path);
      await file.writeAt(Buffer.from('0123456789'), 0);
      await file.truncate(4);
      assert.equal(await file.size(), 4);
      await file.truncate(8);
      assert.equal(await file.append(Buffer.from('!')), 8);
      await file.close();
      assert.ok(readFileSync(path).equals(Buffer.from('0123\0\0\0\0!')));
      cleanup(path);
    }, timeout);

    it('each disposition does what Win32 says, with its error', async () => {
      const path = fresh();
      // open-existing and truncate-existing need the file.
      await expectCode(() => open(path, { disposition: 'open-existing', backend }), 'ENOENT', 'open-existing, missing');
      await expectCode(() => open(path, { disposition: 'truncate-existing', access: 'write', backend }), 'ENOENT', 'truncate-existing, missing');
      const missing = await expectCode(() => open(join(path, 'x'), { backend }), 'ENOENT');
      assert.equal((missing as { syscall?: string }).syscall, 'open');
      assert.equal((missing as { path?: string }).path, join(path, 'x'));
      // create-new creates, then refuses.
      let file = await open(path, { disposition: 'create-new', access: 'write', backend });
      await file.writeAt(Buffer.from('first'), 0);
      await file.close();
      await expectCode(() => open(path, { disposition: 'create-new', access: 'write', backend }), 'EEXIST', 'create-new, existing');
      assert.equal(readFileSync(path, 'latin1'), 'first');
      // open-existing and open-always keep the content.
      file = await open(path, { disposition: 'open-existing', access: 'read-write', backend });
      assert.equal(await file.size(), 5);
      await file.close();
      file = await open(path, { disposition: 'open-always', access: 'write', backend });
      assert.equal(await file.append(Buffer.from('+')), 5);
      await file.close();
      assert.equal(readFileSync(path, 'latin1'), 'first+');
      // open-always creates a missing file.
      const other = fresh();
      file = await open(other, { disposition: 'open-always', access: 'read', backend });
      assert.equal(await file.size(), 0);
      await file.close();
      assert.equal(statSync(other).size, 0);
      // create-always and truncate-existing empty an existing file.
      file = await open(path, { disposition: 'create-always', access: 'write', backend });
      assert.equal(await file.size(), 0);
      await file.writeAt(Buffer.from('again'), 0);
      await file.close();
      file = await open(path, { disposition: 'truncate-existing', access: 'read-write', backend });
      assert.equal(await file.size(), 0);
      await file.close();
      // A directory cannot be opened as a file.
      const folder = fresh('dir');
      mkdirSync(folder);
      await expectCode(() => open(folder, { backend }), 'EISDIR', 'a directory');
      await expectCode(() => open(folder, { disposition: 'open-always', access: 'write', backend }), 'EISDIR', 'a directory for writing');
      cleanup(path);
      cleanup(other);
      rmSync(folder, { recursive: true });
    }, timeout);

    it(backend === 'iocp' ? 'share modes are enforced: a conflicting open fails with EBUSY' : 'share modes are accepted and ignored', async () => {
      const path = fresh();
      const first = await open(path, { disposition: 'create-always', access: 'read-write', share: [], backend });
      if (backend === 'iocp') {
        const error = await expectCode(() => open(path, { access: 'read', backend }), 'EBUSY', 'a second open with no sharing');
        assert.equal((error as { rawCode?: number }).rawCode, 32, 'ERROR_SHARING_VIOLATION is kept');
      } else {
        const second = await open(path, { access: 'read', share: ['read'], backend });
        await second.close();
      }
      await first.close();
      const reader = await open(path, { access: 'read', share: ['read'], backend });
      const another = await open(path, { access: 'read', share: ['read'], backend });
      await Promise.all([reader.close(), another.close()]);
      cleanup(path);
    }, timeout);

    it('writeThrough and access hints open and move bytes like any file', async () => {
      const path = fresh();
      const data = randomBytes(65536);
      const writer = await open(path, { disposition: 'create-new', access: 'write', writeThrough: true, hint: 'sequential', backend });
      assert.equal(await writer.writeAt(data, 0), data.length);
      await writer.close();
      const reader = await open(path, { access: 'read', hint: 'random', backend });
      const back = Buffer.alloc(data.length);
      assert.equal(await reader.readAt(back, 0), data.length);
      assert.ok(back.equals(data));
      await expectCode(() => reader.writeAt(Buffer.from('x'), 0), 'EBADF', 'a write on a read-only handle');
      // A batch settles every op before it reports the first error, and
      // says what each op did: the reads' bytes, -1 for the failed writes.
      const heads = [Buffer.alloc(8), Buffer.alloc(8)];
      const mixed = await expectCode(
        () =>
          reader.batch([
            { op: 'read', buffer: heads[0] as Buffer, position: 0 },
            { op: 'write', buffer: Buffer.from('x'), position: 0 },
            { op: 'read', buffer: heads[1] as Buffer, position: 8 },
            { op: 'write', buffer: Buffer.from('y'), position: 8 },
          ]),
        'EBADF',
        'a batch with writes on a read-only handle',
      );
      assert.deepEqual((mixed as Error & { results?: number[] }).results, [8, -1, 8, -1]);
      assert.ok((heads[0] as Buffer).equals(data.subarray(0, 8)) && (heads[1] as Buffer).equals(data.subarray(8, 16)));
      await reader.close();
      cleanup(path);
    }, timeout);

    it('an aborted op rejects with AbortError; ops cancelled mid-flight settle once, with AbortError or their bytes', async () => {
      const path = fresh();
      const file = await openRw(path);
      const block = randomBytes(256 * 1024);
      await file.writeAt(block, 0);
      await expectCode(() => file.readAt(Buffer.alloc(10), 0, { signal: AbortSignal.abort() }), 'ABORT_ERR', 'pre-aborted');
      const controller = new AbortController();
      setMaxListeners(0, controller.signal);
      const buffers = Array.from({ length: 200 }, () => Buffer.alloc(block.length));
      const outcomes = buffers.map((buffer) =>
        file.readAt(buffer, 0, { signal: controller.signal }).then(
          (bytes) => ({ bytes, buffer }),
          (error: Error) => ({ error, buffer }),
        ),
      );
      controller.abort();
      let cancelled = 0;
      for (const outcome of await Promise.all(outcomes)) {
        if ('error' in outcome) {
          assert.equal((outcome.error as { code?: string }).code, 'ABORT_ERR');
          assert.equal(outcome.error.name, 'AbortError');
          cancelled++;
        } else {
          assert.equal(outcome.bytes, block.length);
          assert.ok(outcome.buffer.equals(block));
        }
      }
      assert.ok(cancelled >= 0 && cancelled <= buffers.length);
      // The file still works after the cancellations.
      const back = Buffer.alloc(16);
      assert.equal(await file.readAt(back, 0), 16);
      assert.ok(back.equals(block.subarray(0, 16)));
      await file.close();
      cleanup(path);
    }, timeout);

    it('close waits for the ops in flight; ops after close fail with EBADF', async () => {
      const path = fresh();
      const file = await openRw(path);
      const parts = Array.from({ length: volume / 4 }, (_, i) => Buffer.alloc(512, i % 256));
      const writes = parts.map((part, i) => file.writeAt(part, i * 512));
      const closing = file.close();
      assert.equal(file.closed, true);
      await expectCode(() => file.readAt(Buffer.alloc(1), 0), 'EBADF', 'read after close');
      await closing;
      const results = await Promise.all(writes);
      assert.ok(results.every((bytes) => bytes === 512));
      assert.ok(readFileSync(path).equals(Buffer.concat(parts)));
      await expectCode(() => file.writeAt(Buffer.alloc(1), 0), 'EBADF', 'write after close');
      await expectCode(() => file.append(Buffer.alloc(1)), 'EBADF', 'append after close');
      await expectCode(() => file.stat(), 'EBADF', 'stat after close');
      await expectCode(() => file.batch([{ op: 'read', buffer: Buffer.alloc(1), position: 0 }]), 'EBADF', 'batch after close');
      assert.equal(await file.close(), undefined, 'close is idempotent');
      cleanup(path);
    }, timeout);

    // What the system says about an open file's path: Linux on every
    // backend (/proc), Windows on iocp (GetFinalPathNameByHandleW); the
    // portable backend elsewhere cannot ask.
    const realpathSays = process.platform === 'linux' || (native && (process.platform === 'win32' || process.platform === 'darwin'));
    it(
      realpathSays
        ? `realpath gives the path the system has for the open file: the real one, after a rename, through a link${process.platform === 'win32' ? '' : ', ENOENT once unlinked'}; EBADF after close`
        : 'realpath rejects with ENOTSUP: the system does not say here',
      async () => {
        // A name past ASCII, in a folder named by its real path (tmpdir may
        // be a link, as on macOS).
        const folder = realpathSync.native(mkdtempSync(join(dirname(fresh()), 'realpath-')));
        const path = join(folder, 'data-\u00fcn\u00efc\u00f6de-\u6587\u4ef6.bin');
        writeFileSync(path, 'bytes');
        const file = await open(path, { backend });
        try {
          if (!realpathSays) {
            await expectCode(() => file.realpath(), 'ENOTSUP', 'realpath');
            return;
          }
          assert.equal(await file.realpath(), realpathSync.native(path), 'as opened');
          // Renamed while open: the handle follows the file, not the name.
          const moved = join(folder, 'moved.bin');
          renameSync(path, moved);
          const named = options.wine ? path : moved;
          if (options.wine) console.log(`[${backend}] realpath after a rename: Wine keeps the name the file was opened by`);
          assert.equal(await file.realpath(), named, 'after a rename');
          // Several at once: each gets the whole path.
          const many = await Promise.all(Array.from({ length: 16 }, () => file.realpath()));
          assert.deepEqual(new Set(many), new Set([named]));
          const link = join(folder, 'link.bin');
          if (makeSymlink(moved, link)) {
            const throughLink = await open(link, { backend });
            try {
              assert.equal(await throughLink.realpath(), moved, 'opened through a link');
            } finally {
              await throughLink.close();
            }
          }
          if (process.platform !== 'win32') {
            // Unlinked: the file has no name (Linux would say "moved.bin (deleted)").
            rmSync(moved);
            await expectCode(() => file.realpath(), 'ENOENT', 'realpath after unlink');
          }
        } finally {
          await file.close();
        }
        await expectCode(() => file.realpath(), 'EBADF', 'realpath after close');
        rmSync(folder, { recursive: true, force: true });
      },
      timeout,
    );

    it('an op called after close() while the close is pending reaches nothing: EBADF, the file untouched', async () => {
      const path = fresh();
      const file = await openRw(path);
      const closing = file.close();
      const late = [
        file.writeAt(Buffer.from('late'), 0),
        file.writevAt([Buffer.from('v')], 10),
        file.write(Buffer.from('cursor')),
        file.append(Buffer.from('append')),
        file.truncate(100),
        file.preallocate(200),
        file.readvAt([Buffer.alloc(1)], 0),
        file.read(Buffer.alloc(1)),
        file.flush(),
        file.batch([{ op: 'write', buffer: Buffer.from('b'), position: 20 }]),
      ];
      const outcomes = await Promise.all(late.map((op) => op.then(() => 'resolved', (error: { code?: string }) => error.code)));
      await closing;
      assert.deepEqual(outcomes, late.map(() => 'EBADF'));
      assert.equal(statSync(path).size, 0, 'nothing reached the file');
      cleanup(path);
    }, timeout);

    it(`a forced GC with ${volume.toLocaleString('en-US')} ops in flight leaves every byte intact`, async () => {
      const path = fresh();
      const file = await openRw(path);
      const size = 1024;
      // The test keeps no reference to the buffers it writes: only the ops do.
      const writes: Promise<number>[] = [];
      for (let i = 0; i < volume; i++) writes.push(file.writeAt(Buffer.alloc(size, (i * 7) % 256), i * size));
      if (canForceGc()) forceGc();
      await Promise.all(writes);
      const reads: Array<Promise<[number, Uint8Array]>> = [];
      for (let i = 0; i < volume; i++) {
        const buffer = new Uint8Array(size);
        reads.push(file.readAt(buffer, i * size).then((bytes) => [bytes, buffer]));
      }
      if (canForceGc()) forceGc();
      const results = await Promise.all(reads);
      results.forEach(([bytes, buffer], i) => {
        assert.equal(bytes, size);
        assert.ok(buffer.every((b) => b === (i * 7) % 256), `block ${i}`);
      });
      await file.close();
      cleanup(path);
    }, timeout);

    it('invalid arguments throw their ERR_* code before anything is submitted', async () => {
      const path = fresh();
      writeFileSync(path, 'data');
      await expectCode(() => open(42 as never), 'ERR_INVALID_ARG_TYPE', 'path');
      await expectCode(() => open('', { backend }), 'ERR_INVALID_ARG_VALUE', 'empty path');
      await expectCode(() => open(path, 'r' as never), 'ERR_INVALID_ARG_TYPE', 'options');
      await expectCode(() => open(path, { disposition: 'create' as never, backend }), 'ERR_INVALID_ARG_VALUE', 'disposition');
      await expectCode(() => open(path, { access: 'rw' as never, backend }), 'ERR_INVALID_ARG_VALUE', 'access');
      await expectCode(() => open(path, { share: 'read' as never, backend }), 'ERR_INVALID_ARG_TYPE', 'share');
      await expectCode(() => open(path, { share: ['all' as never], backend }), 'ERR_INVALID_ARG_VALUE', 'share[]');
      await expectCode(() => open(path, { direct: 1 as never, backend }), 'ERR_INVALID_ARG_TYPE', 'direct');
      await expectCode(() => open(path, { writeThrough: 'yes' as never, backend }), 'ERR_INVALID_ARG_TYPE', 'writeThrough');
      await expectCode(() => open(path, { hint: 'fast' as never, backend }), 'ERR_INVALID_ARG_VALUE', 'hint');
      await expectCode(() => open(path, { backend: 'nope' as never }), 'ERR_INVALID_ARG_VALUE', 'backend');
      await expectCode(() => open(path, { signal: 'x' as never, backend }), 'ERR_INVALID_ARG_TYPE', 'signal');
      await expectCode(
        () => open(path, { disposition: 'truncate-existing', access: 'read', backend }),
        'ERR_INVALID_ARG_VALUE',
        'truncate-existing read-only',
      );
      const file = await openRw(path, 'open-existing');
      const buffer = Buffer.alloc(8);
      await expectCode(() => file.readAt('abc' as never, 0), 'ERR_INVALID_ARG_TYPE', 'buffer');
      await expectCode(() => file.readAt(buffer, -1), 'ERR_OUT_OF_RANGE', 'negative position');
      await expectCode(() => file.readAt(buffer, 1.5), 'ERR_OUT_OF_RANGE', 'fractional position');
      await expectCode(() => file.readAt(buffer, '0' as never), 'ERR_INVALID_ARG_TYPE', 'position type');
      await expectCode(() => file.readAt(buffer, 2 ** 53), 'ERR_OUT_OF_RANGE', 'position past 2^53');
      await expectCode(() => file.readAt(buffer, 0, { offset: 9 }), 'ERR_OUT_OF_RANGE', 'offset');
      await expectCode(() => file.readAt(buffer, 0, { offset: 4, length: 5 }), 'ERR_OUT_OF_RANGE', 'length');
      await expectCode(() => file.writeAt(buffer, 0, { length: -1 }), 'ERR_OUT_OF_RANGE', 'negative length');
      await expectCode(() => file.writeAt(buffer, 0, 'x' as never), 'ERR_INVALID_ARG_TYPE', 'options');
      await expectCode(() => file.writeAt(buffer, 0, { signal: {} as never }), 'ERR_INVALID_ARG_TYPE', 'signal');
      await expectCode(() => file.readvAt([], 0), 'ERR_OUT_OF_RANGE', 'no buffers');
      await expectCode(() => file.readvAt(buffer as never, 0), 'ERR_INVALID_ARG_TYPE', 'buffers');
      await expectCode(() => file.writevAt([buffer, 'x' as never], 0), 'ERR_INVALID_ARG_TYPE', 'buffers[1]');
      await expectCode(() => file.batch('x' as never), 'ERR_INVALID_ARG_TYPE', 'requests');
      await expectCode(() => file.batch([{ op: 'seek' as never, buffer, position: 0 }]), 'ERR_INVALID_ARG_VALUE', 'batch op');
      await expectCode(() => file.batch([{ op: 'read', buffer, position: -2 }]), 'ERR_OUT_OF_RANGE', 'batch position');
      // Errors name the request they are about.
      const named = await expectCode(
        () => file.batch([{ op: 'read', buffer, position: 0 }, { op: 'read', buffer, position: 1.5 }]),
        'ERR_OUT_OF_RANGE',
        'batch position (second request)',
      );
      assert.match(named.message, /requests\[1\]\.position/);
      const namedBuffer = await expectCode(() => file.batch([{ op: 'write', buffer: 'x' as never, position: 0 }]), 'ERR_INVALID_ARG_TYPE', 'batch buffer');
      assert.match(namedBuffer.message, /requests\[0\]\.buffer/);
      await expectCode(() => file.batch([], 'cb' as never), 'ERR_INVALID_ARG_TYPE', 'batch callback');
      await expectCode(() => file.truncate(-1), 'ERR_OUT_OF_RANGE', 'truncate');
      await expectCode(() => file.preallocate('1' as never), 'ERR_INVALID_ARG_TYPE', 'preallocate');
      await expectCode(() => file.flush({ dataOnly: 1 as never }), 'ERR_INVALID_ARG_TYPE', 'flush');
      await expectCode(() => {
        file.position = -5;
      }, 'ERR_OUT_OF_RANGE', 'position setter');
      await expectCode(() => file.createReadStream({ queueDepth: 0 }), 'ERR_OUT_OF_RANGE', 'queueDepth');
      await expectCode(() => file.createWriteStream({ chunkSize: 'big' as never }), 'ERR_INVALID_ARG_TYPE', 'chunkSize');
      await expectCode(() => copyFile(path, `${path}.copy`, { chunkSize: 0, backend }), 'ERR_OUT_OF_RANGE', 'copy chunkSize');
      await expectCode(() => copyFile(path, `${path}.copy`, { onProgress: 1 as never, backend }), 'ERR_INVALID_ARG_TYPE', 'onProgress');
      await expectCode(() => allocAligned(4096, 3), 'ERR_INVALID_ARG_VALUE', 'alignment');
      await expectCode(() => allocAligned(-1), 'ERR_OUT_OF_RANGE', 'size');
      // Nothing above reached the file.
      assert.equal(readFileSync(path, 'latin1'), 'data');
      await file.close();
      cleanup(path);
    }, timeout);

    it(native ? 'direct (unbuffered) I/O with aligned buffers; misaligned requests are refused up front' : 'direct I/O is refused: the backend has none', async () => {
      const path = fresh();
      writeFileSync(path, Buffer.alloc(16384, 0x41));
      if (!native) {
        await expectCode(() => open(path, { direct: true, backend }), 'ERR_NOT_SUPPORTED', 'direct');
        cleanup(path);
        return;
      }
      const file = await open(path, { disposition: 'open-existing', access: 'read-write', direct: true, backend });
      assert.equal(file.alignment(), 4096);
      const block = allocAligned(8192);
      block.fill(0x5a);
      assert.equal(await file.writeAt(block, 4096), 8192);
      const back = allocAligned(16384);
      assert.equal(await file.readAt(back, 0), 16384);
      assert.ok(back.subarray(0, 4096).equals(Buffer.alloc(4096, 0x41)));
      assert.ok(back.subarray(4096, 12288).equals(block));
      await expectCode(() => file.readAt(Buffer.alloc(4096), 0), 'ERR_INVALID_ARG_VALUE', 'unaligned buffer');
      await expectCode(() => file.readAt(back, 512), 'ERR_INVALID_ARG_VALUE', 'unaligned position');
      await expectCode(() => file.readAt(back, 0, { length: 100 }), 'ERR_INVALID_ARG_VALUE', 'unaligned length');
      await expectCode(() => file.readAt(back, 0, { offset: 1, length: 4096 }), 'ERR_INVALID_ARG_VALUE', 'unaligned offset');
      await file.close();
      cleanup(path);
    }, timeout);

    it('streams write and read back identical bytes with several ops in flight', async () => {
      const path = fresh();
      const file = await openRw(path);
      const data = randomBytes(3 * 1024 * 1024 + 12345);
      const chunks = [];
      for (let at = 0; at < data.length; at += 100_000) chunks.push(data.subarray(at, at + 100_000));
      await pipeline(Readable.from(chunks), file.createWriteStream({ start: 0, chunkSize: 65536, queueDepth: 8 }));
      assert.equal(await file.size(), data.length);
      const read: Buffer[] = [];
      for await (const chunk of file.createReadStream({ chunkSize: 50000, queueDepth: 6 })) read.push(chunk as Buffer);
      assert.ok(Buffer.concat(read).equals(data), 'whole file');
      const part: Buffer[] = [];
      for await (const chunk of file.createReadStream({ start: 1000, end: 299_999, chunkSize: 4096, queueDepth: 4 })) part.push(chunk as Buffer);
      assert.ok(Buffer.concat(part).equals(data.subarray(1000, 300_000)), 'a range, end inclusive');
      await file.close();
      cleanup(path);
    }, timeout);

    it('copyFile produces identical bytes, reports progress, and stops on abort', async () => {
      const source = fresh('src');
      const data = randomBytes(2 * 1024 * 1024 + 777);
      writeFileSync(source, data);
      const target = fresh('dst');
      writeFileSync(target, 'old content that must go, and it is longer than nothing');
      let last = 0;
      const result = await copyFile(source, target, {
        queueDepth: 8,
        chunkSize: 128 * 1024,
        backend,
        onProgress: (copied, total) => {
          assert.equal(total, data.length);
          assert.ok(copied > last && copied <= total);
          last = copied;
        },
      });
      assert.deepEqual(result, { bytes: data.length, backend });
      assert.equal(last, data.length);
      assert.ok(readFileSync(target).equals(data));
      const empty = fresh('empty');
      writeFileSync(empty, '');
      assert.equal((await copyFile(empty, target, { backend })).bytes, 0);
      assert.equal(statSync(target).size, 0);
      await expectCode(() => copyFile(source, target, { backend, signal: AbortSignal.abort() }), 'ABORT_ERR', 'aborted copy');
      await expectCode(() => copyFile(`${source}.missing`, target, { backend }), 'ENOENT', 'missing source');
      for (const path of [source, target, empty]) cleanup(path);
    }, timeout);

    it('copyFile stops on an abort in mid-copy: AbortError, and no stripe starts after it', async () => {
      const source = fresh('src');
      const data = randomBytes(16 * 1024 * 1024);
      writeFileSync(source, data);
      const target = fresh('dst');
      const controller = new AbortController();
      let progressAfterAbort = 0;
      const outcome = await copyFile(source, target, {
        queueDepth: 4,
        chunkSize: 64 * 1024,
        backend,
        signal: controller.signal,
        onProgress: () => {
          if (controller.signal.aborted) progressAfterAbort++;
          controller.abort();
        },
      }).catch((error: unknown) => error);
      assert.equal((outcome as { code?: unknown }).code, 'ABORT_ERR', String(outcome));
      // Stripes of 64 KiB (256 KiB natively): at most the lanes' stripes in
      // flight at the abort finish, out of 64 or more.
      assert.ok(progressAfterAbort <= 4, `${progressAfterAbort} stripes reported after the abort`);
      assert.ok(!readFileSync(target).equals(data), 'the aborted copy did not stop');
      for (const path of [source, target]) cleanup(path);
    }, timeout);

    it('copyFile stops at the end of a source that shrinks while it is copied', async () => {
      const source = fresh('src');
      const data = randomBytes(3 * 1024 * 1024);
      writeFileSync(source, data);
      const target = fresh('dst');
      // One lane, so that the stripe after the first sees the cut.
      const cut = 1024 * 1024 + 4321;
      let first = true;
      const result = await copyFile(source, target, {
        queueDepth: 1,
        chunkSize: 64 * 1024,
        backend,
        onProgress: () => {
          if (first) truncateSync(source, cut);
          first = false;
        },
      });
      assert.deepEqual(result, { bytes: cut, backend });
      assert.ok(readFileSync(target).equals(data.subarray(0, cut)), 'the copy holds the shrunk source');
      for (const path of [source, target]) cleanup(path);
    }, timeout);

    // The copy-range op itself, through a port: fds are POSIX ones here.
    if (native && process.platform !== 'win32') {
      it('the copy-range op copies to the source end, fails with EBADF, and a cancel stops it between chunks', async () => {
        const COPY_RANGE = FileOpKinds.copyRange;
        const port = makePort(backend);
        const source = fresh('src');
        const target = fresh('dst');
        const data = randomBytes(300_000);
        writeFileSync(source, data);
        const from = openSync(source, 'r+');
        const to = openSync(target, 'w+');
        const copyOp = (handle: number, length: number, bounce: number, signal?: AbortSignal) =>
          port.runOp(
            {
              kind: COPY_RANGE,
              handle,
              arg: to,
              offset: 0,
              length,
              buffers: new Uint8Array(bounce),
            },
            { syscall: 'copy', path: source },
            signal,
          );
        try {
          // Asked for more than the source holds: the count says where it ended.
          assert.equal(await copyOp(from, 1_000_000, 65536), data.length);
          assert.ok(readFileSync(target).equals(data), 'copied bytes');

          const closed = openSync(source, 'r');
          closeSync(closed);
          const badf = await expectCode(() => copyOp(closed, 4096, 4096), 'EBADF', 'copy from a closed fd');
          assert.equal((badf as { syscall?: unknown }).syscall, 'copy');
          assert.equal((badf as { path?: unknown }).path, source);

          // 1 GiB of a sparse source in 4 KiB chunks: a quarter of a million
          // syscalls, cancelled once the first bytes have landed.
          ftruncateSync(to, 0);
          ftruncateSync(from, GiB);
          const controller = new AbortController();
          const copying = copyOp(from, GiB, 4096, controller.signal).catch((error: unknown) => error);
          await waitFor(() => fstatSync(to).size > 0, 'the long copy to start');
          controller.abort();
          const outcome = await copying;
          assert.equal((outcome as { code?: unknown }).code, 'ABORT_ERR', String(outcome));
          const landed = fstatSync(to).size;
          assert.ok(landed < GiB, `the cancelled copy went on to the end (${landed} bytes)`);
        } finally {
          closeSync(from);
          closeSync(to);
          await port.close();
          for (const path of [source, target]) cleanup(path);
        }
      }, timeout);
    }

    // The sync and datasync ops themselves, through a port (POSIX fds here;
    // flush({ dataOnly }) runs them on every native backend).
    if (native && process.platform !== 'win32') {
      it('the sync and datasync ops flush an open fd and fail with EBADF on a closed one', async () => {
        const port = makePort(backend);
        const path = fresh('sync');
        const fd = openSync(path, 'w+');
        try {
          writeFileSync(fd, randomBytes(64 * 1024));
          for (const [kind, syscall] of [
            [FileOpKinds.sync, 'fsync'],
            [FileOpKinds.datasync, 'fdatasync'],
          ] as const) {
            assert.equal(await port.runOp({ kind, handle: fd }, { syscall, path }), 0, syscall);
          }
          const closed = openSync(path, 'r');
          closeSync(closed);
          for (const [kind, syscall] of [
            [FileOpKinds.sync, 'fsync'],
            [FileOpKinds.datasync, 'fdatasync'],
          ] as const) {
            const error = await expectCode(() => port.runOp({ kind, handle: closed }, { syscall, path }), 'EBADF', syscall);
            assert.equal((error as { syscall?: unknown }).syscall, syscall);
          }
        } finally {
          closeSync(fd);
          await port.close();
          cleanup(path);
        }
      }, timeout);
    }

    it('copyFile refuses a destination that is the source, a hard link or a symlink to it: EINVAL, the source intact', async () => {
      const source = fresh('self');
      const data = randomBytes(300_000);
      writeFileSync(source, data);
      const hard = fresh('hard');
      linkSync(source, hard);
      const targets = [source, hard];
      const soft = fresh('soft');
      if (makeSymlink(source, soft)) targets.push(soft);
      else console.log(`[${backend}] copyFile onto a symlink not tried: symbolic links cannot be made here (Wine makes none)`);
      for (const target of targets) {
        for (const [from, to] of [
          [source, target],
          [target, source],
        ] as const) {
          const error = await expectCode(() => copyFile(from, to, { backend }), 'EINVAL', `copy ${from} -> ${to}`);
          const fields = error as Error & { syscall?: string; path?: string; dest?: string; errno?: number };
          assert.equal(fields.syscall, 'copyfile');
          assert.equal(fields.path, from);
          assert.equal(fields.dest, to);
          assert.equal(fields.errno, errnoOf('EINVAL'));
          assert.equal(error.message, `EINVAL: source and destination are the same file, copyfile '${from}' -> '${to}'`);
          assert.ok(readFileSync(source).equals(data), `the source is intact after a copy ${from} -> ${to}`);
        }
      }
      // A file with two names is still copied to a third.
      const third = fresh('third');
      assert.equal((await copyFile(hard, third, { backend })).bytes, data.length);
      assert.ok(readFileSync(third).equals(data));
      for (const path of [...targets, third]) cleanup(path);
    }, timeout);

    it('copyFile errors have the shape of fs.copyFile errors: syscall copyfile, path and dest as given', async () => {
      const folder = fresh('copy-errors');
      mkdirSync(folder);
      const source = join(folder, 'src');
      writeFileSync(source, 'data');
      const missing = join(folder, 'missing');
      const cases: Array<[string | URL, string, string]> = [
        [missing, join(folder, 'dst'), 'a missing source'],
        [relative(process.cwd(), missing), join(folder, 'dst'), 'a missing source, relative'],
        [pathToFileURL(missing), join(folder, 'dst'), 'a missing source, as a URL'],
        [source, join(folder, 'no-such-folder', 'dst'), 'a destination in a missing folder'],
        [source, folder, 'a folder as destination'],
        [folder, join(folder, 'dst'), 'a folder as source'],
      ];
      for (const [from, to, what] of cases) {
        const expected = (await fsPromises.copyFile(from, to).then(() => undefined, (error: unknown) => error)) as NodeJS.ErrnoException;
        const actual = (await copyFile(from, to, { backend }).then(() => undefined, (error: unknown) => error)) as NodeJS.ErrnoException & { dest?: string };
        assert.ok(expected instanceof Error && actual instanceof Error, `${what}: both fail (${String(expected)}, ${String(actual)})`);
        assert.equal(actual.syscall, 'copyfile', what);
        assert.equal(actual.path, (expected as { path?: string }).path, `${what}: path`);
        assert.equal(actual.dest, (expected as { dest?: string }).dest, `${what}: dest`);
        const description = getSystemErrorMap().get(actual.errno as number)?.[1];
        assert.equal(actual.message, `${actual.code}: ${description}, copyfile '${actual.path}' -> '${actual.dest}'`, what);
        // Directories: every backend says EISDIR (node:fs on Windows says EPERM).
        if (expected.code === 'ENOENT') assert.equal(actual.code, 'ENOENT', what);
        else assert.equal(actual.code, 'EISDIR', what);
      }
      rmSync(folder, { recursive: true });
    }, timeout);

    it('appends land after every write called before them: batch, vectored, cursor, in flight, preallocate', async () => {
      const path = fresh();
      const file = await openRw(path);
      await file.batch([{ op: 'write', buffer: Buffer.from('BATCH'), position: 0 }]);
      assert.equal(await file.append(Buffer.from('app')), 5, 'after a batch write');
      // Called in one turn: each append lands after the writes called before it.
      const landed = await Promise.all([
        file.writeAt(Buffer.from('<write>'), 8).then(() => -1),
        file.append(Buffer.from('a')), // 15
        file.writevAt([Buffer.from('<v'), Buffer.from('v>')], 16).then(() => -1),
        file.append(Buffer.from('b')), // 20
        file.batch([{ op: 'write', buffer: Buffer.from('<batch>'), position: 21 }]).then(() => -1),
        file.append(Buffer.from('c')), // 28
        (() => {
          file.position = 29;
          return file.write(Buffer.from('<cursor>')).then(() => -1);
        })(),
        file.append(Buffer.from('d')), // 37
        file.preallocate(40).then(() => -1),
        file.append(Buffer.from('e')), // 40
        file.writeAt(Buffer.from('<below>'), 0).then(() => -1),
        file.append(Buffer.from('f')), // 41: a write below the end moves nothing
      ]);
      assert.deepEqual(landed, [-1, 15, -1, 20, -1, 28, -1, 37, -1, 40, -1, 41]);
      // An empty write reserves nothing, wherever it is.
      assert.equal(await file.writeAt(Buffer.alloc(0), 10_000), 0);
      assert.equal(await file.append(Buffer.from('g')), 42);
      await file.close();
      assert.equal(readFileSync(path, 'latin1'), '<below>p<write>a<vv>b<batch>c<cursor>d\0\0efg');
      cleanup(path);
    }, timeout);

    it('on a file opened as it is, appends land after the writes called before them while the size is still being asked', async () => {
      const path = fresh();
      writeFileSync(path, 'head');
      const file = await open(path, { disposition: 'open-existing', access: 'read-write', backend });
      const landed = await Promise.all([
        file.writeAt(Buffer.from('<w>'), 10).then(() => -1),
        file.append(Buffer.from('a')), // 13, whether the size query sees the write or not
        file.append(Buffer.from('b')), // 14
        file.writeAt(Buffer.from('<x>'), 20).then(() => -1),
        file.append(Buffer.from('c')), // 23
        file.writeAt(Buffer.from('W'), 0).then(() => -1),
        file.append(Buffer.from('d')), // 24
      ]);
      assert.deepEqual(landed, [-1, 13, 14, -1, 23, -1, 24]);
      assert.equal(await file.append(Buffer.from('e')), 25);
      await file.close();
      assert.equal(readFileSync(path, 'latin1'), 'Wead\0\0\0\0\0\0<w>ab\0\0\0\0\0<x>cde');
      cleanup(path);
    }, timeout);

    it('an append called before a truncate lands at the end the file had, while the size is still being asked', async () => {
      const path = fresh();
      writeFileSync(path, 'x'.repeat(100));
      // A race between the append's size query and the truncate: tried 50 times.
      for (let size = 100; size < 150; size++) {
        const file = await open(path, { disposition: 'open-existing', access: 'read-write', backend });
        const [at] = await Promise.all([file.append(Buffer.from('a')), file.truncate(size + 1000)]);
        assert.equal(at, size, `the append on a file of ${size} bytes`);
        await file.truncate(size + 1);
        await file.close();
      }
      assert.equal(readFileSync(path, 'latin1'), `${'x'.repeat(100)}${'a'.repeat(50)}`);
      cleanup(path);
    }, timeout);

    // A write past the largest size fails at once (the kernel's EFBIG; EIO
    // under Wine, whose ntdll does not map it). Wine also queues a
    // completion for such a failed call, which no op may take for its own:
    // read as another op's completion it failed innocent reads with EIO, or
    // crashed a worker on memory already freed.
    it('writes that fail at once leave every other op intact: each read after or beside one gets its bytes', async () => {
      const path = fresh();
      const fixture = randomBytes(64);
      writeFileSync(path, fixture);
      const target = await openRw(fresh());
      const reader = await open(path, { backend });
      const wrong: string[] = [];
      for (let round = 0; round < 400 && wrong.length < 5; round++) {
        const failing = target.writeAt(Buffer.from('edge'), 2 ** 53 - 1).then(
          () => 'the write succeeded',
          (error: NodeJS.ErrnoException) => (typeof error.code === 'string' && error.code.startsWith('E') ? undefined : String(error)),
        );
        const reads = [0, 1, 2, 3].map(async () => {
          // Alternate rounds: the reads beside the failing write, or after it.
          if (round % 2 === 1) await failing;
          const buffer = Buffer.alloc(fixture.length);
          try {
            const bytes = await reader.readAt(buffer, 0);
            return bytes === fixture.length && buffer.equals(fixture) ? undefined : `read ${bytes} bytes, not the fixture`;
          } catch (error) {
            return `read failed: ${String(error)}`;
          }
        });
        for (const problem of await Promise.all([failing, ...reads])) if (problem !== undefined) wrong.push(`round ${round}: ${problem}`);
      }
      await target.close();
      await reader.close();
      assert.deepEqual(wrong, []);
      cleanup(path);
    }, timeout);

    it('preallocate fails at once past the size the file system allows, and with EBADF on a read-only handle; the file is unchanged', async () => {
      const path = fresh();
      writeFileSync(path, 'abc');
      const file = await open(path, { disposition: 'open-existing', access: 'read-write', backend });
      const outcome = (await file.preallocate(2 ** 50).then(() => undefined, (error: unknown) => error)) as NodeJS.ErrnoException | undefined;
      // Linux file systems refuse the size (EFBIG); Windows may say the disk is full.
      assert.ok(outcome instanceof Error && ['EFBIG', 'ENOSPC'].includes(outcome.code as string), `preallocate(2 ** 50): ${String(outcome)}`);
      assert.equal(outcome.syscall, 'fallocate');
      const after = await file.stat();
      assert.equal(after.size, 3);
      assert.ok(after.allocated < 1 << 20, `${after.allocated} bytes allocated`);
      // The append end did not move either.
      assert.equal(await file.append(Buffer.from('d')), 3);
      await file.close();
      const reader = await open(path, { backend });
      for (const size of [1, 4, 1 << 20]) {
        const error = await expectCode(() => reader.preallocate(size), 'EBADF', `preallocate(${size}) on a read-only handle`);
        assert.equal((error as { syscall?: string }).syscall, 'fallocate');
      }
      await reader.close();
      assert.equal(readFileSync(path, 'latin1'), 'abcd');
      cleanup(path);
    }, timeout);

    it('preallocate below the size of a sparse file resolves and changes neither the size nor the bytes', async () => {
      const path = fresh();
      const file = await openRw(path);
      const far = 17 * GiB + 12345;
      const data = randomBytes(3000);
      await file.writeAt(data, far);
      await file.preallocate(5 * 1024 * 1024);
      await file.preallocate(100);
      assert.equal(await file.size(), far + data.length);
      const back = Buffer.alloc(data.length);
      assert.equal(await file.readAt(back, far), data.length);
      assert.ok(back.equals(data));
      const hole = Buffer.alloc(4096, 1);
      assert.equal(await file.readAt(hole, 1024 * 1024), 4096);
      assert.ok(hole.equals(Buffer.alloc(4096)), 'the hole still reads as zeros');
      await file.close();
      cleanup(path);
    }, timeout);

    it('writes in flight while a preallocate runs keep their bytes', async () => {
      const path = fresh();
      const file = await openRw(path);
      const block = 4096;
      const span = 8 * 1024 * 1024;
      const random = lcg(7);
      const writes: Array<Promise<number>> = [];
      const blocks = new Map<number, Buffer>();
      const allocating = file.preallocate(span);
      // Writes spread over a few turns while the allocation runs, all over its range.
      for (let turn = 0; turn < 16; turn++) {
        for (let i = 0; i < 4; i++) {
          const position = Math.floor(random() * (span / block)) * block;
          if (blocks.has(position)) continue;
          const data = randomBytes(block);
          blocks.set(position, data);
          writes.push(file.writeAt(data, position));
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all([allocating, ...writes]);
      assert.equal(await file.size(), span);
      for (const [position, data] of blocks) {
        const back = Buffer.alloc(block);
        assert.equal(await file.readAt(back, position), block);
        assert.ok(back.equals(data), `the block at ${position} survived the preallocate`);
      }
      await file.close();
      cleanup(path);
    }, timeout);

    it('createReadStream and createWriteStream check their options as fs does', async () => {
      const path = fresh();
      writeFileSync(path, 'abcdef');
      const file = await open(path, { disposition: 'open-existing', access: 'read-write', backend });
      // node:fs streams open their path even when destroyed at once: the
      // files are removed only once every stream made here has closed, or
      // that open can fail after the removal (an uncaught ENOENT).
      const made: Array<{ destroy(): unknown; closed: boolean; on(event: string, listener: () => void): unknown }> = [];
      const outcome = (make: () => (typeof made)[number]): Error | undefined => {
        try {
          const stream = make();
          stream.on('error', () => {});
          made.push(stream);
          stream.destroy();
          return undefined;
        } catch (error) {
          return error as Error;
        }
      };
      const readCases: object[] = [
        { start: 10, end: 5 },
        { start: -1 },
        { start: '1' },
        { start: 1.5 },
        { start: 2 ** 53 },
        { start: null },
        { start: Number.NaN },
        { end: -1 },
        { end: 'x' },
        { end: 2 ** 53 },
        { end: null },
        { end: 1.5 },
        { signal: 1 },
        { signal: null },
        { end: Number.POSITIVE_INFINITY },
        { start: 5, end: 5 },
        { start: 0, end: 0 },
      ];
      for (const options of readCases) {
        const expected = outcome(() => createReadStream(path, options as never));
        const actual = outcome(() => file.createReadStream(options as never));
        const what = `createReadStream(${inspect(options)})`;
        assert.equal(actual?.name, expected?.name, `${what}: ${String(actual)}`);
        assert.equal((actual as { code?: string } | undefined)?.code, (expected as { code?: string } | undefined)?.code, what);
        assert.equal(actual?.message, expected?.message, what);
      }
      const writeCases: object[] = [{ start: -1 }, { start: '1' }, { start: 1.5 }, { start: 2 ** 53 }, { start: null }, { signal: 1 }, { start: 3 }];
      const scratch = fresh('scratch');
      for (const options of writeCases) {
        const expected = outcome(() => createWriteStream(scratch, options as never));
        const actual = outcome(() => file.createWriteStream(options as never));
        const what = `createWriteStream(${inspect(options)})`;
        assert.equal(actual?.name, expected?.name, `${what}: ${String(actual)}`);
        assert.equal((actual as { code?: string } | undefined)?.code, (expected as { code?: string } | undefined)?.code, what);
        assert.equal(actual?.message, expected?.message, what);
      }
      // What is accepted reads as fs reads it: `end` inclusive, one byte for start === end.
      const read = async (options: object) => {
        const chunks: Buffer[] = [];
        for await (const chunk of file.createReadStream(options)) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString('latin1');
      };
      assert.equal(await read({ start: 5, end: 5 }), 'f');
      assert.equal(await read({ start: 2, end: Number.POSITIVE_INFINITY }), 'cdef');
      assert.equal(await read({ end: 0 }), 'a');
      await file.close();
      await Promise.all(made.map((stream) => (stream.closed ? undefined : new Promise<void>((resolve) => stream.on('close', resolve)))));
      for (const p of [path, scratch]) cleanup(p);
    }, timeout);

    it('lets the process exit with a file open and idle', async () => {
      const path = fresh();
      const outcome = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [exitChild, backend, path], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the child kept running with an idle file; output:\n${output}`));
        }, 30_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, output });
        });
      });
      assert.equal(outcome.code, 0, outcome.output);
      assert.match(outcome.output, /read alive/);
      cleanup(path);
    }, timeout);
  });
}

