import type { IRecognitionException, IToken } from 'chevrotain';
import type { Diagnostic, Fix } from '../diagnostics/diagnostic.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { FileNode, ImportNode, ModelNode, UnknownContext } from './ast.js';
import { parser } from './parser.js';
import { StringLiteral, tokenize, UnterminatedString } from './tokens.js';

export interface ParseResult {
  file: FileNode;
  diagnostics: Diagnostic[];
}

/** The words that may stand where an unknown word was found, for "did you mean". */
const wordsByContext: Record<UnknownContext, string[]> = {
  file: ['import', 'model'],
  model: ['input', 'classes', 'dropout', 'stem', 'block', 'shortcut', 'stage', 'norm', 'activation', 'expect', 'extends'],
  stem: ['conv', 'maxpool', 'avgpool', 'stride', 'groups'],
  block: ['expansion', 'groups', 'width_per_group', 'stride_on', 'se'],
  stage: ['blocks', 'width', 'stride', 'block', 'shortcut'],
  norm: ['eps', 'momentum'],
};

const contextNames: Record<UnknownContext, string> = {
  file: 'at the top of a file',
  model: 'in a model',
  stem: 'in a stem',
  block: 'in block options',
  stage: 'in a stage',
  norm: 'in norm options',
};

const ruleContexts: Record<string, UnknownContext> = {
  file: 'file',
  model: 'model',
  statement: 'model',
  stemStatement: 'stem',
  convLayer: 'stem',
  poolLayer: 'stem',
  numberOption: 'stem',
  blockStatement: 'block',
  blockOption: 'block',
  stageStatement: 'stage',
  stageField: 'stage',
  normStatement: 'norm',
  normOption: 'norm',
};

/** Text to syntax tree, with every lexical and syntax error as a diagnostic. Never throws. */
export function parse(text: string, path: string): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const lexed = tokenize(text);
  for (const e of lexed.errors) {
    const ch = text.slice(e.offset, e.offset + e.length);
    diagnostics.push({
      code: 'R0001',
      severity: 'error',
      message: `unexpected ${e.length === 1 ? 'character' : 'characters'} '${ch}'`,
      file: path,
      span: { start: e.offset, end: e.offset + e.length },
    });
  }
  for (const t of lexed.tokens) {
    if (t.tokenType === UnterminatedString) {
      diagnostics.push({
        code: 'R0002',
        severity: 'error',
        message: 'this string has no closing quote',
        file: path,
        span: { start: t.startOffset, end: t.startOffset + t.image.length },
        help: 'close it with " before the end of the line',
        fixes: [{ title: 'close the string', span: { start: t.startOffset + t.image.length, end: t.startOffset + t.image.length }, newText: '"' }],
      });
      // Parse it as the string it was meant to be (the parser matches on the type index).
      t.tokenType = StringLiteral;
      t.tokenTypeIdx = StringLiteral.tokenTypeIdx!;
    }
  }

  const { items, unknowns } = parser.parseTokens(lexed.tokens, text.length);
  for (const e of parser.errors) diagnostics.push(syntaxError(e, text, path));
  parser.input = []; // the parser would otherwise keep the last file's tokens alive

  const file: FileNode = {
    items,
    imports: items.filter((i): i is ImportNode => i.kind === 'import'),
    models: items.filter((i): i is ModelNode => i.kind === 'model'),
    unknowns,
    comments: (lexed.groups['comments'] ?? []).map((c) => ({ text: c.image, span: { start: c.startOffset, end: c.startOffset + c.image.length } })),
    span: { start: 0, end: text.length },
  };
  for (const u of file.unknowns) {
    const suggestion = didYouMean(u.word.text, wordsByContext[u.context]);
    const fixes: Fix[] = suggestion ? [{ title: `change to '${suggestion}'`, span: u.word.span, newText: suggestion }] : [];
    diagnostics.push({
      code: 'R0003',
      severity: 'error',
      message: `unknown word '${u.word.text}' ${contextNames[u.context]}`,
      file: path,
      span: u.word.span,
      help: suggestion ? `did you mean '${suggestion}'?` : `expected one of ${wordsByContext[u.context].map((w) => `'${w}'`).join(', ')}`,
      fixes,
    });
  }
  diagnostics.sort((a, b) => a.span.start - b.span.start);
  return { file, diagnostics };
}

function syntaxError(e: IRecognitionException, text: string, path: string): Diagnostic {
  const t: IToken = e.token;
  const atEnd = Number.isNaN(t.startOffset) || t.tokenType.name === 'EOF';
  const start = atEnd ? text.length : t.startOffset;
  const end = atEnd ? text.length : start + t.image.length;
  const diagnostic: Diagnostic = { code: 'R0003', severity: 'error', message: e.message, file: path, span: { start, end } };
  const rule = e.context.ruleStack[e.context.ruleStack.length - 1];
  const context = rule ? ruleContexts[rule] : undefined;
  if (!atEnd && context && /^[A-Za-z_]/.test(t.image)) {
    const suggestion = didYouMean(t.image, wordsByContext[context]);
    if (suggestion) {
      diagnostic.help = `did you mean '${suggestion}'?`;
      diagnostic.fixes = [{ title: `change to '${suggestion}'`, span: { start, end }, newText: suggestion }];
    }
  }
  return diagnostic;
}
