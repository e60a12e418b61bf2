import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { describe, expect, it } from 'vitest';
import { codes } from '../../src/diagnostics/codes.js';
import { formatText } from '../../src/format/format.js';
import { completion } from '../../src/lsp/completion.js';
import { Slices } from '../../src/lsp/cooperate.js';
import { foldingRanges } from '../../src/lsp/folding.js';
import { hover } from '../../src/lsp/hover.js';
import { inlayHints } from '../../src/lsp/inlay-hints.js';
import { Project } from '../../src/lsp/project.js';
import { maxTokenLength } from '../../src/syntax/limits.js';
import { semanticTokens } from '../../src/lsp/semantic-tokens.js';
import { documentSymbols } from '../../src/lsp/symbols.js';
import { specsDir } from '../helpers/check.js';

/**
 * Fuzzing the whole pipeline a document goes through — lexer, parser, checker, formatter and
 * the language server's providers — with inputs made by the grammar (deep nesting, long
 * tokens, unknown words, wrong values) and by mutating the zoo's specs. A fixed seed and a
 * fixed number of runs keep it a test: it never throws, reports only documented codes, and
 * no input takes over 2 s (the quadratic and recursive cases it was written against took
 * seconds to minutes, or overflowed the stack, on inputs of this size).
 */

const perInputMs = 2000;

const name = fc.oneof(
  fc.constantFrom('a', 'net', 'conv2', 'stage', 'block', 'preact-basic', 'x_1', 'bottleneck'),
  fc.integer({ min: 1, max: 3000 }).map((n) => 'n'.repeat(n)),
);
const number = fc.oneof(
  fc.constantFrom('0', '1', '2', '64', '25_557_032', '0.5', '1e-5', '4.09G', '270K', '99999999999', '1.2.3', '64a', '1e', '1__0'),
  fc.integer({ min: 1, max: 3000 }).map((n) => '7'.repeat(n)),
  fc.integer({ min: 1, max: 3000 }).map((n) => `${'1'.repeat(n)}x`),
);
const size = fc.oneof(fc.constantFrom('3x3', '1x1', '7x7', '3x224x224', '3x32x32', '0x0', '3x3x3', '1x'), fc.integer({ min: 1, max: 2000 }).map((n) => `${'1x'.repeat(n)}1`));
const braces = fc.integer({ min: 0, max: 80 }).map((depth) => `${'{'.repeat(depth)} ${'}'.repeat(depth)}`);
const unclosed = fc.integer({ min: 1, max: 80 }).map((depth) => '{'.repeat(depth));
const noise = fc.oneof(
  fc.tuple(name, braces).map(([w, b]) => `${w} ${b}`),
  unclosed,
  fc.constantFrom('@', ';', '"unterminated', '# a comment', '}', '{', '\u00e9', '\u0000', '\r', '-'),
  fc.integer({ min: 1, max: 3000 }).map((n) => `"${'p'.repeat(n)}"`),
  fc.integer({ min: 1, max: 3000 }).map((n) => `#${'c'.repeat(n)}`),
);

