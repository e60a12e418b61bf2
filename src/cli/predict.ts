import type { Command } from 'commander';
import { decodeImage } from '../images/decode.js';
import { evalGeometry, writeModelInput } from '../images/preprocess.js';
import { type Ranked, topClasses } from '../infer/metrics.js';
import { type InferenceFlags, inferenceOptions, openInference, positiveOption } from './inference.js';
import type { Output } from './output.js';

interface PredictFlags extends InferenceFlags {
  top: string;
  batchSize: string;
}

export function registerPredict(program: Command, out: Output): void {
  inferenceOptions(program.command('predict').argument('<file>', 'a .resnet file').argument('<images...>', 'image files (JPEG, PNG, WebP, TIFF, GIF)'))
    .option('--top <k>', 'classes shown per image', '5')
    .option('--batch-size <n>', 'images per batch', '64')
    .option('--json', 'print the predictions as JSON')
    .action(async (file: string, images: string[], flags: PredictFlags) => {
      const top = positiveOption('--top', flags.top);
      const batchSize = positiveOption('--batch-size', flags.batchSize);
      const inf = await openInference(file, flags, out, 'predict');
      try {
        const { c, h, w } = inf.preprocess.input;
        const size = c * h * w;
        const results: { file: string; top: (Ranked & { name: string })[] }[] = [];
        for (let start = 0; start < images.length; start += batchSize) {
          const paths = images.slice(start, start + batchSize);
          const x = new Float32Array(paths.length * size);
          // Decoded together (on libuv's threads), written in order; the first unreadable image stops the command with its code.
          const decoded = await Promise.all(paths.map((path) => decodeImage(path, (height, width) => evalGeometry(inf.preprocess, height, width))));
          decoded.forEach((image, i) => writeModelInput(image, inf.preprocess, x, i * size));
          const logits = await inf.classifier.logits(x, paths.length);
          paths.forEach((path, i) => results.push({ file: path, top: topClasses(logits, i * inf.classes, inf.classes, top).map((r) => ({ ...r, name: inf.name(r.index) })) }));
        }
        if (flags.json) {
          out.out(`${JSON.stringify({ model: inf.model.name, runtime: inf.classifier.runtime, predictions: results.map((r) => ({ file: r.file, top: r.top.map((t) => ({ class: t.index, name: t.name, probability: t.probability })) })) })}\n`);
          return;
        }
        for (const r of results) {
          const width = Math.max(...r.top.map((t) => t.name.length));
          out.out(`${r.file}\n${r.top.map((t, k) => `  ${k + 1}. ${t.name.padEnd(width)}  ${(t.probability * 100).toFixed(2).padStart(6)}%`).join('\n')}\n`);
        }
      } finally {
        await inf.classifier.dispose();
      }
    });
}
