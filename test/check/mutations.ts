import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenize } from '../../src/syntax/tokens.js';
import { keywordWords } from '../../src/syntax/vocabulary.js';
import { specsDir } from '../helpers/check.js';

/** The four kinds of single-token mistake the corpus makes. */
export type MutationKind = 'delete' | 'duplicate' | 'misspell' | 'swap';

/** One spec of the zoo with one token changed. */
export interface Mutation {
  spec: string;
  kind: MutationKind;
  /** The mutated text. */
  text: string;
  /** The token changed (for a swap, the first of the two), as written. */
  token: string;
  /** The 1-based lines of the changed tokens in the mutated text (two for a swap across lines). */
  lines: number[];
  /** A one-line description for failure messages: `resnet50.resnet:14 delete '{'`. */
  label: string;
}

const kinds: MutationKind[] = ['delete', 'duplicate', 'misspell', 'swap'];
const keywords = new Set<string>(keywordWords);

/**
 * A keyword misspelt as a hand slips: two letters in the middle swapped (`stgae`), or for
 * keywords of three letters or fewer the last letter doubled (`see`). Never another keyword.
 */
export function misspell(word: string): string {
  const i = Math.floor((word.length - 1) / 2);
  const swapped = word.length > 3 && word[i] !== word[i + 1] ? word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2) : word + word[word.length - 1];
  return keywords.has(swapped) ? swapped + 'x' : swapped;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Every spec of specs/ with single-token mistakes, deterministically: token i of the
 * spec numbered s gets the kind `kinds[(i + s) % 4]` (each token one mistake, each kind a
 * quarter of them). A misspelling falls on keywords only (on another token it is a
 * deletion); a swap of two equal tokens changes nothing and is left out. Text edits keep
 * every newline, so a line number means the same line before and after.
 */
export function mutations(): Mutation[] {
  const specs = readdirSync(specsDir).filter((f) => f.endsWith('.resnet')).sort();
  const out: Mutation[] = [];
  for (const [s, spec] of specs.entries()) {
    const text = readFileSync(join(specsDir, spec), 'utf8');
    const tokens = tokenize(text).tokens;
    for (const [i, t] of tokens.entries()) {
      let kind = kinds[(i + s) % kinds.length]!;
      if (kind === 'misspell' && !keywords.has(t.image)) kind = 'delete';
      const start = t.startOffset;
      const end = start + t.image.length;
      let mutated: string;
      const lines = [lineAt(text, start)];
      if (kind === 'delete') mutated = text.slice(0, start) + text.slice(end);
      else if (kind === 'duplicate') mutated = text.slice(0, end) + ' ' + t.image + text.slice(end);
      else if (kind === 'misspell') mutated = text.slice(0, start) + misspell(t.image) + text.slice(end);
      else {
        const next = tokens[i + 1];
        if (!next || next.image === t.image) continue;
        const nextEnd = next.startOffset + next.image.length;
        mutated = text.slice(0, start) + next.image + text.slice(end, next.startOffset) + t.image + text.slice(nextEnd);
        const nextLine = lineAt(text, next.startOffset);
        if (nextLine !== lines[0]) lines.push(nextLine);
      }
      out.push({ spec, kind, text: mutated, token: t.image, lines, label: `${spec}:${lines[0]} ${kind} '${t.image}'` });
    }
  }
  return out;
}
