import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatText } from '../../src/format/format.js';
import { sameTokens } from '../../src/format/verify.js';

const specs = join(import.meta.dirname, '..', '..', 'specs');

function fmt(text: string): string {
  const r = formatText(text, '/virtual/test.resnet');
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.text;
}

describe('the canonical layout', () => {
  it('indents two spaces per level, one statement per line', () => {
    expect(fmt('model m { input 3x32x32 classes 10 block basic }')).toBe('model m {\n  input 3x32x32\n  classes 10\n  block basic\n}\n');
  });

  it('writes stages on one line with their items two spaces apart', () => {
    expect(fmt('model m {\n  stage s {\n blocks 3\n width 64 stride 2 }\n}\n')).toBe('model m {\n  stage s { blocks 3  width 64  stride 2 }\n}\n');
  });

  it('writes a stem of one layer on one line and a longer stem one layer per line', () => {
    expect(fmt('model m {\n  stem {\n conv 3x3 16 }\n}\n')).toBe('model m {\n  stem { conv 3x3 16 }\n}\n');
    expect(fmt('model m {\n  stem { conv 7x7 64 stride 2 maxpool 3x3 stride 2 }\n}\n')).toBe('model m {\n  stem {\n    conv 7x7 64 stride 2\n    maxpool 3x3 stride 2\n  }\n}\n');
  });

  it('writes block and norm options inside braces on one line', () => {
    expect(fmt('model m {\n  block bottleneck {groups 32 width_per_group 4}\n  norm batch {eps 1e-5}\n}\n')).toBe(
      'model m {\n  block bottleneck { groups 32  width_per_group 4 }\n  norm batch { eps 1e-5 }\n}\n',
    );
  });

  it('writes the backbone statements one a line, their values as written', () => {
    expect(
      fmt('model m { output_stride 16 outputs stem  s1   logits activation leaky_relu 0.2 norm group {groups 8 eps 1e-6} drop_path 0.1 pool catavgmax stem { conv 4x4 64 stride 4 pad 0 } stage s1 { blocks 1 width 8 dilation 2 } }'),
    ).toBe(
      'model m {\n  output_stride 16\n  outputs stem s1 logits\n  activation leaky_relu 0.2\n  norm group { groups 8  eps 1e-6 }\n  drop_path 0.1\n  pool catavgmax\n  stem { conv 4x4 64 stride 4 pad 0 }\n  stage s1 { blocks 1  width 8  dilation 2 }\n}\n',
    );
  });

  it('puts one blank line between models and after the imports, and keeps at most one elsewhere', () => {
    const text = 'import "a.resnet"\nmodel a {\n  input 3x8x8\n\n\n\n  classes 2\n}\nmodel b extends a {\n  classes 3\n}';
    expect(fmt(text)).toBe('import "a.resnet"\n\nmodel a {\n  input 3x8x8\n\n  classes 2\n}\n\nmodel b extends a {\n  classes 3\n}\n');
  });

  it('drops blank lines just inside braces', () => {
    expect(fmt('model m {\n\n  classes 2\n\n}\n')).toBe('model m {\n  classes 2\n}\n');
  });

  it('keeps numbers and sizes as written', () => {
    expect(fmt('model m { expect params 25_557_032 expect macs 4.09G expect output 2048x7x7 dropout 1e-1 }')).toBe(
      'model m {\n  expect params 25_557_032\n  expect macs 4.09G\n  expect output 2048x7x7\n  dropout 1e-1\n}\n',
    );
  });
});

describe('comments', () => {
  it('keeps comments on their own lines at the indentation of what follows', () => {
    expect(fmt('# top\nmodel m {\n      # about input\n input 3x8x8\n    # last\n}\n')).toBe('# top\nmodel m {\n  # about input\n  input 3x8x8\n  # last\n}\n');
  });

  it('keeps a trailing comment after its code, at the author’s column when the line was already canonical', () => {
    expect(fmt('model m {\n  block bottleneck    # four\n  shortcut B          # projection\n}\n')).toBe('model m {\n  block bottleneck    # four\n  shortcut B          # projection\n}\n');
    expect(fmt('model m {\n   block    bottleneck # four\n}\n')).toBe('model m {\n  block bottleneck # four\n}\n');
  });

  it('opens a body holding a comment one item per line, so the comment stays by its item', () => {
    expect(fmt('model m {\n  stage s { blocks 3 # three\n width 8 }\n}\n')).toBe('model m {\n  stage s {\n    blocks 3 # three\n    width 8\n  }\n}\n');
  });
});

describe('formatting is safe', () => {
  it('is idempotent: formatting twice equals formatting once', () => {
    const messy = '\n\n# c\nimport   "a.resnet" # t\nmodel   base { input 3x32x32 # i\n stem { conv 3x3 16 maxpool 3x3 stride 2 }\n\n\n block basic { se 16 groups 1 }\n stage s2 { blocks 3 width 32 block bottleneck { # c\n groups 2 } }\n}\nmodel c extends base { stage s1 { } }\n# end\n';
    const once = fmt(messy);
    expect(fmt(once)).toBe(once);
  });

  it('leaves every spec in specs/ as it is (they are already canonical) and is idempotent on them', () => {
    for (const name of readdirSync(specs).filter((f) => f.endsWith('.resnet'))) {
      const text = readFileSync(join(specs, name), 'utf8');
      expect(fmt(text), name).toBe(text);
    }
  });

  it('refuses a file with syntax errors, saying so, with R0701', () => {
    const r = formatText('model m { input 3x32x32 stage s { blocks } }\n', '/virtual/bad.resnet');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics[0]!.code).toBe('R0701');
    expect(r.diagnostics[0]!.message).toMatch(/cannot format a file with a syntax error/);
  });

  it('refuses a file with a misspelt statement rather than dropping it', () => {
    const r = formatText('model m {\n  inptu 3x32x32\n}\n', '/virtual/typo.resnet');
    expect(r.ok).toBe(false);
  });

  it('formats an empty file as empty and a comment-only file as its comments', () => {
    expect(formatText('', 'x').ok).toBe(true);
    const r = formatText('# only a comment   \n\n\n', 'x');
    expect(r.ok && r.text).toBe('# only a comment\n');
  });
});

// The guard behind R0702: the formatter hands back nothing that says something else.
describe('the formatter’s self-check', () => {
  const original = 'model m {  # the net\n  input 3x32x32\n  stage conv2 { blocks 3  width 16 }\n}\n';

  it('accepts another layout of the same words and comments', () => {
    expect(sameTokens(original, 'model m { # the net\ninput 3x32x32 stage conv2 {\n blocks 3 width 16 } }')).toBe(true);
    expect(sameTokens(original, fmt(original))).toBe(true);
  });

  it.each([
    ['a number changed', original.replace('blocks 3', 'blocks 4')],
    ['a size changed', original.replace('3x32x32', '3x32x31')],
    ['a word dropped', original.replace('  width 16', '')],
    ['two words swapped', original.replace('blocks 3  width 16', 'width 16  blocks 3')],
    ['a comment dropped', original.replace('# the net', '')],
    ['a comment changed', original.replace('# the net', '# the network')],
    ['a word turned into a comment', original.replace('input 3x32x32', '# input 3x32x32')],
    ['text that no longer lexes', original.replace('blocks 3', 'blocks 3$')],
  ])('refuses a text with %s', (_what, changed) => {
    expect(sameTokens(original, changed)).toBe(false);
  });
});
