import type { IRecognitionException, IToken } from 'chevrotain';
import type { Diagnostic, Fix } from '../diagnostics/diagnostic.js';
import { quoted } from '../diagnostics/excerpt.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { FileNode, ImportNode, ModelNode, UnknownContext } from './ast.js';
import { maxNesting, maxTokenLength } from './limits.js';
import { parser } from './parser.js';
import { Kw, LBrace, RBrace, StringLiteral, tokenize, UnterminatedString } from './tokens.js';
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
  /** The lexer's and the parser's errors, each with the index of the token it is at (cascades are dropped below). */
  const syntax: Found[] = [];
  const lexed = tokenize(text);
  const diagnostics = { push: (d: Diagnostic): void => void syntax.push({ diagnostic: d, at: tokenIndex(lexed.tokens, d.span.start), fileLevel: false }) };
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
  const braces = new BraceIndex(lexed.tokens);
  for (const e of parser.errors) syntax.push(placed(syntaxError(e, text, path), e, braces, text, path));
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
    const diagnostic: Diagnostic = {
      code: 'R0003',
      severity: 'error',
      message: `unknown word ${quoted(u.word.text)} ${placeNames[u.context]}`,
      file: path,
      span: u.word.span,
      help: suggestion ? `did you mean '${suggestion}'?` : `expected one of ${wordsByContext[u.context].map((w) => `'${w}'`).join(', ')}`,
      fixes,
    };
    syntax.push({ diagnostic, at: tokenIndex(lexed.tokens, u.word.span.start), fileLevel: u.context === 'file' });
  }
  markCutShort(file, syntax, lexed.tokens, text.length);
  return { file, diagnostics: rootCauses(syntax, lexed.tokens) };
}

/**
 * Sets `cutShort` on each model with a syntax error (reported or a cascade's) in it, at the
 * token that ended it, or in what follows it before the next item when that holds a `}` no
 * `{` opens there (the model was closed too early: its last statements were left outside).
 */
function markCutShort(file: FileNode, errors: Found[], tokens: IToken[], textLength: number): void {
  if (errors.length === 0) return;
  const items = file.items;
  for (const [i, item] of items.entries()) {
    if (item.kind !== 'model') continue;
    const after = tokenIndex(tokens, item.span.end);
    const ended = tokens[after]?.startOffset ?? textLength;
    const next = items[i + 1]?.span.start ?? textLength + 1;
    const errorIn = (from: number, to: number): boolean => errors.some((f) => f.diagnostic.span.start >= from && f.diagnostic.span.start <= to);
    if (errorIn(item.span.start, ended) || (errorIn(ended, next - 1) && closesUnopened(tokens, after, tokenIndex(tokens, next)))) item.cutShort = true;
  }
}

/** Whether tokens [from, to) hold a `}` that no `{` among them opens. */
function closesUnopened(tokens: IToken[], from: number, to: number): boolean {
  let depth = 0;
  for (let i = from; i < to && i < tokens.length; i++) {
    const type = tokens[i]!.tokenType;
    if (type === LBrace) depth++;
    else if (type === RBrace && --depth < 0) return true;
  }
  return false;
}

/** A syntax error with the index of the token it was found at (the tokens' count at the end of the file). */
interface Found {
  diagnostic: Diagnostic;
  at: number;
  /** Found outside every model and import: junk at the top of the file. */
  fileLevel: boolean;
}

/**
 * How many tokens after an error the parser may still be finding that error's consequences:
 * a swapped pair (`3 blocks`), a word with its value (`cnov 7x7 64 stride`), a missing brace
 * and the statement after it.
 */
export const cascadeTokens = 3;

/**
 * One error for one mistake (rustc's and Elm's rule): the errors of a cascade are dropped,
 * the first kept. An error is a consequence of the one before it (kept or dropped) when it is
 * at most `cascadeTokens` tokens after it, or when it is junk at the top of the file with no
 * `model` or `import` since (what a model closed too early, or never opened, left behind).
 * A dropped error at the kept one's token lends it its help and fixes when it has none (the
 * parser's "expected …" and the unknown word's "did you mean" at one misspelt word).
 * Sorted by position.
 */
