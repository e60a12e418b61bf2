import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codes } from '../../src/diagnostics/codes.js';
import { root } from '../helpers/cli.js';

/**
 * The test code that can assert a code: no comments, and no test titles (`it('reports R0702
 * …'` names a code without checking it). What is left names a code where a diagnostic's code
 * is compared with it: a quoted code (`code: 'R0003'`, `toEqual(['R0003'])`), a rendered one
 * (`error[R0702]`, `warning[R0309]`) or a line that calls `expect`.
 */
function assertingLines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/?\*|#)/.test(line))
    .map((line) => line.replace(/\s\/\/.*$/, '').replace(/\b(it|describe|test)(\.\w+)*\(\s*(['"`])(?:(?!\3).)*\3/g, ''));
}

function asserted(code: string, lines: string[]): boolean {
  const quoted = new RegExp(`['"\`]${code}['"\`]|(error|warning)\\\\?\\[${code}\\\\?\\]`);
  const named = new RegExp(`\\b${code}\\b`);
  return lines.some((line) => quoted.test(line) || (named.test(line) && /\bexpect\b/.test(line)));
}

describe('docs/diagnostics.md', () => {
  const tests = readdirSync(join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|py)$/.test(f) && !f.endsWith('diagnostics-doc.test.ts') && !f.endsWith('every-code-tested.test.ts'))
    .flatMap((f) => assertingLines(readFileSync(join(root, 'test', f), 'utf8')));

  it('every code has a test that triggers it and checks the code (a mention in a comment or a title does not count)', () => {
    expect(Object.keys(codes).filter((code) => !asserted(code, tests))).toEqual([]);
  });

  it('tells a checked code from a mention', () => {
    const lines = assertingLines(["it('reports R0702 and leaves the file', () => {", '  // R0703 is said here', "  expect(r.stderr).toMatch(/^error\\[R0704\\]/);", "  { code: 'R0705', text: '' },"].join('\n'));
    expect(['R0702', 'R0703', 'R0704', 'R0705'].filter((c) => asserted(c, lines))).toEqual(['R0704', 'R0705']);
  });
});
