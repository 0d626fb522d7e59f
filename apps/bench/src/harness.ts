/**
 * The benchmark harness: contenders of one scenario run in the same process,
 * alternating round by round, so that machine noise hits them alike; the
 * figures reported are each contender's median rate and its ratio to the
 * scenario's baseline, the median of the ratios taken round by round (see
 * {@link pairedRatio}).
 */
export interface Contender {
  name: string;
  /** Runs once; returns the number of units done and the seconds it took. */
  run(): Promise<{ units: number; seconds: number }>;
  /** Called once after the last round. */
  dispose?(): Promise<void> | void;
}

export interface ScenarioResult {
  scenario: string;
  unit: string;
  baseline: string;
  rounds: number;
  contenders: Array<{ name: string; median: number; rates: number[]; ratio: number }>;
  /** Set by reportGoals. */
  goals?: GoalResult[];
}

/**
 * The median of `values` (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Two contenders' ratio as a run shows it: the median over rounds of
 * `a[i] / b[i]`, each pair measured in the same round. This machine's speed
 * drifts during a run (a contender's CPU per round trip has moved 25% between
 * its first and last round), and a drift moves both figures of a round
 * alike, where the ratio of two medians may set a figure from a fast round
 * against one from a slow round. Lists of different lengths (a contender
 * that missed rounds) fall back to the ratio of the medians.
 *
 * @example
 * ```ts
 * // The machine slowed by half in the third round: the medians say 1.5x,
 * // each round says 1.0x.
 * pairedRatio([2, 2, 3], [2, 2, 3]); // 1
 * median([2, 3, 3]) / median([2, 2, 3]); // 1.5
 * ```
 */
export function pairedRatio(a: number[], b: number[]): number {
  if (a.length === 0 || a.length !== b.length) return median(a) / median(b);
  return median(a.map((value, i) => value / (b[i] as number)));
}

/**
 * How far apart a contender's rounds are: the largest over the smallest
 * (1 for one round). A baseline whose rounds spread widely says the machine
 * changed speed during the run; a ratio taken round by round holds only as
 * far as every contender's rounds moved alike.
 *
 * @example
 * ```ts
 * roundSpread([6.48, 7.3, 8.15]); // 1.2577...
 * ```
 */
export function roundSpread(values: number[]): number {
  if (values.length === 0) return 1;
  return Math.max(...values) / Math.min(...values);
}

/** Runs `contenders` for `rounds` rounds, alternating, and computes ratios against `baseline`. */
export async function runScenario(
  scenario: string,
  unit: string,
  baseline: string,
  contenders: Contender[],
  rounds: number,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const rates = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  // One warm-up round that is not counted: JIT, page faults, thread start.
  for (const contender of contenders) await contender.run();
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const { units, seconds } = await contender.run();
      rates.get(contender.name)?.push(units / seconds);
    }
  }
  for (const contender of contenders) await contender.dispose?.();
  const base = rates.get(baseline) ?? [];
  const result: ScenarioResult = {
    scenario,
    unit,
    baseline,
    rounds,
    contenders: contenders.map((c) => {
      const list = rates.get(c.name) ?? [];
      const m = median(list);
      return { name: c.name, median: m, rates: list, ratio: base.length > 0 ? pairedRatio(list, base) : 1 };
    }),
  };
  log(`\n${scenario} (${unit}, median of ${rounds} alternating rounds; ratio vs ${baseline})`);
  for (const c of result.contenders) {
    log(`  ${c.name.padEnd(40)} ${formatRate(c.median).padStart(10)} ${unit}  ${c.ratio.toFixed(2).padStart(7)}x`);
  }
  return result;
}

export function formatRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)}M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)}k`;
  return rate.toFixed(1);
}

/** A goal of a scenario: `contender`'s rate at least `atLeast` times `against`'s (round by round, {@link pairedRatio}). */
export interface Goal {
  contender: string;
  against: string;
  atLeast: number;
}

export interface GoalResult extends Goal {
  ratio: number;
  met: boolean;
}

/**
 * Checks `goals` against a scenario's rates and logs one line per goal
 * whose two contenders both ran (a contender left out leaves its goal out).
 *
 * @example
 * ```ts
 * reportGoals(result, [{ contender: 'io_uring: copyFile', against: 'fs.copyFile', atLeast: 0.9 }], console.log);
 * //   goals:
 * //     met    io_uring: copyFile / fs.copyFile = 3.63x (goal >= 0.9x)
 * ```
 */
export function reportGoals(result: ScenarioResult, goals: Goal[], log: (line: string) => void): GoalResult[] {
  const rates = new Map(result.contenders.map((c) => [c.name, c.rates]));
  const checked: GoalResult[] = [];
  for (const goal of goals) {
    const a = rates.get(goal.contender);
    const b = rates.get(goal.against);
    if (a === undefined || b === undefined) continue;
    const ratio = pairedRatio(a, b);
    checked.push({ ...goal, ratio, met: ratio >= goal.atLeast });
  }
  if (checked.length > 0) log('  goals:');
  for (const goal of checked) {
    log(
      `    ${goal.met ? 'met   ' : 'MISSED'} ${goal.contender} / ${goal.against} = ${goal.ratio.toFixed(2)}x (goal >= ${goal.atLeast}x)`,
    );
  }
  result.goals = checked;
  return checked;
}
