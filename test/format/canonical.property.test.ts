import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatText } from '../../src/format/format.js';
import { tokenize } from '../../src/syntax/tokens.js';

const specs = join(import.meta.dirname, '..', '..', 'specs');
const files = readdirSync(specs).filter((f) => f.endsWith('.resnet'));

/** A spec's tokens, comments dropped: what the layout must not depend on is everything else. */
function tokensOf(name: string): string[] {
  return tokenize(readFileSync(join(specs, name), 'utf8')).tokens.map((t) => t.image);
}

const separators = [' ', '   ', '\n', '\n      ', '\t', ' \n '];

function format(text: string): string {
  const r = formatText(text, '/virtual/p.resnet');
  if (!r.ok) throw new Error(r.diagnostics[0]!.message);
  return r.text;
}

describe('the layout depends only on the tokens', () => {
  it('gives the same text however the tokens of a spec are spaced and broken into lines, and formats it once for good', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...files),
        fc.array(fc.nat(separators.length - 1), { minLength: 200, maxLength: 200 }),
        fc.array(fc.nat(separators.length - 1), { minLength: 200, maxLength: 200 }),
        (name, a, b) => {
          const tokens = tokensOf(name);
          const spaced = (choice: number[]): string => tokens.map((t, i) => t + separators[choice[i % choice.length]!]).join('');
          const one = format(spaced(a));
          expect(format(spaced(b))).toBe(one);
          expect(format(one)).toBe(one);
        },
      ),
      { numRuns: 150 },
    );
  });
});
