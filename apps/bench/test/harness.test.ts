/**
 * How the harness turns rounds into the figures a run reports: medians, and
 * ratios taken round by round so that a drift of the machine's speed during
 * the run does not set a fast round of one contender against a slow round of
 * another.
 */
import { describe, expect, it } from 'vitest';

import { median, pairedRatio, reportGoals, roundSpread, runScenario, type Contender } from '../src/harness.js';

describe('median', () => {
  it('is the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('roundSpread', () => {
  it('is the slowest round over the fastest, 1 for one round or none', () => {
    expect(roundSpread([6, 7.5, 6.5])).toBe(1.25);
    expect(roundSpread([8.44])).toBe(1);
    expect(roundSpread([])).toBe(1);
  });
});

describe('pairedRatio', () => {
  it('is the median of the ratios within each round', () => {
    // Per round: 2.0, 1.6923..., 2.0.
    expect(pairedRatio([2, 2.2, 6], [1, 1.3, 3])).toBe(2);
  });

  it('holds when the machine slows between rounds, where the ratio of the medians moves', () => {
    // Both contenders cost the same in each round; the third round ran at
    // half speed.
    const a = [2, 2, 4];
    const b = [2, 2, 4];
    expect(pairedRatio(a, b)).toBe(1);
    // A contender that missed the drift's worst round: its median and the
    // other's come from different machines.
    const shifted = [2, 4, 4];
    expect(median(shifted) / median(b)).toBe(2);
    expect(pairedRatio(shifted, b)).toBe(1);
  });

  it('falls back to the ratio of the medians for lists of different lengths', () => {
    expect(pairedRatio([4, 6], [2, 2, 3])).toBe(2.5);
  });
});

/** A contender whose runs return `rates` in turn (its warm-up run first). */
function scripted(name: string, rates: number[]): Contender {
  let call = 0;
  return {
    name,
    run: async () => ({ units: rates[call++] ?? Number.NaN, seconds: 1 }),
  };
}

describe('runScenario', () => {
  it('reports each contender against the baseline round by round, and the goals the same way', async () => {
    // The machine runs at full speed in the warm-up and the first round,
    // then at half speed. `fast` does twice the baseline's work in each
    // round, but its own last round caught a burst of speed: the medians
    // would say 180 / 50 = 3.6x.
    const baseline = scripted('base', [100, 100, 50, 50]);
    const fast = scripted('fast', [200, 200, 100, 180]);
    const lines: string[] = [];
    const result = await runScenario('s', 'ops/s', 'base', [baseline, fast], 3, (line) => lines.push(line));
    const row = result.contenders.find((c) => c.name === 'fast');
    expect(row?.rates).toEqual([200, 100, 180]);
    expect(row?.median).toBe(180);
    // Rounds: 2, 2, 3.6: the median is 2.
    expect(row?.ratio).toBe(2);
    const goals = reportGoals(result, [{ contender: 'fast', against: 'base', atLeast: 2 }], (line) => lines.push(line));
    expect(goals).toEqual([{ contender: 'fast', against: 'base', atLeast: 2, ratio: 2, met: true }]);
    expect(lines.some((line) => /met\s+fast \/ base = 2\.00x/.test(line))).toBe(true);
  });
});
