import { checkWeightSet } from './validate.js';
import type { CheckedModel } from '../model/types.js';
import type { WeightSet } from './init.js';
import { readWeightsBytes } from './read.js';
import type { WeightLookup } from './source.js';
import { floatDtypes, parseSafetensors, serializeSafetensors, tensorAsFloat32, TorchWeightsError, writeSafetensors, type ByteSink, type SafetensorsEntry, type SafetensorsFile, type TensorToWrite } from './safetensors.js';
import { torchLayout, torchStateDict, type TorchTensor } from './torch-names.js';

/**
 * A model's weights as a PyTorch `state_dict` in a safetensors file, both ways, under the
 * names of the naming table (torch-names.ts): what `torchvision.models.resnet50()` (or timm's
 * module, or the PyTorch target's) loads with `load_state_dict(strict=True)`, and what reads
 * their `state_dict()` back into a WeightSet.
 */

/** A state_dict entry described for a message: `'layer2.0.conv1.weight' (conv3.block0.conv1, 128x64x3x3)`. */
function describe(e: TorchTensor): string {
  return `'${e.key}' (${e.layer}${e.shape.length > 0 ? `, ${e.shape.join('x')}` : ''})`;
}

/**
 * The tensors of the model's state_dict, ready for the safetensors writer: float32 values
 * from `weights` (resnetc's names, PyTorch's layouts), and 0 for every norm's
 * `num_batches_tracked`. Each value is asked for when the writer reaches it.
 */
export function stateDictTensors(model: CheckedModel, weights: WeightLookup): TensorToWrite[] {
  return torchStateDict(model).map((e) => ({
    name: e.key,
    dtype: e.dtype,
    shape: e.shape,
    values: () => {
      if (e.name === undefined) return BigInt64Array.of(0n);
      const values = weights.get(e.name);
      if (!values) throw new Error(`internal: no weights for ${e.name}`);
      return values;
    },
  }));
}

/** What the writer puts in `__metadata__`: `format: pt` (what Hugging Face's loaders look for), the model and the names' family. */
export function stateDictMetadata(model: CheckedModel, producer: string): Record<string, string> {
  return { format: 'pt', producer, model: model.name, names: torchLayout(model) === 'torchvision' ? 'torchvision' : 'timm resnetv2' };
}

/** The model's weights as a safetensors file in one buffer. */
export function stateDictBytes(model: CheckedModel, weights: WeightLookup, metadata: Record<string, string> = {}): Uint8Array {
  return serializeSafetensors(stateDictTensors(model, weights), metadata);
}

/** The model's weights as safetensors bytes, streamed to `sink`; returns the size written. */
export function writeStateDict(model: CheckedModel, weights: WeightLookup, metadata: Record<string, string>, sink: ByteSink): number {
  return writeSafetensors(stateDictTensors(model, weights), metadata, sink);
}

/** Keys of the file that the spec does not have, a few of them, for a message. */
function someOf(keys: string[], count = 3): string {
  return keys.slice(0, count).map((k) => `'${k}'`).join(', ') + (keys.length > count ? `, and ${keys.length - count} more` : '');
}

/** Where each of a model's tensors lies in a safetensors file: its entry, and the spec's layer for messages. */
export type StateDictMatch = Map<string, { entry: SafetensorsEntry; layer: string }>;

/**
 * Matches a parsed safetensors file to the model's state_dict under the naming table's names
 * (torchvision's, timm's): every tensor by its key, checked for shape and for a dtype read as
 * float32 (F32, F16, BF16, F64); a norm's `num_batches_tracked` may be there or not, and is
 * checked to be an integer but not kept. `name` names the file in messages. Returns where
 * each of resnetc's tensors lies. Throws TorchWeightsError: R1005 a tensor the spec needs is
 * missing, R1006 the file has a tensor the spec does not, R1007 a tensor of another shape,
 * R1002 a weight that is not floating-point; each names the key and the spec's layer.
 */
export function matchStateDict(file: SafetensorsFile, model: CheckedModel, name: string): StateDictMatch {
  const expected = torchStateDict(model);
  const known = new Set(expected.map((e) => e.key));
  // In the order of their data, batch counters last: the weights say more.
  const extra = [...file.tensors.keys()].filter((k) => !known.has(k)).sort((a, b) => Number(a.endsWith('num_batches_tracked')) - Number(b.endsWith('num_batches_tracked')));
  const otherNetwork = `the file holds another network than ${model.name}: compile the spec that describes the file's`;

  const matched: StateDictMatch = new Map();
  for (const e of expected) {
    const t = file.tensors.get(e.key);
    if (!t) {
      if (e.role === 'num_batches_tracked') continue;
      const prefixed = extra.find((k) => k.endsWith(`.${e.key}`));
      const help = prefixed
        ? `the file's names have a prefix ('${prefixed}'): save the unwrapped model's state_dict (e.g. model.module.state_dict() after DistributedDataParallel)`
        : extra.length > 0
          ? `it has ${someOf(extra)} instead (${extra.length === 1 ? 'a tensor' : `${extra.length} tensors`} ${model.name} does not have): ${otherNetwork}`
          : otherNetwork;
      throw new TorchWeightsError('R1005', `${name} has no tensor ${describe(e)}, which ${model.name} needs`, help, e.layer);
    }
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new TorchWeightsError('R1007', `${describe(e)} is [${t.shape.join(', ')}] in ${name}; ${model.name} needs [${e.shape.join(', ')}]`, otherNetwork, e.layer);
    }
    if (e.name === undefined) {
      if (!/^[IU]\d+$/.test(t.dtype)) throw new TorchWeightsError('R1002', `in ${name}, ${describe(e)} is ${t.dtype}; a batch count is an integer`, 'save the state_dict as PyTorch gives it (int64)', e.layer);
      continue;
    }
    if (!floatDtypes.includes(t.dtype)) {
      throw new TorchWeightsError('R1002', `in ${name}, '${t.name}' is ${t.dtype}; a weight must be a floating-point tensor (${floatDtypes.join(', ')})`, 'convert it in PyTorch with tensor.float()', e.layer);
    }
    matched.set(e.name, { entry: t, layer: e.layer });
  }
  if (extra.length > 0) {
    throw new TorchWeightsError('R1006', `${name} has ${extra.length === 1 ? 'a tensor' : `${extra.length} tensors`} that ${model.name} does not have: ${someOf(extra)}`, otherNetwork);
  }
  return matched;
}

/**
 * A model's weights from a safetensors file holding its PyTorch state_dict (see
 * matchStateDict), or from its bytes, all converted to float32 at once (the safetensors
 * source of open.ts decodes them one at a time instead). `label` names the bytes in messages
 * (a path is named by itself). Returns a WeightSet in resnetc's names and PyTorch's layouts.
 * Throws TorchWeightsError: R1000 a pickled PyTorch file, R1001–R1004 a file that is not valid
 * safetensors (see parseSafetensors), R1002, R1005–R1007 (matchStateDict); R0816
 * (validate.ts) for a NaN, an infinity or a negative running variance; FileError
 * (src/io/read.ts) when the path cannot be read.
 */
export function readSafetensorsWeights(source: string | Uint8Array, model: CheckedModel, label?: string): WeightSet {
  const name = label ?? (typeof source === 'string' ? `'${source}'` : 'the weights');
  const file = parseSafetensors(typeof source === 'string' ? readWeightsBytes(source) : source, name);
  const weights: WeightSet = new Map();
  for (const [tensor, { entry, layer }] of matchStateDict(file, model, name)) weights.set(tensor, tensorAsFloat32(file, entry, name, layer));
  return checkWeightSet(weights, name);
}
