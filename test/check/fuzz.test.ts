import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/check/check-source.js';
import { specsDir } from '../helpers/check.js';

const seeds = readdirSync(specsDir)
  .filter((f) => f.endsWith('.resnet'))
  .map((f) => readFileSync(join(specsDir, f), 'utf8'));

const fragments = [
  '{', '}', '"', '#', 'x', '0', '-1', '1e99', '0.5', '3x3', '0x0', '1x1x1x1', 'model', 'extends', 'stage', 'block', 'stride', 'import',
  'expect', 'params', 'groups 3', 'se 1000', 'bottleneck', 'preact-basic', 'shortcut A', 'width 0', 'blocks 0', '\n', ' ', '@', '\u00e9', '99999999999',
];

/** An edit of a text: delete, insert, duplicate or swap a slice, at positions the generator picks. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 6 })) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), other: fc.nat(), length: fc.integer({ min: 1, max: 30 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function apply(text: string, m: Mutation): string {
  const at = text.length === 0 ? 0 : m.at % text.length;
  switch (m.kind) {
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.length);
    case 'insert':
      return text.slice(0, at) + m.text + text.slice(at);
    case 'duplicate':
      return text.slice(0, at) + text.slice(at, at + m.length) + text.slice(at);
    case 'swap': {
      const other = text.length === 0 ? 0 : m.other % text.length;
      const [a, b] = at < other ? [at, other] : [other, at];
      if (a + m.length > b) return text;
      return text.slice(0, a) + text.slice(b, b + m.length) + text.slice(a + m.length, b) + text.slice(a, a + m.length) + text.slice(b + m.length);
    }
  }
}

describe('random edits of valid files', () => {
  it('give diagnostics with valid ranges, never exceptions', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), (seed, edits) => {
        const text = edits.reduce(apply, seed);
        const file = checkSource(text, join(specsDir, '__fuzz__.resnet'));
        for (const d of file.diagnostics) {
          expect(d.span.start).toBeGreaterThanOrEqual(0);
          expect(d.span.end).toBeGreaterThanOrEqual(d.span.start);
          expect(d.span.end).toBeLessThanOrEqual(text.length);
          expect(d.message.length).toBeGreaterThan(0);
        }
        for (const m of file.models) {
          expect(Number.isInteger(m.totals.params)).toBe(true);
          expect(Number.isInteger(m.totals.macs)).toBe(true);
        }
      }),
      { numRuns: 1500, seed: 20261128 },
    );
  });
});