const option = fc.oneof(
  fc.tuple(fc.constantFrom('stride', 'groups', 'expansion', 'width_per_group', 'se', 'eps', 'momentum'), number).map(([k, v]) => `${k} ${v}`),
  size.map((s) => `stride_on ${s}`),
  noise,
);
const options = fc.array(option, { maxLength: 4 }).map((os) => `{ ${os.join(' ')} }`);
const stageItem = fc.oneof(
  fc.tuple(fc.constantFrom('blocks', 'width', 'stride'), number).map(([k, v]) => `${k} ${v}`),
  fc.tuple(fc.constantFrom('basic', 'bottleneck', 'preact-basic', 'preact-bottleneck', 'wide'), fc.option(options)).map(([k, o]) => `block ${k} ${o ?? ''}`),
  fc.constantFrom('A', 'B', 'C', 'D', 'E').map((k) => `shortcut ${k}`),
  noise,
);
const statement = fc.oneof(
  size.map((s) => `input ${s}`),
  number.map((n) => `classes ${n}`),
  number.map((n) => `dropout ${n}`),
  fc.array(fc.oneof(fc.tuple(size, number).map(([k, c]) => `conv ${k} ${c}`), size.map((k) => `maxpool ${k} stride 2`), noise), { maxLength: 3 }).map((ls) => `stem { ${ls.join('\n')} }`),
  fc.tuple(fc.constantFrom('basic', 'bottleneck', 'preact-basic', 'bottlenek'), fc.option(options)).map(([k, o]) => `block ${k} ${o ?? ''}`),
  fc.constantFrom('A', 'B', 'C', 'D', 'zero_pad').map((k) => `shortcut ${k}`),
  fc.tuple(name, fc.array(stageItem, { maxLength: 5 })).map(([n, items]) => `stage ${n} { ${items.join('  ')} }`),
  fc.option(options).map((o) => `norm batch ${o ?? ''}`),
  fc.constantFrom('activation relu', 'activation gelu'),
  fc.tuple(fc.constantFrom('params', 'macs'), number).map(([w, v]) => `expect ${w} ${v}`),
  size.map((s) => `expect output ${s}`),
  noise,
);
const modelText = fc.tuple(name, fc.option(name), fc.array(statement, { maxLength: 12 }), fc.boolean()).map(
  ([n, parent, statements, closed]) => `model ${n}${parent ? ` extends ${parent}` : ''} {\n  ${statements.join('\n  ')}\n${closed ? '}' : ''}\n`,
);
/** Whole files from the grammar: imports, models (some extending others), noise between. */
const grammarFile = fc.array(fc.oneof({ weight: 5, arbitrary: modelText }, { weight: 1, arbitrary: noise }, { weight: 1, arbitrary: fc.constantFrom('import "resnet50.resnet"', 'import "missing.resnet"', 'import "__fuzz__.resnet"') }), { maxLength: 8 }).map((items) => items.join('\n'));

const seeds = readdirSync(specsDir)
  .filter((f) => f.endsWith('.resnet'))
  .map((f) => readFileSync(join(specsDir, f), 'utf8'));

/** An edit of a text: insert something hostile, delete, or repeat a slice many times. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(noise, number, size, braces) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 60 }), times: fc.integer({ min: 2, max: 400 }) }),
);

function apply(text: string, m: typeof mutation extends fc.Arbitrary<infer M> ? M : never): string {
  const at = text.length === 0 ? 0 : m.at % (text.length + 1);
  switch (m.kind) {
    case 'insert':
      return text.slice(0, at) + m.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.length);
    case 'repeat':
      return text.slice(0, at) + text.slice(at, at + m.length).repeat(m.times) + text.slice(at);
  }
}

const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 5 })).map(([seed, edits]) => edits.reduce(apply, seed));

/** Everything a document goes through, in this process; returns the milliseconds it took. */
async function throughEverything(text: string): Promise<number> {
  const started = performance.now();
  const path = join(specsDir, '__fuzz__.resnet');
  const project = new Project();
  const doc = TextDocument.create(`file://${path}`, 'resnet', 1, text);
  project.didOpen(doc);
  const file = project.checkUri(doc.uri)!;
  for (const d of file.diagnostics) {
    expect(d.code in codes, `${d.code}: ${d.message}`).toBe(true);
    expect(d.span.start).toBeGreaterThanOrEqual(0);
    expect(d.span.end).toBeLessThanOrEqual(text.length);
    expect(d.message.length).toBeLessThan(maxTokenLength + 300); // a message quotes at most one token
  }
  const slices = new Slices();
  const whole = { start: { line: 0, character: 0 }, end: doc.positionAt(text.length) };
  await documentSymbols(file, slices);
  await inlayHints(file, whole, slices);
  await semanticTokens(file, slices);
  await foldingRanges(file, slices);
  for (const offset of [0, Math.floor(text.length / 3), Math.floor((2 * text.length) / 3), text.length]) {
    hover(project, doc.uri, doc.positionAt(offset));
    completion(project, doc.uri, doc.positionAt(offset));
  }
  formatText(text, path);
  return performance.now() - started;
}

describe('fuzzing the pipeline with hostile documents', () => {
  for (const [what, documents, runs] of [
    ['made by the grammar', grammarFile, 150],
    ['mutated from the zoo', mutated, 150],
  ] as const) {
    it(`never throws, reports documented codes only, and takes under ${perInputMs / 1000} s a document (${what})`, async () => {
      let slowest = 0;
      await fc.assert(
        fc.asyncProperty(documents, async (text) => {
          const ms = await throughEverything(text);
          slowest = Math.max(slowest, ms);
          expect(ms, `a document of ${text.length} characters took ${ms.toFixed(0)} ms`).toBeLessThan(perInputMs);
        }),
        { numRuns: runs, seed: 20261130 },
      );
      expect(slowest).toBeLessThan(perInputMs);
    });
  }
});
