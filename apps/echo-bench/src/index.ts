/**
 * echo-bench: drives an echo server with many connections, each keeping
 * `pipeline` messages in flight, checks every echoed byte, and reports round
 * trips/s, MiB/s and latency percentiles. The engine is a small native loop
 * (native/echo-load.c, one thread, epoll) so that the load generator is not
 * what limits the figures; this module validates options, runs it and shapes
 * its report.
 */
import { spawn } from 'node:child_process';
import { isIPv4 } from 'node:net';

import { codedError, invalidArgValue, validateInteger } from '@overlapped/common';

import { engineExecutable } from './engine.js';

export { buildC, engineExecutable } from './engine.js';

/** What to run: where the server is and the shape of the load. */
export interface EchoBenchOptions {
  /** IPv4 address of the server. Default `'127.0.0.1'`. */
  host?: string;
  /** The server's port (1-65535). */
  port: number;
  /** Connections opened before the run (1-10000). Default 50. */
  connections?: number;
  /** Bytes per message (1 to 64 MiB). Default 64. */
  size?: number;
  /** Messages in flight per connection (1-1024); 1 is ping-pong. Default 1. */
  pipeline?: number;
  /** Seconds of load before the measured window (0-600). Default 1. */
  warmup?: number;
  /** Seconds in the measured window (> 0, at most 3600). Default 5. */
  duration?: number;
  /** Round trips after which the run stops early (0 = no limit). Default 0. */
  maxRoundTrips?: number;
}

/** Hooks a caller can give {@link runEchoBench}. */
export interface EchoBenchHooks {
  /**
   * Called as the measured window opens ('start') and closes ('end'), within
   * a fraction of a millisecond (the engine says so on a pipe): the moments to
   * sample a server's CPU time.
   */
  onWindow?: (event: 'start' | 'end') => void;
}

/** The outcome of one run. Every figure covers the measured window only. */
export interface EchoBenchReport {
  /** True when every byte came back as sent and no connection was lost. */
  ok: boolean;
  /** Why the run failed (a byte mismatch, a lost connection, a timeout). */
  error?: string;
  host: string;
  port: number;
  connections: number;
  size: number;
  pipeline: number;
  warmup: number;
  /** The measured window, in seconds. */
  seconds: number;
  /** Round trips (whole messages echoed and checked) in the window. */
  roundTrips: number;
  /** Round trips over the whole run, warm-up and drain included (all checked). */
  totalRoundTrips: number;
  roundTripsPerSecond: number;
  /** Echoed payload per second, one direction, in MiB (2^20 bytes). */
  mibPerSecond: number;
  /** Round-trip latency in milliseconds: from a message's send to its last echoed byte. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /**
   * The load generator's own CPU over the window: user (the engine's loop:
   * pattern checks, bookkeeping) and system (the kernel's TCP work for the
   * client side, which any client pays), their sum in cores and per round trip.
   */
  client: { cpuSeconds: number; userSeconds: number; systemSeconds: number; cores: number; cpuPerRoundTripUs: number };
}

interface EngineOutput {
  ok: boolean;
  error?: string;
  seconds: number;
  roundTrips: number;
  bytes: number;
  totalRoundTrips: number;
  clientUserSeconds: number;
  clientSystemSeconds: number;
  latencyNs: { p50: number; p90: number; p99: number; max: number };
}

type Resolved = Required<EchoBenchOptions>;

function validateNumber(value: unknown, name: string, min: number, max: number, minExclusive = false): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw invalidArgValue(name, value, 'must be a number');
  if (value < min || value > max || (minExclusive && value === min)) {
    throw codedError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${minExclusive ? '>' : '>='} ${min} && <= ${max}. Received ${value}`);
  }
}

/**
 * Fills in defaults and checks every option, throwing the `ERR_*` error
 * Node would (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`,
 * `ERR_OUT_OF_RANGE`) before anything is started.
 *
 * @example
 * ```ts
 * resolveOptions({ port: 7000 }); // { host: '127.0.0.1', port: 7000, connections: 50, size: 64, ... }
 * ```
 */
export function resolveOptions(options: EchoBenchOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw invalidArgValue('options', options, 'must be an object');
  const resolved: Resolved = {
    host: options.host ?? '127.0.0.1',
    port: options.port,
    connections: options.connections ?? 50,
    size: options.size ?? 64,
    pipeline: options.pipeline ?? 1,
    warmup: options.warmup ?? 1,
    duration: options.duration ?? 5,
    maxRoundTrips: options.maxRoundTrips ?? 0,
  };
  if (typeof resolved.host !== 'string' || !isIPv4(resolved.host)) {
    throw invalidArgValue('host', resolved.host, 'must be an IPv4 address');
  }
  validateInteger(resolved.port, 'port', 1, 65535);
  validateInteger(resolved.connections, 'connections', 1, 10000);
  validateInteger(resolved.size, 'size', 1, 64 * 1024 * 1024);
  validateInteger(resolved.pipeline, 'pipeline', 1, 1024);
  validateNumber(resolved.warmup, 'warmup', 0, 600);
  validateNumber(resolved.duration, 'duration', 0, 3600, true);
  validateInteger(resolved.maxRoundTrips, 'maxRoundTrips', 0);
  return resolved;
}

