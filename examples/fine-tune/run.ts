/**
 * Fine-tunes torchvision's resnet18 on a folder of your own images, checks it, deploys it,
 * and gives the weights back to PyTorch:
 *
 *     npx tsx examples/fine-tune/run.ts [--small] [--out DIR]
 *
 * 1. make_folder.py writes an image folder from Fashion-MNIST (train/CLASS/*.png,
 *    val/CLASS/*.png, held/*.png);
 * 2. export_resnet18.py writes torchvision's resnet18 (1000 classes) as safetensors;
 * 3. `resnetc train fashion.resnet --weights resnet18.safetensors --data DATA` loads every
 *    layer but the head (10 classes here), which it initialises afresh and says so, and
 *    fine-tunes on the folder;
 * 4. `resnetc eval` measures it on val/, `resnetc predict` classifies the held images;
 * 5. `resnetc compile --target onnx` and `--target safetensors` export it;
 * 6. load_back.py loads the safetensors file into torchvision's resnet18(num_classes=10)
 *    with strict=True: its logits must equal ONNX Runtime's on the ONNX export (within
 *    1e-4 of the largest), and its top-1 on val/, measured with torchvision's own
 *    transforms and ImageFolder, must equal what `resnetc eval` reported.
 *
 * `--small` (the test's setting) uses 20 training and 10 validation images per class and
 * one epoch; the default 100 and 30, and 3 epochs. Exits 1 when a check fails.
 * Needs a Python with torch and torchvision (scripts/python.ts finds it), sharp (an
 * optional peer dependency of resnetc) and onnxruntime-node.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { missingPython, pythonWith } from '../../scripts/python.js';

const root = join(import.meta.dirname, '..', '..');
const here = import.meta.dirname;
const python = pythonWith(['torch', 'torchvision', 'PIL']);
if (!python) {
  console.error(`this example needs a Python with torch, torchvision and PIL: ${missingPython(['torch', 'torchvision', 'PIL'])}`);
  process.exit(1);
}
const args = process.argv.slice(2);
const small = args.includes('--small');
const outAt = args.indexOf('--out');
const keep = outAt >= 0 ? args[outAt + 1] : undefined;
const [perClass, valPerClass, epochs] = small ? [20, 10, 1] : [100, 30, 3];
const spec = join(here, 'fashion.resnet');
const size = 64; // fashion.resnet's input: 3x64x64
const tolerance = 1e-4;

/** `resnetc …` as a user runs it (from the sources, so the example needs no build); its standard output. */
function resnetc(...cmd: string[]): string {
  console.log(`$ resnetc ${cmd.join(' ')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...cmd], { cwd: root, encoding: 'utf8' });
  process.stderr.write(r.stderr.split('\n').filter((l) => !l.includes('\r') && l.trim() !== '').map((l) => `  ${l}\n`).join(''));
  if (r.status !== 0) throw new Error(`resnetc ${cmd[0]} exited ${r.status}`);
  return r.stdout;
}

function py(script: string, ...rest: string[]): string {
  return execFileSync(python!, [join(here, script), ...rest], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

const dir = keep ?? mkdtempSync(join(tmpdir(), 'resnetc-fine-tune-'));
mkdirSync(dir, { recursive: true });
const data = join(dir, 'data');
const failures: string[] = [];
try {
  console.log(py('make_folder.py', data, String(perClass), String(valPerClass), '5'));
  const pretrained = join(dir, 'resnet18.safetensors');
  console.log(py('export_resnet18.py', pretrained));

  const run = join(dir, 'run');
  process.stdout.write(
    resnetc('train', spec, '--weights', pretrained, '--data', data, '--out', run, '--epochs', String(epochs), '--batch-size', '32', '--lr', '0.01', '--augment', '--seed', '0'),
  );
  const weights = join(run, 'model');

  const evaluated = JSON.parse(resnetc('eval', spec, '--weights', weights, '--data', data, '--json')) as { images: number; top1: number; top5: number; loss: number };
  const correct = Math.round(evaluated.top1 * evaluated.images);
  console.log(`  top-1 ${(100 * evaluated.top1).toFixed(1)}% (${correct} of ${evaluated.images}), top-5 ${(100 * evaluated.top5).toFixed(1)}%, loss ${evaluated.loss.toFixed(4)}`);

  const held = readdirSync(join(data, 'held')).sort().map((f) => join(data, 'held', f));
  const predicted = JSON.parse(resnetc('predict', spec, '--weights', weights, ...held, '--json')) as { predictions: { file: string; top: { name: string; probability: number }[] }[] };
  for (const p of predicted.predictions) {
    const truth = /-([a-z-]+)\.png$/.exec(p.file)![1];
    console.log(`  ${p.file.slice(data.length + 1)}: ${p.top[0]!.name} ${(100 * p.top[0]!.probability).toFixed(1)}% (it is a ${truth})`);
  }

  const onnxFile = join(dir, 'fashion.onnx');
  const safetensorsFile = join(dir, 'fashion.safetensors');
  resnetc('compile', spec, '--target', 'onnx', '--weights', weights, '-o', onnxFile);
  resnetc('compile', spec, '--target', 'safetensors', '--weights', weights, '-o', safetensorsFile);

  // The same batch through ONNX Runtime (resnetc's export) and torchvision (the safetensors export).
  const batch = 4;
  let seed = 1;
  const input = Float32Array.from({ length: batch * 3 * size * size }, () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed / 2 ** 31) * 4 - 2;
  });
  writeFileSync(join(dir, 'input.bin'), input);
  const session = await ort.InferenceSession.create(onnxFile);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, [batch, 3, size, size]) };
  const ours = (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array;
  const resize = Math.floor((size * 256) / 224);
  const said = py('load_back.py', safetensorsFile, '10', String(size), join(dir, 'input.bin'), join(dir, 'output.bin'), join(data, 'val'), String(resize));
  console.log(said.split('\n').map((l) => `  ${l}`).join('\n'));
  const bytes = readFileSync(join(dir, 'output.bin'));
  const theirs = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < theirs.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i]! - theirs[i]!));
    scale = Math.max(scale, Math.abs(theirs[i]!));
  }
  console.log(`torchvision's resnet18 with resnetc's safetensors export vs ONNX Runtime on resnetc's ONNX export: largest difference ${diff.toExponential(2)} (${(diff / scale).toExponential(2)} of the largest logit)`);
  if (!(diff / scale <= tolerance)) failures.push(`the outputs differ by ${(diff / scale).toExponential(2)} of the largest logit, over ${tolerance}`);
  const theirTop1 = /pytorch top-1 [\d.]+ \((\d+) of (\d+)\)/.exec(said);
  if (!theirTop1) failures.push('load_back.py printed no top-1');
  else if (Number(theirTop1[1]) !== correct || Number(theirTop1[2]) !== evaluated.images) {
    failures.push(`resnetc eval counted ${correct} of ${evaluated.images} correct, PyTorch ${theirTop1[1]} of ${theirTop1[2]}`);
  } else console.log(`resnetc eval and PyTorch agree: ${correct} of ${evaluated.images} validation images correct`);
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
if (failures.length > 0) {
  for (const f of failures) console.error(`FAILED: ${f}`);
  process.exit(1);
}
console.log('fine-tuned, evaluated, exported, and loaded back into torchvision with the same outputs');
