import { escapeXml } from '../util/xml.js';

/** One epoch's figures, as written to metrics.csv / metrics.jsonl. */
export interface EpochMetrics {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

const columns: (keyof EpochMetrics)[] = ['epoch', 'lr', 'trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'seconds', 'imagesPerSecond'];

export function metricsCsv(rows: EpochMetrics[]): string {
  const header = 'epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_second';
  return [header, ...rows.map((r) => columns.map((c) => String(r[c])).join(','))].join('\n') + '\n';
}

export function metricsJsonl(rows: EpochMetrics[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/**
 * Round ticks for an axis from 0 (or `from`) to at least `to`: steps of 1, 2 or 5 times a
 * power of ten, about `target` of them (0, 0.5, 1.0, 1.5 rather than 0, 0.39, 0.79), with
 * the digits after the point that the step needs. `whole`: steps of at least 1 (epochs).
 */
export function roundTicks(from: number, to: number, target = 5, whole = false): { values: number[]; top: number; decimals: number } {
  const range = to > from ? to - from : 1;
  const raw = range / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  let step = (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10) * magnitude;
  if (whole) step = Math.max(1, Math.round(step));
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const first = Math.ceil(from / step - 1e-9);
  const last = Math.max(first, Math.ceil(to / step - 1e-9));
  const values: number[] = [];
  for (let k = first; k <= last; k++) values.push(Number((k * step).toFixed(decimals)));
  return { values, top: values[values.length - 1]!, decimals };
}

/**
 * The loss and accuracy curves as an SVG image: loss (train, test) on the left, accuracy
 * (train, test) on the right, by epoch; one legend for both above the panels, outside the
 * data, and round ticks (roundTicks) on every axis.
 */
export function plotSvg(rows: EpochMetrics[], title: string): string {
  const W = 900;
  const H = 380;
  const top = 80;
  const pw = 370;
  const ph = 240;
  const series = [
    { name: 'train', color: '#1f77b4', loss: (r: EpochMetrics) => r.trainLoss, accuracy: (r: EpochMetrics) => r.trainAccuracy },
    { name: 'test', color: '#d62728', loss: (r: EpochMetrics) => r.testLoss, accuracy: (r: EpochMetrics) => r.testAccuracy },
  ];
  const epochs = rows.map((r) => r.epoch);
  const firstEpoch = epochs.length > 0 ? Math.min(...epochs) : 1;
  const lastEpoch = epochs.length > 0 ? Math.max(...epochs) : 1;
  const xTicks = roundTicks(firstEpoch, lastEpoch, 8, true).values.filter((e) => e >= firstEpoch && e <= lastEpoch);

  const panel = (x0: number, label: string, value: (s: (typeof series)[number], r: EpochMetrics) => number, yTicks: { values: number[]; top: number }, tickText: (v: number) => string): string => {
    const left = x0 + 55;
    const xs = (epoch: number): number => left + (lastEpoch === firstEpoch ? pw / 2 : ((epoch - firstEpoch) / (lastEpoch - firstEpoch)) * pw);
    const ys = (v: number): number => top + ph - (Math.max(0, Math.min(yTicks.top, v)) / yTicks.top) * ph;
    let out = `<text x="${left + pw / 2}" y="${top - 10}" text-anchor="middle" font-size="14">${label}</text>`;
    for (const v of yTicks.values) {
      out += `<line x1="${left}" x2="${left + pw}" y1="${ys(v)}" y2="${ys(v)}" stroke="#eee"/>`;
      out += `<text x="${left - 6}" y="${ys(v) + 4}" text-anchor="end" font-size="11">${tickText(v)}</text>`;
    }
    out += `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`;
    for (const e of xTicks) out += `<text x="${xs(e)}" y="${top + ph + 16}" text-anchor="middle" font-size="11">${e}</text>`;
    out += `<text x="${left + pw / 2}" y="${top + ph + 34}" text-anchor="middle" font-size="12">epoch</text>`;
    for (const s of series) {
      const points = rows.map((r) => [xs(r.epoch), ys(value(s, r))] as const).filter(([, y]) => Number.isFinite(y));
      out += `<polyline points="${points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
      for (const [x, y] of points) out += `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${s.color}"/>`;
    }
    return out;
  };

  const losses = rows.flatMap((r) => [r.trainLoss, r.testLoss]).filter(Number.isFinite);
  const lossTicks = roundTicks(0, Math.max(0, ...losses) || 1);
  const accuracyTicks = roundTicks(0, 1);
  // The legend: one row between the title and the panels, a line and a dot per series.
  const legend = series
    .map((s, i) => {
      const x = W / 2 - 70 + i * 90;
      return `<line x1="${x}" x2="${x + 24}" y1="44" y2="44" stroke="${s.color}" stroke-width="2"/><circle cx="${x + 12}" cy="44" r="3" fill="${s.color}"/><text x="${x + 30}" y="48" font-size="12">${s.name}</text>`;
    })
    .join('');
  const body =
    panel(0, 'loss', (s, r) => s.loss(r), lossTicks, (v) => v.toFixed(lossTicks.decimals)) +
    panel(445, 'accuracy', (s, r) => s.accuracy(r), accuracyTicks, (v) => `${Math.round(v * 100)}%`);
  const escaped = escapeXml(title);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escaped}</text>${legend}${body}</svg>\n`;
}
