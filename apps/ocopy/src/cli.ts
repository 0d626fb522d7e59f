#!/usr/bin/env node
/**
 * ocopy: copies a file with @overlapped/file. `ocopy --help` lists the
 * options and the exit codes.
 */
import { setMaxListeners } from 'node:events';
import { constants } from 'node:os';

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
  // The first SIGINT, SIGTERM or SIGHUP cancels what is in flight and lets
  // the copy clean up, then ocopy exits with 128 + the signal's number; a
  // second signal leaves at once.
  const controller = new AbortController();
  // Every op in flight listens on this one signal (verify reads two files
  // at once): raise the listener limit so that a deep queue is not taken
  // for a leak.
  setMaxListeners(2 * parsed.options.queueDepth + 16, controller.signal);
  let caught: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signalExitCode(signal));
    caught = signal;
    controller.abort();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    const code = await runCopy(parsed.options, { stdout: process.stdout, stderr: process.stderr }, controller.signal);
    return code === ExitCode.interrupted && caught !== undefined ? signalExitCode(caught) : code;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}

/** The signals that stop a copy, each leaving no partial destination behind. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The shell's exit code for a process stopped by `signal`: 128 + its number. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 2);
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
