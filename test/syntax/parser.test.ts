import { describe, expect, it } from 'vitest';
import { parse } from '../../src/syntax/parse.js';
import type { StageStatement } from '../../src/syntax/ast.js';

const full = `import "resnet50.resnet"
# a comment
model net extends resnet50 {
  input 3x32x32
  classes 10
  dropout 0.2
  stem {
    conv 3x3 16 stride 1 groups 1
    maxpool 3x3 stride 2
    avgpool 2x2
  }
  block bottleneck { expansion 2  groups 4  width_per_group 16  stride_on 1x1  se 8 }
  shortcut D
  stage a { blocks 2  width 16  stride 2  block basic  shortcut A }
  norm batch { eps 1e-3  momentum 0.01 }
  activation relu
  expect params 1_234
  expect macs 1.2M
  expect output 64x8x8
}
`;

describe('parser', () => {
  it('parses every statement of the language with no diagnostics', () => {
    const r = parse(full, 'x.resnet');
    expect(r.diagnostics).toEqual([]);
    expect(r.file.imports[0]!.path!.value).toBe('resnet50.resnet');
    const m = r.file.models[0]!;
    expect(m.name!.text).toBe('net');
    expect(m.extendsName!.text).toBe('resnet50');
    expect(m.statements.map((s) => s.kind)).toEqual([
      'input', 'classes', 'dropout', 'stem', 'block', 'shortcut', 'stage', 'norm', 'activation', 'expect', 'expect', 'expect',
    ]);
    const stage = m.statements[6] as StageStatement;
    expect(stage.items.map((i) => (i.kind === 'field' ? i.key.text : i.kind))).toEqual(['blocks', 'width', 'stride', 'block', 'shortcut']);
    expect(r.file.comments.map((c) => c.text)).toEqual(['# a comment']);
  });

  it('keeps the exact span of every value', () => {
    const text = 'model m {\n  input 3x224x224\n}';
    const r = parse(text, 'x.resnet');
    const input = r.file.models[0]!.statements[0]!;
    expect(input.kind).toBe('input');
    if (input.kind !== 'input') return;
    expect(text.slice(input.size!.span.start, input.size!.span.end)).toBe('3x224x224');
    expect(text.slice(input.span.start, input.span.end)).toBe('input 3x224x224');
  });

  it('accepts keywords as names of models and stages', () => {
    const r = parse('model output { stage stem2 { blocks 1 width 8 } stage input { blocks 1 width 8 } }', 'x.resnet');
    expect(r.diagnostics).toEqual([]);
    expect(r.file.models[0]!.name!.text).toBe('output');
  });

  it('suggests the keyword a misspelt word meant, and parses the rest of the file', () => {
    const r = parse('model a {\n  stage s { blcoks 2 width 8 }\n  input 3x8x8\n}\nmodel b { input 3x8x8 }\n', 'x.resnet');
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: 'R0003', help: "did you mean 'blocks'?" });
    expect(r.diagnostics[0]!.fixes![0]!.newText).toBe('blocks');
    expect(r.file.models.map((m) => m.name!.text)).toEqual(['a', 'b']);
    expect(r.file.models[0]!.statements.map((s) => s.kind)).toEqual(['stage', 'input']);
  });

  it('suggests within the context: options of a block are not statements', () => {
    const r = parse('model a { block bottleneck { width_per_grop 4 } }', 'x.resnet');
    expect(r.diagnostics[0]).toMatchObject({ code: 'R0003', help: "did you mean 'width_per_group'?" });
  });

  it('reports a missing value where it should have been: after the word on its line, not at the next line', () => {
    const text = 'model a {\n  classes\n}';
    const r = parse(text, 'x.resnet');
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]!.code).toBe('R0003');
    expect(r.diagnostics[0]!.message).toBe("expected a number, found '}'");
    const end = text.indexOf('classes') + 'classes'.length;
    expect(r.diagnostics[0]!.span).toEqual({ start: end, end });
  });

  it('reports an unterminated string and still reads the import', () => {
    const r = parse('import "a.resnet\nmodel m { }', 'x.resnet');
    expect(r.diagnostics.map((d) => d.code)).toEqual(['R0002']);
    expect(r.file.imports[0]!.path!.value).toBe('a.resnet');
  });

  it('reports a missing closing brace at the end of the file', () => {
    const text = 'model m {\n  input 3x8x8\n';
    const r = parse(text, 'x.resnet');
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]!.message).toBe("expected '}', found the end of the file");
    // After the last token (rustc's place for a missing token), not past the blank line.
    expect(r.diagnostics[0]!.span.start).toBe(text.trimEnd().length);
  });
});

describe('error recovery keeps what was read', () => {
  it('a stray value in a model: the statements around it survive', () => {
    const r = parse('model a { input 3x8x8 64 128 classes 10 }\nmodel b { classes 3 }', 'x.resnet');
    expect(r.diagnostics.map((d) => d.message)).toEqual(["expected '}', found '64'"]);
    expect(r.file.models.map((m) => [m.name!.text, m.statements.map((s) => s.kind)])).toEqual([
      ['a', ['input', 'classes']],
      ['b', ['classes']],
    ]);
  });

  it('a stray value in a stage: its fields survive', () => {
    const r = parse('model a { stage s { blocks 2 64 128 width 8 } classes 10 }', 'x.resnet');
    const stage = r.file.models[0]!.statements[0] as StageStatement;
    expect(stage.items.map((i) => (i.kind === 'field' ? `${i.key.text} ${i.value!.text}` : i.kind))).toEqual(['blocks 2', 'width 8']);
  });

  it('a model left open at the end of the file is kept', () => {
    const r = parse('model a {\n  input 3x8x8\n  stage s { blocks 1', 'x.resnet');
    expect(r.file.models.map((m) => m.statements.map((s) => s.kind))).toEqual([['input', 'stage']]);
  });
});
