import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grammarEbnf, grammarRailroadHtml } from '../../src/syntax/grammar-doc.js';

const grammarDir = join(import.meta.dirname, '..', '..', 'grammar');

describe('grammar documentation', () => {
  it('grammar/grammar.ebnf is what the parser generates (run `npm run grammar`)', () => {
    expect(readFileSync(join(grammarDir, 'grammar.ebnf'), 'utf8')).toBe(grammarEbnf());
  });

  it('grammar/railroad.html is what the parser generates (run `npm run grammar`)', () => {
    expect(readFileSync(join(grammarDir, 'railroad.html'), 'utf8')).toBe(grammarRailroadHtml());
  });

  it('documents every statement keyword of the language', () => {
    const ebnf = grammarEbnf();
    for (const word of ['input', 'classes', 'dropout', 'stem', 'conv', 'maxpool', 'avgpool', 'block', 'shortcut', 'stage', 'blocks', 'width', 'stride', 'norm', 'eps', 'momentum', 'activation', 'expect', 'params', 'macs', 'output', 'expansion', 'groups', 'width_per_group', 'stride_on', 'se', 'import', 'model', 'extends']) {
      expect(ebnf).toContain(`"${word}"`);
    }
  });
});
