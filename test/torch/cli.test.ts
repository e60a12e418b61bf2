import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import { parseSafetensors } from '../../src/weights/safetensors.js';
import { torchStateDict } from '../../src/weights/torch-names.js';
import { cli } from '../helpers/cli.js';

/** `resnetc compile --target safetensors | pytorch`, and `--weights FILE.safetensors`, as a user runs them. */

const dir = mkdtempSync(join(tmpdir(), 'resnetc-torch-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (name: string): string => join(dir, name);

const spec = path('tiny.resnet');
writeFileSync(
  spec,
  `model tiny {
  input 3x16x16
  classes 3
  stem { conv 3x3 8 }
  block bottleneck
  shortcut D
  stage a { blocks 1  width 4 }
  stage b { blocks 2  width 8  stride 2 }
}
`,
);
const tiny = new Workspace().check(spec)!.models[0]!;

async function compile(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cli('compile', spec, ...args);
}

describe('resnetc compile --target safetensors', () => {
  it("writes the weights under the naming table's keys, running statistics and batch counts included", async () => {
    const r = await compile('-t', 'safetensors', '--seed', '3', '-o', path('seed3.safetensors'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*seed3\.safetensors: tiny, safetensors under torchvision's names, running statistics included, weights from seed 3, 0\.0 MB\n$/);
    const file = parseSafetensors(readFileSync(path('seed3.safetensors')), 'seed3');
    expect([...file.tensors.keys()].sort()).toEqual(torchStateDict(tiny).map((e) => e.key).sort());
    expect(file.metadata).toMatchObject({ format: 'pt', model: 'tiny', names: 'torchvision' });
  });

  it('takes --weights from an ONNX file, a tfjs model or a safetensors file, value for value', async () => {
    const seeded = readFileSync(path('seed3.safetensors'));
    expect((await compile('-t', 'onnx', '--seed', '3', '-o', path('seed3.onnx'))).code).toBe(0);
    expect((await compile('-t', 'tfjs', '--seed', '3', '-o', path('seed3.tfjs'))).code).toBe(0);
    for (const from of ['seed3.onnx', 'seed3.tfjs', 'seed3.safetensors']) {
      const r = await compile('-t', 'safetensors', '--weights', path(from), '-o', path(`from-${from}.safetensors`));
      expect(r.stderr, from).toBe('');
      expect(readFileSync(path(`from-${from}.safetensors`)).equals(seeded), from).toBe(true);
    }
  }, 60_000);
});

describe('resnetc compile --weights FILE.safetensors', () => {
  it('gives the ONNX export the same tensors as the seed they were written from', async () => {
    const r = await compile('-t', 'onnx', '--weights', path('seed3.safetensors'), '-o', path('from-safetensors.onnx'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('weights from');
    expect(readFileSync(path('from-safetensors.onnx')).equals(readFileSync(path('seed3.onnx')))).toBe(true);
  });

  it.each([
    ['a PyTorch pickle', 'model.pth', Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0), 'R1000', /is a zip archive, PyTorch's torch.save format.*\n.*help: convert it to safetensors/],
    ['a damaged safetensors file', 'bad.safetensors', Uint8Array.of(200, 0, 0, 0, 0, 0, 0, 0, 0x7b), 'R1001', /is not a valid safetensors file: its header length says 200 bytes/],
  ])('refuses %s with its code, and writes nothing', async (_what, name, bytes, code, message) => {
    writeFileSync(path(name), bytes);
    for (const target of ['onnx', 'safetensors']) {
      const out = path(`refused.${target}`);
      const r = await compile('-t', target, '--weights', path(name), '-o', out);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error[${code}]`);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it("names the tensor and the layer where another network's weights do not fit", async () => {
    const other = path('other.resnet');
    writeFileSync(other, readFileSync(spec, 'utf8').replace('stage b { blocks 2', 'stage b { blocks 3'));
    expect((await cli('compile', other, '-t', 'safetensors', '-o', path('other.safetensors'))).code).toBe(0);
    const r = await compile('-t', 'safetensors', '--weights', path('other.safetensors'), '-o', path('x.safetensors'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[R1006\]: '.*other\.safetensors' has 18 tensors that tiny does not have: 'layer2\.2\.conv1\.weight', 'layer2\.2\.bn1\.weight'/);
  });

  it('reports a missing weights file as R0101', async () => {
    const r = await compile('-t', 'safetensors', '--weights', path('none.safetensors'), '-o', path('x.safetensors'));
    expect(r.stderr).toContain('error[R0101]');
  });
});

describe('resnetc compile --target pytorch', () => {
  it('writes the Python module', async () => {
    const r = await compile('-t', 'pytorch', '-o', path('tiny.py'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^wrote .*tiny\.py: tiny, a PyTorch module under torchvision's names \(build\(\) returns it\)\n$/);
    const text = readFileSync(path('tiny.py'), 'utf8');
    const comment = text.split('\n').filter((l) => l.startsWith('# ')).map((l) => l.slice(2)).join(' ');
    expect(comment).toMatch(/^tiny: compiled by resnetc \d+\.\d+\.\d+ from tiny\.resnet\. /);
    expect(comment).toContain(`${tiny.totals.params.toLocaleString('en-US')} parameters, ${tiny.totals.buffers.toLocaleString('en-US')} buffers (norm running statistics), ${tiny.totals.macs.toLocaleString('en-US')} MACs for one 3x16x16 image; outputs 3 classes.`);
  });

  it('refuses --weights, which a module of code cannot take (exit 2)', async () => {
    const r = await compile('-t', 'pytorch', '--weights', path('seed3.safetensors'), '-o', path('w.py'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error[R0901]: --weights does not apply to --target pytorch');
    expect(existsSync(path('w.py'))).toBe(false);
  });

  it('lists the targets in --help', async () => {
    const r = await cli('compile', '--help');
    expect(r.stdout).toMatch(/onnx, tfjs, safetensors, pytorch/);
  });
});
