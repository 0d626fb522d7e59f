/**
 * Copy of a whole file that sits in the page cache (no flush):
 *
 * - @overlapped/file `copyFile` (its default queue depth and chunk size) on
 *   each backend;
 * - `fs.copyFile` (the baseline: copy_file_range on Linux, in the kernel);
 * - `stream.pipeline(fs.createReadStream, fs.createWriteStream)` with
 *   Node's default 64 KiB chunks.
 *
 * A copy is checked by its size and by the tags of blocks spread over it,
 * then removed (outside the timed part), so that its dirty pages do not
 * weigh on the next contender.
 */
import { copyFile as fsCopyFile } from 'node:fs/promises';
import { closeSync, createReadStream, createWriteStream, openSync, readSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';

import { type Contender, type Goal, reportGoals, runScenario, type ScenarioResult } from '../harness.js';
import { BLOCK, blockTag, ensureFixture, MiB, removeScratch, scratchPath, secondsSince } from './file-fixture.js';
import { fileBackends, type OverlappedFileModule } from './overlapped-file.js';

function checkCopy(path: string, size: number): void {
  const actual = statSync(path).size;
  if (actual !== size) throw new Error(`${path} is ${actual} bytes, ${size} expected`);
  const fd = openSync(path, 'r');
  try {
    const block = Buffer.alloc(BLOCK);
    const blocks = size / BLOCK;
    for (let i = 0; i < 64; i++) {
      const index = Math.floor((i * blocks) / 64) + (i === 63 ? blocks / 64 - 1 : 0);
      readSync(fd, block, 0, BLOCK, index * BLOCK);
      if (blockTag(block) !== index) throw new Error(`${path}: block ${index} holds ${blockTag(block)}`);
    }
  } finally {
    closeSync(fd);
  }
}

function copyContender(name: string, source: string, size: number, copy: (destination: string) => Promise<unknown>): Contender {
  const destination = scratchPath(`copy-${name.replace(/[^a-z0-9_]+/gi, '-')}`);
  return {
    name,
    async run() {
      removeScratch(destination);
      const start = process.hrtime.bigint();
      await copy(destination);
      const seconds = secondsSince(start);
      checkCopy(destination, size);
      removeScratch(destination);
      return { units: size / MiB, seconds };
    },
    dispose: () => removeScratch(destination),
  };
}

/** Runs the scenario: fs.copyFile, a stream pipeline and @overlapped/file copyFile on every backend available here. */
export async function fileCopy(options: {
  fileSize: number;
  rounds: number;
  file: OverlappedFileModule;
  log: (line: string) => void;
}): Promise<ScenarioResult> {
  const { fileSize, rounds, file, log } = options;
  const source = ensureFixture(fileSize, log);
  const contenders: Contender[] = [
    copyContender('fs.copyFile', source, fileSize, (destination) => fsCopyFile(source, destination)),
    copyContender('stream.pipeline (fs streams)', source, fileSize, (destination) =>
      pipeline(createReadStream(source), createWriteStream(destination)),
    ),
  ];
  for (const backend of fileBackends()) {
    contenders.push(
      copyContender(`${backend}: copyFile`, source, fileSize, (destination) =>
        file.copyFile(source, destination, { backend }),
      ),
    );
  }
  const result = await runScenario(
    `file-copy: copy of a ${fileSize / MiB} MiB file in the page cache, no flush`,
    'MiB/s',
    'fs.copyFile',
    contenders,
    rounds,
    log,
  );
  // The goals are the native backends': portable runs on node:fs itself,
  // so it is shown for comparison but cannot be faster than node:fs.
  const goals: Goal[] = [];
  for (const backend of fileBackends({ portable: false })) {
    goals.push({ contender: `${backend}: copyFile`, against: 'fs.copyFile', atLeast: 0.9 });
    goals.push({ contender: `${backend}: copyFile`, against: 'stream.pipeline (fs streams)', atLeast: 2 });
  }
  reportGoals(result, goals, log);
  return result;
}
