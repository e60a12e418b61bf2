import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import type { CheckedModel } from '../../src/model/types.js';
import { specsDir } from '../helpers/check.js';

// Copied by hand from ../shared/REFERENCE.md (torchvision's published figures) and
// He et al. 2015. These are asserted against the checker's counts, not against the
// specs' own `expect` lines, so a wrong spec and a wrong checker cannot agree by accident.
const torchvision: [string, number, number | undefined][] = [
  ['resnet18', 11_689_512, 1_814_073_344],
  ['resnet34', 21_797_672, 3_663_761_408],
  ['resnet50', 25_557_032, 4_089_184_256],
  ['resnet101', 44_549_160, 7_801_405_440],
  ['resnet152', 60_192_808, 11_513_626_624],
  ['resnext50_32x4d', 25_028_904, 4_230_479_872],
  ['resnext101_32x8d', 88_791_336, undefined],
  ['wide_resnet50_2', 68_883_240, 11_398_021_120],
  ['wide_resnet101_2', 126_886_696, undefined],
];

const workspace = new Workspace();
const zoo = new Map<string, CheckedModel>();
for (const f of readdirSync(specsDir).filter((f) => f.endsWith('.resnet'))) {
  for (const m of workspace.check(join(specsDir, f))!.models) zoo.set(m.name, m);
}

/** ResNet-(6n+2) for CIFAR-10 with option A, counted by hand from the paper's description. */
function cifarParams(n: number): number {
  const stem = 3 * 3 * 3 * 16 + 2 * 16;
  const block = (cin: number, c: number): number => 9 * cin * c + 9 * c * c + 4 * c;
  const stage = (cin: number, c: number): number => block(cin, c) + (n - 1) * block(c, c);
  return stem + stage(16, 16) + stage(16, 32) + stage(32, 64) + 64 * 10 + 10;
}

describe('the model zoo reproduces the published figures', () => {
  for (const [name, params, macs] of torchvision) {
    it(`${name}: ${params} parameters${macs ? `, ${macs} MACs` : ''}`, () => {
      const m = zoo.get(name);
      expect(m, `specs/ should define ${name}`).toBeDefined();
      expect(m!.totals.params).toBe(params);
      if (macs !== undefined) expect(m!.totals.macs).toBe(macs);
      expect(m!.input).toEqual({ c: 3, h: 224, w: 224 });
      expect(m!.classes).toBe(1000);
    });
  }

  it('Keras counts ResNet50 as 25,636,712: our buffers and its conv biases explain the difference', () => {
    const m = zoo.get('resnet50')!;
    expect(m.totals.buffers).toBe(53_120);
    // Keras gives each of ResNet-50's 53 convolutions a bias: 26,560 more.
    const convBiases = [...m.stem, ...m.stages.flatMap((s) => s.blocks.flatMap((b) => [...b.branch, ...b.shortcut.layers]))]
      .filter((l) => l.op === 'conv')
      .reduce((sum, l) => sum + l.out.c, 0);
    expect(convBiases).toBe(26_560);
    expect(m.totals.params + m.totals.buffers + convBiases).toBe(25_636_712);
  });

  it('resnet50 stage outputs follow table 1 of the paper', () => {
    expect(zoo.get('resnet50')!.stages.map((s) => s.out)).toEqual([
      { c: 256, h: 56, w: 56 },
      { c: 512, h: 28, w: 28 },
      { c: 1024, h: 14, w: 14 },
      { c: 2048, h: 7, w: 7 },
    ]);
  });

  for (const [name, n, published] of [
    ['resnet20', 3, 269_722],
    ['resnet32', 5, undefined],
    ['resnet44', 7, undefined],
    ['resnet56', 9, 853_018],
    ['resnet110', 18, undefined],
  ] as const) {
    it(`${name} (CIFAR-10, 6n+2 with n=${n}) counts as the paper describes it`, () => {
      const m = zoo.get(name)!;
      expect(m.totals.params).toBe(cifarParams(n));
      if (published) expect(m.totals.params).toBe(published);
      expect(m.output).toEqual({ c: 64, h: 8, w: 8 });
      expect(m.stages.flatMap((s) => s.blocks).length * 2 + 2).toBe(6 * n + 2);
    });
  }

  it('the paper rounds the CIFAR networks to 0.27M, 0.46M, 0.66M, 0.85M, 1.7M', () => {
    const rounded = ['resnet20', 'resnet32', 'resnet44', 'resnet56', 'resnet110'].map((n) => {
      const p = zoo.get(n)!.totals.params / 1e6;
      return p >= 1 ? p.toFixed(1) : p.toFixed(2);
    });
    expect(rounded).toEqual(['0.27', '0.46', '0.66', '0.85', '1.7']);
  });

  it('every spec of the zoo checks clean and every expect line holds', () => {
    for (const f of readdirSync(specsDir).filter((f) => f.endsWith('.resnet'))) {
      const file = workspace.check(join(specsDir, f))!;
      expect(file.diagnostics, f).toEqual([]);
      for (const m of file.models) {
        expect(m.expects.length, `${m.name} has expect lines`).toBeGreaterThan(0);
        expect(m.expects.every((e) => e.ok)).toBe(true);
      }
    }
  });
});
