/**
 * Brings torchvision's resnet18 weights into specs/resnet18.resnet and checks that the
 * compiled graph computes what PyTorch computes:
 *
 *     npx tsx examples/pytorch-weights/compare.ts [MODEL]
 *
 * MODEL is resnet18 unless given: any torchvision ResNet the zoo has a spec for (resnet50,
 * resnext50_32x4d, wide_resnet50_2, …).
 *
 * 1. export_torchvision.py exports the PyTorch model to ONNX twice, with its norms kept and
 *    with torch.onnx.export's defaults (norms folded into the convolutions), and writes an
 *    input batch and PyTorch's output for it;
 * 2. `resnetc compile specs/MODEL.resnet --target onnx --weights …` imports the weights of
 *    each file, in the training form and in the --inference form;
 * 3. ONNX Runtime runs all four on the same batch; each must give PyTorch's output.
 *
 * Needs a Python with torch and torchvision (Debian: python3-torchvision); scripts/python.ts finds it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { missingPython, pythonWith } from '../../scripts/python.js';

const root = join(import.meta.dirname, '..', '..');
const python = pythonWith(['torch', 'torchvision']);
if (!python) {
  console.error(`this example needs a Python with torch and torchvision: ${missingPython(['torch', 'torchvision'])}`);
  process.exit(1);
}
const tolerance = 1e-4;
const name = process.argv[2] ?? 'resnet18';
const spec = join('specs', `${name}.resnet`);
if (!existsSync(join(root, spec))) {
  console.error(`there is no ${spec}: give the name of a torchvision ResNet in specs/`);
  process.exit(2);
}

const floats = (path: string): Float32Array => {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};

/** `resnetc …` as a user runs it (from the sources, so the example needs no build). */
function resnetc(...args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`resnetc ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

const dir = mkdtempSync(join(tmpdir(), 'resnetc-pytorch-weights-'));
try {
  console.log(`exporting torchvision ${name} with PyTorch, norms kept and folded…`);
  execFileSync(python, [join(import.meta.dirname, 'export_torchvision.py'), dir, name], { stdio: ['ignore', 'ignore', 'inherit'] });
  const input = floats(join(dir, 'input.bin'));
  const expected = floats(join(dir, 'output.bin'));
  const batch = input.length / (3 * 224 * 224);

  let worst = 0;
  const files = [
    ['norms kept', `torchvision_${name}.onnx`],
    ['norms folded by PyTorch', `torchvision_${name}_default.onnx`],
  ] as const;
  for (const [file, theirs] of files) {
    for (const form of ['training', 'inference'] as const) {
      const ours = join(dir, `${name}-${form}.onnx`);
      resnetc('compile', spec, '--target', 'onnx', '--weights', join(dir, theirs), '-o', ours, ...(form === 'inference' ? ['--inference'] : []));
      const session = await ort.InferenceSession.create(ours);
      const { output } = await session.run({ input: new ort.Tensor('float32', input, [batch, 3, 224, 224]) });
      const got = output!.data as Float32Array;
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < expected.length; i++) {
        diff = Math.max(diff, Math.abs(got[i]! - expected[i]!));
        scale = Math.max(scale, Math.abs(expected[i]!));
      }
      const top = (v: Float32Array, n: number): number => v.subarray(n * 1000, (n + 1) * 1000).reduce((best, x, i, a) => (x > a[best]! ? i : best), 0);
      const sameClass = Array.from({ length: batch }, (_, n) => top(got, n) === top(expected, n)).every(Boolean);
      const relative = diff / scale;
      worst = Math.max(worst, relative);
      console.log(`  ${file}, ${form} form: ${output!.dims.join('x')} logits, largest difference from PyTorch ${diff.toExponential(2)} (${relative.toExponential(2)} of the largest logit), same top class for every image: ${sameClass ? 'yes' : 'no'}`);
      await session.release();
    }
  }
  if (worst > tolerance) {
    console.error(`the outputs differ from PyTorch's by more than ${tolerance} relative`);
    process.exitCode = 1;
  } else console.log(`all four give PyTorch's outputs within ${tolerance} relative`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