function rootCauses(found: Found[], tokens: IToken[]): Diagnostic[] {
  // By token, then in the order found: the lexer's errors first (a token it dropped is the
  // cause of the parser's error at the next one), then the parser's, then the unknown words.
  const order = new Map(found.map((f, i) => [f, i]));
  found.sort((a, b) => a.at - b.at || order.get(a)! - order.get(b)!);
  const kept: Found[] = [];
  let last: Found | undefined;
  for (const f of found) {
    const cascade = last !== undefined && (f.at <= last.at + cascadeTokens || (f.fileLevel && !startsItem(tokens, last.at, f.at)));
    const root = kept[kept.length - 1];
    if (cascade && root) {
      if (f.at === root.at && !root.diagnostic.help && f.diagnostic.help) {
        root.diagnostic.help = f.diagnostic.help;
        if (f.diagnostic.fixes) root.diagnostic.fixes = f.diagnostic.fixes;
      }
    } else kept.push(f);
    last = f;
  }
  return kept.map((f) => f.diagnostic).sort((a, b) => a.span.start - b.span.start);
}

/** Whether a `model` or an `import` keyword is among the tokens after `from` up to `to`. */
function startsItem(tokens: IToken[], from: number, to: number): boolean {
  for (let i = from + 1; i <= to && i < tokens.length; i++) {
    const type = tokens[i]!.tokenType;
    if (type === Kw.model || type === Kw.import) return true;
  }
  return false;
}

/** The index of the first token that ends after `offset` (the tokens' count past the last). */
function tokenIndex(tokens: IToken[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const t = tokens[mid]!;
    if (t.startOffset + t.image.length <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * For each token, the innermost `{` open before it (by index, -1 for none), and whether each
 * `{` is closed anywhere after it. One pass over the tokens.
 */
class BraceIndex {
  private readonly openBefore: Int32Array;
  private readonly closed = new Set<number>();

  constructor(readonly tokens: IToken[]) {
    this.openBefore = new Int32Array(tokens.length + 1);
    const stack: number[] = [];
    for (let i = 0; i < tokens.length; i++) {
      this.openBefore[i] = stack.length > 0 ? stack[stack.length - 1]! : -1;
      const type = tokens[i]!.tokenType;
      if (type === LBrace) stack.push(i);
      else if (type === RBrace && stack.length > 0) this.closed.add(stack.pop()!);
    }
    this.openBefore[tokens.length] = stack.length > 0 ? stack[stack.length - 1]! : -1;
  }

  /** The `{` a `}` expected at token `at` would close, if any. */
  openAt(at: number): IToken | undefined {
    const i = this.openBefore[Math.min(at, this.tokens.length)]!;
    return i >= 0 ? this.tokens[i] : undefined;
  }
}

/** The text of the message of an error that expected a closing brace. */
const expectedClose = `expected ${RBrace.LABEL}`;

/**
 * A parser error placed where the mistake is, as rustc does: when the token it was found at
 * starts a later line than the last token before it (a value or a `}` missing at the end of
 * a line), at the end of that last token, so the error is on the line of the mistake. An
 * error that expected a `}` and found the end of the file or a statement of a place around
 * (`block` in a stem) notes the `{` left open; one that found a word of no place around is
 * that word's error ("unknown word 'blocks' in a model"), at the word.
 */
function placed(d: Diagnostic, e: IRecognitionException, braces: BraceIndex, text: string, path: string): Found {
  const tokens = braces.tokens;
  const at = tokenIndex(tokens, d.span.start === text.length ? text.length : d.span.start);
  const before = at > 0 ? tokens[at - 1] : undefined;
  const close = d.message.startsWith(expectedClose);
  const afterLastLine = (): void => {
    if (!before) return;
    const end = before.startOffset + before.image.length;
    if (text.slice(end, d.span.start).includes('\n') || d.span.start === text.length) d.span = { start: end, end };
  };
  if (!close) afterLastLine();
  else {
    const found = tokens[at];
    const places = [...new Set(e.context.ruleStack.map((r) => ruleContexts[r]).filter((p) => p !== undefined))];
    const here = places.pop();
    const open = braces.openAt(at);
    if (!found || places.some((p) => wordsByContext[p].includes(found.image))) {
      // The end of the file, or a statement of a place around this one: this body's `}` is missing.
      const where = found ? `is not closed before ${quoted(found.image)}` : 'is never closed';
      if (open) d.related = [{ file: path, span: { start: open.startOffset, end: open.startOffset + 1 }, message: `this '{' ${where}` }];
      afterLastLine();
    } else if (here && /^[A-Za-z_]/.test(found.image)) {
      // A word of no place around: a statement misspelt or misplaced, as the unknown words are said.
      d.message = `unknown word ${quoted(found.image)} ${placeNames[here]}`;
    }
  }
  const fileLevel = e.name === 'NotAllInputParsedException' || e.context.ruleStack.length <= 1;
  return { diagnostic: d, at, fileLevel };
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
