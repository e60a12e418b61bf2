import { afterAll, describe, expect, it } from 'vitest';
import { tokenize } from '../../src/syntax/tokens.js';
import { readNumber } from '../../src/syntax/literals.js';
import { removeTranspiled, timedInProcess } from '../faults/harness.js';

const kinds = (text: string): string[] => tokenize(text).tokens.map((t) => `${t.tokenType.name}:${t.image}`);

describe('lexer', () => {
  it('reads sizes before numbers: kernels and inputs', () => {
    expect(kinds('7x7 3x224x224 64')).toEqual(['Size:7x7', 'Size:3x224x224', 'NumberLiteral:64']);
  });

  it('reads every number form of the language', () => {
    expect(kinds('64 25_557_032 0.1 1e-5 25.56M 4.09G 270K').map((k) => k.split(':')[0])).toEqual(Array(7).fill('NumberLiteral'));
  });

  it('tells keywords from names that start with one', () => {
    expect(kinds('width width_per_group widths stride stride_on blocks block conv2 stage-x')).toEqual([
      'Kw_width:width',
      'Kw_width_per_group:width_per_group',
      'Identifier:widths',
      'Kw_stride:stride',
      'Kw_stride_on:stride_on',
      'Kw_blocks:blocks',
      'Kw_block:block',
      'Identifier:conv2',
      'Identifier:stage-x',
    ]);
  });

  it('joins hyphenated kinds into one name', () => {
    expect(kinds('preact-bottleneck resnext50_32x4d')).toEqual(['Identifier:preact-bottleneck', 'Identifier:resnext50_32x4d']);
  });

  it('keeps comments apart from the tokens the parser sees', () => {
    const r = tokenize('model a # the first\n{ }');
    expect(r.tokens.map((t) => t.image)).toEqual(['model', 'a', '{', '}']);
    expect(r.groups['comments']?.map((t) => t.image)).toEqual(['# the first']);
  });

  it('reports a character no token starts with', () => {
    const r = tokenize('input 3x224x224 @');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.offset).toBe(16);
  });
});

describe('number literals', () => {
  it('drops underscores and applies suffixes', () => {
    const span = { start: 0, end: 0 };
    expect(readNumber('25_557_032', span)).toMatchObject({ value: 25557032, plainInteger: true, suffix: undefined, decimals: 0 });
    expect(readNumber('4.09G', span)).toMatchObject({ value: 4.09e9, plainInteger: false, suffix: 'G', decimals: 2 });
    expect(readNumber('270K', span)).toMatchObject({ value: 270000, suffix: 'K', decimals: 0 });
    expect(readNumber('1e-5', span)).toMatchObject({ value: 1e-5, plainInteger: false, suffix: undefined });
    expect(readNumber('0.1', span)).toMatchObject({ value: 0.1, decimals: 1 });
  });
});

describe('lexing time', () => {
  afterAll(removeTranspiled);

  // In a process of its own, killed at the limit: the quadratic lexer took 25 s on this input.
  it('is linear: 80,000 digits and a letter lex in well under a second (25 s before)', async () => {
    const { value, run } = await timedInProcess<{ ms: number; errors: number }>(
      `const { tokenize } = await load('syntax/tokens.js');
       const text = '1'.repeat(80_000) + 'a';
       tokenize(text); // warm up
       const started = performance.now();
       const r = tokenize(text);
       return { ms: performance.now() - started, errors: r.errors.length };`,
      10_000,
    );
    expect(run.timedOut, 'killed at 10 s').toBe(false);
    expect(value!.errors).toBe(1);
    expect(value!.ms).toBeLessThan(1000);
  });
});
