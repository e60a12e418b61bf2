import * as tf from '../tfjs/tf.js';
import { CodedError } from '../diagnostics/coded-error.js';
import { readInputFile } from '../io/read.js';
import type { CheckedModel } from '../model/types.js';
import { buildTfjsModel } from '../tfjs/build.js';
import { setWeights } from '../tfjs/weights.js';
import { lastOutput } from '../train/train.js';
import { loadOptional } from '../util/optional.js';
import { nhwcToNchw } from '../weights/layout.js';
import { openWeightSource } from '../weights/open.js';
import { WeightSourceError } from '../weights/source.js';

/**
 * A trained classifier that `eval` and `predict` run: the spec's tfjs model with weights
 * from a file, or an ONNX file in ONNX Runtime. Both take batches as the training
 * pipeline makes them (NHWC float32, normalised) and give logits [N, classes].
 */
export interface Classifier {
  /** What runs it, for messages: `tfjs`, `ONNX Runtime`. */
  runtime: string;
  /** Logits of `n` images `x` (NHWC, the model's input), [n, classes] row-major. */
  logits(x: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** An ONNX model that does not fit the spec: another input, another number of classes, or one ONNX Runtime cannot run (R0662). */
export class OnnxModelError extends CodedError {
  constructor(message: string) {
    super('R0662', message, "give an ONNX file exported from this spec (resnetc compile FILE --target onnx), or --runtime tfjs to read its weights into the spec's model");
  }
}

/**
 * The spec's tfjs model (inference mode) with the weights of `weights`, read as `--weights`
 * is read everywhere (openWeightSource: ONNX, safetensors or a tfjs model folder), but as
 * they are: a head of other classes or a first convolution of other input channels is
 * refused (R1011, R1012), never initialised afresh or adapted, since eval and predict
 * would then report a network that was never trained. The caller has chosen the tfjs
 * backend. Throws openWeightSource's coded errors.
 */
export async function tfjsClassifier(model: CheckedModel, weights: string): Promise<Classifier> {
  let values;
  try {
    values = await openWeightSource(weights, model, { strict: true });
  } catch (e) {
    if (e instanceof WeightSourceError && (e.code === 'R1011' || e.code === 'R1012')) {
      throw new WeightSourceError(e.code, e.message, 'eval and predict run the weights as they are: give weights trained for this spec');
    }
    throw e;
  }
  const net = buildTfjsModel(model);
  setWeights(net, model, values);
  const { c, h, w } = model.input;
  return {
    runtime: 'tfjs',
    logits: async (x, n) =>
      tf.tidy(() => {
        const out = lastOutput(net.apply(tf.tensor4d(x, [n, h, w, c]), { training: false }) as tf.Tensor | tf.Tensor[]);
        return out.dataSync() as Float32Array;
      }),
    dispose: async () => {
      net.dispose();
    },
  };
}

type Ort = typeof import('onnxruntime-node');

/**
 * An ONNX file run by ONNX Runtime (onnxruntime-node, an optional package: R0940 when it
 * is not installed), read through src/io's rules for weights. Its first input takes the
 * batch as NCHW (resnetc's exports name it `input`), its first output gives the logits;
 * both are checked against the spec's input and classes on the first batch (R0662).
 */
export async function onnxClassifier(model: CheckedModel, path: string): Promise<Classifier> {
  const ort = await loadOptional<Ort>('onnxruntime-node');
  const bytes = readInputFile(path, 'weights');
  let session: Awaited<ReturnType<Ort['InferenceSession']['create']>>;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (e) {
    throw new OnnxModelError(`ONNX Runtime cannot load '${path}': ${firstLine(e)}`);
  }
  const { c, h, w } = model.input;
  const classes = model.classes ?? 0;
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  return {
    runtime: 'ONNX Runtime',
    logits: async (x, n) => {
      let result;
      try {
        result = await session.run({ [input]: new ort.Tensor('float32', nhwcToNchw(x, n, c, h, w), [n, c, h, w]) });
      } catch (e) {
        throw new OnnxModelError(`'${path}' does not run on ${n} images of ${c}x${h}x${w} (the spec's input): ${firstLine(e)}`);
      }
      const t = result[output]!;
      if (t.dims.length !== 2 || t.dims[0] !== n || t.dims[1] !== classes || t.type !== 'float32') {
        throw new OnnxModelError(`'${path}' gives ${t.type} [${t.dims.join(', ')}] for ${n} images; the spec's model gives [${n}, ${classes}] float32 logits`);
      }
      return t.data as Float32Array;
    },
    dispose: () => session.release(),
  };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
