/**
 * Backend selection: the `backend` option, then `OVERLAPPED_BACKEND` in the
 * environment, then `auto`, which walks the ladder best first. Probing never
 * crashes the process: a probe that throws counts as "cannot run here".
 */
import { type BackendName, type BackendRequest, BACKEND_NAMES, isBackendName } from './backend-names.js';
import { codedError, ErrorCodes, invalidArgValue } from './errors.js';

/** The outcome of probing one backend. */
export interface ProbeOutcome {
  available: boolean;
  /** errno-style code or this project's code saying why not, e.g. `EPERM`. */
  code?: string;
  /** A sentence a user can act on. */
  message?: string;
}

/** One rung of the ladder: a backend and how to find out whether it runs. */
export interface BackendCandidate {
  name: BackendName;
  probe: () => ProbeOutcome;
}

/** What {@link selectBackend} decided, and why the better rungs were passed over. */
export interface BackendSelection {
  name: BackendName;
  requested: BackendRequest;
  /** Backends passed over on the way, each with its reason. */
  skipped: Array<{ name: BackendName; code?: string; message?: string }>;
}

const REQUESTS: readonly BackendRequest[] = ['auto', ...BACKEND_NAMES];

/**
 * Resolves what the caller asked for: the option if given, else
 * `OVERLAPPED_BACKEND`, else `auto`. An unknown name is an
 * `ERR_INVALID_ARG_VALUE` error, whichever of the two it came from.
 *
 * @example
 * ```ts
 * resolveBackendRequest(undefined, { OVERLAPPED_BACKEND: 'threadpool' }); // 'threadpool'
 * ```
 */
export function resolveBackendRequest(
  option: unknown,
  env: Record<string, string | undefined> = process.env,
): BackendRequest {
  if (option !== undefined) {
    if (option === 'auto' || isBackendName(option)) return option;
    throw invalidArgValue('options.backend', option, `must be one of: ${REQUESTS.map((r) => `'${r}'`).join(', ')}`);
  }
  const fromEnv = env['OVERLAPPED_BACKEND'];
  if (fromEnv === undefined || fromEnv === '') return 'auto';
  if (fromEnv === 'auto' || isBackendName(fromEnv)) return fromEnv;
  throw invalidArgValue(
    'OVERLAPPED_BACKEND',
    fromEnv,
    `must be one of: ${REQUESTS.map((r) => `'${r}'`).join(', ')}`,
  );
}

function safeProbe(candidate: BackendCandidate): ProbeOutcome {
  try {
    return candidate.probe();
  } catch (error) {
    const coded = error as { code?: unknown; message?: unknown };
    return {
      available: false,
      code: typeof coded.code === 'string' ? coded.code : 'EPROBE',
      message: typeof coded.message === 'string' ? coded.message : String(error),
    };
  }
}

const reportedFallbacks = new Set<string>();

/**
 * Picks a backend. An explicit request that cannot run throws
 * `ERR_BACKEND_UNAVAILABLE` saying why; `auto` takes the first candidate that
 * runs and, the first time it passes one over in this process, says why with
 * a process warning (code `OVERLAPPED_BACKEND_FALLBACK`).
 *
 * @example
 * ```ts
 * const selection = selectBackend('auto', [
 *   { name: 'io_uring', probe: () => native.probe('io_uring') },
 *   { name: 'portable', probe: () => ({ available: true }) },
 * ]);
 * selection.name; // 'io_uring', or 'portable' with selection.skipped saying why
 * ```
 */
export function selectBackend(requested: BackendRequest, candidates: readonly BackendCandidate[]): BackendSelection {
  if (requested !== 'auto') {
    const candidate = candidates.find((c) => c.name === requested);
    const outcome: ProbeOutcome = candidate
      ? safeProbe(candidate)
      : { available: false, code: 'ENOTSUP', message: 'it is not available on this platform or in this package' };
    if (!outcome.available) {
      throw codedError(
        ErrorCodes.BACKEND_UNAVAILABLE,
        `The ${requested} backend cannot run here: ${outcome.message ?? 'no reason given'}${
          outcome.code ? ` (${outcome.code})` : ''
        }`,
        { backend: requested, reason: outcome.code },
      );
    }
    return { name: requested, requested, skipped: [] };
  }
  const skipped: BackendSelection['skipped'] = [];
  for (const candidate of candidates) {
    const outcome = safeProbe(candidate);
    if (outcome.available) {
      if (skipped.length > 0) reportFallback(candidate.name, skipped);
      return { name: candidate.name, requested, skipped };
    }
    skipped.push({ name: candidate.name, code: outcome.code, message: outcome.message });
  }
  throw codedError(
    ErrorCodes.BACKEND_UNAVAILABLE,
    `No backend can run here: ${skipped.map((s) => `${s.name}: ${s.message ?? s.code}`).join('; ')}`,
    { backend: 'auto' },
  );
}

function reportFallback(chosen: BackendName, skipped: BackendSelection['skipped']): void {
  const key = `${chosen}|${skipped.map((s) => `${s.name}:${s.code}`).join(',')}`;
  if (reportedFallbacks.has(key)) return;
  reportedFallbacks.add(key);
  const reasons = skipped.map((s) => `${s.name}: ${s.message ?? 'unavailable'}${s.code ? ` (${s.code})` : ''}`);
  process.emitWarning(`overlapped is using the ${chosen} backend. ${reasons.join('; ')}`, {
    type: 'OverlappedWarning',
    code: 'OVERLAPPED_BACKEND_FALLBACK',
  });
}
