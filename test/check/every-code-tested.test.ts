import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codes } from '../../src/diagnostics/codes.js';
import { root } from '../helpers/cli.js';

describe('docs/diagnostics.md', () => {
  it('every code has a test that names it (besides the tests of the table itself)', () => {
    const tests = readdirSync(join(root, 'test'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('diagnostics-doc.test.ts') && !f.endsWith('every-code-tested.test.ts'))
      .map((f) => readFileSync(join(root, 'test', f), 'utf8'))
      .join('\n');
    expect(Object.keys(codes).filter((code) => !new RegExp(`\\b${code}\\b`).test(tests))).toEqual([]);
  });
});
