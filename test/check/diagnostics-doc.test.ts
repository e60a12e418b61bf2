import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codes } from '../../src/diagnostics/codes.js';

describe('docs/diagnostics.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'diagnostics.md'), 'utf8');

  it('documents every code with its severity', () => {
    const rows = new Map<string, string>();
    for (const line of doc.split('\n')) {
      const m = /^\| (R\d{4}) \| (error|warning) \|/.exec(line);
      if (m) rows.set(m[1]!, m[2]!);
    }
    for (const [code, info] of Object.entries(codes)) expect(rows.get(code), code).toBe(info.severity);
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\| (R\d{4}) \|/gm)].map((m) => m[1]!);
    expect(documented.filter((c) => !(c in codes))).toEqual([]);
  });
});
