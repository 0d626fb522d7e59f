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
  /** What would make the backend run here, e.g. how to build it from source. */
  remedy?: string;
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
  skipped: Array<{ name: BackendName; code?: string; message?: string; remedy?: string }>;
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

let fallbackReported = false;

/**
 * Picks a backend. An explicit request that cannot run throws
 * `ERR_BACKEND_UNAVAILABLE` saying why; `auto` takes the first candidate that
 * runs and, the first time in this process that it passes one over, says so
 * in one process warning (code `OVERLAPPED_BACKEND_FALLBACK`): what could not
 * run and why, what runs instead, what would fix it, how to silence it. The
 * candidates are the backends of this platform only: a backend that does not
 * exist here is no fallback.
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
    skipped.push({ name: candidate.name, code: outcome.code, message: outcome.message, remedy: outcome.remedy });
  }
  throw codedError(
    ErrorCodes.BACKEND_UNAVAILABLE,
    `No backend can run here: ${skipped.map((s) => `${s.name}: ${s.message ?? s.code}`).join('; ')}`,
    { backend: 'auto' },
  );
}

function reportFallback(chosen: BackendName, skipped: BackendSelection['skipped']): void {
  if (fallbackReported) return;
  fallbackReported = true;
  // Backends that failed for the same reason (a native core that cannot
  // load fails them all) are named together.
  const reasons = new Map<string, BackendName[]>();
  for (const s of skipped) {
    const reason = `${s.message ?? 'unavailable'}${s.code ? ` (${s.code})` : ''}`;
    reasons.set(reason, [...(reasons.get(reason) ?? []), s.name]);
  }
  const failed = [...reasons].map(([reason, names]) => `${names.join(' and ')} cannot run here: ${reason}`);
  const remedies = [...new Set(skipped.map((s) => s.remedy).filter((r): r is string => Boolean(r)))];
  const lines = [
    `overlapped is using the ${chosen} backend: ${failed.join('; ')}`,
    ...remedies,
    `To choose the ${chosen} backend and silence this warning, set OVERLAPPED_BACKEND=${chosen} (or pass the backend option).`,
  ];
  process.emitWarning(lines.join('\n'), { type: 'OverlappedWarning', code: 'OVERLAPPED_BACKEND_FALLBACK' });
}
