import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonWith } from '../../scripts/python.js';
import { root } from '../helpers/cli.js';

const python = pythonWith(['torch', 'torchvision', 'PIL']);

// examples/fine-tune end to end at its small setting: a 1000-class resnet18 (safetensors,
// torchvision's names) fine-tuned into 10 classes on a Fashion-MNIST image folder,
// evaluated, classifying held images, exported, and loaded back into torchvision.
describe.skipIf(!python)('examples/fine-tune', () => {
  it('fine-tunes, and torchvision agrees with resnetc on the exported weights: logits, and the validation top-1 image for image', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples', 'fine-tune', 'run.ts'), '--small'], { cwd: root, encoding: 'utf8', env: { ...process.env, PYTHON: python } });
    expect(r.stderr + r.stdout).not.toContain('FAILED');
    expect(r.status).toBe(0);
    // The head is initialised afresh (1000 -> 10 classes), and said so in one line.
    expect(r.stderr).toMatch(/warning\[R1009\]/);
    expect(r.stdout).toContain('torchvision resnet18(num_classes=10) loaded 122 tensors with strict=True');
    expect(r.stdout).toMatch(/resnetc eval and PyTorch agree: \d+ of 100 validation images correct/);
    // predict names one of the classes for each held image.
    expect(r.stdout.match(/held\/\d+-[a-z-]+\.png: (t-shirt|trouser|pullover|dress|coat|sandal|shirt|sneaker|bag|ankle-boot) /g)).toHaveLength(5);
  }, 600_000);
});
