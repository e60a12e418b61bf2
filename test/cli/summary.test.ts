import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../helpers/check.js';
import { cli, root } from '../helpers/cli.js';

describe('resnetc summary', () => {
  it('prints a row per stage and the totals with parameters, buffers and biases apart', async () => {
    const r = await cli('summary', join(root, 'specs', 'resnet50.resnet'));
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n');
    expect(rows.find((l) => l.startsWith('conv4'))).toMatch(/^conv4\s+6 x bottleneck \/2\s+1024x14x14\s+7,098,368\s+27\.8%\s+1,464,336,384\s+35\.8%$/);
    expect(rows.find((l) => l.startsWith('head'))).toMatch(/^head\s+avg pool, fc\s+1000\s+2,049,000/);
    expect(r.stdout).toContain('parameters  25,557,032  (weights 25,502,912, norm scale and shift 53,120, biases 1,000)');
    expect(r.stdout).toContain('buffers     53,120');
    expect(r.stdout).toContain('MACs        4,089,184,256  (4.09G, one image)');
  });

  it('--layers prints every layer with its output shape', async () => {
    const r = await cli('summary', '--layers', join(root, 'specs', 'cifar_resnet.resnet'), '--model', 'resnet20');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/conv3\.block0\.shortcut\.pad\s+subsample \/2, pad channels\s+32x16x16\s+0\s+0/);
    expect(r.stdout).toMatch(/head\.fc\s+fully connected\s+10x1x1\s+650\s+640/);
    expect(r.stdout).toContain('MACs        40,551,040  (40.55M, one image)');
    expect(r.stdout).toMatch(/^total\s+269,722\s+40,551,040$/m);
  });

  it('asks for --model when a file declares several, and suggests a misspelt one', async () => {
    const many = await cli('summary', join(root, 'specs', 'cifar_resnet.resnet'));
    expect(many.code).toBe(2);
    expect(many.stderr).toContain('declares 5 models: pick one with --model');
    const typo = await cli('summary', join(root, 'specs', 'cifar_resnet.resnet'), '--model', 'resnet2O');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain("error[R0104]: ");
    expect(typo.stderr).toContain("did you mean 'resnet20'?");
  });

  it('refuses a file with errors, showing them', async () => {
    const dir = tempFiles({ 'bad.resnet': 'model m { input 3x8x8 stem { } block basic stage s { blocks 0 width 8 } }' });
    const r = await cli('summary', join(dir, 'bad.resnet'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error\[R0208\]: 'blocks' must be at least 1, not 0\n {2}--> .*bad\.resnet:1:61\n/);
    expect(r.stderr).toMatch(/\n`resnetc summary` stopped: 1 error, 0 warnings in .*bad\.resnet\n$/);
  });
});

describe('a file with syntax errors', () => {
  it('shows all its diagnostics, however many models the parser made of it', async () => {
    const dir = tempFiles({ 'notes.resnet': '# not a spec\nmodel a { input 3x8x8 ; }\nmodel b { }\nmodel c { }\n' });
    const r = await cli('summary', join(dir, 'notes.resnet'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[R0001]: unexpected character ';'\n");
    expect(r.stderr).toMatch(/`resnetc summary` stopped: \d+ errors, 0 warnings in .*notes\.resnet\n$/);
  });
});
