import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CodedError } from '../../src/diagnostics/coded-error.js';
import type { CheckedModel } from '../../src/model/types.js';
import { emitOnnx } from '../../src/onnx/index.js';
import { inputConv } from '../../src/weights/adapt.js';
import { initialWeightSource } from '../../src/weights/init.js';
import { openWeightSource } from '../../src/weights/open.js';
import { stateDictBytes, stateDictMetadata } from '../../src/weights/state-dict.js';
import { removeScratch, scratch } from '../faults/io-helpers.js';
import { checkText, randomWeights } from '../onnx/helpers.js';

/**
 * `--weights PATH` as a source (src/weights/open.ts): the format picked from the file's bytes
 * or a folder's entries, every file of no format refused saying what it looks like and what
 * is read (never a decoder's internals), PyTorch's pickles refused with how to convert them,
 * and pretrained weights that differ from the spec only at its ends adapted (a head of other
 * classes initialised afresh, an RGB first convolution adapted as timm's adapt_input_conv
 * does) or, under `strict`, refused. The adaptations are also held to PyTorch (and to timm's
 * function, as its source reads) in test/torch/state-dict.test.ts.
 */

const spec = (input: string, classes: number): string => `model tiny {
  input ${input}
  classes ${classes}
  stem { conv 3x3 8 }
  block basic
  stage a { blocks 1  width 8 }
}
`;
const rgb = checkText(spec('3x8x8', 5));
const dir = scratch();
afterAll(removeScratch);
const file = (name: string, bytes: Uint8Array | string): string => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

async function refusal(path: string, model: CheckedModel = rgb, strict = false): Promise<CodedError> {
  try {
    await openWeightSource(path, model, { strict });
  } catch (e) {
    if (e instanceof CodedError) return e;
    throw e;
  }
  throw new Error(`'${path}' was read`);
}

const accepted = '--weights reads a safetensors state_dict (.safetensors), an ONNX model (.onnx) or a tfjs model folder (with model.json)';
const bytes = (...parts: (number[] | string)[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe('a file of no format --weights reads', () => {
  const zipHeader = (member: string): number[] => [0x50, 0x4b, 0x03, 0x04, ...new Array<number>(22).fill(0), member.length, 0, 0, 0, ...[...member].map((c) => c.charCodeAt(0))];
  it.each([
    ['an empty file', 'w.bin', bytes([])],
    ['a ZIP archive', 'w.zip', bytes(zipHeader('weights.txt'))],
    ['a NumPy .npz archive', 'w.npz', bytes(zipHeader('conv1.npy'))],
    ['a Keras .keras archive', 'w.keras', bytes(zipHeader('metadata.json'))],
    ["an HDF5 file (Keras's .h5 format)", 'w.h5', bytes([0x89], 'HDF\r\n', [0x1a, 0x0a, 0, 0, 0, 0])],
    ['a NumPy .npy array', 'w.npy', bytes([0x93], 'NUMPY', [1, 0])],
    ['a gzip-compressed file', 'w.gz', bytes([0x1f, 0x8b, 8, 0, 0, 0])],
    ['a TensorFlow Lite model', 'w.tflite', bytes([0x1c, 0, 0, 0], 'TFL3', [0, 0])],
    ['a GGUF model', 'w.gguf', bytes('GGUF', [3, 0, 0, 0])],
    ['a PNG image', 'w.png', bytes([0x89], 'PNG\r\n', [0x1a, 0x0a])],
    ['a JPEG image', 'w.jpg', bytes([0xff, 0xd8, 0xff, 0xe0])],
    ['JSON text', 'w.json', '{"conv1.weight": [1, 2]}'],
    ['text', 'w.txt', 'conv1.weight 1 2 3\n'],
    ['binary data of no format resnetc knows', 'w.bin', bytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x07, 0x07, 0x07])],
  ])('%s is R1008, saying what it looks like and what is read', async (what, name, content) => {
    const path = file(name, content);
    const e = await refusal(path);
    expect([e.code, e.message, e.help]).toEqual(['R1008', `'${path}' is ${what}: resnetc does not read it as weights`, accepted]);
  });

  it('a text file named .onnx or .safetensors is R1008 too, saying the name is not what it is', async () => {
    for (const name of ['notes.onnx', 'notes.safetensors']) {
      const path = file(name, 'these are not weights\n');
      const e = await refusal(path);
      expect([e.code, e.message]).toEqual(['R1008', `'${path}' is text, though named ${name.slice(name.indexOf('.'))}: resnetc does not read it as weights`]);
    }
  });

  it("a damaged file named .onnx is the ONNX format's R0502, without the protobuf decoder's words", async () => {
    // Field 1 (the IR version) as a varint, then a field of wire type 4 (a group end), which protobufjs reports as "invalid wire type 4 at offset 2".
    const path = file('cut.onnx', bytes([0x08, 0x07, 0x0c, 0xff, 0xff]));
    const e = await refusal(path);
    expect(e.code).toBe('R0502');
    expect(e.message).not.toMatch(/wire type|offset|index out of range/);
    expect(e.message).toContain('cannot be decoded as an ONNX model');
  });

  it('a folder without model.json is R1008, naming a weights file inside it where it has one', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect([(await refusal(empty)).code, (await refusal(empty)).message, (await refusal(empty)).help]).toEqual(['R1008', `'${empty}' is a folder without a tfjs model (no model.json)`, accepted]);
    const holding = join(dir, 'holding');
    mkdirSync(holding);
    writeFileSync(join(holding, 'resnet18.safetensors'), '');
    expect((await refusal(holding)).help).toBe(`name the file inside it: 'resnet18.safetensors'; ${accepted}`);
  });
});

