import type { CheckedModel } from '../model/types.js';
import type { WeightSource } from '../weights/source.js';
import { useBackend } from './backend.js';
import { buildTfjsModel } from './build.js';
import { saveModelDir } from './io.js';
import { setWeights } from './weights.js';

/** Runs the final write (the command line holds interrupts back for it alone); by default, just runs it. */
export type Writing = <T>(write: () => T | Promise<T>) => Promise<T>;

const direct: Writing = async (write) => write();

export interface TfjsCompileOptions {
  /** The directory to write model.json and weights.bin to. */
  output: string;
  /** Where the weights come from (src/weights: initialWeightSource, openWeightSource). */
  weights: WeightSource;
  writing?: Writing;
}

/** `resnetc compile --target tfjs`: the tfjs Layers format, weights from a source. No tfjs-node needed. */
export async function compileTfjs(model: CheckedModel, options: TfjsCompileOptions): Promise<string> {
  await useBackend('cpu');
  const tfModel = buildTfjsModel(model);
  try {
    setWeights(tfModel, model, options.weights);
    await (options.writing ?? direct)(() => saveModelDir(tfModel, options.output));
  } finally {
    tfModel.dispose();
  }
  return `wrote ${options.output}: ${model.name}, tfjs Layers format (model.json, weights.bin), weights from ${options.weights.from}`;
}
