#!/usr/bin/env -S deno run --allow-net
/**
 * The `Deno.listen` echo server the echo scenarios compare against: what a
 * Deno user writes, a `conn.read` / `conn.write` loop per connection with
 * one buffer each (`conn.write` may take fewer bytes than given: the rest
 * is written before the next read). Run by Deno, not Node. On the peer's
 * end of stream it ends its side after the last echo. Prints "listening
 * <port>" once bound; SIGINT / SIGTERM close it with exit 0.
 *
 *   deno run --allow-net deno-listen-echo.js [port] [host] [buffer bytes]
 */
export {};

// The part of Deno's API used here (Deno's own types are not installed).
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
}

interface DenoListener extends AsyncIterable<DenoConn> {
  addr: { port: number };
  close(): void;
}

declare const Deno: {
  args: string[];
  listen(options: { hostname: string; port: number; transport: 'tcp' }): DenoListener;
  addSignalListener(signal: 'SIGINT' | 'SIGTERM', handler: () => void): void;
  exit(code: number): never;
};

const port = Number(Deno.args[0] ?? 0);
const hostname = Deno.args[1] ?? '127.0.0.1';
const bufferSize = Number(Deno.args[2] ?? 65536);
const conns = new Set<DenoConn>();

async function echo(conn: DenoConn): Promise<void> {
  conns.add(conn);
  const buffer = new Uint8Array(bufferSize);
  try {
    conn.setNoDelay(true);
    for (;;) {
      const received = await conn.read(buffer);
      if (received === null) break;
      for (let sent = 0; sent < received; ) sent += await conn.write(buffer.subarray(sent, received));
    }
    await conn.closeWrite();
  } catch {
    // A reset from the peer is the end of that connection, not of the server.
  } finally {
    conns.delete(conn);
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

const listener = Deno.listen({ hostname, port, transport: 'tcp' });
console.log(`listening ${listener.addr.port}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  Deno.addSignalListener(signal, () => {
    listener.close();
    for (const conn of conns) conn.close();
    Deno.exit(0);
  });
}
try {
  for await (const conn of listener) void echo(conn);
} catch {
  // The listener was closed.
}
