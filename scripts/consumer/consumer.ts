// A TypeScript consumer of the packed packages, compiled by the package
// check with `moduleResolution: node16` and with `bundler` against the
// installed tarballs, then run: every public package's types resolve, and
// the values behind them work.
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type BackendName, isOverlappedError, systemError } from '@overlapped/common';
import { copyFile, open, type OverlappedFile } from '@overlapped/file';
import { nativeCandidates } from '@overlapped/iocp';
import { CompletionPort } from '@overlapped/portable';
import { connect, listen, type Socket } from '@overlapped/socket';

const error = systemError({ code: 'ENOENT', syscall: 'open', path: '/nope' });
assert.equal(isOverlappedError(error), true);
assert.equal(error.code, 'ENOENT');

// `await using` compiles to code that needs Symbol.asyncDispose at run
// time, which every Node in engines has (the TypeScript helper brings
// SuppressedError, which Node 20 lacks).
let port: CompletionPort<{ job: string }>;
{
  await using scoped = new CompletionPort<{ job: string }>();
  port = scoped;
  port.post(1, 2, { job: 'typed' });
  for await (const completion of port) {
    assert.equal(completion.value?.job, 'typed');
    break;
  }
}
assert.equal(port.closed, true);

const path = join(tmpdir(), `overlapped-consumer-${process.pid}.bin`);
let file: OverlappedFile;
{
  await using scoped = await open(path, { disposition: 'create-always', access: 'read-write' });
  file = scoped;
  assert.equal(await file.writeAt(Buffer.from('consumer'), 0), 8);
}
assert.equal(file.closed, true);
const backend: BackendName = file.backend;
assert.deepEqual(await copyFile(path, `${path}.copy`), { bytes: 8, backend });
await Promise.all([rm(path), rm(`${path}.copy`)]);

const server = await listen({
  port: 0,
  async onConnection(socket: Socket) {
    const buffer = Buffer.alloc(4);
    const n = await socket.recv(buffer);
    await socket.send(buffer.subarray(0, n));
    await socket.close();
  },
});
const client = await connect({ port: server.address().port });
await client.send(Buffer.from('ping'));
const reply = Buffer.alloc(4);
assert.equal(await client.recv(reply), 4);
await client.close();
await server.close();

console.log(`consumer: ${backend}, ${nativeCandidates().length} native candidates, reply ${reply.toString()}`);
