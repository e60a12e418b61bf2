import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

/** A generator of uniform numbers in [0, 1), seeded; `state()` is what `random(…, state)` continues from (a checkpoint records it). */
export interface Random {
  (): number;
  state(): number[];
}

/** xoroshiro128+ (pure-rand) from a seed, or from the state a generator reported. */
export function random(seed: number, state?: readonly number[]): Random {
  const rng = state ? xoroshiro128plusFromState(state) : xoroshiro128plus(seed | 0);
  return Object.assign(() => (rng.next() >>> 0) / 4294967296, { state: () => [...rng.getState()] });
}
