// Deterministic noise for the simulator: the same (seed, appliance, series, step)
// always gives the same value, so scenarios are reproducible and testable.

/** 32-bit FNV-1a over the parts, finished with murmur3's avalanche. */
export function hash32(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.join('\u0001');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1) fixed by its parts. */
export function unitNoise(...parts: (string | number)[]): number {
  return hash32(...parts) / 2 ** 32;
}

/** A number in [-amplitude, amplitude] fixed by its parts. */
export function symmetricNoise(amplitude: number, ...parts: (string | number)[]): number {
  return (unitNoise(...parts) * 2 - 1) * amplitude;
}

/** mulberry32: a small seeded PRNG, for sequences rather than keyed values. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
