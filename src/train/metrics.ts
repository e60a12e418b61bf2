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
 * The loss and accuracy curves as an SVG image: loss (train, test) on the left, accuracy
 * (train, test) on the right, by epoch.
 */
export function plotSvg(rows: EpochMetrics[], title: string): string {
  const W = 900;
  const H = 360;
  const panel = (x0: number, label: string, series: { name: string; color: string; values: number[] }[], yMax: number, percent: boolean): string => {
    const pw = 380;
    const ph = 260;
    const top = 50;
    const left = x0 + 50;
    const n = Math.max(1, ...series.map((s) => s.values.length));
    const xs = (i: number): number => left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
    const ys = (v: number): number => top + ph - (Math.max(0, Math.min(yMax, v)) / yMax) * ph;
    let out = `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`;
    out += `<text x="${left + pw / 2}" y="${top - 10}" text-anchor="middle" font-size="14">${label}</text>`;
    for (let k = 0; k <= 4; k++) {
      const v = (yMax * k) / 4;
      out += `<text x="${left - 6}" y="${ys(v) + 4}" text-anchor="end" font-size="11">${percent ? `${Math.round(v * 100)}%` : v.toFixed(2)}</text>`;
      out += `<line x1="${left}" x2="${left + pw}" y1="${ys(v)}" y2="${ys(v)}" stroke="#eee"/>`;
    }
    for (let i = 0; i < n; i++) out += `<text x="${xs(i)}" y="${top + ph + 16}" text-anchor="middle" font-size="11">${rows[i]?.epoch ?? i + 1}</text>`;
    out += `<text x="${left + pw / 2}" y="${top + ph + 34}" text-anchor="middle" font-size="12">epoch</text>`;
    series.forEach((s, si) => {
      const pts = s.values.map((v, i) => `${xs(i).toFixed(1)},${ys(v).toFixed(1)}`).join(' ');
      out += `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
      for (const [i, v] of s.values.entries()) out += `<circle cx="${xs(i).toFixed(1)}" cy="${ys(v).toFixed(1)}" r="3" fill="${s.color}"/>`;
      out += `<text x="${left + 10}" y="${top + 18 + si * 16}" font-size="12" fill="${s.color}">${s.name}</text>`;
    });
    return out;
  };
  const maxLoss = Math.max(0.1, ...rows.flatMap((r) => [r.trainLoss, r.testLoss]).filter(Number.isFinite)) * 1.1;
  const body =
    panel(0, 'loss', [
      { name: 'train', color: '#1f77b4', values: rows.map((r) => r.trainLoss) },
      { name: 'test', color: '#d62728', values: rows.map((r) => r.testLoss) },
    ], maxLoss, false) +
    panel(450, 'accuracy', [
      { name: 'train', color: '#1f77b4', values: rows.map((r) => r.trainAccuracy) },
      { name: 'test', color: '#d62728', values: rows.map((r) => r.testAccuracy) },
    ], 1, true);
  const escaped = title.replace(/[<&>]/g, (ch) => ({ '<': '&lt;', '&': '&amp;', '>': '&gt;' })[ch]!);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escaped}</text>${body}</svg>\n`;
}
