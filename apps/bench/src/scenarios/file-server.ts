/**
 * Static files over HTTP/1.1: each server in its own process serves one
 * temp folder holding a 4 KiB file and a large one (1 GiB in the full run:
 * the file scenarios' fixture, linked in), under wrk's load (50 keep-alive
 * connections, one wrk thread). Each round, each server in turn gets one
 * wrk run per file; the server's CPU (user + system of its process and its
 * children, from /proc) is read before and after it. Figures, medians over
 * the rounds: requests/s and CPU per request for the 4 KiB file, GiB/s and
 * CPU per GiB sent for the large one, and their ratios to nginx's and to
 * Bun's in one run (the median of the ratios within each round).
 *
 * Before the rounds every server is checked: the 4 KiB file byte for byte,
 * the large one by its length and every block's tag, a missing file 404.
 */
import { randomFillSync } from 'node:crypto';
import { copyFileSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { formatRate, median, pairedRatio } from '../harness.js';
import { processTreeCpuSeconds } from '../servers/child.js';
import {
  BUN_SERVE,
  fileServerContenders,
  freePort,
  NGINX,
  OVERLAPPED_FILE_SERVER,
  nginxVersion,
  type FileServerContender,
  type StartedFileServer,
} from '../servers/file-servers.js';
import { findBun } from '../runtimes.js';
import { BLOCK, blockTag, ensureFixture, GiB } from './file-fixture.js';
import { runWrk, wrkVersion, writeWrkScript } from './wrk.js';

export interface FileServerContenderResult {
  name: string;
  /** Median responses completed per second. */
  requestsPerSecond: number;
  /** Median GiB received by wrk per second. */
  gibPerSecond: number;
  /** Median server CPU microseconds per completed response. */
  cpuPerRequestUs: number;
  /** Median server CPU seconds per GiB sent. */
  cpuPerGiBSeconds: number;
  /** Median server cores busy during the runs. */
  serverCores: number;
  /** Median wrk latency p99, ms (of the responses completed: none on a file too large for the window). */
  p99Ms: number;
  /** CPU per request (4 KiB) or per GiB (large file) / nginx's; lower is better. */
  cpuVsNginx?: number;
  /** The same / Bun.serve's. */
  cpuVsBun?: number;
  /** Requests/s (4 KiB) or GiB/s (large file) / nginx's; higher is better. */
  rateVsNginx?: number;
  /** The same / Bun.serve's. */
  rateVsBun?: number;
  requestsPerSecondRounds: number[];
  cpuPerRequestUsRounds: number[];
  cpuPerGiBSecondsRounds: number[];
}

export interface FileServerScenarioResult {
  scenario: string;
  file: string;
  size: number;
  connections: number;
  seconds: number;
  rounds: number;
  contenders: FileServerContenderResult[];
  skipped: Array<{ name: string; reason: string }>;
  /** The scenario's goals for the default file server, each with its ratio in this run. */
  goals: Array<{ goal: string; value: number; limit: number; met: boolean }>;
}

export const SMALL_FILE = 'small-4k.bin';
export const LARGE_FILE = 'large.bin';

function fetchStatus(port: number, path: string, onBody: (chunk: Buffer) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.on('data', onBody);
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/**
 * Checks that the server on `port` serves `root`: the 4 KiB file byte for
 * byte, the large file (blocks tagged with their numbers, as the fixture)
 * by its length and every block's tag, and 404 for a missing file.
 *
 * @example
 * ```ts
 * await checkFileServer(port, root, 1024 * MiB);
 * ```
 */
export async function checkFileServer(port: number, root: string, largeSize: number): Promise<void> {
  const expected = readFileSync(join(root, SMALL_FILE));
  const small: Buffer[] = [];
  const smallStatus = await fetchStatus(port, `/${SMALL_FILE}`, (chunk) => small.push(chunk));
  if (smallStatus !== 200 || !Buffer.concat(small).equals(expected)) {
    throw new Error(`/${SMALL_FILE}: status ${smallStatus}, ${Buffer.concat(small).length} bytes not the file's`);
  }
  // The large file's blocks are checked as they stream by: a block may
  // arrive in pieces, so its first four bytes are gathered first.
  let offset = 0;
  const tag = Buffer.alloc(4);
  let bad: string | undefined;
  const largeStatus = await fetchStatus(port, `/${LARGE_FILE}`, (chunk) => {
    for (let i = 0; i < chunk.length && !bad; ) {
      const within = offset % BLOCK;
      if (within < 4) {
        const take = Math.min(4 - within, chunk.length - i);
        chunk.copy(tag, within, i, i + take);
        i += take;
        offset += take;
        if (offset % BLOCK === 4 && blockTag(tag) !== (offset - 4) / BLOCK) bad = `block ${(offset - 4) / BLOCK} tagged ${blockTag(tag)}`;
      } else {
        const take = Math.min(BLOCK - within, chunk.length - i);
        i += take;
        offset += take;
      }
    }
  });
  if (largeStatus !== 200 || bad || offset !== largeSize) {
    throw new Error(`/${LARGE_FILE}: status ${largeStatus}, ${offset} of ${largeSize} bytes${bad ? `, ${bad}` : ''}`);
  }
  const missing = await fetchStatus(port, '/no-such-file', () => {});
  if (missing !== 404) throw new Error(`/no-such-file: status ${missing}, not 404`);
}

// The served folder: a 4 KiB file of random bytes and the large file, a
// link to the file scenarios' fixture (so it is already in the page cache).
function makeRoot(largeSize: number, log: (line: string) => void): string {
  const root = mkdtempSync(join(tmpdir(), 'overlapped-bench-files-'));
  writeFileSync(join(root, SMALL_FILE), randomFillSync(Buffer.alloc(4096)));
  const fixture = ensureFixture(largeSize, log);
  try {
    linkSync(fixture, join(root, LARGE_FILE));
  } catch {
    copyFileSync(fixture, join(root, LARGE_FILE));
  }
  return root;
}

function sizeName(size: number): string {
  if (size >= GiB) return `${size / GiB} GiB`;
  if (size >= 1024 * 1024) return `${size / 1024 / 1024} MiB`;
  return `${size / 1024} KiB`;
}

/**
 * Runs the file-server scenario: for the 4 KiB file and the large file in
 * turn, every contender under the same wrk load, alternating round by
 * round (a warm-up run each first). `extra` adds contenders to the
 * built-in ones (nginx, Bun.serve, node:http). Without wrk it says so and
 * returns nothing.
 *
 * @example
 * ```ts
 * const results = await fileServerScenarios({ largeSize: GiB, connections: 50, seconds: 3, warmup: 1, rounds: 5, log: console.log });
 * ```
 */
export async function fileServerScenarios(options: {
  largeSize: number;
  connections: number;
  seconds: number;
  /** Seconds of load per server before the counted rounds. */
  warmup: number;
  rounds: number;
  log: (line: string) => void;
  extra?: FileServerContender[];
}): Promise<FileServerScenarioResult[]> {
  const { largeSize, connections, seconds, warmup, rounds, log } = options;
  const wrk = wrkVersion();
  if (!wrk) {
    log('\nfile-server: skipped (wrk is not installed: apt-get install wrk)');
    return [];
  }
  const { contenders, skipped } = fileServerContenders();
  contenders.push(...(options.extra ?? []));
  const bun = findBun();
  const versions = [wrk, nginxVersion(), bun.available ? `Bun ${bun.version}` : undefined].filter((v) => v !== undefined);
  const root = makeRoot(largeSize, log);
  const script = writeWrkScript(root);
  const servers: Array<{ contender: FileServerContender; server: StartedFileServer; port: number }> = [];
  const results: FileServerScenarioResult[] = [];
  try {
    for (const contender of contenders) {
      const port = await freePort();
      const server = await contender.start(root, port);
      servers.push({ contender, server, port });
      await checkFileServer(port, root, largeSize);
    }
    for (const [file, size] of [
      [SMALL_FILE, 4096],
      [LARGE_FILE, largeSize],
    ] as const) {
      const title = `file-server: GET of a ${sizeName(size)} file, ${connections} keep-alive connections (wrk, 1 thread)`;
      log(`\n${title} (median of ${rounds} alternating rounds of ${seconds} s; server CPU from /proc; ${versions.join(', ')})`);
      for (const { name, reason } of skipped) log(`  (${name} skipped: ${reason})`);
      const rows = new Map(servers.map(({ contender }) => [contender.name, { requests: [] as number[], gib: [] as number[], cpuPerRequest: [] as number[], cpuPerGiB: [] as number[], cores: [] as number[], p99: [] as number[] }]));
      const once = async (name: string, pid: number, port: number, runSeconds: number, record: boolean) => {
        const before = processTreeCpuSeconds(pid);
        const report = await runWrk({ url: `http://127.0.0.1:${port}/${file}`, connections, seconds: runSeconds, script, timeoutSeconds: size > 1024 * 1024 ? 60 : 10 });
        const after = processTreeCpuSeconds(pid);
        const cpu = after.user + after.system - before.user - before.system;
        const row = rows.get(name);
        if (!record || !row) return;
        const gib = report.bytes / GiB;
        row.requests.push(report.requests / report.seconds);
        row.gib.push(gib / report.seconds);
        row.cpuPerRequest.push(report.requests > 0 ? (cpu / report.requests) * 1e6 : Number.NaN);
        row.cpuPerGiB.push(cpu / gib);
        row.cores.push(cpu / report.seconds);
        row.p99.push(report.p99Us / 1000);
      };
      for (const { contender, server, port } of servers) await once(contender.name, server.pid, port, warmup, false);
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const { contender, server, port } of order) await once(contender.name, server.pid, port, seconds, true);
      }
      const rowsOut: FileServerContenderResult[] = servers.map(({ contender }) => {
        const row = rows.get(contender.name) as NonNullable<ReturnType<typeof rows.get>>;
        return {
          name: contender.name,
          requestsPerSecond: median(row.requests),
          gibPerSecond: median(row.gib),
          cpuPerRequestUs: median(row.cpuPerRequest),
          cpuPerGiBSeconds: median(row.cpuPerGiB),
          serverCores: median(row.cores),
          p99Ms: median(row.p99),
          requestsPerSecondRounds: row.requests,
          cpuPerRequestUsRounds: row.cpuPerRequest,
          cpuPerGiBSecondsRounds: row.cpuPerGiB,
        };
      });
      const large = file === LARGE_FILE;
      // The 4 KiB file's figures are per request; the large file's per GiB.
      const cpuOf = (c: FileServerContenderResult) => (large ? c.cpuPerGiBSeconds : c.cpuPerRequestUs);
      // Ratios round by round (pairedRatio): the machine's speed drifts
      // during a run, and moves both figures of a round alike.
      const rowOf = (c: FileServerContenderResult) => rows.get(c.name) as NonNullable<ReturnType<typeof rows.get>>;
      const cpuVs = (c: FileServerContenderResult, base: FileServerContenderResult) =>
        large ? pairedRatio(rowOf(c).cpuPerGiB, rowOf(base).cpuPerGiB) : pairedRatio(rowOf(c).cpuPerRequest, rowOf(base).cpuPerRequest);
      const rateVs = (c: FileServerContenderResult, base: FileServerContenderResult) =>
        large ? pairedRatio(rowOf(c).gib, rowOf(base).gib) : pairedRatio(rowOf(c).requests, rowOf(base).requests);
      const nginx = rowsOut.find((c) => c.name === NGINX);
      const bunServe = rowsOut.find((c) => c.name === BUN_SERVE);
      for (const c of rowsOut) {
        if (nginx) {
          c.cpuVsNginx = cpuVs(c, nginx);
          c.rateVsNginx = rateVs(c, nginx);
        }
        if (bunServe) {
          c.cpuVsBun = cpuVs(c, bunServe);
          c.rateVsBun = rateVs(c, bunServe);
        }
      }
      const ratio = (value: number | undefined) => (value === undefined ? '-' : `${value.toFixed(2)}x`);
      log(
        `  ${'server'.padEnd(32)} ${(large ? 'GiB/s' : 'req/s').padStart(8)} ${(large ? 'CPU s/GiB' : 'CPU us/req').padStart(10)} ${'vs nginx'.padStart(8)} ${'vs Bun'.padStart(7)} ${'rate vs nginx'.padStart(13)} ${'rate vs Bun'.padStart(11)} ${'srv cores'.padStart(9)} ${'p99 ms'.padStart(8)}`,
      );
      for (const c of rowsOut) {
        log(
          `  ${c.name.padEnd(32)} ${(large ? c.gibPerSecond.toFixed(2) : formatRate(c.requestsPerSecond)).padStart(8)} ${cpuOf(c).toFixed(large ? 3 : 2).padStart(10)} ${ratio(c.cpuVsNginx).padStart(8)} ${ratio(c.cpuVsBun).padStart(7)} ${ratio(c.rateVsNginx).padStart(13)} ${ratio(c.rateVsBun).padStart(11)} ${c.serverCores.toFixed(2).padStart(9)} ${(c.requestsPerSecond > 0 ? c.p99Ms.toFixed(2) : '-').padStart(8)}`,
        );
      }
      // The goals, for the file server on its default backend: a 4 KiB file at
      // most Bun.serve's CPU per request and 2x nginx's, with at least Bun's
      // requests/s; a large file at most 1.2x nginx's CPU per GiB (both send
      // it zero-copy).
      const goals: FileServerScenarioResult['goals'] = [];
      const ours = rowsOut.find((c) => c.name === OVERLAPPED_FILE_SERVER);
      const check = (goal: string, value: number | undefined, limit: number, most: boolean) => {
        if (value !== undefined) goals.push({ goal, value, limit, met: most ? value <= limit : value >= limit });
      };
      if (ours && large) {
        check(`${ours.name}: CPU/GiB vs nginx <= 1.2`, ours.cpuVsNginx, 1.2, true);
      } else if (ours) {
        check(`${ours.name}: CPU/req vs Bun.serve <= 1`, ours.cpuVsBun, 1, true);
        check(`${ours.name}: CPU/req vs nginx <= 2`, ours.cpuVsNginx, 2, true);
        check(`${ours.name}: req/s vs Bun.serve >= 1`, ours.rateVsBun, 1, false);
      }
      for (const g of goals) log(`  goal ${g.met ? 'met    ' : 'NOT met'} ${g.goal}: ${g.value.toFixed(2)}`);
      results.push({ scenario: title, file, size, connections, seconds, rounds, contenders: rowsOut, skipped, goals });
    }
  } finally {
    for (const { contender, server } of servers) {
      const code = await server.stop();
      if (code !== 0) log(`  (${contender.name} exited with ${code})`);
    }
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}
