import type { CheckedModel } from '../model/types.js';
import { initialWeightSource } from '../weights/init.js';
import type { WeightSource } from '../weights/source.js';
import { printWarning } from './errors.js';
import type { Output } from './output.js';

export interface WeightChoice {
  /** `--weights PATH`; the seeded initialisation when absent. */
  path?: string;
  /** `--seed`: the initialisation's, and a head initialised afresh's. */
  seed: number;
  zeroInitResidual: boolean;
  /** `--strict-weights`. */
  strict: boolean;
}

/**
 * The weights `compile` and `train` start from: the source `--weights` names (picked from
 * what the path is, src/weights/open.ts; loaded only then) or the seeded initialisation.
 * What the source changed to fit the spec (a head initialised afresh, an input convolution
 * adapted) is said here, one warning line each.
 */
export async function weightSource(model: CheckedModel, choice: WeightChoice, out: Output): Promise<WeightSource> {
  if (choice.path === undefined) return initialWeightSource(model, { seed: choice.seed, zeroInitResidual: choice.zeroInitResidual });
  const { openWeightSource } = await import('../weights/open.js');
  const source = await openWeightSource(choice.path, model, { seed: choice.seed, strict: choice.strict });
  for (const note of source.notes) printWarning(out, note.code, note.message);
  return source;
}
