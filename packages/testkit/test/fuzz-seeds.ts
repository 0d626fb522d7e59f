// The seeds and size of the file fuzz in `npm test`: fixed, so that a run
// can be repeated. Fresh seeds and longer runs: `node
// packages/testkit/dist/fuzz/file.js --ops 100000 --seed random` (README).
export const FUZZ_SEEDS = [1, 2, 3];
export const FUZZ_OPS = 10_000;
