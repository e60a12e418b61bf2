import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countMatches, formatLike } from '../../src/check/expect.js';
import { compactCount, shareText } from '../../src/model/count-format.js';
import { readNumber } from '../../src/syntax/literals.js';
import { check } from '../helpers/check.js';

const n = (text: string) => readNumber(text, { start: 0, end: 0 });
const exponents: Record<string, number> = { K: 3, M: 6, G: 9, T: 12 };

/**
 * The reference: a count divided by 10^scale and rounded half up, done on its decimal
 * digits as a person does on paper (look at the first dropped digit), as text with
 * `decimals` digits after the point. No integer or floating-point division.
 */
function paperRound(count: number, scale: number, decimals: number): string {
  let digits = String(count);
  if (scale <= 0) digits += '0'.repeat(-scale);
  else {
    digits = digits.padStart(scale + 1, '0');
    const dropped = digits[digits.length - scale]!;
    digits = digits.slice(0, -scale);
    if (dropped >= '5') {
      // add one to the kept digits
      const chars = [...digits];
      let i = chars.length - 1;
      while (i >= 0 && chars[i] === '9') chars[i--] = '0';
      if (i < 0) chars.unshift('1');
      else chars[i] = String(Number(chars[i]) + 1);
      digits = chars.join('');
    }
  }
  digits = digits.replace(/^0+(?=\d)/, '');
  if (decimals === 0) return digits;
  digits = digits.padStart(decimals + 1, '0');
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

const counts = fc.oneof(fc.maxSafeNat(), fc.nat({ max: 10_000_000 }), fc.integer({ min: 0, max: 2000 }).map((k) => k * 500 + 1_000_000));
const forms = fc.record({
  suffix: fc.constantFrom('K', 'M', 'G', 'T'),
  decimals: fc.integer({ min: 0, max: 6 }),
  exponent: fc.constantFrom('', 'e1', 'e-1', 'e2', 'E-2'),
  digits: fc.bigInt({ min: 0n, max: 10n ** 12n }),
});
const writtenText = (f: { suffix: string; decimals: number; exponent: string; digits: bigint }): string => {
  const d = f.digits.toString().padStart(f.decimals + 1, '0');
  return (f.decimals === 0 ? d : `${d.slice(0, -f.decimals)}.${d.slice(-f.decimals)}`) + f.exponent + f.suffix;
};

describe('one decimal rounding for expect, its messages and its fixes', () => {
  it('rejects 1.00M for 1,005,000 parameters and suggests 1.01M, the value it accepts', () => {
    // 27·164 + 2·164 + 2·(9·164² + 2·164) + 164·3124 + 3124 = 1,005,000 parameters exactly.
    const text = 'model m {\n  input 3x8x8\n  classes 3124\n  stem { conv 3x3 164 }\n  block basic\n  stage s { blocks 1  width 164 }\n  expect params 1.00M\n}\n';
    const file = check(text);
    expect(file.models[0]!.totals.params).toBe(1_005_000);
    const [d] = file.diagnostics;
    expect(d!.code).toBe('R0401');
    expect(d!.message).toBe('expected 1.00M parameters, the model has 1,005,000, which is 1.01M to the digits written');
    expect(d!.help).toBe('write `expect params 1.01M` if the model is right');
    expect(d!.fixes![0]!.newText).toBe('1.01M');
    expect(check(text.replace('1.00M', '1.01M')).diagnostics).toEqual([]);
    expect(check(text.replace('1.00M', '1.0M')).diagnostics).toEqual([]);
    expect(compactCount(1_005_000)).toBe('1.01M');
  });

  it('matches the reference rounding, and the suggested value always passes the check', () => {
    fc.assert(
      fc.property(counts, forms, (count, form) => {
        const written = n(writtenText(form));
        const suggested = formatLike(written, count);
        const scale = exponents[form.suffix]! + (form.exponent === '' ? 0 : Number(form.exponent.slice(1))) - form.decimals;
        expect(suggested).toBe(paperRound(count, scale, form.decimals) + form.exponent + form.suffix);
        expect(countMatches(n(suggested), count)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts what was written exactly when the figure its message shows is what was written', () => {
    fc.assert(
      fc.property(counts, forms, (count, form) => {
        const written = n(writtenText(form));
        const shown = formatLike(written, count);
        expect(countMatches(written, count)).toBe(shown === writtenText(form));
        // one unit of the last digit either side of the figure shown is rejected
        const units = BigInt(shown.replace(/[eE].*|[KMGT]$/, '').replace('.', ''));
        for (const other of [units - 1n, units + 1n]) if (other >= 0n) expect(countMatches(n(writtenText({ ...form, digits: other })), count)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('rounds short counts with the same rule', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (count) => {
        const short = compactCount(count);
        const m = /^(\d+)(?:\.(\d+))?([KMGT])?$/.exec(short)!;
        const decimals = m[2]?.length ?? 0;
        expect(short).toBe(m[3] ? paperRound(count, exponents[m[3]]! - decimals, decimals) + m[3] : String(count));
      }),
      { numRuns: 2000 },
    );
    expect([999, 1000, 86_549, 999_949, 999_950, 999_999, 25_557_032, 999_995_000, 4_089_184_256].map(compactCount)).toEqual([
      '999', '1.0K', '86.5K', '999.9K', '1.00M', '1.00M', '25.56M', '1.00G', '4.09G',
    ]);
  });

  it('rounds shares (summary, graph, hover) half up to one decimal of a percent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65_535 }), fc.integer({ min: 1, max: 65_535 }), (part, whole) => {
        // tenths of a percent: 1000·part/whole, half up; exact in doubles at this size
        const tenths = Math.floor((2000 * part + whole) / (2 * whole));
        expect(shareText(part, whole)).toBe(`${Math.floor(tenths / 10)}.${tenths % 10}%`);
      }),
      { numRuns: 2000 },
    );
    expect(shareText(7_098_368, 25_557_032)).toBe('27.8%'); // resnet50's conv4
    expect(shareText(3, 2000)).toBe('0.2%'); // 0.15%: toFixed(1) on the binary 0.15 gave 0.1%
    expect(shareText(0, 0)).toBe('-');
  });
});