describe("PyTorch's pickles", () => {
  it.each([
    ['a torch.save zip archive (archive/data.pkl first)', 'model.bin', bytes([0x50, 0x4b, 0x03, 0x04, ...new Array<number>(22).fill(0), 16, 0, 0, 0], 'archive/data.pkl'), 'a zip archive'],
    ['any zip archive named .pth', 'model.pth', bytes([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]), 'a zip archive'],
    ['a legacy pickle named .pt', 'model.pt', bytes([0x80, 0x02, 0x8a, 0x0a]), 'a Python pickle'],
  ])('%s is R1000, saying how to convert it to safetensors', async (_what, name, content, kind) => {
    const path = file(name, content);
    const e = await refusal(path);
    expect(e.code).toBe('R1000');
    expect(e.message).toBe(`'${path}' is ${kind}, PyTorch's ${kind === 'a zip archive' ? 'torch.save format' : 'legacy torch.save format'} (.pth/.pt): resnetc does not read pickles, which can run code when loaded`);
    expect(e.help).toContain('safetensors.torch.save_file(model.state_dict(), "weights.safetensors")');
  });
});

describe('pretrained weights that differ from the spec at its ends', () => {
  const classes10 = checkText(spec('3x8x8', 10));
  const dense = (m: CheckedModel): string => m.head!.layers.find((l) => l.op === 'dense')!.name;
  const weights = randomWeights(rgb, 4);
  const onnxPath = file('rgb5.onnx', emitOnnx(rgb, weights));
  const safetensorsPath = file('rgb5.safetensors', stateDictBytes(rgb, weights, stateDictMetadata(rgb, 'test')));

  for (const [format, path] of [
    ['ONNX', onnxPath],
    ['safetensors', safetensorsPath],
  ]) {
    it(`${format}: a head of other classes is initialised afresh (said once, R1009), every other tensor loaded; strict refuses it (R1011)`, async () => {
      const source = await openWeightSource(path!, classes10, { seed: 7 });
      expect(source.notes.map((n) => n.code)).toEqual(['R1009']);
      expect(source.notes[0]!.message).toBe(`'${path}' has a head of 5 classes, tiny 10: ${dense(classes10)} initialised afresh (torchvision's initialisation, seed 7), every other tensor loaded`);
      const fresh = initialWeightSource(classes10, { seed: 7 });
      for (const t of ['weight', 'bias']) expect(source.get(`${dense(classes10)}.${t}`)).toEqual(fresh.get(`${dense(classes10)}.${t}`));
      for (const [name, values] of weights) if (!name.startsWith(dense(rgb))) expect(source.get(name), name).toEqual(values);
      const e = await refusal(path!, classes10, true);
      expect([e.code, e.message]).toEqual(['R1011', `'${path}' has a head of 5 classes; tiny has 10`]);
    });
  }

  it("an RGB first convolution into 1 channel: its filters summed over R, G and B (R1010); into 4: repeated and scaled by 3/4; strict refuses it (R1012)", async () => {
    const conv = `${inputConv(rgb)!.name}.weight`;
    const w = weights.get(conv)!;
    const area = 9;
    for (const c of [1, 4]) {
      const model = checkText(spec(`${c}x8x8`, 5));
      const source = await openWeightSource(safetensorsPath, model);
      expect(source.notes.map((n) => n.code)).toEqual(['R1010']);
      const got = source.get(conv)!;
      expect(got.length).toBe(8 * c * area);
      // Spot values by hand: output filter o, input channel i, kernel position p.
      for (const [o, i, p] of [
        [0, 0, 0],
        [3, c - 1, 4],
        [7, 0, 8],
      ] as const) {
        const at = (ch: number): number => w[(o * 3 + ch) * area + p]!;
        const expected = c === 1 ? Math.fround(at(0) + at(1) + at(2)) : Math.fround(at(i % 3) * 0.75);
        expect(got[(o * c + i) * area + p]).toBe(expected);
      }
      for (const [name, values] of weights) if (name !== conv) expect(source.get(name), name).toEqual(values);
      expect((await refusal(safetensorsPath, model, true)).code).toBe('R1012');
    }
  });

  it('input channels other than RGB are not adapted but refused (R1013), as timm refuses them', async () => {
    const two = checkText(spec('2x8x8', 5));
    const twoPath = file('two.safetensors', stateDictBytes(two, randomWeights(two, 5), stateDictMetadata(two, 'test')));
    const e = await refusal(twoPath, checkText(spec('4x8x8', 5)));
    expect(e.code).toBe('R1013');
    expect(e.message).toContain("timm's adapt_input_conv adapts RGB weights (3 channels) to any other count, and up to 3 channels to 1");
    // Up to 3 channels into 1 are summed, as timm does.
    const one = await openWeightSource(twoPath, checkText(spec('1x8x8', 5)));
    expect(one.notes.map((n) => n.code)).toEqual(['R1010']);
  });

  it('weights of the same network need no note; the seeded source alone has the folded-norm capability', async () => {
    const source = await openWeightSource(onnxPath, rgb);
    expect([source.notes, source.format, source.scaling]).toEqual([[], 'onnx', null]);
    expect(initialWeightSource(rgb, { seed: 0 }).scaling).not.toBeNull();
  });
});
