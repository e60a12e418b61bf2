import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../src/check/check-source.js';
import { withReferenceTables } from '../../src/syntax/grammar-doc.js';
import { parser } from '../../src/syntax/parser.js';
import { tokenize } from '../../src/syntax/tokens.js';
import { blockKindWords, keywordsIn, keywordTable, keywordWords, normKindWords, optionsFor, type Place } from '../../src/syntax/vocabulary.js';

const root = join(import.meta.dirname, '..', '..');

type Gast = { type: string; name?: string; definition?: Gast[] };

/**
 * The keywords the parser's rules accept, by place, read from the grammar chevrotain
 * recorded (not from the vocabulary): a keyword inside braces stands in the place of the
 * keyword that opened them (`stage … {`: 'stage'); a keyword right after another in one rule
 * stands after it (`model NAME extends`: the header; `expect params`). The rules that skip an
 * unknown word are not the language.
 */
function grammarWords(): Set<string> {
  const rules = new Map((parser.getSerializedGastProductions() as Gast[]).map((r) => [r.name!, r]));
  const after: Record<string, Place> = { model: 'header', expect: 'expect' };
  const found = new Set<string>();
  const seen = new Set<string>();
  const keywordOf = (n: Gast): string | undefined => (n.type === 'Terminal' && n.name!.startsWith('Kw_') ? n.name!.slice(3) : undefined);
  const firstKeyword = (n: Gast): string | undefined => keywordOf(n) ?? n.definition?.map(firstKeyword).find((k) => k !== undefined);
  const rule = (name: string, place: Place): void => {
    if (name === 'unknownStatement' || name === 'braced' || seen.has(`${name} ${place}`)) return;
    seen.add(`${name} ${place}`);
    const r = rules.get(name)!;
    const owner = firstKeyword(r);
    const state = { place, last: undefined as string | undefined };
    const walk = (nodes: Gast[]): void => {
      for (const n of nodes) {
        const word = keywordOf(n);
        if (word !== undefined) {
          const at = state.last === undefined ? state.place : after[state.last];
          if (at === undefined) throw new Error(`rule ${name}: '${word}' follows '${state.last}': no place in the vocabulary stands there`);
          found.add(`${at} ${word}`);
          state.last = word;
        } else if (n.type === 'Terminal' && n.name === 'LBrace') {
          state.place = owner as Place;
          state.last = undefined;
        } else if (n.type === 'Terminal' && n.name === 'RBrace') state.place = place;
        else if (n.type === 'NonTerminal') rule(n.name!, state.place);
        else if (n.type === 'Alternation') {
          const before = { ...state };
          for (const alt of n.definition ?? []) {
            Object.assign(state, before);
            walk(alt.definition ?? []);
          }
        } else if (n.definition) walk(n.definition);
      }
    };
    walk(r.definition ?? []);
  };
  rule('file', 'file');
  return found;
}

describe('the vocabulary (src/syntax/vocabulary.ts)', () => {
  it('holds exactly the words the grammar accepts, each where the grammar accepts it', () => {
    const table = new Set(keywordTable.map((k) => `${k.place} ${k.word}`));
    const grammar = grammarWords();
    expect([...grammar].filter((w) => !table.has(w)), 'accepted by the grammar, missing from the vocabulary').toEqual([]);
    expect([...table].filter((w) => !grammar.has(w)), 'in the vocabulary, not accepted by the grammar').toEqual([]);
  });

  it('makes every word of it a keyword of the lexer', () => {
    const tokens = tokenize(keywordWords.join(' ')).tokens;
    expect(tokens.map((t) => t.tokenType.name)).toEqual(keywordWords.map((w) => `Kw_${w}`));
  });

  it('is what the TextMate grammar colours as keywords, word for word', () => {
    const grammar = readFileSync(join(root, 'grammar', 'resnet.tmLanguage.json'), 'utf8');
    const coloured = new Set<string>();
    // Every `(a|b)\b` or `(?:a|b)\b` group of plain words in its patterns.
    for (const m of grammar.matchAll(/\((?:\?:)?([a-z_|]+)\)\\\\b/g)) for (const w of m[1]!.split('|')) coloured.add(w);
    expect([...coloured].sort()).toEqual([...keywordWords].sort());
  });

  it('gives docs/reference.md its tables (run `npm run grammar` after changing it)', () => {
    const reference = readFileSync(join(root, 'docs', 'reference.md'), 'utf8');
    expect(reference).toBe(withReferenceTables(reference));
  });

  it("decides which options the checker takes on each kind of block, stem layer and norm", () => {
    const refused = (text: string): boolean => checkSource(text, join(root, 'specs', 'vocabulary-test.resnet')).diagnostics.some((d) => d.code === 'R0209');
    const value = (word: string): string => (word === 'stride_on' ? '1x1' : word === 'eps' ? '0.001' : word === 'momentum' ? '0.2' : '2');
    const model = (stem: string, block: string, norm = ''): string =>
      `model t {\n  input 3x32x32\n  stem { ${stem} }\n  block ${block}\n  ${norm}\n  stage s { blocks 2  width 64  stride 2 }\n}\n`;
    for (const kind of Object.keys(blockKindWords.words)) {
      for (const option of keywordsIn('block')) {
        expect(refused(model('conv 3x3 16', `${kind} { ${option.word} ${value(option.word)} }`)), `${option.word} on ${kind}`).toBe(!optionsFor('block', kind).includes(option.word));
      }
    }
    for (const layer of ['conv 3x3 16', 'maxpool 3x3', 'avgpool 3x3']) {
      for (const option of keywordsIn('stem').filter((k) => k.value.kind !== 'layer')) {
        const applies = optionsFor('stem', layer.split(' ')[0]!).includes(option.word);
        expect(refused(model(`${layer} ${option.word} ${value(option.word)}`, 'basic')), `${option.word} on ${layer}`).toBe(!applies);
      }
    }
    for (const kind of Object.keys(normKindWords.words)) {
      for (const option of keywordsIn('norm')) {
        expect(refused(model('conv 3x3 16', 'basic', `norm ${kind} { ${option.word} ${value(option.word)} }`)), `${option.word} on norm ${kind}`).toBe(!optionsFor('norm', kind).includes(option.word));
      }
    }
  });
});
