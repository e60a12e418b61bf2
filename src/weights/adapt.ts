import { layerTensors, tensorSize } from '../model/tensors.js';
import type { CheckedModel, ConvLayer, Layer } from '../model/types.js';
import { walkLayers } from '../model/walk.js';
import { initialWeightSource } from './init.js';
import { WeightSourceError, type WeightFormat, type WeightNote, type WeightSource } from './source.js';
import { checkWeightValues } from './validate.js';

/**
 * Pretrained weights into a spec that differs from the file's network only at its two ends,
 * as fine-tuning needs: another number of classes (the head is initialised afresh) or of
 * input channels (the first convolution's filters adapted as timm's `adapt_input_conv`
 * does). Anything else that differs is the format's own mismatch error, naming the tensor
 * and the layer. `--strict-weights` refuses both adaptations.
 */

/** What a weights file says about its network's two ends, at the places a model has them. */
export interface NetworkEnds {
  /** The input channels of the first convolution (a grouped one's weight times its groups). */
  channels?: number;
  /** The head's classes (the rows of its fully connected layer). */
  classes?: number;
}

/** A weights file read and checked, ready to be matched to a model: what a format's reader returns. */
export interface WeightFile {
  /** The file's ends at the places `model` has its first convolution and its head; undefined where the file has no such tensor or does not say. */
  ends(model: CheckedModel): NetworkEnds;
  /**
   * `model`'s tensors from the file, matched now (every mismatch is thrown here, with the
   * format's codes), decoded when asked: a new array each call, values as stored (unchecked).
   */
  match(model: CheckedModel): (name: string) => Float32Array | undefined;
}

/** The first convolution in execution order, whatever reads the input before it. */
export function firstConv(model: CheckedModel): ConvLayer | undefined {
  for (const { layer } of walkLayers(model)) if (layer.op === 'conv') return layer;
  return undefined;
}

/**
 * The convolution that alone reads the model's input, when there is one: a stem's first
 * convolution, ungrouped, after nothing but pools. Its input channels are what
 * adapt_input_conv changes.
 */
export function inputConv(model: CheckedModel): ConvLayer | undefined {
  for (const layer of model.stem) {
    if (layer.op === 'maxpool' || layer.op === 'avgpool') continue;
    return layer.op === 'conv' && layer.groups === 1 ? layer : undefined;
  }
  return undefined;
}

/**
 * The model as if it took `channels` input channels and had `classes` classes: the same
 * layers and names, only the input convolution's (and the pools' before it) input channels
 * and the head's fully connected layer's outputs changed. What a file of the pretrained
 * network is matched against. Counts are left as the spec's (nothing reads them).
 */
export function reshapedModel(model: CheckedModel, ends: NetworkEnds): CheckedModel {
  let out = model;
  if (ends.channels !== undefined && ends.channels !== model.input.c) {
    const conv = inputConv(model);
    if (!conv) throw new Error(`internal: ${model.name} has no input convolution to reshape`);
    const c = ends.channels;
    const stem: Layer[] = [];
    let before = true;
    for (const layer of model.stem) {
      if (!before) stem.push(layer);
      else if (layer === conv) {
        stem.push({ ...conv, in: { ...conv.in, c } });
        before = false;
      } else stem.push({ ...layer, in: { ...layer.in, c }, out: { ...layer.out, c } });
    }
    out = { ...out, input: { ...out.input, c }, stem };
  }
  if (ends.classes !== undefined && model.head && ends.classes !== model.head.classes) {
    const k = ends.classes;
    const head = { ...model.head, classes: k, layers: model.head.layers.map((l): Layer => (l.op === 'dense' ? { ...l, out: { ...l.out, c: k } } : l)) };
    out = { ...out, classes: k, head };
  }
  return out;
}

/** Whether timm's adapt_input_conv turns a weight of `from` input channels into one of `to`: RGB weights into any other count, and up to 3 channels into 1 (summed). */
export function adaptable(from: number, to: number): boolean {
  return (to === 1 && from <= 3) || (from === 3 && to !== 3);
}

/**
 * timm's `adapt_input_conv(in_chans, conv_weight)` (timm/models/_manipulate.py), for a
 * convolution weight OIHW [O, I, H, W] with I = `shape[1]`, to `channels` input channels:
 * for 1 channel, the sum over the I input channels; otherwise (from RGB, I = 3) the
 * channels repeated ceil(C/3) times, the first C kept, and every value times 3/C. Sums are
 * taken in double precision and rounded to float32 once (timm sums float32 tensors: the
 * two agree within float32 rounding). A new array [O, C, H, W].
 *
 * Throws (internal) where adaptable(I, C) is false.
 */
export function adaptInputConv(weight: Float32Array, shape: readonly number[], channels: number): Float32Array {
  const [o, i, h, w] = shape as [number, number, number, number];
  if (!adaptable(i, channels)) throw new Error(`internal: adapt_input_conv takes ${i} channels to 1, or 3 to any other count, not to ${channels}`);
  const area = h * w;
  const out = new Float32Array(o * channels * area);
  for (let a = 0; a < o; a++) {
    for (let p = 0; p < area; p++) {
      if (channels === 1) {
        let sum = 0;
        for (let b = 0; b < i; b++) sum += weight[(a * i + b) * area + p]!;
        out[a * area + p] = sum;
      } else {
        for (let b = 0; b < channels; b++) out[(a * channels + b) * area + p] = weight[(a * i + (b % i)) * area + p]! * (3 / channels);
      }
    }
  }
  return out;
}

