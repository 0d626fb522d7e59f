/**
 * Echo servers as child processes: each contender runs alone in its own
 * process, so that its CPU time can be read from /proc/<pid>/stat (user +
 * system time of all its threads) without counting the load generator.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A running echo server: its pid, its port, its CPU so far, and a way to stop it. */
export interface ServerProcess {
  pid: number;
  port: number;
  /** User and system CPU seconds of all the server's threads so far. */
  cpuSeconds(): { user: number; system: number };
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * The path of one of the bench's compiled scripts (`servers/net-echo.js`,
 * `runners/bun-random-read.js`), which other runtimes and child processes
 * run: found from src/ (tests) and dist/ alike.
 *
 * @example
 * ```ts
 * spawn(bun.path, [benchScript('servers/bun-listen-echo.js'), '0']);
 * ```
 */
export function benchScript(path: string): string {
  return fileURLToPath(new URL(`../../dist/${path}`, import.meta.url));
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * User and system CPU seconds of process `pid`, all threads, from
 * /proc/<pid>/stat (fields 14 and 15, in clock ticks).
 *
 * @example
 * ```ts
 * const { user, system } = processCpuSeconds(server.pid);
 * ```
 */
export function processCpuSeconds(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: fields are
  // counted from after its closing parenthesis, which starts at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  return { user: utime / clockTicks(), system: stime / clockTicks() };
}

// The children of every thread of `pid` (Linux 3.5+), or none if it is gone.
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const task of tasks) {
    try {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (list) children.push(...list.split(' ').map(Number));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return children;
}

/**
 * User and system CPU seconds of process `pid` and all its descendants
 * alive now (a server with worker processes, such as nginx's master and
 * worker), all threads.
 *
 * @example
 * ```ts
 * const before = processTreeCpuSeconds(nginx.pid);
 * ```
 */
export function processTreeCpuSeconds(pid: number): { user: number; system: number } {
  const total = { user: 0, system: 0 };
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    try {
      const { user, system } = processCpuSeconds(next);
      total.user += user;
      total.system += system;
    } catch {
      continue; // It exited meanwhile.
    }
    pending.push(...childrenOf(next));
  }
  return total;
}

/**
 * Stops a child process: SIGTERM, then SIGKILL after 5 s; resolves with its
 * exit code (`exited` is its exit event's promise).
 *
 * @example
 * ```ts
 * const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
 * const code = await stopChild(child, exited);
 * ```
 */
export async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
  const code = await exited;
  clearTimeout(kill);
  return code;
}

/**
 * Starts `command args` and waits for its "listening <port>" line (the
 * port may be written as host:port).
 *
 * @example
 * ```ts
 * const server = await startServer(process.execPath, ['dist/servers/net-echo.js', '0']);
 * ```
 */
export function startServer(command: string, args: string[], timeoutMs = 15_000): Promise<ServerProcess> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not say "listening" within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code}) before listening: ${stderr}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening\s+(?:\S*:)?(\d+)/.exec(out);
      if (!match || child.pid === undefined) return;
      clearTimeout(timer);
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume(); // keep draining periodic output
      const pid = child.pid;
      resolve({
        pid,
        port: Number(match[1]),
        cpuSeconds: () => processCpuSeconds(pid),
        stop: () => stopChild(child, exited),
      });
    });
  });
}
