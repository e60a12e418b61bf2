import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { targets } from '../../src/cli/compile.js';
import { emitOnnx, importOnnxWeights } from '../../src/onnx/index.js';
import { maxMatchSteps } from '../../src/onnx/import.js';
import { type GraphProto, onnx } from '../../src/onnx/proto.js';
import { checkText, randomWeights, thrown } from './helpers.js';
import { openWeightSource } from '../../src/weights/open.js';

const dir = mkdtempSync(join(tmpdir(), 'resnetc-onnx-matching-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = `model tiny {
  input 3x12x12
  classes 4
  stem { conv 3x3 8 }
  block basic
  stage a { blocks 2  width 8 }
  stage b { blocks 1  width 16  stride 2 }
}`;

/** The model's ONNX graph, changed by `edit`, as bytes. */
function edited(edit: (graph: GraphProto) => void): { bytes: Uint8Array; weights: ReturnType<typeof randomWeights> } {
  const model = checkText(spec);
  const weights = randomWeights(model, 3);
  const decoded = onnx.ModelProto.decode(emitOnnx(model, weights));
  edit(decoded.graph!);
  return { bytes: onnx.ModelProto.encode(decoded).finish(), weights };
}

describe('matching a --weights file is bounded and ends on any graph', () => {
  it('refuses a graph whose nodes are duplicated, each value made twice (R0508), before matching', () => {
    const { bytes } = edited((g) => {
      g.node = [...g.node!, ...g.node!.map((n) => onnx.NodeProto.create({ ...n, name: `${n.name}_again` }))];
    });
    const e = thrown(() => importOnnxWeights(bytes, checkText(spec)));
    expect(e.code).toBe('R0508');
    expect(e.message).toBe("the weights file's graph makes 'stem.conv1' twice (nodes 'stem.conv1' and 'stem.conv1_again')");
  });

  it('refuses a graph with a cycle of Identity nodes (R0509), which overflowed the stack', () => {
    // An identity shortcut's Add reads a value that two Identity nodes make from each other.
    const { bytes } = edited((g) => {
      const add = g.node!.find((n) => n.opType === 'Add')!;
      add.input![1] = 'loop.a';
      g.node!.push(onnx.NodeProto.create({ opType: 'Identity', input: ['loop.b'], output: ['loop.a'], name: 'loop a' }));
      g.node!.push(onnx.NodeProto.create({ opType: 'Identity', input: ['loop.a'], output: ['loop.b'], name: 'loop b' }));
    });
    const e = thrown(() => importOnnxWeights(bytes, checkText(spec)));
    expect(e.code).toBe('R0509');
    expect(e.message).toMatch(/^the weights file's graph has a cycle: node 'loop [ab]' depends on its own output$/);
  });

  it('takes the reading that leads on when look-alike nodes read the same values (decoys)', () => {
    // Beside every Conv, a Conv of the same shape with other weights reading the same value,
    // whose output leads nowhere: only the original readings reach the end.
    const { bytes, weights } = edited((g) => {
      const decoys = g.node!.filter((n) => n.opType === 'Conv').map((n) => onnx.NodeProto.create({ ...n, name: `${n.name} decoy`, input: [n.input![0]!, `${n.input![1]} decoy`], output: [`${n.output![0]} decoy`] }));
      const tensors = g.initializer!.filter((t) => decoys.some((d) => d.input![1] === `${t.name} decoy`));
      g.initializer = [...g.initializer!, ...tensors.map((t) => onnx.TensorProto.create({ ...t, name: `${t.name} decoy`, rawData: new Uint8Array(t.rawData!.length).fill(1) }))];
      // Decoys first: a reader in file order meets them before the originals.
      g.node = [...decoys, ...g.node!];
    });
    const back = importOnnxWeights(bytes, checkText(spec));
    for (const [name, values] of weights) expect(back.get(name), name).toEqual(values);
  });

  it('gives up after a bounded number of steps (R0507; 100,000 and 100 per layer by default)', () => {
    const { bytes } = edited(() => undefined);
    const e = thrown(() => importOnnxWeights(bytes, checkText(spec), { maxSteps: 20 }));
    expect(e.code).toBe('R0507');
    expect(e.message).toContain('too ambiguous to match: 20 readings');
    expect(importOnnxWeights(bytes, checkText(spec)).size).toBeGreaterThan(0);
    // Its layers: stem conv, norm, act (3); two basic blocks of 6 (conv, norm, act, conv, norm,
    // act); one of 8 (a projection's conv and norm besides); head pool and fc (2): 25.
    expect(maxMatchSteps(checkText(spec))).toBe(100_000 + 100 * 25);
  });
});

describe('compile holds interrupts back for the final write only', () => {
  const options = async (weights: string, output: string, calls: string[]) => ({
    output,
    inference: false,
    weights: await openWeightSource(weights, checkText(spec)),
    writing: async <T>(write: () => T | Promise<T>): Promise<T> => {
      calls.push('write begins');
      const result = await write();
      calls.push('write ends');
      return result;
    },
  });

  it('matches the weights (opening their source) before the write begins, so a bad file fails outside it', async () => {
    const bad = join(dir, 'cycle.onnx');
    writeFileSync(bad, edited((g) => g.node!.push(onnx.NodeProto.create({ opType: 'Identity', input: ['x'], output: ['x'], name: 'self' }))).bytes);
    const calls: string[] = [];
    const output = join(dir, 'never.onnx');
    await expect((async () => targets['onnx']!(checkText(spec), await options(bad, output, calls)))()).rejects.toMatchObject({ code: 'R0509' });
    expect(calls).toEqual([]);
    expect(existsSync(output)).toBe(false);
  });

  it('writes the output inside the guarded step, once', async () => {
    const good = join(dir, 'good.onnx');
    writeFileSync(good, edited(() => undefined).bytes);
    const calls: string[] = [];
    const output = join(dir, 'out.onnx');
    const report = await targets['onnx']!(checkText(spec), await options(good, output, calls));
    expect(calls).toEqual(['write begins', 'write ends']);
    expect(existsSync(output)).toBe(true);
    expect(report).toContain(`weights from ${good}`);
  });
});
