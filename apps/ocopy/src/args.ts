/**
 * ocopy's command line: options, sizes with a unit, and the usage text.
 * Every mistake here is a usage error (exit 2), found before any file is
 * touched.
 */
import { parseArgs } from 'node:util';

import { BACKEND_NAMES, type BackendRequest } from '@overlapped/common';

/** Exit codes: each one means one thing, for scripts that call ocopy. */
export const ExitCode = {
  ok: 0,
  ioError: 1,
  usage: 2,
  verifyMismatch: 3,
  /** Interrupted: by SIGINT; the CLI exits with 128 + the signal's number (SIGHUP 129, SIGTERM 143). */
  interrupted: 130,
} as const;

export const DEFAULT_QUEUE_DEPTH = 8;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
const MAX_QUEUE_DEPTH = 1024;
const MAX_CHUNK_SIZE = 1024 * 1024 * 1024;

export const usage = `usage: ocopy [options] <src> <dst>

Copies <src> to <dst> with @overlapped/file: many chunks in flight at once,
completed on the best backend that runs here (or the one asked for).

options:
  -q, --queue-depth N    chunks in flight (1-${MAX_QUEUE_DEPTH}, default ${DEFAULT_QUEUE_DEPTH})
  -c, --chunk-size SIZE  bytes per chunk: 65536, 64K, 1M, 4MiB... (default 1M)
  -b, --backend NAME     auto, ${BACKEND_NAMES.join(', ')} (default: auto, or $OVERLAPPED_BACKEND)
      --verify           read both files back afterwards and compare them
  -f, --force            overwrite <dst> if it exists (otherwise ocopy refuses)
  -h, --help             show this text

While copying, a progress bar is drawn on stderr when stderr is a terminal
(nothing otherwise). When done, a summary line goes to stdout:
  copied <bytes> bytes in <s> s, <MiB/s> MiB/s, backend <name>[, verified]

exit codes:
  0    copied (and verified, with --verify)
  1    I/O error: <src> missing or unreadable, <dst> exists without --force,
       a read or write failed, the backend asked for cannot run here
  2    usage error: unknown option, bad value, wrong number of paths
  3    --verify found the copy differs from <src>
  129  hung up (SIGHUP)
  130  interrupted (SIGINT)
  143  terminated (SIGTERM)
       after any of these signals the operations in flight are cancelled
       and the partial <dst> is removed`;

export interface Options {
  source: string;
  destination: string;
  queueDepth: number;
  chunkSize: number;
  backend: BackendRequest | undefined;
  verify: boolean;
  force: boolean;
}

export type Parsed = { kind: 'help' } | { kind: 'error'; message: string } | { kind: 'copy'; options: Options };

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * Parses a size such as `4096`, `64K`, `1M`, `1MiB` or `2g` (binary units:
 * K = 1024). Returns undefined for anything else.
 *
 * @example
 * ```ts
 * parseSize('64K'); // 65536
 * parseSize('1M');  // 1048576
 * parseSize('1.5'); // undefined
 * ```
 */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] as number);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Parses ocopy's arguments (without the node and script paths).
 *
 * @example
 * ```ts
 * parseCommandLine(['-c', '64K', 'a', 'b']); // { kind: 'copy', options: { chunkSize: 65536, ... } }
 * parseCommandLine(['a']);                   // { kind: 'error', message: 'expected <src> and <dst>, got 1 path' }
 * ```
 */
export function parseCommandLine(argv: string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'queue-depth': { type: 'string', short: 'q' },
        'chunk-size': { type: 'string', short: 'c' },
        backend: { type: 'string', short: 'b' },
        verify: { type: 'boolean' },
        force: { type: 'boolean', short: 'f' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (positionals.length !== 2) {
    return { kind: 'error', message: `expected <src> and <dst>, got ${positionals.length} path${positionals.length === 1 ? '' : 's'}` };
  }
  const queueDepth = values['queue-depth'] === undefined ? DEFAULT_QUEUE_DEPTH : Number(values['queue-depth']);
  if (!Number.isInteger(queueDepth) || queueDepth < 1 || queueDepth > MAX_QUEUE_DEPTH) {
    return { kind: 'error', message: `--queue-depth must be an integer from 1 to ${MAX_QUEUE_DEPTH}, got '${values['queue-depth']}'` };
  }
  const chunkSize = values['chunk-size'] === undefined ? DEFAULT_CHUNK_SIZE : parseSize(values['chunk-size']);
  if (chunkSize === undefined || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    return { kind: 'error', message: `--chunk-size must be a size from 1 byte to 1G (e.g. 64K, 1M), got '${values['chunk-size']}'` };
  }
  const backend = values.backend;
  if (backend !== undefined && backend !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    return { kind: 'error', message: `--backend must be one of auto, ${BACKEND_NAMES.join(', ')}, got '${backend}'` };
  }
  return {
    kind: 'copy',
    options: {
      source: positionals[0] as string,
      destination: positionals[1] as string,
      queueDepth,
      chunkSize,
      backend: backend as BackendRequest | undefined,
      verify: values.verify ?? false,
      force: values.force ?? false,
    },
  };
}
