/**
 * Echo servers under one load generator (echo-bench's native engine):
 * 50 connections ping-pong (one message in flight each), 64 B and 16 KiB
 * messages. Every contender runs in its own child process; each reports
 * round trips/s and the server's CPU time per round trip (user + system of
 * all its threads, from /proc/<pid>/stat, over the measured run only). On
 * two cores the load generator takes one, so CPU per round trip is the
 * fairer figure; round trips/s says whether a server keeps up.
 *
 * Contenders: the C io_uring reference (reference/echo-uring.c, one ring,
 * nothing clever), the C epoll floor (reference/echo-epoll.c: one recv and
 * one send per message and nothing else, near enough the kernel's own cost
 * of a round trip, which every server pays), a Node `net` echo server, what
 * a user of another runtime writes (Bun's `Bun.listen` and its `node:net`,
 * Deno's `Deno.listen`; each skipped with the reason where its binary is
 * missing or cannot run), and, when @overlapped/socket is built,
 * echo-server in `native` mode per native backend and in `js` mode (the
 * recv/send promises) and `events` mode (JS handlers on the event API) per
 * backend (portable included).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { buildC, runEchoBench } from '@overlapped/echo-bench';

import { formatRate, median, pairedRatio, roundSpread } from '../harness.js';
import { findBun, findDeno } from '../runtimes.js';
import { benchScript, startServer, type ServerProcess } from '../servers/child.js';

export interface EchoContenderResult {
  name: string;
  /** Median round trips/s over the rounds. */
  roundTripsPerSecond: number;
  /** Median server CPU microseconds per round trip over the rounds. */
  cpuPerRoundTripUs: number;
  /** Of which user time (the rest is system time), median. */
  userPerRoundTripUs: number;
  /** Median server CPU cores busy during the runs. */
  serverCores: number;
  /** Median load generator CPU cores over the runs. */
  clientCores: number;
  /** Latency p99 (ms), median over the rounds. */
  p99Ms: number;
  rates: number[];
  cpuPerRoundTripUsRounds: number[];
  /** CPU per round trip / the Node net server's (lower is better). */
  cpuVsNet?: number;
  /** CPU per round trip / the C reference's. */
  cpuVsReference?: number;
  /** Round trips/s / the Node net server's (higher is better). */
  rateVsNet?: number;
  /** Round trips/s / the C reference's. */
  rateVsReference?: number;
  /** CPU per round trip / the C epoll floor's (how far above the kernel's own cost). */
  cpuVsFloor?: number;
  /** CPU per round trip / the Bun.listen server's. */
  cpuVsBunListen?: number;
  /** Round trips/s / the Bun.listen server's. */
  rateVsBunListen?: number;
}

export interface EchoScenarioResult {
  scenario: string;
  size: number;
  connections: number;
  seconds: number;
  rounds: number;
  contenders: EchoContenderResult[];
  /**
   * The C epoll floor's CPU per round trip / the Node net server's: the
   * lowest ratio to net that any server can expect here, since the floor
   * does nothing per message beyond its recv and send.
   */
  floorVsNet?: number;
  /** The floor's slowest round over its fastest (see roundSpread): how much the machine's speed moved. */
  floorSpread?: number;
  goals: Array<{ goal: string; value: number; limit: number; met: boolean }>;
}

export const NET = 'node net';
export const REFERENCE = 'C io_uring reference';
export const FLOOR = 'C epoll floor';
export const BUN_LISTEN = 'Bun.listen';
export const BUN_NET = 'Bun node:net';
export const DENO_LISTEN = 'Deno.listen';

/** How to start one echo server: it prints "listening <port>" once bound. */
export interface ServerSpec {
  name: string;
  command: string;
  args: string[];
}

/**
 * The echo servers of the other runtimes, Bun's and Deno's, with their
 * binaries from the `bun` and `deno` packages; a runtime that cannot run
 * here is listed under `skipped` with the reason.
 *
 * @example
 * ```ts
 * const { specs, skipped } = runtimeEchoServers(16384);
 * for (const { name, reason } of skipped) console.log(`${name} skipped: ${reason}`);
 * const server = await startServer(specs[0].command, specs[0].args);
 * ```
 */
