import type { Fix } from '../diagnostics/diagnostic.js';
import type { CheckedModel, ExpectResult } from '../model/types.js';
import type { NumberNode, SizeNode } from '../syntax/ast.js';
import type { ExpectDecl, Reporter } from './declaration.js';

const suffixUnits: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Whether a count matches what was written: exactly, or rounded to the digits written before a suffix. */
export function countMatches(written: NumberNode, count: number): boolean {
  if (!written.suffix) return written.value === count;
  const unit = suffixUnits[written.suffix]! / 10 ** written.decimals;
  const writtenDigits = Math.round(written.value / unit);
  return Math.round(count / unit) === writtenDigits;
}

/** The count written in the same form as `written`: `25_557_032` or `25.56M`. */
export function formatLike(written: NumberNode, count: number): string {
  if (!written.suffix) return written.text.includes('_') ? groupDigits(count, '_') : String(count);
  const unit = suffixUnits[written.suffix]!;
  return (count / unit).toFixed(written.decimals) + written.suffix;
}

export function groupDigits(n: number, separator = ','): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, separator);
}

/** `25,557,032 (25.56M)` */
export function describeCount(n: number): string {
  const exact = groupDigits(n);
  if (n >= 1e9) return `${exact} (${(n / 1e9).toFixed(2)}G)`;
  if (n >= 1e6) return `${exact} (${(n / 1e6).toFixed(2)}M)`;
  if (n >= 1e3) return `${exact} (${(n / 1e3).toFixed(1)}K)`;
  return exact;
}

export function checkExpects(model: Omit<CheckedModel, 'expects'>, expects: ExpectDecl[], report: Reporter): ExpectResult[] {
  return expects.map((e) => {
    if (e.what === 'output') {
      const size = e.value as SizeNode;
      const actual = `${model.output.c}x${model.output.h}x${model.output.w}`;
      const ok = size.text === actual;
      if (!ok) {
        report.report('R0403', e.origin, `expected the last stage to output ${size.text}, it outputs ${actual}`, {
          fixes: [fix(size.span, actual)],
        });
      }
      return { what: e.what, written: size.text, actual, ok, origin: e.origin };
    }
    const written = e.value as NumberNode;
    const count = e.what === 'params' ? model.totals.params : model.totals.macs;
    const ok = countMatches(written, count);
    const noun = e.what === 'params' ? 'parameters' : 'multiply-accumulates';
    if (!ok) {
      const form = written.suffix ? `${written.text} (rounded to the digits written)` : groupDigits(written.value);
      report.report(e.what === 'params' ? 'R0401' : 'R0402', e.origin, `expected ${form} ${noun}, the model has ${describeCount(count)}`, {
        help: `write \`expect ${e.what} ${formatLike(written, count)}\` if the model is right`,
        fixes: [fix(written.span, formatLike(written, count))],
      });
    }
    return { what: e.what, written: written.text, actual: String(count), ok, origin: e.origin };
  });
}

function fix(span: { start: number; end: number }, newText: string): Fix {
  return { title: `set the expected value to ${newText}`, span, newText };
}
