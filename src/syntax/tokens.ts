import { createToken, type ILexingError, type ILexingResult, type IToken, Lexer, type TokenType } from 'chevrotain';
import { maxTokenLength } from './limits.js';
import { type KeywordWord, keywordWords } from './vocabulary.js';

// Every keyword can also stand where a name is expected (`stage output { … }`).
export const Name = createToken({ name: 'Name', label: 'a name', pattern: Lexer.NA });
// Any token but a brace: what an unknown statement may carry before the parser resumes.
export const NotBrace = createToken({ name: 'NotBrace', pattern: Lexer.NA });

// A name: model, stage, block kind, shortcut kind. Hyphens may join parts (`preact-basic`).
export const Identifier = createToken({
  name: 'Identifier',
  label: 'a name',
  pattern: /[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*/,
  categories: [Name, NotBrace],
});

// Keywords are not matched by the lexer: every word lexes as an Identifier and `tokenize`
// turns those that are keywords into keyword tokens, one map lookup per word instead of
// trying a pattern per keyword at every letter. The keywords are the vocabulary's.
function keyword(word: string): TokenType {
  return createToken({ name: keywordTokenName(word), label: `'${word}'`, pattern: Lexer.NA, categories: [Name, NotBrace] });
}

export function keywordTokenName(word: string): string {
  return 'Kw_' + word;
}

/** The token of each keyword of the vocabulary, by its word: `Kw.stride`. */
export const Kw = Object.fromEntries(keywordWords.map((w) => [w, keyword(w)])) as Record<KeywordWord, TokenType>;

export const keywordTokens: TokenType[] = Object.values(Kw);

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\r\n]*/, group: 'comments' });
export const StringLiteral = createToken({ name: 'StringLiteral', label: 'a quoted path', pattern: /"(?:[^"\\\r\n]|\\.)*"/, categories: [NotBrace] });
export const UnterminatedString = createToken({ name: 'UnterminatedString', label: 'a quoted path', pattern: /"(?:[^"\\\r\n]|\\.)*/, categories: [NotBrace] });
// `3x224x224`, `7x7`: must be tried before plain numbers.
export const Size = createToken({ name: 'Size', label: 'a size like 7x7', pattern: /\d+(?:x\d+)+(?![A-Za-z0-9_.])/, categories: [NotBrace] });
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  label: 'a number',
  pattern: /\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?[KMGT]?(?![A-Za-z0-9_.])/,
  categories: [NotBrace],
});
// A number run into letters or dots (`64a`, `1.2.3`, `3x3a`, a digit run of any length
// followed by a letter): one malformed token, which `tokenize` turns into a lexer error.
// Without it the lexer would recover character by character, reading the rest of the run
// again from each digit: quadratic time (80,000 digits and a letter took 25 s).
export const MalformedNumber = createToken({ name: 'MalformedNumber', pattern: /\d[A-Za-z0-9_.]*/, group: 'malformed' });
export const LBrace = createToken({ name: 'LBrace', label: "'{'", pattern: '{' });
export const RBrace = createToken({ name: 'RBrace', label: "'}'", pattern: '}' });

export const allTokens: TokenType[] = [
  WhiteSpace, Comment, StringLiteral, UnterminatedString, Size, NumberLiteral, MalformedNumber, LBrace, RBrace,
  ...keywordTokens, Identifier, Name, NotBrace,
];

const wordLexer = new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: true });

const keywordByWord = new Map<string, TokenType>(Object.entries(Kw));

/** A lexer error with the code `parse` reports it under. */
export interface LexError extends ILexingError {
  /** R0001: characters that make no token; R0005: a token longer than `maxTokenLength`. */
  code: 'R0001' | 'R0005';
}

export interface LexResult extends ILexingResult {
  errors: LexError[];
}

/**
 * Text to tokens; words that are keywords come out as keyword tokens. Linear in the text's
 * length whatever it holds (every pattern matches without backtracking across tokens, and a
 * malformed number is one token). Malformed numbers and tokens longer than `maxTokenLength`
 * (comments aside) are errors, in offset order, and out of `tokens`.
 */
export function tokenize(text: string): LexResult {
  const result = wordLexer.tokenize(text);
  const errors: LexError[] = result.errors.map((e) => ({ ...e, code: 'R0001' }));
  for (const t of result.groups['malformed'] ?? []) errors.push(lexError(t, 'R0001', 'not a number'));
  delete result.groups['malformed'];
  let kept = 0;
  for (const t of result.tokens) {
    if (t.image.length > maxTokenLength) {
      errors.push(lexError(t, 'R0005', `a token of ${t.image.length} characters`));
      continue;
    }
    if (t.tokenType === Identifier) {
      const kw = keywordByWord.get(t.image);
      if (kw) {
        t.tokenType = kw;
        t.tokenTypeIdx = kw.tokenTypeIdx!;
      }
    }
    result.tokens[kept++] = t;
  }
  result.tokens.length = kept;
  errors.sort((a, b) => a.offset - b.offset);
  return { ...result, errors };
}

function lexError(t: IToken, code: LexError['code'], message: string): LexError {
  return { offset: t.startOffset, line: undefined, column: undefined, length: t.image.length, message, code };
}

/** The one lexer of the language (keywords included). */
export const resnetLexer = { tokenize };
