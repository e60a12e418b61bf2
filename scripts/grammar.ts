import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { grammarEbnf, grammarRailroadHtml } from '../src/syntax/grammar-doc.js';

/** `npm run grammar`: regenerates grammar/grammar.ebnf and grammar/railroad.html from the parser. */
const dir = join(import.meta.dirname, '..', 'grammar');
writeFileSync(join(dir, 'grammar.ebnf'), grammarEbnf());
writeFileSync(join(dir, 'railroad.html'), grammarRailroadHtml());
console.log('wrote grammar/grammar.ebnf and grammar/railroad.html');
