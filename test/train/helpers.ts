import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An IDX file of unsigned bytes with the given dimensions (big-endian, as MNIST's). */
export function idx(dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** A directory of IDX files in the MNIST layout: images [N, H, W, C] bytes (NHWC) and labels, for both splits. */
export function writeIdxData(dir: string, shape: [number, number, number], train: { images: Uint8Array; labels: Uint8Array }, test = train): void {
  const [c, h, w] = shape;
  for (const [prefix, split] of [['train', train], ['t10k', test]] as const) {
    const n = split.labels.length;
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), idx(c === 1 ? [n, h, w] : [n, h, w, c], split.images));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idx([n], split.labels));
  }
}

/**
 * Named float32 tensors as two files, the format the PyTorch scripts read and write:
 * `STEM.json` ({name: [shape, offset in values]}) and `STEM.bin` (little-endian float32).
 */
export function writeTensors(stem: string, tensors: Iterable<[string, number[], ArrayLike<number>]>): void {
  const header: Record<string, [number[], number]> = {};
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`${name}: ${data.length} values for shape ${shape.join('x')}`);
    header[name] = [shape, offset];
    parts.push(Float32Array.from(data));
    offset += data.length;
  }
  const all = new Float32Array(offset);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  writeFileSync(`${stem}.json`, JSON.stringify(header));
  writeFileSync(`${stem}.bin`, new Uint8Array(all.buffer));
}

/** The tensors writeTensors wrote (or torch_train.py), by name. */
export function readTensors(stem: string): Map<string, { shape: number[]; data: Float32Array }> {
  const header = JSON.parse(readFileSync(`${stem}.json`, 'utf8')) as Record<string, [number[], number]>;
  const bytes = readFileSync(`${stem}.bin`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, [shape, offset]] of Object.entries(header)) out.set(name, { shape, data: all.subarray(offset, offset + shape.reduce((a, b) => a * b, 1)) });
  return out;
}

/**
 * Small specs that together use every construct of the language: post- and
 * pre-activation, every block kind, shortcuts A–D (D with and without its pool), groups
 * (blocks and stem), SE (both families), dropout, max and average stem pools on odd and
 * even sizes, even kernels (convolution and pools), `stride_on 1x1`, norm options, and a
 * model without a head; and the backbone statements: SiLU, LeakyReLU with its slope, GELU
 * and Mish (SE's inner activation too), group norm, `output_stride` and stage `dilation`
 * (a dilated convolution with stride 2 among them), stem `pad`, the pools max, avgmax and
 * catavgmax, `drop_path 0` and `outputs` with the logits last. `pre_pool` is issue 10's: a bare stem convolution feeding a max
 * pool negative values.
 */
export const constructSpecs: Record<string, string> = {
  pre_pool: `model pre_pool {
  input 3x8x8
  classes 4
  stem { conv 3x3 4  maxpool 2x2 stride 2 }
  block preact-basic
  stage s1 { blocks 1  width 4 }
}
`,
  pre_a: `model pre_a {
  input 3x9x9
  classes 3
  dropout 0.25
  stem { conv 3x3 4  maxpool 3x3 stride 2 }
  block preact-basic { se 2 }
  shortcut A
  stage a { blocks 1  width 4 }
  stage b { blocks 1  width 6  stride 2 }
}
`,
  post_basic: `model post_basic {
  input 3x8x8
  classes 5
  norm batch { eps 1e-3  momentum 0.2 }
  stem { conv 4x4 6 stride 2  maxpool 2x2 stride 1 }
  block basic
  shortcut B
  stage a { blocks 2  width 6 }
  stage b { blocks 1  width 8  stride 2  block basic { se 4 } }
}
`,
  post_bottleneck: `model post_bottleneck {
  input 3x9x9
  classes 4
  stem { conv 3x3 8  avgpool 3x3 stride 2 }
  block bottleneck { groups 2  width_per_group 32  stride_on 1x1  expansion 2 }
  shortcut C
  stage a { blocks 1  width 8 }
  stage b { blocks 1  width 8  stride 2  shortcut D }
}
`,
  pre_bottleneck: `model pre_bottleneck {
  input 4x12x12
  stem { conv 3x3 8 stride 2 groups 2  avgpool 2x2 stride 2 }
  block preact-bottleneck { se 4  groups 2 }
  shortcut D
  stage a { blocks 1  width 4 }
  stage b { blocks 1  width 4  stride 2 }
}
`,
  bb_silu_gn: `model bb_silu_gn {
  input 3x32x32
  classes 4
  activation silu
  norm group { groups 2 }
  output_stride 8
  stem { conv 3x3 8 stride 2  avgpool 3x3 stride 2 }
  block bottleneck { se 2  expansion 2 }
  stage a { blocks 1  width 4 }
  stage b { blocks 1  width 4  stride 2 }
  stage c { blocks 2  width 4  stride 2 }
  stage d { blocks 1  width 4  stride 2 }
}
`,
  bb_leaky_dil: `model bb_leaky_dil {
  input 3x29x29
  classes 3
  activation leaky_relu 0.2
  pool max
  stem { conv 4x4 6 stride 2 pad 1  maxpool 3x3 stride 2 pad 0 }
  block preact-basic
  stage a { blocks 1  width 6  dilation 2 }
  stage b { blocks 1  width 8  stride 2 }
}
`,
  bb_gelu: `model bb_gelu {
  input 3x16x16
  classes 5
  activation gelu
  norm group { groups 1  eps 1e-3 }
  pool avgmax
  stem { conv 3x3 6 stride 2 }
  block basic
  stage a { blocks 1  width 6  dilation 2 }
  stage b { blocks 2  width 8  stride 2  dilation 3 }
}
`,
  bb_mish: `model bb_mish {
  input 3x10x10
  classes 4
  activation mish
  pool catavgmax
  drop_path 0
  outputs a logits
  stem { conv 3x3 8  avgpool 3x3 stride 2 pad 0 }
  block bottleneck { groups 2  width_per_group 32  expansion 2 }
  stage a { blocks 1  width 8 }
  stage b { blocks 1  width 8  stride 2 }
}
`,
};
