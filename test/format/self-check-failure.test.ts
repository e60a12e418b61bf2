import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempFiles } from '../helpers/check.js';
import { cli } from '../helpers/cli.js';

// The formatter's output always has its input's tokens; stand in a self-check that says
// otherwise, to see that such a bug writes nothing.
vi.mock('../../src/format/verify.js', () => ({ sameTokens: () => false }));

describe('resnetc fmt when the formatter would change what a file says', () => {
  it('reports R0702 and leaves the file exactly as it was', async () => {
    const text = 'model a { input 3x8x8 }';
    const dir = tempFiles({ 'a.resnet': text });
    const r = await cli('fmt', join(dir, 'a.resnet'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[R0702\]: formatting would change what the file says; it was left as it is\n/);
    expect(readFileSync(join(dir, 'a.resnet'), 'utf8')).toBe(text);
  });
});