export interface FitOptions {
  format: WeightFormat;
  /** The path, for messages and the report. */
  from: string;
  /** Seed of the head initialised afresh (torchvision's initialisation, as init.ts). */
  seed?: number;
  /** Refuse a head or an input of another size (R1011, R1012) instead of adapting. */
  strict?: boolean;
}

const quoted = (path: string): string => `'${path}'`;

/**
 * The file's weights as a source for `model`: matched as they are where the ends agree;
 * otherwise against the file's network (reshapedModel), the head then initialised afresh
 * (R1009, said once) and the input convolution adapted (R1010). Every value read is checked
 * (validate.ts, R0816).
 *
 * Throws WeightSourceError: R1011 / R1012 for a head / an input of another size under
 * `strict`; R1013 for input channels that cannot be adapted (not from RGB, or not read by
 * one ungrouped stem convolution); and the format's errors from matching.
 */
export function fitWeights(file: WeightFile, model: CheckedModel, o: FitOptions): WeightSource {
  const ends = file.ends(model);
  const classes = ends.classes !== undefined && model.head !== undefined && ends.classes !== model.head.classes ? ends.classes : undefined;
  const channels = ends.channels !== undefined && ends.channels !== model.input.c ? ends.channels : undefined;
  const name = quoted(o.from);
  const notes: WeightNote[] = [];
  const seed = o.seed ?? 0;
  const headTensors = new Set<string>();
  if (classes !== undefined) {
    if (o.strict) {
      throw new WeightSourceError('R1011', `${name} has a head of ${classes} classes; ${model.name} has ${model.head!.classes}`, `without --strict-weights the head is initialised afresh and every other tensor loaded; or write \`classes ${classes}\` in the spec`);
    }
    const dense = model.head!.layers.filter((l) => l.op === 'dense');
    for (const layer of dense) for (const t of layerTensors(layer)) headTensors.add(t.name);
    notes.push({
      code: 'R1009',
      message: `${name} has a head of ${classes} classes, ${model.name} ${model.head!.classes}: ${dense.map((l) => l.name).join(', ')} initialised afresh (torchvision's initialisation, seed ${seed}), every other tensor loaded`,
      help: '--strict-weights refuses weights whose head differs',
    });
  }
  const conv = inputConv(model);
  if (channels !== undefined) {
    if (o.strict) {
      throw new WeightSourceError('R1012', `${name} takes ${channels} input channels; ${model.name} takes ${model.input.c}`, `without --strict-weights the first convolution's filters are adapted as timm's adapt_input_conv does; or write \`input ${channels}x${model.input.h}x${model.input.w}\``);
    }
    if (!conv) {
      throw new WeightSourceError('R1013', `${name} takes ${channels} input channels and ${model.name} ${model.input.c}, but ${model.name}'s input is not read by one ungrouped convolution at the start of its stem, whose filters could be adapted`, `write \`input ${channels}x${model.input.h}x${model.input.w}\`, or give weights of ${model.input.c} input channels`);
    }
    if (!adaptable(channels, model.input.c)) {
      throw new WeightSourceError(
        'R1013',
        `${name}'s ${conv.name} takes ${channels} input channels and ${model.name} ${model.input.c}: timm's adapt_input_conv adapts RGB weights (3 channels) to any other count, and up to 3 channels to 1, nothing else`,
        `write \`input ${channels}x${model.input.h}x${model.input.w}\`, or give weights of ${model.input.c} input channels`,
      );
    }
    const how = model.input.c === 1 ? `its filters summed over the ${channels} channels` : `its ${channels} channels' filters repeated to ${model.input.c} and scaled by 3/${model.input.c}`;
    notes.push({ code: 'R1010', message: `${name} takes ${channels} input channels, ${model.name} ${model.input.c}: ${conv.name} adapted as timm's adapt_input_conv does (${how})`, help: '--strict-weights refuses weights of another number of input channels' });
  }
  const matched = file.match(reshapedModel(model, { ...(channels !== undefined ? { channels } : {}), ...(classes !== undefined ? { classes } : {}) }));
  const fresh = headTensors.size > 0 ? initialWeightSource(model, { seed }) : undefined;
  const adapted = channels !== undefined ? `${conv!.name}.weight` : undefined;
  const get = (tensor: string): Float32Array | undefined => {
    if (fresh && headTensors.has(tensor)) return fresh.get(tensor);
    let values = matched(tensor);
    if (values === undefined) return undefined;
    if (tensor === adapted) {
      const shape = [conv!.out.c, channels!, conv!.kernel[0], conv!.kernel[1]];
      if (values.length !== tensorSize(shape)) throw new Error(`internal: ${tensor} has ${values.length} values, not ${tensorSize(shape)}`);
      values = adaptInputConv(values, shape, model.input.c);
    }
    checkWeightValues(tensor, values, o.from);
    return values;
  };
  return { get, format: o.format, from: o.from, fresh: true, scaling: null, notes };
}
