/**
 * fio (Debian package `fio`) as a native reference contender: it runs as a
 * child process on the same file and reports its own IOPS in JSON; the
 * process start is not part of its figure (fio times its job only).
 */
import { spawnSync } from 'node:child_process';

import type { Contender } from '../harness.js';

/** The name the fio contender reports under. */
export const FIO_NAME = 'fio io_uring (iodepth 64, batch 16)';

/** The fio version string, or undefined when fio is not installed. */
export function fioVersion(): string | undefined {
  const result = spawnSync('fio', ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return result.stdout.trim();
}

/** The parts of fio's --output-format=json that the bench reads. */
interface FioJson {
  jobs: Array<{ error: number; read: { iops: number; total_ios: number; runtime: number } }>;
}

/**
 * Extracts the read IOPS and the number of reads from fio's JSON output.
 * fio may print notes before the JSON object; they are skipped.
 *
 * @example
 * ```ts
 * parseFioReadIops(stdout); // { iops: 600586.5, ios: 200000 }
 * ```
 */
export function parseFioReadIops(stdout: string): { iops: number; ios: number } {
  const start = stdout.indexOf('{');
  if (start < 0) throw new Error(`fio printed no JSON: ${stdout.slice(0, 200)}`);
  const report = JSON.parse(stdout.slice(start)) as FioJson;
  const job = report.jobs[0];
  if (!job) throw new Error('fio reported no job');
  if (job.error !== 0) throw new Error(`fio job failed with error ${job.error}`);
  return { iops: job.read.iops, ios: job.read.total_ios };
}

/**
 * 4 KiB random reads of `count` blocks of `path` (in the page cache: fio is
 * told not to drop it) through io_uring, `depth` in flight, submitted 16 at
 * a time.
 */
export function fioRandomReadContender(path: string, size: number, count: number, depth: number): Contender {
  const args = [
    '--name=randread',
    `--filename=${path}`,
    '--rw=randread',
    '--bs=4k',
    `--size=${size}`,
    `--io_size=${count * 4096}`,
    '--ioengine=io_uring',
    `--iodepth=${depth}`,
    '--iodepth_batch_submit=16',
    // Keep the page cache (fio drops the file's cached pages by default)
    // and read the file as it is: no layout pass, no random map.
    '--invalidate=0',
    '--direct=0',
    '--norandommap',
    '--randrepeat=0',
    '--output-format=json',
  ];
  return {
    name: depth === 64 ? FIO_NAME : `fio io_uring (iodepth ${depth}, batch 16)`,
    async run() {
      const result = spawnSync('fio', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      if (result.error) throw result.error;
      if (result.status !== 0) throw new Error(`fio exited with ${result.status}: ${result.stderr.trim()}`);
      const { iops, ios } = parseFioReadIops(result.stdout);
      if (ios < count) throw new Error(`fio did ${ios} reads, ${count} asked`);
      return { units: ios, seconds: ios / iops };
    },
  };
}
