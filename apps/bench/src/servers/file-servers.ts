/**
 * The static file servers of the file-server scenario, each a process of
 * its own serving a folder on 127.0.0.1: nginx from the system (Debian's
 * 1.22: sendfile on, one worker, its configuration generated into a temp
 * folder, run as the current user, nothing under /etc touched), `Bun.serve`
 * with `Bun.file`, node:http with `fs.createReadStream`, and this
 * repository's own apps/file-server (@overlapped/socket + file). A further
 * contender is one more `FileServerContender`: a name and a function that
 * starts a server for a root folder on a port and returns its PID.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { findBun } from '../runtimes.js';
import { benchScript, stopChild } from './child.js';

/** A file server that is up: its PID (its CPU is read from /proc) and a way to stop it. */
export interface StartedFileServer {
  pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** A contender of the file-server scenario. */
export interface FileServerContender {
  name: string;
  /** Starts a server of the files under `root` on 127.0.0.1:`port`; resolves once it accepts connections. */
  start(root: string, port: number): Promise<StartedFileServer>;
}

/**
 * A free TCP port on 127.0.0.1 (bound, read and released: for servers that
 * cannot be told to pick one).
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Starts `command args` and waits until 127.0.0.1:`port` accepts a
 * connection (15 s at most); fails with the server's stderr if it exits
 * first.
 *
 * @example
 * ```ts
 * const server = await spawnFileServer('python3', ['-m', 'http.server', '8080', '-d', root], 8080);
 * ```
 */
export async function spawnFileServer(command: string, args: string[], port: number, timeoutMs = 15_000): Promise<StartedFileServer> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = () => stopChild(child, exited);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error(`${command} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before listening: ${stderr.trim()}`);
    }
    if (await accepts(port)) return { pid: child.pid, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${command} ${args.join(' ')} did not accept connections on port ${port} within ${timeoutMs} ms: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A contender that runs `command` with the arguments `args(root, port)`.
 *
 * @example
 * ```ts
 * const contender = commandFileServer('overlapped file-server', process.execPath, (root, port) => [
 *   'apps/file-server/dist/cli.js', '--root', root, '--port', String(port),
 * ]);
 * ```
 */
export function commandFileServer(name: string, command: string, args: (root: string, port: number) => string[]): FileServerContender {
  return { name, start: (root, port) => spawnFileServer(command, args(root, port), port) };
}

/** The nginx version ("nginx/1.22.1"), or undefined when nginx is not installed. */
export function nginxVersion(): string | undefined {
  const result = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return /nginx\/\S+/.exec(result.stderr)?.[0];
}

// The temp-file paths of the modules this nginx was built with: each is set
// into the scenario's folder so that nginx creates nothing under /var.
function nginxTempPaths(folder: string): string[] {
  const built = spawnSync('nginx', ['-V'], { encoding: 'utf8' }).stderr ?? '';
  const paths = ['client_body'];
  for (const module of ['proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    if (!built.includes(`--without-http_${module}_module`)) paths.push(module);
  }
  return paths.map((name) => `  ${name}_temp_path ${join(folder, `${name}-temp`)};`);
}

/**
 * The nginx configuration the scenario runs: Debian's defaults for a
 * static site (sendfile and tcp_nopush on), one worker, no access log,
 * every path inside `folder`, and no cap on requests per keep-alive
 * connection (like the other servers).
 *
 * @example
 * ```ts
 * writeFileSync(join(folder, 'nginx.conf'), nginxConfig({ folder, root, port: 8080 }));
 * ```
 */
export function nginxConfig(options: { folder: string; root: string; port: number }): string {
  const { folder, root, port } = options;
  // Started by root, nginx would switch its worker to "nobody", which
  // cannot read a private temp folder: keep it the current user.
  const user = process.getuid?.() === 0 ? [`user ${userInfo().username};`] : [];
  return [
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    ...user,
    `pid ${join(folder, 'nginx.pid')};`,
    `lock_file ${join(folder, 'nginx.lock')};`,
    `error_log ${join(folder, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  keepalive_requests 1000000000;',
    '  default_type application/octet-stream;',
    ...nginxTempPaths(folder),
    '  server {',
    `    listen 127.0.0.1:${port};`,
    `    root ${root};`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export const NGINX = 'nginx (sendfile, 1 worker)';
export const BUN_SERVE = 'Bun.serve + Bun.file';
export const NODE_HTTP = 'node:http + fs.createReadStream';
export const OVERLAPPED_FILE_SERVER = 'overlapped file-server';
export const OVERLAPPED_FILE_SERVER_THREADPOOL = 'overlapped file-server (threadpool)';

/** The file-server app's command line (apps/file-server, built before the bench: a workspace dependency). */
export function fileServerCli(): string {
  return fileURLToPath(new URL('../../../file-server/dist/cli.js', import.meta.url));
}

function nginxContender(): FileServerContender {
  return {
    name: NGINX,
    async start(root, port) {
      const folder = mkdtempSync(join(tmpdir(), 'overlapped-bench-nginx-'));
      const config = join(folder, 'nginx.conf');
      writeFileSync(config, nginxConfig({ folder, root, port }));
      try {
        const server = await spawnFileServer('nginx', ['-p', folder, '-c', config, '-e', join(folder, 'error.log')], port);
        return {
          pid: server.pid,
          async stop() {
            const code = await server.stop();
            rmSync(folder, { recursive: true, force: true });
            return code;
          },
        };
      } catch (error) {
        rmSync(folder, { recursive: true, force: true });
        throw error;
      }
    },
  };
}

/**
 * The contenders that can run here, and those that cannot with the reason
 * (a missing nginx or Bun).
 *
 * @example
 * ```ts
 * const { contenders, skipped } = fileServerContenders();
 * for (const { name, reason } of skipped) console.log(`${name} skipped: ${reason}`);
 * ```
 */
export function fileServerContenders(): { contenders: FileServerContender[]; skipped: Array<{ name: string; reason: string }> } {
  const contenders: FileServerContender[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  if (nginxVersion()) contenders.push(nginxContender());
  else skipped.push({ name: NGINX, reason: 'nginx is not installed (apt-get install nginx-light)' });
  const bun = findBun();
  if (bun.available) {
    contenders.push(commandFileServer(BUN_SERVE, bun.path, (root, port) => [benchScript('servers/bun-serve-files.js'), root, String(port)]));
  } else {
    skipped.push({ name: BUN_SERVE, reason: bun.reason });
  }
  contenders.push(
    commandFileServer(NODE_HTTP, process.execPath, (root, port) => [benchScript('servers/node-http-files.js'), root, String(port)]),
    // Its best backend (io_uring here), default options: bodies through socket.sendFile.
    commandFileServer(OVERLAPPED_FILE_SERVER, process.execPath, (root, port) => [fileServerCli(), '--root', root, '--port', String(port)]),
    // The same on the thread pool (sendfile(2) from the readiness reactor), where it runs.
    ...(process.platform === 'linux'
      ? [
          commandFileServer(OVERLAPPED_FILE_SERVER_THREADPOOL, process.execPath, (root, port) => [
            fileServerCli(),
            '--root',
            root,
            '--port',
            String(port),
            '--backend',
            'threadpool',
          ]),
        ]
      : []),
  );
  return { contenders, skipped };
}
