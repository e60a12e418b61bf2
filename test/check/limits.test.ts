import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxExtendsDepth, maxImportDepth, Workspace } from '../../src/check/workspace.js';
import { maxShownPerFile } from '../../src/cli/load.js';
import { frameWidth } from '../../src/diagnostics/render.js';
import { maxDrawnStages } from '../../src/graph/diagram.js';
import { sliceMs } from '../../src/lsp/cooperate.js';
import { maxMessageBytes } from '../../src/lsp/framing.js';
import { matchSteps } from '../../src/onnx/import.js';
import { maxNesting, maxTokenLength } from '../../src/syntax/limits.js';
import { importChain, validModel } from '../faults/hostile.js';
import { check, tempFiles } from '../helpers/check.js';

/**
 * Input whose depth the author controls — braces, import chains, `extends` chains — is read
 * with loops, or cut at a documented limit with a coded error; before, each was read by
 * recursion and a deep enough input overflowed the stack (an internal error, R0000).
 */
describe('depth limits', () => {
  it(`skips braces nested more than ${maxNesting} deep (R0004) and reads the rest of the file`, () => {
    const depth = 20_000; // overflowed the parser's recursion (219 were enough from the command line)
    const text = `model a {\n  foo ${'{'.repeat(depth)}${'}'.repeat(depth)}\n}\n${validModel}`;
    const file = check(text);
    const deep = file.diagnostics.filter((d) => d.code === 'R0004');
    expect(deep).toHaveLength(1);
    // The model's brace is the first level; the unknown word's braces the next ones.
    expect(deep[0]!.span.start).toBe(text.indexOf('{'.repeat(maxNesting)) + maxNesting - 1);
    expect(file.models.map((m) => m.name)).toEqual(['ok']);
  });

  it('takes braces up to the limit without complaint (an unknown word is the only error)', () => {
    const codes = check(`${validModel}model b { foo ${'{'.repeat(maxNesting - 1)}${'}'.repeat(maxNesting - 1)} }`).diagnostics.map((d) => d.code);
    expect(codes.filter((c) => c.startsWith('R00'))).toEqual(['R0003']);
  });

  it('recovers from thousands of stray braces and statements without recursing, reading every model', () => {
    // Each error inside a repetition made chevrotain's recovery call itself once more.
    // Each stray `}` after a model is an error of its own (a `model` comes between them); a run
    // of junk with no model in it is one mistake, one error. Junk holding a `}` right after a
    // model may be what a `}` too many cut from it: the model is read, not built.
    const strays: [string, number, string[]][] = [
      ['model a { } }\n', 8_000, ['ok']],
      ['model a { stage s { } } } x\n', 8_000, ['ok']],
      ['oup 8 }\n', 1, []],
    ];
    for (const [stray, errors, built] of strays) {
      const file = check(`${validModel}${stray.repeat(8_000)}`);
      expect([...file.declarations.keys()][0]).toBe('ok');
      expect(file.models.map((m) => m.name)).toEqual(built);
      expect(file.diagnostics.filter((d) => d.code === 'R0003')).toHaveLength(errors);
    }
    expect(check(`${validModel}}`).diagnostics.map((d) => d.message)).toEqual(["expected 'import' or 'model', found '}'"]);
  });

  it(`skips a token longer than ${maxTokenLength} characters (R0005), keeping the message short`, () => {
    const name = 'n'.repeat(maxTokenLength + 1);
    const file = check(`model ${name} { }\n${validModel}`);
    const long = file.diagnostics.find((d) => d.code === 'R0005')!;
    expect(long.span).toEqual({ start: 6, end: 6 + name.length });
    expect(long.message).toBe(`this token is 1,001 characters long; the limit is 1,000`);
    for (const d of file.diagnostics) expect(d.message.length).toBeLessThan(200);
    expect(check(`model ${'n'.repeat(maxTokenLength)} { }`).diagnostics.map((d) => d.code)).not.toContain('R0005');
  });

  it(`cuts an import chain longer than ${maxImportDepth} files (R0111), saying so in the file checked`, () => {
    const files = importChain(2_000); // 2,000 files overflowed the checker's recursion
    const dir = tempFiles(files);
    const head = new Workspace().check(join(dir, 'chain1999.resnet'))!;
    const cut = 1_999 - (maxImportDepth - 1); // the file at the limit, whose import is not followed
    expect(head.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ['R0111', `importing 'chain1998.resnet' leads to a chain of more than ${maxImportDepth} files (cut where chain${cut}.resnet imports 'chain${cut - 1}.resnet')`],
      ['R0103', "'chain1998.resnet' has 1 error"],
    ]);
    expect(head.diagnostics[0]!.related![0]!.file).toBe(join(dir, `chain${cut}.resnet`));
    // A chain within the limit is read whole: the model at the head extends the one at the tail.
    const within = new Workspace().check(join(dir, `chain${maxImportDepth - 1}.resnet`))!;
    expect(within.diagnostics).toEqual([]);
    expect(within.models[0]!.totals.params).toBe(65_882);
  });

  it(`refuses a model more than ${maxExtendsDepth} generations of extends from its root (R0112), in any order`, () => {
    const lines: string[] = [];
    for (let i = 20_000; i >= 1; i--) lines.push(`model m${i} extends m${i - 1} { }`);
    const base = validModel.replace('model ok', 'model m0');
    for (const text of [`${lines.join('\n')}\n${base}`, `${base}${lines.reverse().join('\n')}\n`]) {
      const file = check(text);
      expect(file.diagnostics.map((x) => [x.code, x.message])).toEqual([['R0112', `'m${maxExtendsDepth + 1}' is more than ${maxExtendsDepth} generations of 'extends' from its root model`]]);
      expect(file.models).toHaveLength(maxExtendsDepth + 1);
    }
  });
});

describe('docs/limits.md', () => {
  it('states the limits the code enforces', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'limits.md'), 'utf8');
    const n = (v: number): string => v.toLocaleString('en-US');
    const rows: [RegExp, string][] = [
      [/\| braces nested inside each other \| (\d+) /, String(maxNesting)],
      [/\| length of a name, number, size or quoted path \| ([\d,]+) characters/, n(maxTokenLength)],
      [/\| an import chain .*? \| ([\d,]+) files/, n(maxImportDepth)],
      [/\| generations of `extends` above a model \| ([\d,]+) /, n(maxExtendsDepth)],
      [/\| diagnostics printed per file .*? \| ([\d,]+) /, n(maxShownPerFile)],
      [/\| columns of a source line .*? \| ([\d,]+) /, n(frameWidth)],
      [/\| stages drawn by .*? \| ([\d,]+) /, n(maxDrawnStages)],
      [/\| steps of matching .*? \| ([\d,]+) and \d+ per layer/, n(matchSteps.base)],
      [/\| steps of matching .*? \| [\d,]+ and (\d+) per layer/, n(matchSteps.perLayer)],
      [/\| a message from the editor \| ([\d,]+) MiB /, n(maxMessageBytes / 2 ** 20)],
      [/\| work of one request .*? \| ([\d,]+) ms /, n(sliceMs)],
    ];
    for (const [row, value] of rows) expect(row.exec(doc)?.[1], String(row)).toBe(value);
  });
});
