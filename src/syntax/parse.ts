import type { IRecognitionException, IToken } from 'chevrotain';
import type { Diagnostic, Fix } from '../diagnostics/diagnostic.js';
import { quoted } from '../diagnostics/excerpt.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { FileNode, ImportNode, ModelNode, UnknownContext } from './ast.js';
import { maxNesting, maxTokenLength } from './limits.js';
import { parser } from './parser.js';
import { LBrace, RBrace, StringLiteral, tokenize, UnterminatedString } from './tokens.js';
import { bodyPlaces, keywordsIn, placeNames } from './vocabulary.js';

export interface ParseResult {
  file: FileNode;
  diagnostics: Diagnostic[];
}

/**
 * The words that may stand where an unknown word was found, for "did you mean": the
 * vocabulary's words of that place (in a model, `extends` too: a misspelt one after the
 * model's name is found there).
 */
const wordsByContext = Object.fromEntries(
  bodyPlaces.map((place) => [place, [...new Set([...keywordsIn(place), ...(place === 'model' ? keywordsIn('header') : [])].map((k) => k.word))]]),
) as Record<UnknownContext, string[]>;

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
    const span = { start: e.offset, end: e.offset + e.length };
    if (e.code === 'R0005') {
      diagnostics.push({
        code: 'R0005',
        severity: 'error',
        message: `this token is ${e.length.toLocaleString('en-US')} characters long; the limit is ${maxTokenLength.toLocaleString('en-US')}`,
        file: path,
        span,
        help: 'names, numbers, sizes and paths are short: shorten it (the parser skipped it)',
      });
      continue;
    }
    const ch = text.slice(e.offset, e.offset + e.length);
    diagnostics.push({
      code: 'R0001',
      severity: 'error',
      message: /^\d/.test(ch) ? `${quoted(ch)} is not a number` : `unexpected ${e.length === 1 ? 'character' : 'characters'} ${quoted(ch)}`,
      file: path,
      span,
      ...(/^\d/.test(ch) ? { help: 'a number is digits (and `_`), with a decimal part, an exponent or a suffix K, M, G, T; a size is like 3x224x224' } : {}),
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

  const tokens = withinNesting(lexed.tokens, (span) =>
    diagnostics.push({
      code: 'R0004',
      severity: 'error',
      message: `braces nested more than ${maxNesting} deep`,
      file: path,
      span,
      help: `the parser skipped what is inside this '{' (a model nests three deep: model {, stage {, block {)`,
    }),
  );
  // The parser recovers from each syntax error by throwing an exception: without their stack
  // traces (nothing reads them) a file of many errors parses several times faster.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let read: ReturnType<typeof parser.parseTokens>;
  try {
    read = parser.parseTokens(tokens, text.length);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  const { items, unknowns } = read;
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
      message: `unknown word ${quoted(u.word.text)} ${placeNames[u.context]}`,
      file: path,
      span: u.word.span,
      help: suggestion ? `did you mean '${suggestion}'?` : `expected one of ${wordsByContext[u.context].map((w) => `'${w}'`).join(', ')}`,
      fixes,
    });
  }
  diagnostics.sort((a, b) => a.span.start - b.span.start);
  return { file, diagnostics };
}

/**
 * The tokens without those inside braces nested deeper than `maxNesting`: the parser's
 * rules call each other once per brace of an unknown statement, so this bounds its
 * recursion. Each skipped region is reported once, at its opening brace.
 */
function withinNesting(tokens: IToken[], report: (span: { start: number; end: number }) => void): IToken[] {
  let depth = 0;
  /** Made at the first skipped region; until then every token is kept. */
  let kept: IToken[] | undefined;
  /** The depth inside a skipped region. */
  let skipping = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const open = t.tokenType === LBrace;
    const close = t.tokenType === RBrace;
    if (skipping > 0) {
      if (open) skipping++;
      else if (close) skipping--;
      continue;
    }
    if (open && depth === maxNesting) {
      report({ start: t.startOffset, end: t.startOffset + 1 });
      kept ??= tokens.slice(0, i);
      skipping = 1;
      continue;
    }
    if (open) depth++;
    else if (close && depth > 0) depth--;
    kept?.push(t);
  }
  return kept ?? tokens;
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
