import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generatedFile } from '../../bench/lsp.bench.js';
import { fullParse, reparse } from '../../src/lsp/incremental.js';

const specs = join(import.meta.dirname, '..', '..', 'specs');
const cifar = readFileSync(join(specs, 'cifar_resnet.resnet'), 'utf8');
const resnet50 = readFileSync(join(specs, 'resnet50.resnet'), 'utf8');
const pieces = ['', ' ', '\n', '9', '0', '}', '{', 'x', '# note', 'model q { input 3x8x8 }\n', 'stage z { blocks 2 }', '"', 'blocks 3', '\n\n', 'expect params 1_000'];

/** The syntax tree as data: what the checker reads. */
const data = (f: { syntax: unknown; diagnostics: unknown }): string => JSON.stringify({ syntax: f.syntax, diagnostics: f.diagnostics });

describe('re-parsing after an edit', () => {
  it('gives exactly the tree and diagnostics of a full parse, for any edit', () => {
    fc.assert(
      fc.property(fc.constantFrom(cifar, resnet50, generatedFile(120)), fc.nat(), fc.nat(6), fc.constantFrom(...pieces), (text, at, remove, insert) => {
        const start = at % (text.length + 1);
        const edited = text.slice(0, start) + insert + text.slice(Math.min(text.length, start + remove));
        const previous = fullParse('/virtual/x.resnet', text);
        expect(data(reparse(previous, edited))).toBe(data(fullParse('/virtual/x.resnet', edited)));
      }),
      { numRuns: 400 },
    );
  });

  it('stays exact over a run of edits, each re-parsed from the last', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat(4), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 12 }), (edits) => {
        let text = cifar;
        let parsed = fullParse('/virtual/x.resnet', text);
        for (const [at, remove, insert] of edits) {
          const start = at % (text.length + 1);
          text = text.slice(0, start) + insert + text.slice(Math.min(text.length, start + remove));
          parsed = reparse(parsed, text);
          expect(data(parsed)).toBe(data(fullParse('/virtual/x.resnet', text)));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('re-parses only the model edited: the others keep their nodes', () => {
    const text = generatedFile(600);
    const previous = fullParse('/virtual/x.resnet', text);
    const at = text.indexOf('model m40 ');
    const edited = text.slice(0, at) + text.slice(at).replace('blocks 1', 'blocks 7');
    const next = reparse(previous, edited);
    expect(next.syntax.models[0]).toBe(previous.syntax.models[0]);
    expect(next.syntax.models[10]).toBe(previous.syntax.models[10]);
    expect(data(next)).toBe(data(fullParse('/virtual/x.resnet', edited)));
  });
});
