import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CheckedFile } from '../../src/check/workspace.js';
import { Workspace } from '../../src/check/workspace.js';
import { readDeclaration } from '../../src/check/read-declaration.js';
import { fullParse, reparse } from '../../src/lsp/incremental.js';
import type { Origin } from '../../src/model/types.js';
import { forEachSpan } from '../../src/syntax/ast.js';

// A file where models extend models above and below an edit, with diagnostics inside
// models (a failing expect, a warning) and pointing outside them (an inherited error).
// f's failing expect, with its fix, is moved rather than checked again after most edits.
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

model f extends base {
  classes 4
  expect params 1
}
`;

/** Where an origin is now: the file, and its node's span as the tree has it. */
const where = (o: Origin): unknown => ({ file: o.file, start: o.node.span.start, end: o.node.span.end });

/** What a check says, in a form two checks can be compared by: every position as it reads now. */
function view(file: CheckedFile): unknown {
  return {
    diagnostics: file.diagnostics.map((d) => ({ code: d.code, message: d.message, span: { ...d.span }, related: d.related, fixes: d.fixes })),
    models: file.models.map((m) => ({
      name: m.name,
      origin: where(m.origin),
      totals: m.totals,
      stages: m.stages.map((s) => ({ name: s.name, origin: where(s.origin), depth: s.depth, params: s.params, blocks: s.blocks.map((b) => b.name) })),
      expects: m.expects.map((e) => ({ ...e, origin: where(e.origin) })),
    })),
  };
}

describe('checking after an edit that moves models', () => {
  it('what was made of moved models, read where they are now, is what checking afresh gives', () => {
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
    const e0start = before.models.find((m) => m.name === 'e')!.origin.node.span.start;
    const nodes = parsed.syntax.models.map((m) => ({ node: m, start: m.span.start }));
    current = current.replace('blocks 3 }', 'blocks 34 }');
    parsed = reparse(parsed, current);
    // b to f come after the edit: the same nodes, moved in place by one character.
    const placed = parsed.syntax.models.map((m) => {
      const known = nodes.find((n) => n.node === m);
      return known ? `${m.name!.text} moved ${m.span.start - known.start}` : `${m.name!.text} new`;
    });
    expect(placed).toEqual(['base moved 0', 'a new', 'b moved 1', 'c moved 1', 'd moved 1', 'e moved 1', 'f moved 1']);
    workspace.remember(parsed);
    const after = workspace.check(path)!;
    // e extends base, which the edit did not touch: what was made of it is kept, not rebuilt,
    // and it says where e is now.
    const e0 = before.models.find((m) => m.name === 'e')!;
    const e1 = after.models.find((m) => m.name === 'e')!;
    expect(e1.origin.node.span.start).toBe(e0start + 1);
    expect(e1.stem).toBe(e0.stem);
    // d extends b extends a, which the edit changed: it is built again.
    const d0 = before.models.find((m) => m.name === 'd')!;
    const d1 = after.models.find((m) => m.name === 'd')!;
    expect(d1.stem).not.toBe(d0.stem);
    expect(d1.stages[0]!.depth).toBe(34);
  });

  it('keeps the syntax tree’s own spans, never copies, so that what it made moves with the tree', () => {
    const path = '/relocation/shared.resnet';
    const broken = `${text}\nmodel g extends nothing { blocks 3 }\nmodel h extends base { block basic { groups 2 }  stage conv9 { blocks 1 } }\n`;
    const parsed = fullParse(path, broken);
    // The span objects a re-parse moves in place: those of the tree.
    const treeSpans = new Set<object>();
    forEachSpan(parsed.syntax, (span) => treeSpans.add(span));
    const workspace = new Workspace({ readFile: (p) => (p === path ? broken : undefined) });
    workspace.remember(parsed);
    const checked = workspace.check(path)!;
    const fromChecker = checked.diagnostics.filter((d) => d.code >= 'R0100');
    expect(fromChecker.length).toBeGreaterThan(3);
    // Every position in what the check made: an object with a start and an end.
    const copies: string[] = [];
    const seen = new Set<object>();
    const visit = (v: unknown, where: string): void => {
      if (typeof v !== 'object' || v === null || seen.has(v)) return;
      seen.add(v);
      if ('start' in v && 'end' in v && !treeSpans.has(v)) copies.push(where);
      for (const [k, x] of Object.entries(v)) visit(x, `${where}.${k}`);
    };
    visit(fromChecker, 'diagnostics');
    visit(checked.models, 'models');
    for (const node of parsed.syntax.models) visit(readDeclaration(node, path, { report: () => undefined }), `declaration of ${node.name?.text}`);
    expect(copies).toEqual([]);
  });

  it('makes nothing again for a model an edit only moved, and lets go of what it made of an edited one', async () => {
    // Each moved model's check used to be moved into a copy holding the one before it, back to
    // the first keystroke. Now a moved model keeps the one check it had; an edited model's
    // earlier checks are collected.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const path = '/relocation/memory.resnet';
    let current = text;
    const workspace = new Workspace({ readFile: (p) => (p === path ? current : undefined) });
    let parsed = fullParse(path, current);
    workspace.remember(parsed);
    workspace.check(path);
    // A space added to model a and taken away again: e, further down, moves each time.
    const edit = (i: number): CheckedFile => {
      current = i % 2 === 0 ? current.replace('blocks 3 }', 'blocks 3  }') : current.replace('blocks 3  }', 'blocks 3 }');
      parsed = reparse(parsed, current);
      workspace.remember(parsed);
      return workspace.check(path)!;
    };
    const { editedModel, editedNode, moved, stem } = ((): { editedModel: WeakRef<object>; editedNode: WeakRef<object>; moved: object; stem: unknown } => {
      const once = edit(0);
      const model = once.models.find((m) => m.name === 'e')!;
      const a = once.models.find((m) => m.name === 'a')!;
      return { editedModel: new WeakRef(a), editedNode: new WeakRef(once.declarations.get('a')!), moved: model, stem: model.stem };
    })();
    for (let i = 1; i < 7; i++) {
      const e = edit(i).models.find((m) => m.name === 'e')!;
      expect(e).toBe(moved);
      expect(e.stem).toBe(stem);
    }
    // WeakRefs are cleared only after the current job: wait a turn, collect, look.
    await new Promise((r) => setTimeout(r, 0));
    gc();
    await new Promise((r) => setTimeout(r, 0));
    expect(editedNode.deref()).toBeUndefined();
    expect(editedModel.deref()).toBeUndefined();
  });
});
