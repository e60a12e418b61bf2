import type { Fix } from '../diagnostics/diagnostic.js';
import type { CheckedModel, ExpectResult } from '../model/types.js';
import type { NumberNode, SizeNode } from '../syntax/ast.js';
import type { ExpectDecl, Reporter } from './declaration.js';
import { describeCount, groupDigits, pointText, roundCount, suffixExponents } from '../model/count-format.js';
import { shapeText } from '../model/shape-text.js';

/**
 * A suffixed count as written, read exactly from its text: `1.00M` is 100 units of 10^4,
 * `2.5e3K` is 25 units of 10^5. `digits` is what the writer wrote, without the point.
 */
interface RoundedForm {
  digits: bigint;
  /** The count is compared rounded to units of 10^scale. */
  scale: number;
  /** Digits after the point, and the exponent and suffix as written: what formatLike keeps. */
  decimals: number;
  exponent: string;
  suffix: string;
}

function roundedForm(written: NumberNode): RoundedForm | undefined {
  if (!written.suffix) return undefined;
  const body = written.text.slice(0, -1).replaceAll('_', '');
  const e = body.search(/[eE]/);
  const mantissa = e < 0 ? body : body.slice(0, e);
  const exponent = e < 0 ? '' : body.slice(e);
  const dot = mantissa.indexOf('.');
  const decimals = dot < 0 ? 0 : mantissa.length - dot - 1;
  const power = exponent === '' ? 0 : Number(exponent.slice(1));
  return { digits: BigInt(mantissa.replace('.', '')), scale: suffixExponents[written.suffix]! + power - decimals, decimals, exponent, suffix: written.suffix };
}

/**
 * Whether a count matches what was written: an integer exactly; a suffixed number when the
 * count, rounded half up to the digits written (count-format.ts), is the number written.
 */
export function countMatches(written: NumberNode, count: number): boolean {
  const form = roundedForm(written);
  if (!form) return BigInt(written.text.replaceAll('_', '')) === BigInt(count);
  return roundCount(count, form.scale) === form.digits;
}

/**
 * The count written in the same form as `written` (`25_557_032`, `25.56M`, `2.6e1M`): the
 * value that countMatches accepts, and the one messages and quick fixes show.
 */
export function formatLike(written: NumberNode, count: number): string {
  const form = roundedForm(written);
  if (!form) return written.text.includes('_') ? groupDigits(count, '_') : String(count);
  return pointText(roundCount(count, form.scale), form.decimals) + form.exponent + form.suffix;
}

export function checkExpects(model: Omit<CheckedModel, 'expects'>, expects: ExpectDecl[], report: Reporter): ExpectResult[] {
  return expects.map((e) => {
    if (e.what === 'output') {
      const size = e.value as SizeNode;
      const actual = shapeText(model.output);
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
      // A rounded expectation is shown beside the count rounded the same way: the figure compared.
      const actual = formatLike(written, count);
      const message = written.suffix
        ? `expected ${written.text} ${noun}, the model has ${groupDigits(count)}, which is ${actual} to the digits written`
        : `expected ${groupDigits(BigInt(written.text.replaceAll('_', '')))} ${noun}, the model has ${describeCount(count)}`;
      report.report(e.what === 'params' ? 'R0401' : 'R0402', e.origin, message, {
        help: `write \`expect ${e.what} ${actual}\` if the model is right`,
        fixes: [fix(written.span, actual)],
      });
    }
    return { what: e.what, written: written.text, actual: String(count), ok, origin: e.origin };
  });
}

function fix(span: { start: number; end: number }, newText: string): Fix {
  return { title: `set the expected value to ${newText}`, span, newText };
}
