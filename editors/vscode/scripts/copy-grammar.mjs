/* global process */
// The TextMate grammar lives in the repository's grammar/ folder (where it is tested);
// the extension ships a copy made here, at build time, never edited by hand.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const from = join(here, '..', '..', '..', 'grammar', 'resnet.tmLanguage.json');
const to = join(here, '..', 'syntaxes', 'resnet.tmLanguage.json');
mkdirSync(dirname(to), { recursive: true });
copyFileSync(from, to);
process.stdout.write(`copied ${from} -> ${to}\n`);
