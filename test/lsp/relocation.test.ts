import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CheckedFile } from '../../src/check/workspace.js';
import { Workspace } from '../../src/check/workspace.js';
import { fullParse, reparse } from '../../src/lsp/incremental.js';

// A file where models extend models above and below an edit, with diagnostics inside
// models (a failing expect, a warning) and pointing outside them (an inherited error).
const text = `# models for relocation
model base {
  input 3x32x32
  classes 10
  stem { conv 3x3 16 }
  block basic
  shortcut A
  stage conv2 { blocks 2  width 16 }
  stage conv3 { blocks 2  width 32  stride 2 }
  expect params 1
}

model a extends base {
  stage conv2 { blocks 3 }
  dropout 0.2
  expect output 32x16x16
}

model b extends a {
  stage conv3 { width 64 }
  expect params 2K
}

model c extends base {
  stem { conv 3x3 64 }
  shortcut A
}

model d extends b {
  classes 5
  expect macs 1
}

model e extends base {
  classes 3
}
`;

/** What a check says, in a form two checks can be compared by. */
function view(file: CheckedFile): unknown {
  return {
    diagnostics: file.diagnostics.map((d) => ({ code: d.code, message: d.message, span: d.span, related: d.related, fixes: d.fixes })),
    models: file.models.map((m) => ({
      name: m.name,
      origin: m.origin,
      totals: m.totals,
      stages: m.stages.map((s) => ({ name: s.name, origin: s.origin, depth: s.depth, params: s.params, blocks: s.blocks.map((b) => b.name) })),
      expects: m.expects,
    })),
  };
}

describe('checking after an edit that moves models', () => {
  it('moving what was made of moved models gives what checking afresh gives', () => {
    const path = '/relocation/test.resnet';
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), insert: fc.constantFrom('', ' ', '\n', '# x\n', '9', 'stage conv2 { blocks 1 }\n'), remove: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 8 }),
        (edits) => {
          let current = text;
          const workspace = new Workspace({ readFile: (p) => (p === path ? current : undefined) });
          let parsed = fullParse(path, current);
          workspace.remember(parsed);
          workspace.check(path);
          for (const e of edits) {
            const at = e.at % (current.length + 1);
            current = current.slice(0, at) + e.insert + current.slice(at + e.remove);
            parsed = reparse(parsed, current);
            workspace.remember(parsed);
            const incremental = workspace.check(path)!;
            const fresh = new Workspace({ readFile: (p) => (p === path ? current : undefined) }).check(path)!;
            expect(view(incremental)).toEqual(view(fresh));
          }
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it('an edit above a model does not check the model again', () => {
    const path = '/relocation/moved.resnet';
    let current = text;
    const workspace = new Workspace({ readFile: (p) => (p === path ? current : undefined) });
    let parsed = fullParse(path, current);
    workspace.remember(parsed);
    const before = workspace.check(path)!;
    current = current.replace('blocks 3 }', 'blocks 34 }');
    parsed = reparse(parsed, current);
    expect(parsed.moved?.size).toBe(4); // b, c, d and e come after the edit
    workspace.remember(parsed);
    const after = workspace.check(path)!;
    // e extends base, which the edit did not touch: what was made of it is moved, not rebuilt.
    const e0 = before.models.find((m) => m.name === 'e')!;
    const e1 = after.models.find((m) => m.name === 'e')!;
    expect(e1.origin.start).toBe(e0.origin.start + 1);
    expect(e1.stem).toBe(e0.stem);
    // d extends b extends a, which the edit changed: it is built again.
    const d0 = before.models.find((m) => m.name === 'd')!;
    const d1 = after.models.find((m) => m.name === 'd')!;
    expect(d1.stem).not.toBe(d0.stem);
    expect(d1.stages[0]!.depth).toBe(34);
  });
});
