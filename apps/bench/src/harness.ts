/**
 * The benchmark harness: contenders of one scenario run in the same process,
 * alternating round by round, so that machine noise hits them alike; the
 * figure reported is each contender's median rate and its ratio to the
 * scenario's baseline.
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
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
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
  const base = median(rates.get(baseline) ?? [1]);
  const result: ScenarioResult = {
    scenario,
    unit,
    baseline,
    rounds,
    contenders: contenders.map((c) => {
      const list = rates.get(c.name) ?? [];
      const m = median(list);
      return { name: c.name, median: m, rates: list, ratio: m / base };
    }),
  };
  log(`\n${scenario} (${unit}, median of ${rounds} alternating rounds; ratio vs ${baseline})`);
  for (const c of result.contenders) {
    log(`  ${c.name.padEnd(34)} ${formatRate(c.median).padStart(10)} ${unit}  ${c.ratio.toFixed(2).padStart(7)}x`);
  }
  return result;
}

export function formatRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)}M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)}k`;
  return rate.toFixed(1);
}
