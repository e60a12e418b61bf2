import { existsSync } from 'node:fs';
import { CodedError } from '../diagnostics/coded-error.js';
import { layerTensors, tensorSize } from '../model/tensors.js';
import type { CheckedModel } from '../model/types.js';
import { walkLayers } from '../model/walk.js';
import { OnnxError, readOnnxWeights, writeOnnxFile } from '../onnx/index.js';
import { initialWeights, type WeightSet } from '../weights/init.js';
import { isPytorchWeightsFile, readSafetensorsWeights } from '../weights/state-dict.js';
import { checkWeightSet } from '../weights/validate.js';
import { useBackend } from './backend.js';
import { buildTfjsModel } from './build.js';
import { isTfjsModelPath, loadModelDir, saveModelDir } from './io.js';
import { getWeights, setWeights, WeightMismatch, weightedLayers } from './weights.js';

/** A failure a user causes (bad weights): reported as `error[code]`. */
export class TfjsError extends CodedError {
  constructor(code: 'R0606' | 'R0101', message: string, help?: string) {
    super(code, message, help);
  }
}

/**
 * Weights for a model from a file: an ONNX file of the same architecture (read by the ONNX
 * target's readOnnxWeights, matched by place, external data included), a safetensors state_dict (matched by the
 * naming table; a pickled .pth is refused with R1000) or a tfjs model directory written by
 * resnetc (matched by layer name). PyTorch's layouts, like every WeightSet. Refuses (R0816)
 * weights holding NaN, an infinity or a negative running variance (src/weights/validate.ts),
 * and files src/io/read.ts refuses (FileError).
 */
export async function readWeights(path: string, model: CheckedModel): Promise<WeightSet> {
  if (!existsSync(path)) throw new TfjsError('R0101', `cannot find the weights '${path}'`);
  if (isPytorchWeightsFile(path)) return readSafetensorsWeights(path, model);
  if (isTfjsModelPath(path)) {
    let saved;
    try {
      saved = await loadModelDir(path);
    } catch (e) {
      if (e instanceof CodedError) throw e;
      throw new TfjsError('R0606', `cannot load the tfjs model in '${path}': ${(e as Error).message}`);
    }
    try {
      const names = new Set(saved.layers.map((l) => l.name));
      for (const layer of weightedLayers(model)) {
        if (!names.has(layer.name)) {
          throw new TfjsError('R0606', `the tfjs model in '${path}' has no layer '${layer.name}': it is not a ${model.name}`, 'give a model trained or compiled from this spec');
        }
      }
      const weights = getWeights(saved, model);
      for (const { layer } of walkLayers(model)) {
        for (const t of layerTensors(layer)) {
          const got = weights.get(t.name)?.length;
          if (got !== tensorSize(t.shape)) throw new TfjsError('R0606', `in '${path}', '${t.name}' has ${got} values; ${model.name} needs ${tensorSize(t.shape)} (${t.shape.join('x')})`);
        }
      }
      return checkWeightSet(weights, path);
    } finally {
      saved.dispose();
    }
  }
  try {
    return checkWeightSet(readOnnxWeights(path, model), path);
  } catch (e) {
    if (e instanceof OnnxError) throw new TfjsError('R0606', e.message, e.help ?? 'give an ONNX file or a tfjs model directory (with model.json) of the same architecture');
    throw e;
  }
}

/** Runs the final write (the command line holds interrupts back for it alone); by default, just runs it. */
export type Writing = <T>(write: () => T | Promise<T>) => Promise<T>;

const direct: Writing = async (write) => write();

export interface TfjsCompileOptions {
  /** The directory to write model.json and weights.bin to. */
  output: string;
  seed: number;
  zeroInitResidual: boolean;
  weights?: string;
  writing?: Writing;
}

/** `resnetc compile --target tfjs`: the tfjs Layers format, weights initialised or imported. No tfjs-node needed. */
export async function compileTfjs(model: CheckedModel, options: TfjsCompileOptions): Promise<string> {
  await useBackend('cpu');
  const weights = options.weights !== undefined ? await readWeights(options.weights, model) : initialWeights(model, { seed: options.seed, zeroInitResidual: options.zeroInitResidual });
  const tfModel = buildTfjsModel(model);
  try {
    setWeights(tfModel, model, weights);
    await (options.writing ?? direct)(() => saveModelDir(tfModel, options.output));
  } catch (e) {
    if (e instanceof WeightMismatch) throw new TfjsError('R0606', e.message);
    throw e;
  } finally {
    tfModel.dispose();
  }
  const from = options.weights ?? `seed ${options.seed}${options.zeroInitResidual ? ', zero-init residual' : ''}`;
  return `wrote ${options.output}: ${model.name}, tfjs Layers format (model.json, weights.bin), weights from ${from}`;
}

export interface OnnxFromTfjsOptions {
  output: string;
  weights: string;
  opset?: number;
  inference: boolean;
  /** Tensors in an external data file beside the model even when it would fit in one (writeOnnxFile). */
  externalData?: boolean;
  /** Height and width symbolic in the ONNX graph (writeOnnxFile). */
  dynamicSize?: boolean;
  writing?: Writing;
}

/** `resnetc compile --target onnx --weights DIR` where DIR is a tfjs model: export trained weights and running statistics to ONNX. */
export async function compileOnnxFromTfjs(model: CheckedModel, options: OnnxFromTfjsOptions): Promise<string> {
  await useBackend('cpu');
  const weights = await readWeights(options.weights, model);
  const write = (): number => writeOnnxFile(options.output, model, weights, { inference: options.inference, externalData: options.externalData ?? false, dynamicSize: options.dynamicSize ?? false, ...(options.opset !== undefined ? { opset: options.opset } : {}) });
  const bytes = await (options.writing ?? direct)(write);
  return `wrote ${options.output}: ${model.name}, ONNX${options.opset !== undefined ? ` opset ${options.opset}` : ''}, ${options.inference ? 'inference' : 'training'} form, weights from ${options.weights}, ${(bytes / 1e6).toFixed(1)} MB`;
}