/**
 * Runs the load against an echo server and resolves with the report; a
 * server that corrupts, loses or invents bytes gives `ok: false` and an
 * `error` saying where. Bounded: the engine is killed if it outlives the
 * warm-up and window by more than 15 seconds.
 *
 * @example
 * ```ts
 * const report = await runEchoBench({ port: 7000, connections: 50, size: 64, duration: 5 });
 * console.log(report.roundTripsPerSecond, report.latencyMs.p99);
 *
 * // A server's CPU over the measured window only:
 * let before = 0;
 * let cpu = 0;
 * await runEchoBench({ port: 7000 }, {
 *   onWindow: (event) => (event === 'start' ? (before = serverCpu()) : (cpu = serverCpu() - before)),
 * });
 * ```
 */
export async function runEchoBench(options: EchoBenchOptions, hooks: EchoBenchHooks = {}): Promise<EchoBenchReport> {
  const o = resolveOptions(options);
  const exe = engineExecutable();
  const args = [o.host, o.port, o.connections, o.size, o.pipeline, o.warmup, o.duration, o.maxRoundTrips].map(String);
  const timeout = (o.warmup + o.duration + 15) * 1000;
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let pending = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      pending += d.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line === 'window start') hooks.onWindow?.('start');
        else if (line === 'window end') hooks.onWindow?.('end');
        else err += `${line}\n`;
      }
    });
    child.on('error', (error) => {
      clearTimeout(killer);
      reject(codedError('ERR_ECHO_BENCH_ENGINE', `echo-load failed: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      // Exit 1 still prints a report (ok: false); anything else is a failure of the engine itself.
      if (out.trim().startsWith('{')) resolve(out);
      else reject(codedError('ERR_ECHO_BENCH_ENGINE', `echo-load failed (${signal ?? `exit ${code}`}): ${err + pending || 'no output'}`));
    });
  });
  const raw = JSON.parse(stdout) as EngineOutput;
  const seconds = raw.seconds ?? 0;
  const userSeconds = raw.clientUserSeconds ?? 0;
  const systemSeconds = raw.clientSystemSeconds ?? 0;
  const cpuSeconds = userSeconds + systemSeconds;
  const report: EchoBenchReport = {
    ok: raw.ok,
    host: o.host,
    port: o.port,
    connections: o.connections,
    size: o.size,
    pipeline: o.pipeline,
    warmup: o.warmup,
    seconds,
    roundTrips: raw.roundTrips ?? 0,
    totalRoundTrips: raw.totalRoundTrips ?? 0,
    roundTripsPerSecond: seconds > 0 ? (raw.roundTrips ?? 0) / seconds : 0,
    mibPerSecond: seconds > 0 ? (raw.bytes ?? 0) / seconds / 1048576 : 0,
    latencyMs: {
      p50: (raw.latencyNs?.p50 ?? 0) / 1e6,
      p90: (raw.latencyNs?.p90 ?? 0) / 1e6,
      p99: (raw.latencyNs?.p99 ?? 0) / 1e6,
      max: (raw.latencyNs?.max ?? 0) / 1e6,
    },
    client: {
      cpuSeconds,
      userSeconds,
      systemSeconds,
      cores: seconds > 0 ? cpuSeconds / seconds : 0,
      cpuPerRoundTripUs: raw.roundTrips ? (cpuSeconds / raw.roundTrips) * 1e6 : 0,
    },
  };
  if (raw.error !== undefined) report.error = raw.error;
  return report;
}

/**
 * The report as a few human-readable lines.
 *
 * @example
 * ```ts
 * console.log(formatReport(await runEchoBench({ port: 7000 })));
 * ```
 */
export function formatReport(r: EchoBenchReport): string {
  const lines = [
    `echo-bench ${r.host}:${r.port}: ${r.connections} connections, ${r.size} B messages, pipeline ${r.pipeline}, ${r.seconds.toFixed(2)} s measured after ${r.warmup} s warm-up`,
  ];
  if (!r.ok) lines.push(`FAILED: ${r.error ?? 'unknown error'}`);
  lines.push(
    `  round trips/s  ${Math.round(r.roundTripsPerSecond)}  (${r.roundTrips} in the window, every byte checked)`,
    `  throughput     ${r.mibPerSecond.toFixed(1)} MiB/s each way`,
    `  latency ms     p50 ${r.latencyMs.p50.toFixed(3)}  p90 ${r.latencyMs.p90.toFixed(3)}  p99 ${r.latencyMs.p99.toFixed(3)}  max ${r.latencyMs.max.toFixed(3)}`,
    `  client CPU     ${r.client.cores.toFixed(2)} cores, ${r.client.cpuPerRoundTripUs.toFixed(2)} us per round trip (user ${r.client.userSeconds.toFixed(2)} s, system ${r.client.systemSeconds.toFixed(2)} s)`,
  );
  return lines.join('\n');
}
