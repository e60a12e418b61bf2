import { defaultText, meaning, type Keyword, keywordAt, keywordsNamed, type Place, type ValueWord, type WordSet, blockKindWords, shortcutKindWords } from '../syntax/vocabulary.js';

/**
 * What each word of the language means, as hover and completion show it: all of it from the
 * vocabulary (src/syntax/vocabulary.ts), which the language reference's tables come from too.
 */

/** A keyword's documentation, Markdown: its syntax, meaning, what it applies to and its default. */
export function keywordDoc(k: Keyword): string {
  const notes: string[] = [];
  if (k.of) notes.push(`Applies to ${k.of.map((w) => `\`${w}\``).join(', ')}.`);
  if (k.default !== undefined) notes.push(`Default \`${defaultText(k.default)}\`.`);
  if (k.required) notes.push('Required (or inherited).');
  return [k.doc, ...notes].join(' ');
}

/** Hover on a keyword: where it stands decides which entry (`stride` in a stem or a stage); without a place, each entry of the word. */
export function keywordMarkdown(word: string, place?: Place): string | undefined {
  const entries = place ? [keywordAt(place, word)].filter((k): k is Keyword => k !== undefined) : keywordsNamed(word);
  if (entries.length === 0) return undefined;
  return entries.map((k) => `\`\`\`resnet\n${k.syntax}\n\`\`\`\n${keywordDoc(k)}`).join('\n\n');
}

/** A value word's documentation (a block kind, a shortcut kind or alias, a norm kind, an activation), Markdown. */
export function valueWordDoc(set: WordSet, spelling: string, what: string): string | undefined {
  const word = meaning(set, spelling);
  if (word === undefined) return undefined;
  const entry: ValueWord = set.words[word]!;
  const also = [word, ...(entry.aliases ?? [])].filter((w) => w !== spelling);
  return `**${what} ${spelling}**${also.length > 0 ? ` (= ${also.join(', ')})` : ''}: ${entry.doc}`;
}

export function blockKindDoc(kind: string): string | undefined {
  const k = meaning(blockKindWords, kind);
  return k && `**${k}** block (expansion ${blockKindWords.words[k].expansion}): ${blockKindWords.words[k].doc}`;
}

export function shortcutKindDoc(kind: string): string | undefined {
  const k = meaning(shortcutKindWords, kind);
  if (!k) return undefined;
  const w = shortcutKindWords.words[k];
  const also = [k, ...(w.aliases ?? [])].filter((x) => x !== kind);
  return `**shortcut ${kind}** (${[w.title, ...also].join(', ')}): ${w.doc} where the shape changes; ${w.elsewhere} elsewhere.`;
}
