import { createSyntaxDiagramsCode, type ISerializedGast } from 'chevrotain';
import { parser } from './parser.js';

/**
 * The grammar's documentation, generated from the parser itself so that it cannot drift:
 * EBNF text for grammar/grammar.ebnf and railroad diagrams for grammar/railroad.html.
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
