import { CodedError } from '../../diagnostics/coded-error.js';
import { tensorSize } from '../../model/tensors.js';
import type { CheckedModel } from '../../model/types.js';
import { bytesPer, readModelDir, type ManifestWeight } from '../../tfjs/model-dir.js';
import { modelFile } from '../../tfjs/model-path.js';
import { fromTfjs, tfjsShape, tfjsWeights, weightedLayers } from '../../tfjs/names.js';
import { firstConv, type NetworkEnds, type WeightFile } from '../adapt.js';
import { halfToFloat } from '../float16.js';
import type { WeightFileFormat } from '../format.js';

/**
 * A tfjs Layers model directory that resnetc wrote (`compile --target tfjs`, `train`), read
 * without TensorFlow.js: model-dir.ts reads and checks model.json and its shards, and each of
 * the spec's tensors is taken by its tfjs name (`conv3.block0.conv1/kernel`, src/tfjs/names.ts)
 * and turned into PyTorch's layout when asked for. float32 weights are read as they are;
 * tfjs's quantised ones (uint8 and uint16 with a scale and a minimum, float16) as tfjs's
 * `decodeWeights` dequantises them.
 */
export const tfjsFormat: WeightFileFormat = {
  format: 'tfjs',
  accepts: `a tfjs model folder (with ${modelFile})`,
  sniff: (f) => (f.kind === 'folder' ? f.entries.includes(modelFile) : /^\s*\{\s*"(modelTopology|format|weightsManifest)"/.test(new TextDecoder().decode(f.head))),
  suffix: modelFile,
  text: true,
  read: async (f) => tfjsFile(f.path),
};

/** A refusal of a tfjs model's weights (R0606: weights that do not belong to the spec). */
export class TfjsWeightsError extends CodedError {
  override readonly name = 'TfjsWeightsError';
}

interface Stored {
  weight: ManifestWeight;
  /** Byte offset in the weight data. */
  at: number;
}

function tfjsFile(path: string): WeightFile {
  const { weightSpecs, weightData } = readModelDir(path);
  const stored = new Map<string, Stored>();
  let at = 0;
  for (const weight of weightSpecs) {
    stored.set(weight.name, { weight, at });
    at += tensorSize(weight.shape) * bytesPer[weight.quantization?.dtype ?? weight.dtype]!;
  }
  const where = `the tfjs model in '${path}'`;
  const shapeOf = (name: string): number[] | undefined => stored.get(name)?.weight.shape;

  const values = (s: Stored): Float32Array => {
    const { weight } = s;
    const count = tensorSize(weight.shape);
    const view = new DataView(weightData, s.at);
    const q = weight.quantization;
    if (q === undefined) return new Float32Array(weightData.slice(s.at, s.at + 4 * count));
    if (q.dtype === 'float16') return Float32Array.from({ length: count }, (_, i) => halfToFloat(view.getUint16(2 * i, true)));
    const scale = q.scale ?? 1;
    const min = q.min ?? 0;
    return q.dtype === 'uint8' ? Float32Array.from({ length: count }, (_, i) => view.getUint8(i) * scale + min) : Float32Array.from({ length: count }, (_, i) => view.getUint16(2 * i, true) * scale + min);
  };

  return {
    ends(model: CheckedModel): NetworkEnds {
      const conv = firstConv(model);
      const fc = model.head?.layers.find((l) => l.op === 'dense');
      const kernel = conv && shapeOf(`${conv.name}/kernel`);
      const dense = fc && shapeOf(`${fc.name}/kernel`);
      return {
        ...(conv && kernel?.length === 4 ? { channels: kernel[2]! * conv.groups } : {}),
        ...(dense?.length === 2 ? { classes: dense[1]! } : {}),
      };
    },
    match(model: CheckedModel): (name: string) => Float32Array | undefined {
      const mine = new Map<string, { stored: Stored; spec: ReturnType<typeof tfjsWeights>[number]['spec'] }>();
      const expected = new Set<string>();
      for (const layer of weightedLayers(model)) {
        for (const { spec, name } of tfjsWeights(layer)) {
          expected.add(name);
          const s = stored.get(name);
          if (!s) throw new TfjsWeightsError('R0606', `${where} has no weight '${name}' (layer '${layer.name}'): it is not a ${model.name}`, 'give a model trained or compiled from this spec');
          const want = tfjsShape(spec);
          const got = s.weight.shape;
          if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
            throw new TfjsWeightsError('R0606', `in ${where}, '${name}' is [${got.join(', ')}]; ${model.name} needs [${want.join(', ')}] (${spec.name})`, 'give a model trained or compiled from this spec');
          }
          const dtype = s.weight.quantization?.dtype ?? s.weight.dtype;
          if (!['float32', 'float16', 'uint8', 'uint16'].includes(dtype) || (s.weight.quantization && s.weight.dtype !== 'float32')) {
            throw new TfjsWeightsError('R0606', `in ${where}, '${name}' is stored as ${s.weight.dtype}${s.weight.quantization ? ` quantised to ${dtype}` : ''}; a weight is float32 (or quantised float32)`);
          }
          mine.set(spec.name, { stored: s, spec });
        }
      }
      const extra = [...stored.keys()].filter((n) => !expected.has(n));
      if (extra.length > 0) {
        const some = extra.slice(0, 3).map((n) => `'${n}'`).join(', ') + (extra.length > 3 ? `, and ${extra.length - 3} more` : '');
        throw new TfjsWeightsError('R0606', `${where} has ${extra.length === 1 ? 'a weight' : `${extra.length} weights`} that ${model.name} does not have: ${some}`, `it holds another network than ${model.name}: compile the spec that describes it`);
      }
      return (name) => {
        const m = mine.get(name);
        return m && fromTfjs(m.spec, values(m.stored));
      };
    },
  };
}
