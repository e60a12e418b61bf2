import { describe, expect, it } from 'vitest';
import { type EpochMetrics, plotSvg, roundTicks } from '../../src/train/metrics.js';

const row = (epoch: number, trainLoss: number, testLoss: number, trainAccuracy: number, testAccuracy: number): EpochMetrics => ({
  epoch,
  lr: 0.1,
  trainLoss,
  trainAccuracy,
  testLoss,
  testAccuracy,
  seconds: 1,
  imagesPerSecond: 1,
});

// examples/fashion-mnist/metrics.csv: the run whose old plot had ticks at 0.16, 0.31, 0.47, 0.63
const fashion = [row(1, 0.5698, 0.4802, 0.7918, 0.8198), row(2, 0.3075, 0.2844, 0.8891, 0.8995), row(3, 0.2356, 0.2532, 0.9149, 0.91)];

/** `<text>` elements of an SVG: position, anchor and content. */
function texts(svg: string): { x: number; y: number; anchor: string | undefined; text: string }[] {
  return [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)"([^>]*)>([^<]*)<\/text>/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    anchor: /text-anchor="(\w+)"/.exec(m[3]!)?.[1],
    text: m[4]!,
  }));
}

/** Whether n is a whole multiple of 1, 2 or 5 times a power of ten (k x step, step in 1-2-5). */
const onRoundStep = (values: number[]): boolean => {
  const step = values[1]! - values[0]!;
  const exponent = Math.floor(Math.log10(step) + 1e-9);
  const mantissa = Math.round((step / 10 ** exponent) * 1e6) / 1e6;
  return [1, 2, 5].includes(mantissa) && values.every((v, i) => Math.abs(v - i * step) < 1e-9);
};

describe('the training plot', () => {
  it('ticks in steps of 1, 2 or 5 times a power of ten, from 0 to the first tick past the data', () => {
    expect(roundTicks(0, 0.5698).values).toEqual([0, 0.2, 0.4, 0.6]);
    expect(roundTicks(0, 2.35).values).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(roundTicks(0, 1).values).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(roundTicks(0, 0.4).values).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    expect(roundTicks(0, 1234).values).toEqual([0, 500, 1000, 1500]);
    expect(roundTicks(1, 30, 8, true).values).toEqual([5, 10, 15, 20, 25, 30]);
    expect(roundTicks(1, 3, 8, true).values).toEqual([1, 2, 3]);
  });

  it("labels the loss axis with round values: 0.0, 0.2, 0.4, 0.6 for the Fashion-MNIST run, not 0.16, 0.31", () => {
    const svg = plotSvg(fashion, 'fashion');
    const lossLabels = texts(svg).filter((t) => t.anchor === 'end' && t.x < 450).map((t) => t.text);
    expect(lossLabels).toEqual(['0.0', '0.2', '0.4', '0.6']);
    expect(onRoundStep(lossLabels.map(Number))).toBe(true);
    const accuracyLabels = texts(svg).filter((t) => t.anchor === 'end' && t.x > 450).map((t) => t.text);
    expect(accuracyLabels).toEqual(['0%', '20%', '40%', '60%', '80%', '100%']);
  });

  it('keeps the legend outside both panels, so no curve runs through it', () => {
    const svg = plotSvg(fashion, 'fashion');
    const panels = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/g)].map((m) => m.slice(1).map(Number));
    expect(panels).toHaveLength(2);
    const legend = texts(svg).filter((t) => t.text === 'train' || t.text === 'test');
    expect(legend).toHaveLength(2);
    for (const t of legend) for (const [x, y, w, h] of panels) expect(t.x >= x! && t.x <= x! + w! && t.y >= y! && t.y <= y! + h!, `${t.text} inside a panel`).toBe(false);
  });
});
