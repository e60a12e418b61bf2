import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../helpers/check.js';
import { cli, root } from '../helpers/cli.js';

describe('resnetc fmt', () => {
  it('rewrites files in place and says which', async () => {
    const dir = tempFiles({ 'a.resnet': 'model a { input 3x8x8 }' });
    const r = await cli('fmt', join(dir, 'a.resnet'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/formatted .*a\.resnet/);
    expect(readFileSync(join(dir, 'a.resnet'), 'utf8')).toBe('model a {\n  input 3x8x8\n}\n');
  });

  it('--check changes nothing and exits 1 naming the unformatted files with R0703', async () => {
    const dir = tempFiles({ 'a.resnet': 'model a { input 3x8x8 }', 'b.resnet': 'model b {\n  input 3x8x8\n}\n' });
    const r = await cli('fmt', '--check', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[R0703\]: '.*a\.resnet' is not formatted/);
    expect(r.stderr).not.toContain('b.resnet');
    expect(readFileSync(join(dir, 'a.resnet'), 'utf8')).toBe('model a { input 3x8x8 }');
  });

  it('--check passes on specs/, saying the files are already formatted', async () => {
    const r = await cli('fmt', '--check', join(root, 'specs'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('14 files already formatted\n');
    expect(r.stderr).toBe('');
  });

  it('--check lists the files that are not formatted, and counts them', async () => {
    const dir = tempFiles({ 'a.resnet': 'model a { input 3x8x8 }', 'b.resnet': 'model b {\n  input 3x8x8\n}\n', 'c.resnet': 'model c {input 3x8x8}' });
    const r = await cli('fmt', '--check', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean).map((l) => l.replace(dir, 'DIR'))).toEqual([
      "error[R0703]: 'DIR/a.resnet' is not formatted",
      "error[R0703]: 'DIR/c.resnet' is not formatted",
      '2 of 3 files not formatted; run `resnetc fmt` on them',
    ]);
  });

  it('leaves a file with syntax errors untouched and says so', async () => {
    const dir = tempFiles({ 'bad.resnet': 'model b { stage s { blocks } }' });
    const r = await cli('fmt', join(dir, 'bad.resnet'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[R0701]');
    expect(r.stderr).toContain('left as it was');
    expect(readFileSync(join(dir, 'bad.resnet'), 'utf8')).toBe('model b { stage s { blocks } }');
  });

  it('reports a missing file', async () => {
    const r = await cli('fmt', 'no-such.resnet');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[R0101]');
  });
});
