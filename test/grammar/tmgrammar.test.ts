import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const samples = readdirSync(join(root, 'grammar', 'test')).filter((f) => f.endsWith('.resnet'));

describe('the TextMate grammar', () => {
  it.each(samples)('scopes grammar/test/%s as its assertions say (vscode-tmgrammar-test)', (sample) => {
    const bin = join(root, 'node_modules', 'vscode-tmgrammar-test', 'dist', 'unit.js');
    const r = spawnSync(process.execPath, [bin, '-g', join('grammar', 'resnet.tmLanguage.json'), join('grammar', 'test', sample)], { cwd: root, encoding: 'utf8' });
    expect(r.stdout + r.stderr).not.toMatch(/failed|missing required|prohibited/);
    expect(r.stdout).toContain('run successfuly');
    expect(r.status).toBe(0);
  });

  it('is the grammar the VS Code extension ships (copied at build time, not by hand)', async () => {
    const manifest = (await import(join(root, 'editors', 'vscode', 'package.json'), { with: { type: 'json' } })) as { default: { contributes: { grammars: { path: string; scopeName: string }[] } } };
    const grammar = manifest.default.contributes.grammars[0]!;
    expect(grammar.scopeName).toBe('source.resnet');
    expect(grammar.path).toBe('./syntaxes/resnet.tmLanguage.json');
  });
});
