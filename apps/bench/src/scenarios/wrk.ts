/**
 * wrk (Debian package `wrk`) as the HTTP load generator of the file-server
 * scenario: keep-alive connections, one thread, a fixed duration. A Lua
 * `done` hook prints the run's own totals as one JSON line, which the bench
 * reads instead of wrk's rounded text.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The wrk version line, or undefined when wrk is not installed. */
export function wrkVersion(): string | undefined {
  // `wrk -v` prints its version and usage and exits 1.
  const result = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (result.error) return undefined;
  const match = /^wrk\s+(\S+)/m.exec(result.stdout);
  return match ? `wrk ${match[1]}` : undefined;
}

const MARKER = 'overlapped-wrk-report';

// summary.bytes counts every byte wrk read, responses finished or not, so
// a run over a file too large to finish in the window still says how much
// was sent. %.0f: the totals may pass 2^31.
const REPORT_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n${MARKER} {"requests":%.0f,"microseconds":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},"p99Us":%.0f}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(99)))
end
`;

/** What one wrk run did. */
export interface WrkReport {
  /** Responses completed. */
  requests: number;
  /** Bytes received, headers and unfinished responses included. */
  bytes: number;
  seconds: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** Latency p99, microseconds. */
  p99Us: number;
}

/**
 * Reads the report line the `done` hook printed among wrk's own output.
 *
 * @example
 * ```ts
 * parseWrkReport(stdout); // { requests: 612345, bytes: 2694318000, seconds: 3.0, errors: { ... }, p99Us: 1450 }
 * ```
 */
export function parseWrkReport(stdout: string): WrkReport {
  const line = stdout.split('\n').find((l) => l.startsWith(`${MARKER} `));
  if (!line) throw new Error(`wrk printed no report: ${stdout.slice(0, 300)}`);
  const r = JSON.parse(line.slice(MARKER.length + 1)) as Omit<WrkReport, 'seconds'> & { microseconds: number };
  return { requests: r.requests, bytes: r.bytes, seconds: r.microseconds / 1e6, errors: r.errors, p99Us: r.p99Us };
}

/**
 * Writes the report hook into `folder` once; returns its path for
 * `runWrk`'s `script`.
 */
export function writeWrkScript(folder: string): string {
  const path = join(folder, 'report.lua');
  writeFileSync(path, REPORT_SCRIPT);
  return path;
}

/**
 * One wrk run of `seconds` (whole seconds: wrk takes no fractions) against `url` with `connections` keep-alive
 * connections on one thread; bounded in time (killed 30 s after it should
 * have ended). Errors of any kind (refused, reset, status >= 400, timeouts)
 * fail the run.
 *
 * @example
 * ```ts
 * const script = writeWrkScript(folder);
 * const report = await runWrk({ url: 'http://127.0.0.1:8080/small.bin', connections: 50, seconds: 3, script });
 * console.log(report.requests / report.seconds);
 * ```
 */
export function runWrk(options: { url: string; connections: number; seconds: number; script: string; timeoutSeconds?: number }): Promise<WrkReport> {
  const { url, connections, script, timeoutSeconds = 10 } = options;
  const seconds = Math.max(1, Math.round(options.seconds));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, `--timeout`, `${timeoutSeconds}s`, '-s', script, url];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      if (code !== 0) return reject(new Error(`wrk ${args.join(' ')} exited (${code ?? signal}): ${err.trim() || out.trim()}`));
      try {
        const report = parseWrkReport(out);
        const failed = Object.entries(report.errors).filter(([, count]) => count > 0);
        if (failed.length > 0) {
          return reject(new Error(`wrk against ${url}: ${failed.map(([kind, count]) => `${count} ${kind} errors`).join(', ')}`));
        }
        resolve(report);
      } catch (error) {
        reject(error);
      }
    });
  });
}
