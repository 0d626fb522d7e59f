/**
 * The file-server scenario's contenders and tools: every server it
 * measures serves the folder right (the small file byte for byte, the large
 * one by length and block tags, 404 for a missing file, nothing outside
 * the root), nginx runs from a configuration that stays in its temp folder,
 * the server's CPU counts its worker processes, and wrk's report is read
 * and its errors fail a run.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { BLOCK } from '../src/scenarios/file-fixture.js';
import { checkFileServer, LARGE_FILE, SMALL_FILE } from '../src/scenarios/file-server.js';
import { parseWrkReport, runWrk, wrkVersion, writeWrkScript } from '../src/scenarios/wrk.js';
import { processCpuSeconds, processTreeCpuSeconds } from '../src/servers/child.js';
import { fileServerContenders, freePort, nginxConfig, type StartedFileServer } from '../src/servers/file-servers.js';

const LARGE = 8 * 1024 * 1024;
const folder = mkdtempSync(join(tmpdir(), 'overlapped-bench-files-test-'));
const root = join(folder, 'root');
mkdirSync(root);
const large = Buffer.alloc(LARGE, 0x5a);
for (let i = 0; i < LARGE / BLOCK; i++) large.writeUInt32LE(i, i * BLOCK);
writeFileSync(join(root, SMALL_FILE), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff)));
writeFileSync(join(root, LARGE_FILE), large);
writeFileSync(join(folder, 'outside.txt'), 'not to be served');

const running: StartedFileServer[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

// The PIDs of `pid`'s children (its main thread's).
function processTreeChildren(pid: number): number[] {
  const list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return list ? list.split(' ').map(Number) : [];
}

// The status of a GET of `path` exactly as written (no normalisation).
function status(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    }).on('error', reject);
  });
}

const { contenders, skipped } = fileServerContenders();

describe.runIf(process.platform === 'linux').each(contenders.map((c) => ({ name: c.name, contender: c })))('$name', ({ contender }) => {
  it('serves the small file byte for byte, the large one whole, 404 for a missing file, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const server = await contender.start(root, port);
    running.push(server);
    await checkFileServer(port, root, LARGE);
    // Twice over one connection each: keep-alive does not change the bytes.
    await checkFileServer(port, root, LARGE);
    running.splice(running.indexOf(server), 1);
    expect(await server.stop()).toBe(0);
  });

  it('serves nothing outside its root', async () => {
    const port = await freePort();
    running.push(await contender.start(root, port));
    for (const path of ['/../outside.txt', '/%2e%2e/outside.txt', '/..%2foutside.txt', '/%2E%2E%2Foutside.txt']) {
      const code = await status(port, path);
      expect(code, path).toBeGreaterThanOrEqual(400);
      expect(code, path).toBeLessThan(500);
    }
  });
});

describe('file-server contenders', () => {
  it('each runs here or is skipped with a reason', () => {
    for (const { name, reason } of skipped) {
      expect(reason, name).toMatch(/\w/);
      console.log(`${name} skipped: ${reason}`);
    }
    // nginx, Bun, node:http, this repository's server, and on Linux the same on the thread pool.
    expect(contenders.length + skipped.length).toBe(process.platform === 'linux' ? 5 : 4);
  });

  it('the large-file check catches a server that changes one byte, and a short file', async () => {
    const wrong = Buffer.from(large);
    wrong[5 * BLOCK + 1] = (wrong[5 * BLOCK + 1] as number) ^ 1;
    for (const body of [wrong, large.subarray(0, LARGE - 1)]) {
      const server = createServer((request, response) => {
        if (request.url === `/${SMALL_FILE}`) response.end(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff)));
        else if (request.url === `/${LARGE_FILE}`) response.end(body);
        else response.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        await expect(checkFileServer((server.address() as AddressInfo).port, root, LARGE)).rejects.toThrow(LARGE_FILE);
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});

describe('nginx configuration', () => {
  it('keeps every path in its folder, sendfile on, one worker', () => {
    const config = nginxConfig({ folder: '/tmp/f', root: '/tmp/r', port: 8080 });
    expect(config).toMatch(/^daemon off;$/m);
    expect(config).toMatch(/^worker_processes 1;$/m);
    expect(config).toMatch(/^\s*sendfile on;$/m);
    expect(config).toMatch(/^\s*listen 127\.0\.0\.1:8080;$/m);
    expect(config).toMatch(/^\s*root \/tmp\/r;$/m);
    const paths = [...config.matchAll(/ (\/\S+);/g)].map((m) => m[1] as string);
    expect(paths.filter((p) => !p.startsWith('/tmp/f/') && p !== '/tmp/r')).toEqual([]);
    expect(config).toMatch(/pid \/tmp\/f\/nginx\.pid;/);
    expect(config).toMatch(/client_body_temp_path \/tmp\/f\//);
  });
});

describe.runIf(process.platform === 'linux')('server CPU', () => {
  it('counts the CPU of the server process and of its children', async () => {
    // A parent that sleeps while its child spins until it is ended.
    const parent = spawn(
      process.execPath,
      ['-e', `require('child_process').spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'inherit' }); setInterval(() => {}, 1000);`],
      { stdio: 'ignore' },
    );
    try {
      const pid = parent.pid as number;
      let tree = 0;
      let own = 0;
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const t = processTreeCpuSeconds(pid);
        const o = processCpuSeconds(pid);
        tree = t.user + t.system;
        own = o.user + o.system;
        if (tree > own + 0.3) break;
      }
      expect(tree).toBeGreaterThan(own + 0.3);
    } finally {
      // Ends the parent's process group member by member: the child first.
      const children = processTreeChildren(parent.pid as number);
      for (const child of children) process.kill(child, 'SIGKILL');
      parent.kill('SIGKILL');
    }
  });
});

// Trimmed from a run against nginx, with wrk's own text around the line.
const WRK_OUTPUT = `Running 3s test @ http://127.0.0.1:8080/small-4k.bin
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.50us  120.11us   8.20ms   91.20%
  371012 requests in 3.00s, 1.46GB read
Requests/sec: 123670.66

overlapped-wrk-report {"requests":371012,"microseconds":3000123,"bytes":1567025840,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},"p99Us":1450}
`;

describe('wrk', () => {
  it('its report line is read among its text', () => {
    expect(parseWrkReport(WRK_OUTPUT)).toEqual({
      requests: 371012,
      bytes: 1567025840,
      seconds: 3.000123,
      errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
      p99Us: 1450,
    });
    expect(() => parseWrkReport('Running 3s test\n')).toThrow(/no report/);
  });

  it.runIf(wrkVersion() !== undefined)('counts requests and bytes, and fails a run with error responses', async () => {
    const body = Buffer.alloc(4096, 1);
    const server = createServer((request, response) => {
      if (request.url === '/ok') response.end(body);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const script = writeWrkScript(folder);
    try {
      const report = await runWrk({ url: `http://127.0.0.1:${port}/ok`, connections: 4, seconds: 1, script });
      expect(report.requests).toBeGreaterThan(10);
      expect(report.bytes).toBeGreaterThan(report.requests * 4096);
      expect(report.seconds).toBeGreaterThan(0.9);
      await expect(runWrk({ url: `http://127.0.0.1:${port}/missing`, connections: 4, seconds: 1, script })).rejects.toThrow(/status errors/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
