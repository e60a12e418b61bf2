import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/output.js';
import { run } from '../../src/cli/program.js';
import { onnx } from '../../src/onnx/proto.js';
import { root } from '../helpers/cli.js';
import { randomInput, runOrt } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'resnetc-onnx-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = join(dir, 'tiny.resnet');
writeFileSync(
  spec,
  `model tiny {
  input 3x16x16
  classes 3
  stem { conv 3x3 8 }
  block bottleneck { se 2 }
  shortcut D
  stage a { blocks 1  width 4 }
  stage b { blocks 1  width 8  stride 2 }
}
`,
);
const other = join(dir, 'other.resnet');
writeFileSync(other, readFileSync(spec, 'utf8').replace('blocks 1  width 8', 'blocks 2  width 8'));

async function resnetc(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out: Output = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), color: false, paint: (_s, t) => t, exitCode: 0 };
  const code = await run(args, out);
  return { code, stdout, stderr };
}

/** Files in the folder besides the specs: a failed compile must leave none (no partial, no temporary). */
const leftovers = (): string[] => readdirSync(dir).filter((f) => !f.endsWith('.resnet'));

describe('resnetc compile --target onnx', () => {
  it('writes a model ONNX Runtime runs and says what it wrote', async () => {
    const out = join(dir, 'tiny.onnx');
    const r = await resnetc('compile', spec, '--target', 'onnx', '-o', out);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^wrote .*tiny\.onnx: tiny, ONNX opset 17, training form, weights from seed 0, [\d.]+ MB\n$/);
    const result = await runOrt(readFileSync(out), randomInput(1, 3, 16, 16), [1, 3, 16, 16]);
    expect(result.dims).toEqual([1, 3]);
    rmSync(out);
  });

  it('with --dynamic-size writes a graph ONNX Runtime runs at other sizes, odd and non-square', async () => {
    const out = join(dir, 'dynamic.onnx');
    const r = await resnetc('compile', spec, '-t', 'onnx', '-o', out, '--dynamic-size');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/training form, any input size, weights from seed 0/);
    const dims = onnx.ModelProto.decode(readFileSync(out)).graph!.input![0]!.type!.tensorType!.shape!.dim!;
    expect(dims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 3, 'H', 'W']);
    const sizes: [number, number][] = [
      [16, 16],
      [23, 9],
    ];
    for (const [h, w] of sizes) {
      expect((await runOrt(readFileSync(out), randomInput(1, 3, h, w), [1, 3, h, w])).dims).toEqual([1, 3]);
    }
    rmSync(out);
  });

  it('honours --opset, --inference, --seed and --zero-init-residual', async () => {
    const out = join(dir, 'options.onnx');
    const r = await resnetc('compile', spec, '-t', 'onnx', '-o', out, '--opset', '13', '--inference', '--seed', '3', '--zero-init-residual');
    expect(r.code).toBe(0);
    const model = onnx.ModelProto.decode(readFileSync(out));
    expect(Number(model.opsetImport[0]!.version)).toBe(13);
    expect(model.graph!.node!.some((n) => n.opType === 'BatchNormalization')).toBe(false);
    rmSync(out);
  });

  it('takes weights from another file with --weights', async () => {
    const a = join(dir, 'a.onnx');
    const b = join(dir, 'b.onnx');
    expect((await resnetc('compile', spec, '-t', 'onnx', '-o', a, '--seed', '1')).code).toBe(0);
    const r = await resnetc('compile', spec, '-t', 'onnx', '-o', b, '--seed', '2', '--weights', a);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`weights from ${a}`);
    const input = randomInput(1, 3, 16, 16);
    expect((await runOrt(readFileSync(b), input, [1, 3, 16, 16])).data).toEqual((await runOrt(readFileSync(a), input, [1, 3, 16, 16])).data);
    rmSync(a);
    rmSync(b);
  });

  it('compiles the model --model names in a file of several, and asks for one otherwise', async () => {
    const zoo = join(import.meta.dirname, '..', '..', 'specs', 'cifar_resnet.resnet');
    const out = join(dir, 'resnet56.onnx');
    const r = await resnetc('compile', zoo, '-t', 'onnx', '-o', out, '--model', 'resnet56');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resnet56, ONNX opset 17');
    rmSync(out);
    const ambiguous = await resnetc('compile', zoo, '-t', 'onnx', '-o', out);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/^error\[R0901\]: .* declares 5 models: pick one with --model/);
    expect(leftovers()).toEqual([]);
  });

  it('refuses a spec with errors, showing them', async () => {
    const broken = join(dir, 'broken.resnet');
    writeFileSync(broken, readFileSync(spec, 'utf8').replace('block bottleneck', 'block bottlenek'));
    const r = await resnetc('compile', broken, '-t', 'onnx', '-o', join(dir, 'x.onnx'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[R0203\]: unknown block kind 'bottlenek'\n {2}--> .*broken\.resnet:\d+:\d+\n[\s\S]*\n`resnetc compile` stopped: 1 error, 0 warnings in .*broken\.resnet\n$/);
    rmSync(broken);
    expect(leftovers()).toEqual([]);
  });

  const failures: [string, string[], number, RegExp][] = [
    ['a missing spec', ['compile', join(dir, 'none.resnet'), '-t', 'onnx', '-o', join(dir, 'x.onnx')], 1, /^error\[R0101\]: cannot find/],
    ['an opset outside 13 to 21', ['compile', spec, '-t', 'onnx', '-o', join(dir, 'x.onnx'), '--opset', '9'], 2, /^error\[R0501\]: opset 9 is not supported: resnetc emits opsets 13 to 21\n {2}= help: /],
    ['an opset that is not a number', ['compile', spec, '-t', 'onnx', '-o', join(dir, 'x.onnx'), '--opset', 'new'], 2, /^error\[R0901\]: --opset must be a whole number, not 'new'/],
    ['an unknown option', ['compile', spec, '-t', 'onnx', '-o', join(dir, 'x.onnx'), '--fast'], 2, /^error\[R0901\]: unknown option '--fast'\n/],
    ['--dynamic-size for another target', ['compile', spec, '-t', 'tfjs', '-o', join(dir, 'x'), '--dynamic-size'], 2, /^error\[R0901\]: --dynamic-size applies to --target onnx, not tfjs\n/],
    ['an unknown target', ['compile', spec, '-t', 'coreml', '-o', join(dir, 'x.onnx')], 2, /^error\[R0901\]: unknown target 'coreml'\n {2}= help: the targets are onnx/],
    ['no output', ['compile', spec, '-t', 'onnx'], 2, /^error\[R0901\]: required option '-o, --output <path>' not specified\n/],
    ['a missing weights file', ['compile', spec, '-t', 'onnx', '-o', join(dir, 'x.onnx'), '--weights', join(dir, 'none.onnx')], 1, /^error\[R0101\]: cannot find the weights file/],
    ['a weights file of no format it reads (a spec)', ['compile', spec, '-t', 'onnx', '-o', join(dir, 'x.onnx'), '--weights', spec], 1, /^error\[R1008\]: '.*\.resnet' is text: resnetc does not read it as weights\n.*help: --weights reads a safetensors state_dict \(\.safetensors\), an ONNX model \(\.onnx\) or a tfjs model folder \(with model\.json\)/],
    ['an output folder that does not exist', ['compile', spec, '-t', 'onnx', '-o', join(dir, 'no', 'x.onnx')], 1, /^error\[R0903\]: cannot write/],
  ];
  for (const [what, args, code, message] of failures) {
    it(`fails cleanly on ${what}`, async () => {
      const r = await resnetc(...args);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(leftovers()).toEqual([]);
    });
  }

  it('fails on weights of another architecture, naming the layer, and leaves the old output untouched', async () => {
    const theirs = join(dir, 'other.onnx');
    const out = join(dir, 'kept.onnx');
    expect((await resnetc('compile', other, '-t', 'onnx', '-o', theirs)).code).toBe(0);
    writeFileSync(out, 'previous contents');
    const r = await resnetc('compile', spec, '-t', 'onnx', '-o', out, '--weights', theirs);
    expect(r.code).toBe(1);
    // The file has a second block in stage b where the spec's head begins.
    expect(r.stderr).toMatch(/^error\[R0503\]: head\.pool: expected a global average pool; the file has Conv \('b\.block1\.conv1'\), Add \('b\.block1\.add'\)/);
    expect(readFileSync(out, 'utf8')).toBe('previous contents');
    rmSync(theirs);
    rmSync(out);
    expect(leftovers()).toEqual([]);
  });
});

