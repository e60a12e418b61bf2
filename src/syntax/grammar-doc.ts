import { createSyntaxDiagramsCode, type ISerializedGast } from 'chevrotain';
import type { BlockKind } from '../model/types.js';
import { parser } from './parser.js';
import { activationWords, blockKindWords, defaultText, type Keyword, keywordAt, keywordsIn, normKindWords, type Place, shortcutKindWords, type WordSet } from './vocabulary.js';

/**
 * The grammar's documentation, generated so that it cannot drift: EBNF text for
 * grammar/grammar.ebnf and railroad diagrams for grammar/railroad.html from the parser
 * itself, and the tables of docs/reference.md from the vocabulary.
 */

const terminalNames: Record<string, string> = {
  Identifier: 'IDENTIFIER',
  Name: 'NAME',
  NotBrace: 'ANY_BUT_BRACE',
  NumberLiteral: 'NUMBER',
  Size: 'SIZE',
  StringLiteral: 'STRING',
  LBrace: '"{"',
  RBrace: '"}"',
};

type Node = ISerializedGast & { name?: string; label?: string; definition?: Node[] };

function terminal(n: Node): string {
  const name = n.name ?? '';
  if (name.startsWith('Kw_')) return `"${name.slice(3)}"`;
  return terminalNames[name] ?? name;
}

function sequence(nodes: Node[]): string {
  return nodes.map(element).join(' ');
}

function element(n: Node): string {
  switch (n.type) {
    case 'Terminal':
      return terminal(n);
    case 'NonTerminal':
      return n.name ?? '';
    case 'Option':
      return `[ ${sequence(n.definition ?? [])} ]`;
    case 'Repetition':
      return `{ ${sequence(n.definition ?? [])} }`;
    case 'RepetitionMandatory':
      return `${sequence(n.definition ?? [])} { ${sequence(n.definition ?? [])} }`;
    case 'Alternation': {
      const alts = (n.definition ?? []).map((a) => sequence(a.definition ?? []));
      return alts.length === 1 ? alts[0]! : `( ${alts.join(' | ')} )`;
    }
    default:
      return sequence(n.definition ?? []);
  }
}

/** One EBNF production per parser rule, in the parser's order. */
export function grammarEbnf(): string {
  const rules = parser.getSerializedGastProductions() as Node[];
  const width = Math.max(...rules.map((r) => (r.name ?? '').length));
  const lines = rules.map((r) => {
    let body = sequence(r.definition ?? []);
    // A rule that is one alternation reads better without its outer parentheses.
    if (r.definition?.length === 1 && r.definition[0]!.type === 'Alternation') body = body.slice(2, -2);
    return `${(r.name ?? '').padEnd(width)} = ${body} ;`;
  });
  const tokens = [
    'NAME          = IDENTIFIER | any keyword ;   (* a keyword can name a model or stage *)',
    'IDENTIFIER    = /[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*/ ;',
    'NUMBER        = /[0-9][0-9_]*(\\.[0-9][0-9_]*)?([eE][+-]?[0-9]+)?[KMGT]?/ ;',
    'SIZE          = /[0-9]+(x[0-9]+)+/ ;         (* 7x7, 3x224x224 *)',
    'STRING        = /"([^"\\\\\\r\\n]|\\\\.)*"/ ;',
    'ANY_BUT_BRACE = any token but "{" and "}" ;',
    'comment       = /#[^\\r\\n]*/ ;               (* skipped, kept for the formatter *)',
  ];
  return [
    '(* The grammar of .resnet files, generated from src/syntax/parser.ts by `npm run grammar`. *)',
    '(* unknownStatement and braced are not part of the language: they let the parser step over *)',
    '(* a misspelt word and report it with a "did you mean", instead of losing the rest of the file. *)',
    '',
    ...lines,
    '',
    '(* Tokens *)',
    ...tokens,
    '',
  ].join('\n');
}

export function grammarRailroadHtml(): string {
  return createSyntaxDiagramsCode(parser.getSerializedGastProductions());
}

// ---- the reference's tables, from the vocabulary ----

/** A table cell: pipes escaped (GFM splits cells on them, even in code). */
const cell = (text: string): string => text.replaceAll('|', '\\|');

const code = (text: string): string => `\`${text}\``;

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function table(head: string[], rows: string[][]): string {
  return [row(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(row)].join('\n');
}

function defaultCell(k: Keyword): string {
  if (k.required) return k.place === 'model' ? 'required (or inherited)' : 'required';
  if (k.default !== undefined) return code(defaultText(k.default));
  // A stage's `block` and `shortcut` stand in for the model's.
  return k.place !== 'model' && keywordAt('model', k.word) ? "the model's" : 'none';
}

function keywordTable(place: Place, head: string): string {
  const keywords = keywordsIn(place);
  const withOf = keywords.some((k) => k.of);
  const withDefault = keywords.some((k) => k.default !== undefined || k.required);
  return table(
    [head, 'meaning', ...(withOf ? ['applies to'] : []), ...(withDefault ? ['default'] : [])],
    keywords.map((k) => [
      code(k.syntax),
      k.doc,
      ...(withOf ? [k.of ? k.of.join(', ') : k.value.kind === 'layer' ? '' : 'every kind'] : []),
      ...(withDefault ? [defaultCell(k)] : []),
    ]),
  );
}

function wordTable(head: string[], set: WordSet, extra: (word: string) => string[] = () => []): string {
  return table(
    head,
    Object.keys(set.words).map((w) => {
      const v = set.words[w]!;
      return [[w, ...(v.aliases ?? [])].map(code).join(' / '), v.doc, ...extra(w)];
    }),
  );
}

/** Each generated table of docs/reference.md, by the name its markers give it. */
export function referenceTables(): Record<string, string> {
  return {
    model: keywordTable('model', 'statement'),
    expect: keywordTable('expect', 'check'),
    stem: keywordTable('stem', 'layer or option'),
    stage: keywordTable('stage', 'item'),
    block: keywordTable('block', 'option'),
    norm: keywordTable('norm', 'option'),
    'block-kinds': wordTable(['kind', 'layers (s = the block\'s stride)', 'expansion'], blockKindWords, (w) => [String(blockKindWords.words[w as BlockKind].expansion)]),
    'shortcut-kinds': table(
      ['kind', 'where the shape changes', 'where it does not'],
      Object.entries(shortcutKindWords.words).map(([w, v]) => [[w, ...(v.aliases ?? [])].map(code).join(' / '), v.doc, v.elsewhere]),
    ),
    'norm-kinds': wordTable(['norm', 'meaning'], normKindWords),
    activations: wordTable(['activation', 'meaning'], activationWords),
  };
}

/**
 * docs/reference.md with its generated tables made anew: each stands between
 * `<!-- vocabulary: NAME -->` and `<!-- /vocabulary -->`.
 * @throws Error when a marker names no table, or a table has no marker.
 */
export function withReferenceTables(markdown: string): string {
  const tables = referenceTables();
  const used = new Set<string>();
  const out = markdown.replace(/(<!-- vocabulary: ([\w-]+) -->\n)[\s\S]*?(<!-- \/vocabulary -->)/g, (_all, open: string, name: string, close: string) => {
    const t = tables[name];
    if (t === undefined) throw new Error(`docs/reference.md: no table named '${name}'`);
    used.add(name);
    return `${open}${t}\n${close}`;
  });
  const missing = Object.keys(tables).filter((n) => !used.has(n));
  if (missing.length > 0) throw new Error(`docs/reference.md: no place for the tables ${missing.join(', ')}`);
  return out;
}
