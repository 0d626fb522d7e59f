// io_uring sockets on the first file ring instead of a ring of their own:
// the path a kernel without multishot recv takes (forwards on one-shot
// recvs, submitted by whichever thread starts them), reached here through
// OVERLAPPED_URING_SOCKETS_RING=shared.
import { spawnSync } from 'node:child_process';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { backendAvailability, defineSocketForwardSuite, defineSocketSuite } from '../src/index.js';
import { runOnBackend } from './define-backend-suite.js';

const [major = 0] = release().split('.').map(Number);
const kernelHasMultishotRecv = major >= 6;

// A child process: a file port, then a native echo on io_uring; prints how
// many threads named uring-sockets it had after each.
const child = `
  import { readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
  import { tmpdir } from 'node:os';
  import { join } from 'node:path';
  import { open } from '@overlapped/file';
  import { createEchoServer, connect } from '@overlapped/socket';
  const named = () => readdirSync('/proc/self/task').filter((task) => {
    try { return readFileSync('/proc/self/task/' + task + '/comm', 'utf8').trim() === 'uring-sockets'; } catch { return false; }
  }).length;
  const path = join(tmpdir(), 'overlapped-sockets-ring-' + process.pid);
  writeFileSync(path, 'bytes');
  const file = await open(path, { backend: 'io_uring' });
  const read = Buffer.alloc(5);
  await file.readAt(read, 0);
  await file.close();
  rmSync(path);
  const afterFile = named();
  const server = await createEchoServer({ port: 0, host: '127.0.0.1', mode: 'native', backend: 'io_uring' });
  const socket = await connect({ port: server.address().port, host: '127.0.0.1', backend: 'io_uring' });
  await socket.send(Buffer.from('hello'));
  const reply = Buffer.alloc(5);
  let got = 0;
  while (got < 5) got += await socket.recv(reply.subarray(got));
  await socket.close();
  await server.close();
  console.log(JSON.stringify({ read: read.toString(), afterFile, afterSockets: named(), echoed: reply.toString() }));
`;

function runChild(ring: 'own' | 'shared'): { read: string; afterFile: number; afterSockets: number; echoed: string } {
  const env = { ...process.env };
  if (ring === 'shared') env['OVERLAPPED_URING_SOCKETS_RING'] = 'shared';
  else delete env['OVERLAPPED_URING_SOCKETS_RING'];
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', child], {
    // The testkit package, whose dependencies the script imports.
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
}

describe.skipIf(!backendAvailability('io_uring').available || !kernelHasMultishotRecv)('io_uring sockets ring [io_uring]', () => {
  it('makes the sockets a ring and worker of their own at the first socket op, unless OVERLAPPED_URING_SOCKETS_RING=shared', () => {
    const own = runChild('own');
    expect(own).toEqual({ read: 'bytes', afterFile: 0, afterSockets: 1, echoed: 'hello' });
    const shared = runChild('shared');
    expect(shared).toEqual({ read: 'bytes', afterFile: 0, afterSockets: 0, echoed: 'hello' });
  });
});

// Every port the suites below open puts its sockets on the first ring.
process.env['OVERLAPPED_URING_SOCKETS_RING'] = 'shared';
runOnBackend('io_uring', defineSocketSuite);
runOnBackend('io_uring', defineSocketForwardSuite);
