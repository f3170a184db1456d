/**
 * Deterministic shuffling for the replay: the same seed gives the same order on every machine,
 * so a run can be repeated exactly and compared across learner versions.
 */

/** mulberry32: a small, fast 32-bit PRNG; plenty for ordering rows (not for cryptography). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A shuffled copy (Fisher-Yates) of `items`.
 *
 * @example seededShuffle([1, 2, 3, 4], 7) // same order every time for seed 7
 */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}
