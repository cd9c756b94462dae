/**
 * The property tests' seed: `NDOPTAX_SEED` when set (an integer), else a
 * fixed default. As vitest's global setup, prints it once per run.
 */
const DEFAULT_SEED = 20261201

/** The seed in force for this run. */
export function suiteSeed(): number {
  const raw = process.env.NDOPTAX_SEED
  if (raw === undefined || raw === '') return DEFAULT_SEED
  const seed = Number(raw)
  if (!Number.isInteger(seed) || Math.abs(seed) > 2 ** 31) throw new Error(`NDOPTAX_SEED: expected a 32-bit integer, got ${JSON.stringify(raw)}`)
  return seed
}

/** vitest global setup: print the seed once. */
export default function printSeed(): void {
  console.log(`fast-check seed ${suiteSeed()} (NDOPTAX_SEED=<integer> npm test replays another)`)
}
