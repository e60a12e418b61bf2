import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../helpers/cli.js';

describe('examples/bottleneck', () => {
  it('prints the comparison its README shows', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'examples', 'bottleneck', 'compare.ts')], { encoding: 'utf8' });
    const readme = readFileSync(join(root, 'examples', 'bottleneck', 'README.md'), 'utf8');
    const table = out.split('\n\n')[0]!;
    expect(readme).toContain(table);
    expect(out).toContain('resnet');
    expect(out).toContain('parameters  25,557,032');
  });
});
