/**
 * A small seeded generator (mulberry32) for the fuzz tests: the same seed
 * gives the same sequence, so that a failing run replays.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * const size = random.int(4096);          // 0..4095
 * const op = random.pick(['read', 'write']);
 * ```
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (below) => Math.floor(next() * below),
    pick: (items) => items[Math.floor(next() * items.length)] as never,
  };
}

/** What {@link seededRandom} gives. */
export interface Random {
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [0, below). */
  int(below: number): number;
  /** One of `items`. */
  pick<T>(items: readonly T[]): T;
}
