#!/usr/bin/env node
/**
 * echo-bench: a load generator for echo servers.
 *
 *   echo-bench --port 7000 [--host 127.0.0.1] [--connections 50] [--size 64]
 *              [--pipeline 1] [--duration 5] [--warmup 1] [--max-round-trips N] [--json]
 *
 * Exit 0: every byte came back as sent; 1: the server corrupted, lost or
 * invented bytes or dropped a connection (the report says where); 2: bad
 * arguments.
 */
import { parseArgs } from 'node:util';

import { type EchoBenchOptions, formatReport, resolveOptions, runEchoBench } from './index.js';

const usage = `usage: echo-bench --port N [options]

  --host ADDR            IPv4 address of the echo server (127.0.0.1)
  --port N               its port
  --connections N        connections, opened before the run (50)
  --size BYTES           bytes per message (64)
  --pipeline N           messages in flight per connection; 1 = ping-pong (1)
  --duration S           seconds measured (5)
  --warmup S             seconds of load before measuring (1)
  --max-round-trips N    stop after N round trips (0 = no limit)
  --json                 print the report as JSON`;

function number(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new Error(`--${name} must be a number, got '${text}'`);
  return value;
}

async function main(): Promise<number> {
  let options: EchoBenchOptions;
  let json = false;
  try {
    const { values } = parseArgs({
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        connections: { type: 'string' },
        size: { type: 'string' },
        pipeline: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        'max-round-trips': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    if (values.port === undefined) throw new Error('--port is required');
    json = values.json ?? false;
    options = {
      port: number(values.port, 'port') as number,
      ...(values.host !== undefined && { host: values.host }),
      ...(values.connections !== undefined && { connections: number(values.connections, 'connections') }),
      ...(values.size !== undefined && { size: number(values.size, 'size') }),
      ...(values.pipeline !== undefined && { pipeline: number(values.pipeline, 'pipeline') }),
      ...(values.duration !== undefined && { duration: number(values.duration, 'duration') }),
      ...(values.warmup !== undefined && { warmup: number(values.warmup, 'warmup') }),
      ...(values['max-round-trips'] !== undefined && { maxRoundTrips: number(values['max-round-trips'], 'max-round-trips') }),
    };
    resolveOptions(options);
  } catch (error) {
    console.error(`echo-bench: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const report = await runEchoBench(options);
  console.log(json ? JSON.stringify(report) : formatReport(report));
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`echo-bench: ${(error as Error).message ?? String(error)}`);
    process.exit(1);
  },
);
