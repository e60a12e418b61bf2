import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../helpers/check.js';
import { cli } from '../helpers/cli.js';

// A small spec (ResNet-20's layout at width 8): 1 + 3 stages of basic blocks.
const spec = (extra = '', block = 'basic'): string => `model net {
  input 3x32x32
  classes 10
  stem { conv 3x3 8 }
  block ${block}
  shortcut A
  stage conv2 { blocks 1  width 8 }
  stage conv3 { blocks 1  width 16  stride 2 }
  stage conv4 { blocks 1  width 32  stride 2 }
  expect output 32x8x8
${extra}}
`;

/** What `resnetc check` prints for a file, less its last line (the count): the diagnostics, rustc-style. */
async function checkDiagnostics(file: string): Promise<string> {
  const r = await cli('check', '--quiet', file);
  return r.stderr.slice(0, r.stderr.trimEnd().lastIndexOf('\n') + 1);
}

describe('every command shows the diagnostics before it stops', () => {
  const dir = tempFiles({ 'broken.resnet': spec('', 'bottlenek').replace('classes 10', 'classes 0') });
  const broken = join(dir, 'broken.resnet');
  const commands: [string, string[], string][] = [
    ['compile', ['compile', broken, '-t', 'onnx', '-o', join(dir, 'out.onnx')], join(dir, 'out.onnx')],
    ['summary', ['summary', broken], ''],
    ['graph', ['graph', broken, '-o', join(dir, 'out.svg')], join(dir, 'out.svg')],
    ['train', ['train', broken, '--data', 'synthetic:8', '--epochs', '1', '--out', join(dir, 'run')], join(dir, 'run')],
    ['eval', ['eval', broken, '--weights', join(dir, 'w.onnx'), '--data', 'synthetic:8'], ''],
    ['predict', ['predict', broken, '--weights', join(dir, 'w.onnx'), join(dir, 'a.png')], ''],
  ];
  for (const [name, argv, output] of commands) {
    it(`${name}: the same text as resnetc check, then a line that counts them; nothing written`, async () => {
      const expected = await checkDiagnostics(broken);
      expect(expected).toMatch(/^error\[R0208\]: classes must be at least 1, not 0\n[\s\S]*error\[R0203\]: unknown block kind 'bottlenek'\n/);
      const r = await cli(...argv);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`${expected}\`resnetc ${name}\` stopped: 2 errors, 0 warnings in ${broken}\n`);
      if (output) expect(existsSync(output)).toBe(false);
    });
  }
});

describe('a file whose only errors are expect lines that do not hold', () => {
  // 269,722 is ResNet-20's count at width 16; this network has fewer.
  const dir = tempFiles({ 'net.resnet': spec('  expect params 269_722\n') });
  const file = join(dir, 'net.resnet');

  it('summary prints the table that shows why, the failure, and exits 1', async () => {
    const r = await cli('summary', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^conv4\s+1 x basic \/2\s+32x8x8\s/m);
    expect(r.stderr).toMatch(/^error\[R0401\]: expected 269,722 parameters, the model has /);
    expect(r.stderr).toMatch(/\n1 error, 0 warnings in .*net\.resnet\n$/);
  });

  it('graph writes the diagram, prints the failure, and exits 1', async () => {
    const r = await cli('graph', file, '-o', join(dir, 'net.svg'));
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, 'net.svg'), 'utf8')).toMatch(/^<svg/);
    expect(r.stderr).toMatch(/^error\[R0401\]/);
  });

  it('compile and train refuse: they build a model the spec says is not the one meant', async () => {
    for (const argv of [
      ['compile', file, '-t', 'onnx', '-o', join(dir, 'net.onnx')],
      ['train', file, '--data', 'synthetic:8', '--epochs', '1', '--out', join(dir, 'run')],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv[0]).toBe(1);
      expect(r.stderr).toMatch(/^error\[R0401\]/);
      expect(r.stderr).toContain(`\`resnetc ${argv[0]}\` stopped: 1 error, 0 warnings in ${file}; an \`expect\` line that does not hold stops ${argv[0]}`);
    }
    expect(existsSync(join(dir, 'net.onnx'))).toBe(false);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });
});

describe('warnings', () => {
  it('are shown by every command, which goes on and exits 0', async () => {
    const dir = tempFiles({ 'w.resnet': spec().replace('stage conv2 { blocks 1  width 8 }', 'stage conv2 { blocks 1  width 8  shortcut B }') });
    const r = await cli('summary', join(dir, 'w.resnet'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning\[R0307\]: shortcut B \(projection\) never takes effect in stage 'conv2'/);
    expect(r.stdout).toContain('conv2');
  });
});

describe('--model', () => {
  it("shows the chosen model's diagnostics and the file's, not another model's", async () => {
    const dir = tempFiles({ 'two.resnet': `${spec()}\nmodel other extends net {\n  classes 0\n}\n` });
    const good = await cli('summary', join(dir, 'two.resnet'), '--model', 'net');
    expect(good.code).toBe(0);
    expect(good.stderr).toBe('');
    const bad = await cli('summary', join(dir, 'two.resnet'), '--model', 'other');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error\[R0208\]: classes must be at least 1, not 0\n/);
  });
});
