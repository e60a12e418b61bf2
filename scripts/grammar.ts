import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { grammarEbnf, grammarRailroadHtml, withReferenceTables } from '../src/syntax/grammar-doc.js';

/**
 * `npm run grammar`: regenerates grammar/grammar.ebnf and grammar/railroad.html from the
 * parser, and the tables of docs/reference.md from the vocabulary.
 */
const root = join(import.meta.dirname, '..');
writeFileSync(join(root, 'grammar', 'grammar.ebnf'), grammarEbnf());
writeFileSync(join(root, 'grammar', 'railroad.html'), grammarRailroadHtml());
const reference = join(root, 'docs', 'reference.md');
writeFileSync(reference, withReferenceTables(readFileSync(reference, 'utf8')));
console.log('wrote grammar/grammar.ebnf, grammar/railroad.html and the tables of docs/reference.md');
