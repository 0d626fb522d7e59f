#!/usr/bin/env node
/**
 * ocopy: copies a file with @overlapped/file. `ocopy --help` lists the
 * options and the exit codes.
 */
import { setMaxListeners } from 'node:events';

import { ExitCode, parseCommandLine, usage } from './args.js';
import { runCopy } from './copy.js';

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`ocopy: ${parsed.message}\n${usage.split('\n')[0]}\nTry 'ocopy --help' for more.\n`);
    return ExitCode.usage;
  }
  // The first SIGINT cancels what is in flight and lets the copy clean up;
  // a second one leaves at once.
  const controller = new AbortController();
  // Every op in flight listens on this one signal (verify reads two files
  // at once): raise the listener limit so that a deep queue is not taken
  // for a leak.
  setMaxListeners(2 * parsed.options.queueDepth + 16, controller.signal);
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await runCopy(parsed.options, { stdout: process.stdout, stderr: process.stderr }, controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ocopy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = ExitCode.ioError;
  },
);