describe('resnetc compile, as a process', () => {
  /** Runs commands one after the other in a fresh process; says after each whether TensorFlow.js has been loaded. */
  const loadsTfjs = (commands: string[][]): { code: number; tfjs: boolean }[] => {
    const script = [
      `const { run } = await import(${JSON.stringify(pathToFileURL(join(root, 'src', 'cli', 'program.ts')).href)});`,
      `const { createRequire } = await import('node:module');`,
      `const out = { out: () => {}, err: (t) => process.stderr.write(t), color: false, paint: (_s, t) => t, exitCode: 0 };`,
      `const results = [];`,
      `for (const args of ${JSON.stringify(commands)}) {`,
      `  const code = await run(args, out);`,
      `  results.push({ code, tfjs: Object.keys(createRequire(process.cwd() + '/').cache).some((k) => k.includes('@tensorflow')) });`,
      `}`,
      `console.log(JSON.stringify(results));`,
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { code: number; tfjs: boolean }[];
  };

  it('does not load TensorFlow.js (some 300 ms) to write ONNX or safetensors, even from a tfjs model directory', async () => {
    const model = join(dir, 'process-model');
    expect((await resnetc('compile', spec, '--target', 'tfjs', '-o', model)).code).toBe(0);
    expect(
      loadsTfjs([
        ['compile', spec, '--target', 'onnx', '-o', join(dir, 'process.onnx')],
        // The tfjs model's weights are read from its files (src/weights/formats/tfjs.ts), not through TensorFlow.js.
        ['compile', spec, '--target', 'onnx', '--weights', model, '-o', join(dir, 'from-tfjs.onnx')],
        ['compile', spec, '--target', 'safetensors', '--weights', model, '-o', join(dir, 'from-tfjs.safetensors')],
        ['compile', spec, '--target', 'tfjs', '-o', join(dir, 'process-tfjs')],
      ]),
    ).toEqual([
      { code: 0, tfjs: false },
      { code: 0, tfjs: false },
      { code: 0, tfjs: false },
      { code: 0, tfjs: true },
    ]);
  });
});
