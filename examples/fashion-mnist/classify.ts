/**
 * Classifies Fashion-MNIST test images with ONNX Runtime, using the ONNX file exported
 * from the model `resnetc train` trained:
 *
 *   npx tsx examples/fashion-mnist/classify.ts runs/fashion/fashion.onnx /usr/share/datasets/fashion-mnist
 *
 * Pixels go in as value/255, exactly as in training: nothing else is done to them outside
 * the model, so the exported network classifies raw [0,1] images as the trained one did.
 */
import * as ort from 'onnxruntime-node';
import { loadData } from '../../src/train/data.js';

const classNames = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const [onnxPath, dataDir = '/usr/share/datasets/fashion-mnist', limitText] = process.argv.slice(2);
if (!onnxPath) {
  console.error('usage: classify.ts MODEL.onnx [FASHION_MNIST_DIR] [N]');
  process.exit(2);
}

const data = loadData(dataDir, { input: { c: 1, h: 28, w: 28 }, classes: 10, ...(limitText ? { limit: Number(limitText) } : {}) });
const test = data.test;
const session = await ort.InferenceSession.create(onnxPath);
const size = 28 * 28;
const batch = 500;
let correct = 0;
const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
const started = performance.now();
for (let start = 0; start < test.count; start += batch) {
  const n = Math.min(batch, test.count - start);
  const x = new Float32Array(n * size);
  for (let i = 0; i < x.length; i++) x[i] = test.images[start * size + i]! / 255;
  const out = await session.run({ input: new ort.Tensor('float32', x, [n, 1, 28, 28]) });
  const logits = out['output']!.data as Float32Array;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (logits[i * 10 + k]! > logits[i * 10 + best]!) best = k;
    const label = test.labels[start + i]!;
    if (best === label) correct++;
    confusion[label]![best]!++;
    if (start + i < 8) console.log(`test image ${start + i}: predicted ${classNames[best]}, labelled ${classNames[label]}`);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(`ONNX Runtime: ${correct}/${test.count} correct, accuracy ${((100 * correct) / test.count).toFixed(2)}% (${(test.count / seconds).toFixed(0)} images/s)`);
for (let k = 0; k < 10; k++) console.log(`  ${classNames[k]!.padEnd(12)} ${((100 * confusion[k]![k]!) / confusion[k]!.reduce((a, b) => a + b, 0)).toFixed(1)}%`);
await session.release();
