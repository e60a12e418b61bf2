import { describe, expect, it } from 'vitest';
import { countMatches, formatLike } from '../../src/check/expect.js';
import { readNumber } from '../../src/syntax/literals.js';
import { check } from '../helpers/check.js';

const n = (text: string) => readNumber(text, { start: 0, end: 0 });

describe('expect', () => {
  it('compares an integer exactly', () => {
    expect(countMatches(n('25_557_032'), 25_557_032)).toBe(true);
    expect(countMatches(n('25557033'), 25_557_032)).toBe(false);
  });

  it('compares a suffixed number to the count rounded to the digits written', () => {
    expect(countMatches(n('25.56M'), 25_557_032)).toBe(true);
    expect(countMatches(n('25.6M'), 25_557_032)).toBe(true);
    expect(countMatches(n('26M'), 25_557_032)).toBe(true);
    expect(countMatches(n('25.55M'), 25_557_032)).toBe(false);
    expect(countMatches(n('4.09G'), 4_089_184_256)).toBe(true);
    expect(countMatches(n('4.089G'), 4_089_184_256)).toBe(true);
    expect(countMatches(n('4.1G'), 4_089_184_256)).toBe(true);
    expect(countMatches(n('4.08G'), 4_089_184_256)).toBe(false);
    expect(countMatches(n('270K'), 269_722)).toBe(true);
    expect(countMatches(n('0.27M'), 269_722)).toBe(true);
    expect(countMatches(n('269.7K'), 269_722)).toBe(true);
    expect(countMatches(n('269.8K'), 269_722)).toBe(false);
  });

  it('writes the actual count in the form the user wrote', () => {
    expect(formatLike(n('25_557_000'), 25_557_032)).toBe('25_557_032');
    expect(formatLike(n('25557000'), 25_557_032)).toBe('25557032');
    expect(formatLike(n('25.50M'), 25_557_032)).toBe('25.56M');
    expect(formatLike(n('4G'), 4_089_184_256)).toBe('4G');
  });

  it('reports a wrong count with the actual value and a fix', () => {
    const text = `import "resnet50.resnet"
model r extends resnet50 {
  expect params 25_557_033
  expect macs 4.08G
  expect output 2048x14x14
}`;
    const file = check(text);
    expect(file.diagnostics.map((d) => d.code)).toEqual(['R0401', 'R0402', 'R0403']);
    const [params, macs, output] = file.diagnostics;
    expect(params!.message).toBe('expected 25,557,033 parameters, the model has 25,557,032 (25.56M)');
    expect(params!.fixes![0]!.newText).toBe('25_557_032');
    expect(macs!.fixes![0]!.newText).toBe('4.09G');
    expect(output!.fixes![0]!.newText).toBe('2048x7x7');
    expect(text.slice(params!.span.start, params!.span.end)).toBe('expect params 25_557_033');
    expect(file.models[0]!.expects.map((e) => e.ok)).toEqual([false, false, false]);
  });

  it('records the lines that hold', () => {
    const file = check(`import "resnet18.resnet"\nmodel r extends resnet18 { expect params 11.69M  expect output 512x7x7 }`);
    expect(file.diagnostics).toEqual([]);
    expect(file.models[0]!.expects).toMatchObject([
      { what: 'params', written: '11.69M', actual: '11689512', ok: true },
      { what: 'output', written: '512x7x7', actual: '512x7x7', ok: true },
    ]);
  });
});
