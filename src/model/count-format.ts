/**
 * Counts (parameters, MACs, buffers) as people read them: `25,557,032`, `25.56M`,
 * `25,557,032 (25.56M)`. The one rounding rule of resnetc lives here: a count is rounded
 * to a number of decimal digits half up (1,005,000 to two decimals of M is 1.01M), in
 * exact integer arithmetic on the count's decimal digits, never through binary floating
 * point (where 1.005 is 1.00499999999999989…). `expect`, its messages and quick fixes,
 * `resnetc check`, `summary`, `graph`, hover and inlay hints all round through it, so
 * they cannot disagree.
 */

/** The suffixes the language reads after a number, with the power of ten each stands for. */
export const suffixExponents: Readonly<Record<string, number>> = { K: 3, M: 6, G: 9, T: 12 };

/**
 * A whole, non-negative count divided by 10^`scale` and rounded half up to a whole number:
 * `roundCount(1_005_000, 4)` is 101n (1.01M at two decimals), `roundCount(7, -2)` is 700n.
 * Exact for every safe integer count and any scale.
 * @throws RangeError when `count` is not a non-negative safe integer.
 */
export function roundCount(count: number, scale: number): bigint {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`a count is a whole number from 0 to 2^53, not ${count}`);
  const n = BigInt(count);
  if (scale <= 0) return n * 10n ** BigInt(-scale);
  const unit = 10n ** BigInt(scale);
  return (2n * n + unit) / (2n * unit);
}

/** A whole number of 10^-`decimals` units as decimal text: `pointText(101n, 2)` is `1.01`, `pointText(5n, 3)` is `0.005`. */
export function pointText(units: bigint, decimals: number): string {
  const digits = units.toString();
  if (decimals <= 0) return digits;
  const padded = digits.padStart(decimals + 1, '0');
  return `${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`;
}

/** `25557032` → `25,557,032` (or `25_557_032` with `_`). */
export function groupDigits(n: number | bigint, separator = ','): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, separator);
}

/** Digits shown after the point for each suffix in short counts: `86.5K`, `25.56M`, `4.09G`. */
const shortDecimals: [suffix: string, decimals: number][] = [
  ['K', 1],
  ['M', 2],
  ['G', 2],
  ['T', 2],
];

/**
 * A count short enough for a table cell or the end of a line: `650`, `86.5K`, `25.56M`,
 * `4.09G`. The suffix is the largest whose rounded value is at least 1, and a value that
 * rounds up to 1000 takes the next suffix (999,999 is `1.00M`, not `1000.0K`).
 */
export function compactCount(count: number): string {
  if (count < 1000) return String(count);
  let text = String(count);
  for (const [suffix, decimals] of shortDecimals) {
    const exponent = suffixExponents[suffix]!;
    const units = roundCount(count, exponent - decimals);
    text = pointText(units, decimals) + suffix;
    if (units < 1000n * 10n ** BigInt(decimals)) break;
  }
  return text;
}

/** `25,557,032 (25.56M)`, or `650` for a count under a thousand. */
export function describeCount(count: number): string {
  const exact = groupDigits(count);
  return count < 1000 ? exact : `${exact} (${compactCount(count)})`;
}

/**
 * A part's share of a whole as a percentage with one decimal, rounded half up like every
 * count (`27.8%`); `whenNone` when the whole is 0. Used by summary, graph, hover and inlay hints.
 */
export function shareText(part: number, whole: number, whenNone = '-'): string {
  if (whole === 0) return whenNone;
  const tenths = (2n * 1000n * BigInt(part) + BigInt(whole)) / (2n * BigInt(whole));
  return `${pointText(tenths, 1)}%`;
}
