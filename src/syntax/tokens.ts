import { createToken, type ILexingResult, Lexer, type TokenType } from 'chevrotain';

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
// trying 29 patterns at every letter.
function keyword(word: string): TokenType {
  return createToken({ name: keywordTokenName(word), label: `'${word}'`, pattern: Lexer.NA, categories: [Name, NotBrace] });
}

export function keywordTokenName(word: string): string {
  return 'Kw_' + word;
}

export const Import = keyword('import');
export const Model = keyword('model');
export const Extends = keyword('extends');
export const Input = keyword('input');
export const Classes = keyword('classes');
export const Dropout = keyword('dropout');
export const Stem = keyword('stem');
export const Conv = keyword('conv');
export const Maxpool = keyword('maxpool');
export const Avgpool = keyword('avgpool');
export const StrideOn = keyword('stride_on');
export const Stride = keyword('stride');
export const Groups = keyword('groups');
export const Blocks = keyword('blocks');
export const Block = keyword('block');
export const Shortcut = keyword('shortcut');
export const Stage = keyword('stage');
export const WidthPerGroup = keyword('width_per_group');
export const Width = keyword('width');
export const Norm = keyword('norm');
export const Eps = keyword('eps');
export const Momentum = keyword('momentum');
export const Activation = keyword('activation');
export const Expect = keyword('expect');
export const Params = keyword('params');
export const Macs = keyword('macs');
export const Output = keyword('output');
export const Expansion = keyword('expansion');
export const Se = keyword('se');

export const keywordTokens: TokenType[] = [
  Import, Model, Extends, Input, Classes, Dropout, Stem, Conv, Maxpool, Avgpool, StrideOn, Stride, Groups,
  Blocks, Block, Shortcut, Stage, WidthPerGroup, Width, Norm, Eps, Momentum, Activation, Expect, Params, Macs,
  Output, Expansion, Se,
];

/** The words of the language, for suggestions and completion. */
export const keywords: string[] = keywordTokens.map((t) => (t.LABEL ?? '').slice(1, -1));

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
export const LBrace = createToken({ name: 'LBrace', label: "'{'", pattern: '{' });
export const RBrace = createToken({ name: 'RBrace', label: "'}'", pattern: '}' });

export const allTokens: TokenType[] = [
  WhiteSpace, Comment, StringLiteral, UnterminatedString, Size, NumberLiteral, LBrace, RBrace,
  ...keywordTokens, Identifier, Name, NotBrace,
];

const wordLexer = new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: true });

const keywordByWord = new Map(keywordTokens.map((t) => [(t.LABEL ?? '').slice(1, -1), t]));

/** Text to tokens; words that are keywords come out as keyword tokens. */
export function tokenize(text: string): ILexingResult {
  const result = wordLexer.tokenize(text);
  for (const t of result.tokens) {
    if (t.tokenType !== Identifier) continue;
    const kw = keywordByWord.get(t.image);
    if (kw) {
      t.tokenType = kw;
      t.tokenTypeIdx = kw.tokenTypeIdx!;
    }
  }
  return result;
}

/** The one lexer of the language (keywords included). */
export const resnetLexer = { tokenize };
