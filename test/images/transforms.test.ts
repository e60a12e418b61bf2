import { describe, expect, it } from 'vitest';
import { random } from '../../src/train/random.js';
import { centerCropBox, evalResizeSize, imageRandom, pythonRound, randomResizedCropBox, resizeShortSide, trainAugmentation } from '../../src/images/transforms.js';
import { python, reference } from './helpers.js';

/**
 * Two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical CDFs.
 * With n = m = 4000 samples of one distribution it exceeds 1.95·√(2/4000) = 0.0436 with
 * probability 0.001 (the asymptotic critical value at α = 0.001).
 */
function ks(a: number[], b: number[]): number {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

const n = 4000;
const critical = 1.95 * Math.sqrt(2 / n);

describe("RandomResizedCrop's boxes", () => {
  // Square, wide, tall, and so thin that most tries fail and the centre fallback is common.
  const sizes: [number, number][] = [
    [100, 100],
    [60, 200],
    [300, 40],
    [12, 500],
  ];

  it.skipIf(!python)('are distributed as torchvision draws them: area, aspect, position and the fallback (KS at α = 0.001)', () => {
    const theirs = reference<[number, number, number, number][]>(sizes.map(([height, width], k) => ({ op: 'crops', height, width, n, seed: k })));
    sizes.forEach(([height, width], k) => {
      const rand = random(1000 + k);
      const ours = Array.from({ length: n }, () => {
        const b = randomResizedCropBox(height, width, rand);
        return [b.top, b.left, b.height, b.width] as [number, number, number, number];
      });
      const features: [string, (b: [number, number, number, number]) => number][] = [
        ['area', ([, , h, w]) => (h * w) / (height * width)],
        ['aspect', ([, , h, w]) => Math.log(w / h)],
        ['top', ([t, , h]) => (height === h ? 0.5 : t / (height - h))],
        ['left', ([, l, , w]) => (width === w ? 0.5 : l / (width - w))],
      ];
      for (const [name, f] of features) expect(ks(ours.map(f), theirs[k]!.map(f)), `${height}x${width} ${name}`).toBeLessThan(critical);
      // Every box lies inside the image; the thin image's boxes include the fallback (its whole height, width clamped to ratio 4/3).
      for (const [t, l, h, w] of ours) expect(t >= 0 && l >= 0 && t + h <= height && l + w <= width && h > 0 && w > 0).toBe(true);
      const fallback = (boxes: number[][]): number => boxes.filter(([, , h, w]) => height === 12 && h === 12 && w === 16).length / n;
      if (height === 12) expect(Math.abs(fallback(ours) - fallback(theirs[k]!))).toBeLessThan(0.04);
    });
  });

  it('fall back to the centre crop clamped to the ratio range when ten tries fail', () => {
    // A generator whose area draws are all 1 and ratio draws extreme: no try fits a 10x100 image.
    const rand = (): number => 0.999999;
    expect(randomResizedCropBox(10, 100, rand)).toEqual({ top: 0, left: 43, height: 10, width: 13 });
    expect(randomResizedCropBox(100, 10, rand)).toEqual({ top: 43, left: 0, height: 13, width: 10 });
  });

  it("of an image are a function of the seed, the epoch and the image's index only", () => {
    const a = trainAugmentation(50, 80, 7, 2, 11, { scale: [0.08, 1], ratio: [0.75, 4 / 3] }, true);
    expect(trainAugmentation(50, 80, 7, 2, 11, { scale: [0.08, 1], ratio: [0.75, 4 / 3] }, true)).toEqual(a);
    const others = [trainAugmentation(50, 80, 8, 2, 11, { scale: [0.08, 1], ratio: [0.75, 4 / 3] }, true), trainAugmentation(50, 80, 7, 3, 11, { scale: [0.08, 1], ratio: [0.75, 4 / 3] }, true)];
    for (const o of others) expect(o).not.toEqual(a);
    // Neighbouring indices draw unrelated numbers (not a shifted sequence).
    const firsts = Array.from({ length: 2000 }, (_, i) => imageRandom(0, 0, i)());
    expect(ks(firsts, Array.from({ length: 2000 }, (_, i) => (i + 0.5) / 2000))).toBeLessThan(1.95 * Math.sqrt(2 / 2000));
  });
});

describe("the evaluation's resize and centre crop", () => {
  it('scale torchvision\'s 256 → 224 to the input: ⌊short side · 256/224⌋', () => {
    expect([224, 32, 28, 8, 299].map((s) => evalResizeSize(s, s))).toEqual([256, 36, 32, 9, 341]);
    expect(evalResizeSize(64, 224)).toBe(73);
  });

  it.skipIf(!python)("cut where torchvision's Resize and CenterCrop cut (padding included)", () => {
    const cases: [number, number, number, number, number][] = [
      [375, 500, 256, 224, 224],
      [500, 375, 256, 224, 224],
      [33, 47, 9, 8, 8],
      [47, 33, 10, 8, 8],
      [28, 28, 32, 28, 28],
      [10, 100, 7, 12, 9],
      [100, 10, 7, 9, 12],
      [21, 40, 13, 6, 13],
      [40, 21, 13, 13, 6],
      [9, 9, 9, 10, 11],
    ];
    const [theirs] = reference<{ resized: [number, number]; top: number; left: number }[]>([{ op: 'geometry', cases }]);
    cases.forEach(([h, w, size, ch, cw], i) => {
      const resized = resizeShortSide(h, w, size);
      const box = centerCropBox(resized.height, resized.width, ch, cw);
      expect({ resized: [resized.height, resized.width], top: box.top, left: box.left }, `${h}x${w} → ${size}, crop ${ch}x${cw}`).toEqual(theirs![i]);
    });
  });
});

describe("Python's rounding", () => {
  it('rounds halves to even, as round() does', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4999, 2.5001].map(pythonRound)).toEqual([0, 2, 2, 4, 0, -2, 2, 3]);
  });
});
