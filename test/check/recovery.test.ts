import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, specsDir } from '../helpers/check.js';
import { type Mutation, mutations } from './mutations.js';

const resnet50 = readFileSync(join(specsDir, 'resnet50.resnet'), 'utf8');

function errorsOf(text: string) {
  const file = check(text);
  return { file, errors: file.diagnostics.filter((d) => d.severity === 'error') };
}

/**
 * The lines the first error may be on. A deleted token that stood alone on its line (a `}`)
 * leaves that line blank: the error is where the token is missing, after the last token of
 * the line before (rustc's place for a missing token).
 */
function expectedLines(m: Mutation): number[] {
  const lines = m.text.split('\n');
  const blank = (line: number): boolean => lines[line - 1]!.replace(/#.*/, '').trim() === '';
  if (m.kind !== 'delete' || !blank(m.lines[0]!)) return m.lines;
  let before = m.lines[0]!;
  while (before > 1 && blank(before)) before--;
  return [before];
}

describe('error recovery finds the root cause', () => {
  it('gives one error for 95% of single-token mistakes in the zoo, the first on the mutated line', () => {
    const corpus = mutations();
    const one: Mutation[] = [];
    const onLine: Mutation[] = [];
    const misses: string[] = [];
    for (const m of corpus) {
      const { file, errors } = errorsOf(m.text);
      const line = errors[0] ? file.source.position(errors[0].span.start).line : 0;
      if (errors.length === 1) one.push(m);
      if (expectedLines(m).includes(line)) onLine.push(m);
      if (errors.length !== 1 || !expectedLines(m).includes(line)) {
        misses.push(`${m.label}: ${errors.map((e) => `${file.source.position(e.span.start).line}: ${e.message}`).join(' | ')}`);
      }
    }
    const share = (n: number): string => `${((100 * n) / corpus.length).toFixed(1)}%`;
    console.log(`mutation corpus: ${corpus.length} mutations; one error for ${one.length} (${share(one.length)}); first error on the mutated line for ${onLine.length} (${share(onLine.length)})`);
    console.log(`not one error on the line:\n  ${misses.join('\n  ')}`);
    expect(corpus.length).toBeGreaterThan(300);
    for (const kind of ['delete', 'duplicate', 'misspell', 'swap']) expect(corpus.filter((m) => m.kind === kind).length).toBeGreaterThan(40);
    expect(one.length / corpus.length).toBeGreaterThanOrEqual(0.95);
    expect(onLine.length / corpus.length).toBeGreaterThanOrEqual(0.95);
    // Every mutation is an error: none turns a spec into another valid one unnoticed. The one
    // exception is a list: an `outputs` list with a name left out is another valid list.
    const listItemLeftOut = (m: Mutation): boolean => m.kind === 'delete' && /^\s*outputs\b/.test(m.text.split('\n')[m.lines[0]! - 1] ?? '');
    expect(corpus.filter((m) => !listItemLeftOut(m) && errorsOf(m.text).errors.length === 0).map((m) => m.label)).toEqual([]);
  });

  it('says a misspelt statement once, with its did-you-mean, and not what its loss implies', () => {
    const { errors } = errorsOf(resnet50.replace('block bottleneck', 'blocks bottleneck'));
    expect(errors.map((e) => [e.code, e.message, e.help])).toEqual([['R0003', "unknown word 'blocks' in a model", "did you mean 'block'?"]]);
  });

  it('builds no model that recovery cut short: no counts, no expect checks', () => {
    const { file, errors } = errorsOf(resnet50.replace('stage conv2', 'stgae conv2'));
    expect(errors.map((e) => [e.message, e.help])).toEqual([["unknown word 'stgae' in a model", "did you mean 'stage'?"]]);
    expect(file.models).toEqual([]);
    expect([...file.declarations.keys()]).toEqual(['resnet50']);
  });

  it('builds no model that extends one cut short, and reports no consequence there', () => {
    const text = `${resnet50.replace('stage conv2', 'stgae conv2')}\nmodel wide extends resnet50 {\n  block bottleneck { width_per_group 128 }\n}\n`;
    const { file, errors } = errorsOf(text);
    expect(errors).toHaveLength(1);
    expect(file.models).toEqual([]);
  });

  it('still builds the models of the file that recovery did not touch', () => {
    const text = `${resnet50}\nmodel small {\n  input 3x32x32\n  stem { conv 3x3 16 }\n  blok basic\n  stage s { blocks 1  width 16 }\n}\n`;
    const { file, errors } = errorsOf(text);
    expect(errors.map((e) => e.help)).toEqual(["did you mean 'block'?"]);
    expect(file.models.map((m) => [m.name, m.totals.params])).toEqual([['resnet50', 25_557_032]]);
  });

  it("notes the '{' a missing '}' leaves open", () => {
    const text = resnet50.replace('    maxpool 3x3 stride 2\n  }\n', '    maxpool 3x3 stride 2\n\n');
    const { file, errors } = errorsOf(text);
    expect(errors).toHaveLength(1);
    const [e] = errors;
    expect(e!.message).toBe("expected '}', found 'block'");
    expect(e!.related).toEqual([{ file: file.path, span: { start: text.indexOf('stem {') + 5, end: text.indexOf('stem {') + 6 }, message: "this '{' is not closed before 'block'" }]);
    expect(file.models).toEqual([]);
    const atEnd = errorsOf('model m {\n  input 3x8x8\n').errors;
    expect(atEnd[0]!.related?.[0]?.message).toBe("this '{' is never closed");
    expect(atEnd[0]!.related?.[0]?.span.start).toBe('model m '.length);
  });

  it('says a line with a syntax error once: no checker error on it', () => {
    // `stride stride 2`: the first stride has no value; "already set" would be its consequence.
    const { errors } = errorsOf(resnet50.replace('conv 7x7 64 stride 2', 'conv 7x7 64 stride stride 2'));
    expect(errors.map((e) => e.message)).toEqual(["expected a number, found 'stride'"]);
  });

  it('reports no missing parent while the file has a syntax error (a broken import or header may declare it)', () => {
    const spec = readFileSync(join(specsDir, 'resnet101.resnet'), 'utf8');
    const { errors } = errorsOf(spec.replace('import "resnet50.resnet"', 'imprt "resnet50.resnet"'));
    expect(errors.map((e) => [e.code, e.help])).toEqual([['R0003', "did you mean 'import'?"]]);
  });

  it('reports independent mistakes each, in the order of the text', () => {
    const text = resnet50.replace('classes 1000', 'clases 1000').replace('expect output 2048x7x7', 'expect otput 2048x7x7');
    const { file, errors } = errorsOf(text);
    expect(errors.map((e) => file.source.position(e.span.start).line)).toEqual([4, 21]);
  });
});