export function runtimeEchoServers(bufferSize: number): { specs: ServerSpec[]; skipped: Array<{ name: string; reason: string }> } {
  const specs: ServerSpec[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  const bun = findBun();
  if (bun.available) {
    specs.push({ name: BUN_LISTEN, command: bun.path, args: [benchScript('servers/bun-listen-echo.js'), '0', '127.0.0.1'] });
    specs.push({ name: BUN_NET, command: bun.path, args: [benchScript('servers/net-echo.js'), '0', '127.0.0.1'] });
  } else {
    skipped.push({ name: BUN_LISTEN, reason: bun.reason }, { name: BUN_NET, reason: bun.reason });
  }
  const deno = findDeno();
  if (deno.available) {
    const args = ['run', '--allow-net', '--no-config', benchScript('servers/deno-listen-echo.js'), '0', '127.0.0.1', String(bufferSize)];
    specs.push({ name: DENO_LISTEN, command: deno.path, args });
  } else {
    skipped.push({ name: DENO_LISTEN, reason: deno.reason });
  }
  return { specs, skipped };
}

/** A floor whose rounds spread more than this (5%) gets a line saying so. */
const FLOOR_SPREAD_WARNING = 1.05;

function ratio(value: number | undefined): string {
  return value === undefined ? '-' : `${value.toFixed(2)}x`;
}

/** The contenders available here: always the two C servers and net; overlapped when built. */
async function serverSpecs(
  bufferSize: number,
  runtimes: readonly string[] | undefined,
  only: readonly string[] | undefined,
  log: (line: string) => void,
): Promise<ServerSpec[]> {
  const reference = buildC(new URL('../../reference/echo-uring.c', import.meta.url), 'echo-uring');
  const floor = buildC(new URL('../../reference/echo-epoll.c', import.meta.url), 'echo-epoll');
  const specs: ServerSpec[] = [
    { name: REFERENCE, command: reference, args: ['0', '127.0.0.1', String(bufferSize)] },
    { name: FLOOR, command: floor, args: ['0', '127.0.0.1', String(bufferSize)] },
    { name: NET, command: process.execPath, args: [benchScript('servers/net-echo.js'), '0', '127.0.0.1'] },
  ];
  const others = runtimeEchoServers(bufferSize);
  const wanted = (name: string) => (runtimes === undefined || runtimes.includes(name)) && (only === undefined || name === BUN_LISTEN);
  specs.push(...others.specs.filter((spec) => wanted(spec.name)));
  for (const { name, reason } of others.skipped) if (wanted(name)) log(`  (${name} skipped: ${reason})`);
  const versions = [findBun(), findDeno()].flatMap((r) => (r.available ? [`${r.name} ${r.version}`] : []));
  if (versions.length > 0) log(`  (${versions.join('; ')})`);
  const echoServer = fileURLToPath(new URL('../../../echo-server/dist/cli.js', import.meta.url));
  let backends: { native: string[]; js: string[] } | undefined;
  try {
    // echo-server depends on @overlapped/socket: resolve it from there.
    createRequire(new URL('../../../echo-server/package.json', import.meta.url)).resolve('@overlapped/socket');
    const iocp = (await import('@overlapped/iocp')) as { nativeCandidates(): Array<{ name: string; probe(): { available: boolean } }> };
    const native = iocp.nativeCandidates().filter((c) => c.probe().available).map((c) => c.name);
    backends = { native, js: [...native, 'portable'] };
  } catch {
    backends = undefined;
  }
  if (!backends || !existsSync(echoServer)) {
    log('  (overlapped echo-server not built here: running the baselines only)');
    return specs;
  }
  const common = ['--port', '0', '--host', '127.0.0.1', '--buffer-size', String(bufferSize), '--stats-interval', '0'];
  const ours: ServerSpec[] = [];
  for (const backend of backends.native) {
    ours.push({ name: `overlapped native (${backend})`, command: process.execPath, args: [echoServer, '--mode', 'native', '--backend', backend, ...common] });
  }
  for (const backend of backends.js) {
    ours.push({ name: `overlapped js (${backend})`, command: process.execPath, args: [echoServer, '--mode', 'js', '--backend', backend, ...common] });
  }
  for (const backend of backends.js) {
    ours.push({ name: `overlapped events (${backend})`, command: process.execPath, args: [echoServer, '--mode', 'events', '--backend', backend, ...common] });
  }
  // Names say `native` for the forward loop; `forward` selects it too.
  const chosen = (name: string) => only === undefined || only.some((part) => name.includes(part) || (part === 'forward' && name.includes('native')));
  specs.push(...ours.filter((spec) => chosen(spec.name)));
  return specs;
}

/**
 * Runs the echo scenario for each message size: contenders alternate round
 * by round (a warm-up run each first), under the same load.
 */
export async function echoScenarios(options: {
  sizes: number[];
  connections: number;
  seconds: number;
  /** Seconds of load before each measured window. */
  warmup: number;
  rounds: number;
  /** Which of the other runtimes' servers to run (BUN_LISTEN, BUN_NET, DENO_LISTEN); all by default. */
  runtimes?: readonly string[];
  /**
   * Parts of the overlapped servers' names to run (`forward` also picks the
   * `native` ones); all by default. When set, of the other runtimes only
   * Bun.listen runs.
   */
  only?: readonly string[];
  log: (line: string) => void;
}): Promise<EchoScenarioResult[]> {
  const { sizes, connections, seconds, warmup, rounds, runtimes, only, log } = options;
  const results: EchoScenarioResult[] = [];
  for (const size of sizes) {
    const title = `echo: ${connections} connections ping-pong, ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} messages`;
    log(`\n${title} (median of ${rounds} alternating rounds of ${seconds} s after ${warmup} s warm-up; server CPU from /proc over each window; ratios: the median of each round's)`);
    const specs = await serverSpecs(Math.max(size, 16384), runtimes, only, log);
    const servers: Array<{ spec: ServerSpec; server: ServerProcess }> = [];
    try {
      for (const spec of specs) servers.push({ spec, server: await startServer(spec.command, spec.args) });
      const rows = new Map<string, { rates: number[]; cpu: number[]; user: number[]; cores: number[]; client: number[]; p99: number[] }>(
        servers.map(({ spec }) => [spec.name, { rates: [], cpu: [], user: [], cores: [], client: [], p99: [] }]),
      );
      const once = async (spec: ServerSpec, server: ServerProcess, record: boolean) => {
        // The server's CPU is sampled as the engine opens and closes its
        // measured window (after its warm-up, before its drain).
        let cpuBefore = { user: 0, system: 0 };
        let cpuAfter: { user: number; system: number } | undefined;
        const report = await runEchoBench(
          { port: server.port, connections, size, pipeline: 1, warmup, duration: seconds },
          { onWindow: (event) => (event === 'start' ? (cpuBefore = server.cpuSeconds()) : (cpuAfter = server.cpuSeconds())) },
        );
        if (!cpuAfter) throw new Error(`${spec.name}: the measured window never closed`);
        const user = cpuAfter.user - cpuBefore.user;
        const cpu = user + cpuAfter.system - cpuBefore.system;
        if (!report.ok) throw new Error(`${spec.name}: ${report.error}`);
        if (!record) return;
        const row = rows.get(spec.name);
        if (!row) return;
        row.rates.push(report.roundTripsPerSecond);
        row.cpu.push((cpu / report.roundTrips) * 1e6);
        row.user.push((user / report.roundTrips) * 1e6);
        row.cores.push(cpu / report.seconds);
        row.client.push(report.client.cores);
        row.p99.push(report.latencyMs.p99);
      };
      for (const { spec, server } of servers) await once(spec, server, false);
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const { spec, server } of order) await once(spec, server, true);
      }
      const contenders: EchoContenderResult[] = servers.map(({ spec }) => {
        const row = rows.get(spec.name) as { rates: number[]; cpu: number[]; user: number[]; cores: number[]; client: number[]; p99: number[] };
        return {
          name: spec.name,
          roundTripsPerSecond: median(row.rates),
          cpuPerRoundTripUs: median(row.cpu),
          userPerRoundTripUs: median(row.user),
          serverCores: median(row.cores),
          clientCores: median(row.client),
          p99Ms: median(row.p99),
          rates: row.rates,
          cpuPerRoundTripUsRounds: row.cpu,
        };
      });
      const net = contenders.find((c) => c.name === NET);
      const reference = contenders.find((c) => c.name === REFERENCE);
      const floor = contenders.find((c) => c.name === FLOOR);
      const bunListen = contenders.find((c) => c.name === BUN_LISTEN);
      // Ratios round by round (pairedRatio): the machine's speed drifts
      // during a run, and moves both figures of a round alike.
      const cpuVs = (c: EchoContenderResult, base: EchoContenderResult) => pairedRatio(c.cpuPerRoundTripUsRounds, base.cpuPerRoundTripUsRounds);
      const rateVs = (c: EchoContenderResult, base: EchoContenderResult) => pairedRatio(c.rates, base.rates);
      for (const c of contenders) {
        if (floor) c.cpuVsFloor = cpuVs(c, floor);
        if (bunListen) {
          c.cpuVsBunListen = cpuVs(c, bunListen);
          c.rateVsBunListen = rateVs(c, bunListen);
        }
        if (net) {
          c.cpuVsNet = cpuVs(c, net);
          c.rateVsNet = rateVs(c, net);
        }
        if (reference) {
          c.cpuVsReference = cpuVs(c, reference);
          c.rateVsReference = rateVs(c, reference);
        }
      }
      log(
        `  ${'server'.padEnd(30)} ${'rt/s'.padStart(8)} ${'CPU us/rt'.padStart(10)} ${'user'.padStart(5)} ${'vs net'.padStart(7)} ${'vs ref'.padStart(7)} ${'rt/s vs ref'.padStart(11)} ${'vs floor'.padStart(8)} ${'vs Bun'.padStart(7)} ${'srv cores'.padStart(9)} ${'client'.padStart(6)} ${'p99 ms'.padStart(7)}`,
      );
      for (const c of contenders) {
        log(
          `  ${c.name.padEnd(30)} ${formatRate(c.roundTripsPerSecond).padStart(8)} ${c.cpuPerRoundTripUs.toFixed(2).padStart(10)} ${c.userPerRoundTripUs.toFixed(2).padStart(5)} ${`${(c.cpuVsNet ?? 0).toFixed(2)}x`.padStart(7)} ${`${(c.cpuVsReference ?? 0).toFixed(2)}x`.padStart(7)} ${`${(c.rateVsReference ?? 0).toFixed(2)}x`.padStart(11)} ${`${(c.cpuVsFloor ?? 0).toFixed(2)}x`.padStart(8)} ${ratio(c.cpuVsBunListen).padStart(7)} ${c.serverCores.toFixed(2).padStart(9)} ${c.clientCores.toFixed(2).padStart(6)} ${c.p99Ms.toFixed(2).padStart(7)}`,
        );
      }
      const goals: EchoScenarioResult['goals'] = [];
      // The goals: forward (the native echo) at most the floor's CPU per round
      // trip; the promise API at most 0.9x net's at 64 B; the event API on
      // io_uring at most Bun.listen's CPU with at least its round trips/s, on
      // the thread pool at most 1.2x the floor.
      const atMost = (c: EchoContenderResult, name: string, value: number | undefined, limit: number) => {
        if (value !== undefined) goals.push({ goal: `${c.name}: ${name} <= ${limit}`, value, limit, met: value <= limit });
      };
      const atLeast = (c: EchoContenderResult, name: string, value: number | undefined, limit: number) => {
        if (value !== undefined) goals.push({ goal: `${c.name}: ${name} >= ${limit}`, value, limit, met: value >= limit });
      };
      for (const c of contenders) {
        if (c.name.startsWith('overlapped native')) {
          atMost(c, 'CPU/rt vs floor', c.cpuVsFloor, 1);
        } else if (c.name.startsWith('overlapped js') && c.name !== 'overlapped js (portable)' && size <= 64) {
          // (portable runs on node:net itself: shown, not held to the goal)
          atMost(c, 'CPU/rt vs net', c.cpuVsNet, 0.9);
        } else if (c.name === 'overlapped events (io_uring)') {
          atMost(c, 'CPU/rt vs Bun.listen', c.cpuVsBunListen, 1);
          atLeast(c, 'rt/s vs Bun.listen', c.rateVsBunListen, 1);
        } else if (c.name === 'overlapped events (threadpool)') {
          atMost(c, 'CPU/rt vs floor', c.cpuVsFloor, 1.2);
        }
      }
      for (const g of goals) log(`  goal ${g.met ? 'met    ' : 'NOT met'} ${g.goal}: ${g.value.toFixed(3)}`);
      // The floor does the same work in every round: where its rounds
      // differ, the machine changed speed under the run.
      const floorSpread = floor ? roundSpread(floor.cpuPerRoundTripUsRounds) : undefined;
      if (floorSpread !== undefined && floorSpread > FLOOR_SPREAD_WARNING) {
        log(
          `  (the floor's rounds spread ${((floorSpread - 1) * 100).toFixed(0)}% (${floor?.cpuPerRoundTripUsRounds.map((v) => v.toFixed(2)).join(', ')} us): ` +
            'the machine changed speed during the run, and a ratio holds only as far as every server\'s rounds moved alike)',
        );
      }
      const floorVsNet = floor?.cpuVsNet;
      if (floorVsNet !== undefined) {
        log(`  the floor (recv + send per message, nothing else) costs ${floorVsNet.toFixed(2)}x net's CPU per round trip here`);
      }
      results.push({ scenario: title, size, connections, seconds, rounds, contenders, floorVsNet, floorSpread, goals });
    } finally {
      for (const { spec, server } of servers) {
        const code = await server.stop();
        if (code !== 0) log(`  (${spec.name} exited with ${code})`);
      }
    }
  }
  return results;
}
