import {
  EmbeddedActionsParser,
  type IOrAlt,
  type IParserErrorMessageProvider,
  type IToken,
  type ITokenGrammarPath,
  type TokenType,
  defaultParserErrorProvider,
  EOF,
  tokenMatcher,
} from 'chevrotain';
import { quoted } from '../diagnostics/excerpt.js';
import type * as A from './ast.js';
import { readNumber, readSize } from './literals.js';
import type { Span } from './source.js';
import * as T from './tokens.js';
import { keywordsIn } from './vocabulary.js';

/** The tokens of the keywords that start a model's statements. */
const modelKeywordTokens: TokenType[] = keywordsIn('model').map((k) => T.Kw[k.word as keyof typeof T.Kw]);

const errorMessages: IParserErrorMessageProvider = {
  ...defaultParserErrorProvider,
  buildMismatchTokenMessage({ expected, actual }) {
    return `expected ${describe(expected)}, found ${found(actual.image)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `expected 'import' or 'model', found ${found(firstRedundant.image)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual }) {
    const firsts = new Set<TokenType>();
    for (const paths of expectedPathsPerAlt) for (const path of paths) if (path[0]) firsts.add(path[0]);
    return `expected ${list([...firsts].map(describe))}, found ${found(actual[0]?.image ?? '')}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual }) {
    const firsts = expectedIterationPaths.map((p) => (p[0] ? describe(p[0]) : '')).filter(Boolean);
    return `expected ${list(firsts)}, found ${found(actual[0]?.image ?? '')}`;
  },
};

function describe(t: TokenType): string {
  return t === EOF ? 'the end of the file' : (t.LABEL ?? t.name);
}

function found(image: string): string {
  return image === '' ? 'the end of the file' : quoted(image);
}

function list(items: string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique[0] ?? 'something else';
  return unique.slice(0, -1).join(', ') + ' or ' + unique[unique.length - 1];
}

/**
 * A token the parser really read: not one it invented while recovering from an error, nor
 * the placeholder it hands out while recording the grammar.
 */
function real(t: IToken | undefined): IToken | undefined {
  return t && !t.isInsertedInRecovery && typeof t.image === 'string' && Number.isFinite(t.startOffset) ? t : undefined;
}

function tokenSpan(t: IToken): Span {
  const r = real(t);
  return r ? { start: r.startOffset, end: r.startOffset + r.image.length } : { start: 0, end: 0 };
}

function nameOf(t: IToken | undefined): A.NameNode | undefined {
  const r = real(t);
  return r ? { text: r.image, span: tokenSpan(r) } : undefined;
}

function numberOf(t: IToken | undefined): A.NumberNode | undefined {
  const r = real(t);
  return r ? readNumber(r.image, tokenSpan(r)) : undefined;
}

function sizeOf(t: IToken | undefined): A.SizeNode | undefined {
  const r = real(t);
  return r ? readSize(r.image, tokenSpan(r)) : undefined;
}

function unquote(image: string): string {
  const closed = image.length >= 2 && image.endsWith('"');
  return image.slice(1, closed ? -1 : undefined).replace(/\\(.)/g, '$1');
}

/** An option as its alternative reads it; the rule adds the span. */
type OptionRead = Omit<A.OptionNode, 'span'>;

/** The most tokens in-rule recovery deletes to reach the expected one (see `tryInRuleRecovery`). */
const maxSkipped = 3;

/** A token no rule starts with, which recovery may delete: a name that is not a keyword, a number, a size, a path. */
function isStray(t: IToken): boolean {
  return tokenMatcher(t, T.Identifier) || tokenMatcher(t, T.NumberLiteral) || tokenMatcher(t, T.Size) || tokenMatcher(t, T.StringLiteral);
}

/** The parts of chevrotain's error recovery the parser adjusts or reads (not in its typings). */
interface ChevrotainRecovery {
  RULE_STACK_IDX: number;
  currIdx: number;
  flattenFollowSet(): TokenType[];
  tryInRepetitionRecovery(repetition: (...args: unknown[]) => void, args: unknown[], lookahead: () => boolean, expected: TokenType): void;
}

/** chevrotain's own recovery methods, which the parser's call after adjusting. */
const recovery = EmbeddedActionsParser.prototype as unknown as ChevrotainRecovery;

type Partial = { kind: 'model'; node: A.ModelNode; start: number } | { kind: 'stage'; node: A.StageStatement; start: number };

/**
 * The grammar of `.resnet` files (grammar/grammar.ebnf is generated from these rules).
 * Each rule recognises structure and returns plain syntax-tree data with spans; the
 * checker gives it meaning. Built with embedded actions rather than a CST and a visitor:
 * one pass, a third of the allocations, which the 1 MB benchmark needed.
 */
export class ResnetParser extends EmbeddedActionsParser {
  private unknowns: A.UnknownNode[] = [];
  private textLength = 0;
  /** Models and stages being built, so that one cut short by an error keeps what it had. */
  private partials: Partial[] = [];
  /** The file's items so far, for the same reason. */
  private items: (A.ImportNode | A.ModelNode)[] = [];
  /** What error recovery found, kept (see the methods below). */
  private readonly follows = new Map<string, TokenType[]>();
  private readonly resyncs = new Map<string, { from: number; at: number; type: TokenType }>();
  private readonly pendingRepetitions = new Map<number, (() => void) | undefined>();

  constructor() {
    super(T.allTokens, { recoveryEnabled: true, errorMessageProvider: errorMessages, maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  // ---- chevrotain's error recovery, adjusted (methods of its traits) ----

  /**
   * The tokens that may follow a place in the grammar, where an error is recovered from.
   * chevrotain walks the grammar for them at every error; the grammar is fixed, so the answer
   * for a place is too: kept. A file of many errors parses several times faster.
   */
  protected override getNextPossibleTokenTypes(path: ITokenGrammarPath): TokenType[] {
    const key = `${path.ruleStack.join(' ')}|${path.occurrenceStack.join(' ')}|${path.lastTok.name}|${path.lastTokOccurrence}`;
    let follows = this.follows.get(key);
    if (!follows) this.follows.set(key, (follows = super.getNextPossibleTokenTypes(path)));
    return follows;
  }

  /**
   * The first token ahead that recovery inside a repetition may resume at (one of the follow
   * set of the rules being parsed). chevrotain looks for it from every error anew, at the top
   * of a file as far as its end: quadratic in a file of many errors. The first such token from
   * a position is the same for every position up to it: kept per follow set.
   */
  findReSyncTokenType(): TokenType {
    const self = this as unknown as ChevrotainRecovery;
    const follows = self.flattenFollowSet();
    const key = follows.map((t) => t.tokenTypeIdx).join(' ');
    const from = self.currIdx + 1;
    const known = this.resyncs.get(key);
    if (known && known.from <= from && from <= known.at) return known.type;
    for (let k = 1; ; k++) {
      const token = this.LA(k);
      const type = follows.find((t) => tokenMatcher(token, t));
      if (type) {
        this.resyncs.set(key, { from, at: from + k - 1, type });
        return type;
      }
    }
  }

  /**
   * Recovery inside a repetition (a MANY): chevrotain skips to where the repetition can go on
   * and calls it again, from within itself: a level of the call stack per error, so a file of
   * 2,000 stray braces overflowed it. That call is the last thing each level does, so a
   * trampoline runs it instead, one rule level at a time: the same parse, a flat stack.
   */
  tryInRepetitionRecovery(repetition: (...args: unknown[]) => void, args: unknown[], lookahead: () => boolean, expected: TokenType): void {
    const level = (this as unknown as ChevrotainRecovery).RULE_STACK_IDX;
    const pending = this.pendingRepetitions;
    const recover = (): void => recovery.tryInRepetitionRecovery.call(this, resume, args, lookahead, expected);
    const resume = (...again: unknown[]): void => void pending.set(level, () => repetition.apply(this, again));
    if (pending.has(level)) {
      recover(); // inside this level's trampoline: hand the call back to it
      return;
    }
    pending.set(level, recover);
    try {
      for (let next = pending.get(level); next; next = pending.get(level)) {
        pending.set(level, undefined);
        next();
      }
    } finally {
      pending.delete(level);
    }
  }

  /**
   * In-rule recovery: one token inserted, or tokens deleted. chevrotain tries inserting the
   * expected token first, wherever the token found may follow it; any word may follow a `{`
   * (as an unknown statement), so `stage conv2 conv2 { … }` became `stage conv2 { conv2 { … }`,
   * the stray word swallowing the body and the stage's `}` reported missing lines later.
   * Where the expected token comes after at most `maxSkipped` tokens that no rule starts
   * with (names, numbers, sizes, paths; no keyword, no brace), those are deleted instead:
   * `conv2`, `extneds resnet50`. Otherwise chevrotain's own recovery.
   */
  tryInRuleRecovery(expected: TokenType, follows: TokenType[]): IToken {
    let k = 1;
    while (k <= maxSkipped && isStray(this.LA(k))) k++;
    if (k > 1 && tokenMatcher(this.LA(k), expected)) {
      for (let i = 1; i < k; i++) this.SKIP_TOKEN();
      const token = this.LA(1);
      (this as unknown as { consumeToken(): void }).consumeToken();
      return token;
    }
    return (recovery as unknown as { tryInRuleRecovery(expected: TokenType, follows: TokenType[]): IToken }).tryInRuleRecovery.call(this, expected, follows);
  }

  /** Parses a token vector; the syntax errors are in `errors` afterwards. */
  parseTokens(tokens: IToken[], textLength: number): { items: (A.ImportNode | A.ModelNode)[]; unknowns: A.UnknownNode[] } {
    this.input = tokens;
    this.resyncs.clear();
    this.textLength = textLength;
    this.unknowns = [];
    this.partials = [];
    this.items = [];
    const items = this.file();
    const unknowns = this.unknowns.sort((a, b) => a.span.start - b.span.start);
    this.unknowns = [];
    this.partials = [];
    this.items = [];
    return { items, unknowns };
  }

  /** Where the rule about to run starts. */
  private begin(): number {
    const t = this.LA(1);
    return Number.isNaN(t.startOffset) ? this.textLength : t.startOffset;
  }

  /** The span from `start` to the end of the last token read. */
  private finish(start: number): Span {
    const last = this.LA(0) as IToken | undefined;
    const end = last && !Number.isNaN(last.startOffset) ? last.startOffset + last.image.length : start;
    return { start, end: Math.max(start, end) };
  }

  private bodySpan(open: IToken, close: IToken): Span | undefined {
    const o = real(open);
    const c = real(close);
    return o && c ? { start: o.startOffset, end: c.startOffset + c.image.length } : undefined;
  }

  /** What a model or stage rule returns when an error cut it short: what it had read. */
  private recovered(kind: 'model'): A.ModelNode | undefined;
  private recovered(kind: 'stage'): A.StageStatement | undefined;
  private recovered(kind: Partial['kind']): A.ModelNode | A.StageStatement | undefined {
    for (let i = this.partials.length - 1; i >= 0; i--) {
      const p = this.partials[i]!;
      if (p.kind !== kind) continue;
      if (p.kind === 'model') {
        // A stage cut short with its model belongs to it.
        for (const inner of this.partials.slice(i + 1)) {
          if (inner.kind !== 'stage' || p.node.statements.includes(inner.node)) continue;
          inner.node.span = this.finish(inner.start);
          p.node.statements.push(inner.node);
        }
      }
      this.partials.length = i;
      p.node.span = this.finish(p.start);
      return p.node;
    }
    return undefined;
  }

  // file = { import | model } ;
  file = this.RULE(
    'file',
    () => {
      this.MANY(() => {
        const item = this.OR(this.fileItemAlts);
        if (item) this.items.push(item);
      });
      return this.items;
    },
    {
      // An error no rule below could recover from (a model left open at the end of the
      // file): keep every item read, the unfinished model too.
      recoveryValueFunc: () => {
        const open = this.recovered('model');
        if (open && !this.items.includes(open)) this.items.push(open);
        return this.items;
      },
    },
  );

  // Not part of the language: a misspelt or unknown word where a statement or option
  // should be, with the values and braces that follow it. Parsing it keeps one typo from
  // derailing the rest of the file; it is reported with a "did you mean".
  // unknown = IDENTIFIER { NUMBER | SIZE | STRING | IDENTIFIER } [ braced ] ;
  unknownStatement = this.RULE('unknownStatement', (context: A.UnknownContext) => {
    const start = this.begin();
    const word = this.CONSUME(T.Identifier);
    this.MANY(() => this.OR(this.unknownTailAlts));
    this.OPTION(() => this.SUBRULE(this.braced));
    this.ACTION(() => {
      const w = nameOf(word);
      if (w) this.unknowns.push({ word: w, context, span: this.finish(start) });
    });
  });

  braced = this.RULE('braced', () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => this.OR(this.bracedAlts));
    this.CONSUME(T.RBrace);
  });

  // import = "import" STRING ;
  importDecl = this.RULE('importDecl', (): A.ImportNode => {
    const start = this.begin();
    this.CONSUME(T.Kw.import);
    const t = real(this.CONSUME(T.StringLiteral));
    return { kind: 'import', path: t ? { value: unquote(t.image), span: tokenSpan(t) } : undefined, span: this.finish(start) };
  });

  // model = "model" NAME [ "extends" NAME ] "{" { statement } "}" ;
  model = this.RULE(
    'model',
    (): A.ModelNode => {
      const start = this.begin();
      const node: A.ModelNode = { kind: 'model', name: undefined, extendsName: undefined, statements: [], span: { start, end: start }, bodySpan: undefined };
      this.ACTION(() => this.partials.push({ kind: 'model', node, start }));
      this.CONSUME(T.Kw.model);
      node.name = nameOf(this.CONSUME(T.Name, { LABEL: 'name' }));
      this.OPTION(() => {
        this.CONSUME(T.Kw.extends);
        node.extendsName = nameOf(this.CONSUME2(T.Name, { LABEL: 'parent' }));
      });
      const open = this.CONSUME(T.LBrace);
      this.MANY(() => {
        const s = this.SUBRULE(this.statement);
        if (s) node.statements.push(s);
      });
      const close = this.CONSUME(T.RBrace);
      this.ACTION(() => {
        node.bodySpan = this.bodySpan(open, close);
        this.recovered('model');
      });
      return node;
    },
    { recoveryValueFunc: () => this.recovered('model')! },
  );

  // statement = input | classes | dropout | stem | block | shortcut | stage | norm | activation | output_stride | drop_path | pool | outputs | expect ;
  statement = this.RULE('statement', (): A.Statement | undefined => this.OR(this.statementAlts));

  // input = "input" SIZE ;
  inputStatement = this.RULE('inputStatement', (): A.InputStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.input);
    const size = sizeOf(this.CONSUME(T.Size));
    return { kind: 'input', keyword: tokenSpan(kw), size, span: this.finish(start) };
  });

  // classes = "classes" NUMBER ;
  classesStatement = this.RULE('classesStatement', (): A.ClassesStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.classes);
    const value = numberOf(this.CONSUME(T.NumberLiteral));
    return { kind: 'classes', keyword: tokenSpan(kw), value, span: this.finish(start) };
  });

  // dropout = "dropout" NUMBER ;
  dropoutStatement = this.RULE('dropoutStatement', (): A.DropoutStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.dropout);
    const value = numberOf(this.CONSUME(T.NumberLiteral));
    return { kind: 'dropout', keyword: tokenSpan(kw), value, span: this.finish(start) };
  });

  // output_stride = "output_stride" NUMBER ;  drop_path = "drop_path" NUMBER ;
  numberStatement = this.RULE('numberStatement', (): A.NumberStatement => {
    const start = this.begin();
    const kw = this.OR(this.numberStatementAlts);
    const value = numberOf(this.CONSUME(T.NumberLiteral));
    return { kind: kw.image === 'drop_path' ? 'drop_path' : 'output_stride', keyword: tokenSpan(kw), value, span: this.finish(start) };
  });

  // pool = "pool" NAME ;
  poolStatement = this.RULE('poolStatement', (): A.PoolStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.pool);
    const poolKind = nameOf(this.CONSUME(T.Name));
    return { kind: 'pool', keyword: tokenSpan(kw), poolKind, span: this.finish(start) };
  });

  // outputs = "outputs" NAME { NAME } ;  (a name is not a statement's keyword, but 'stem' not followed by '{' is)
  outputsStatement = this.RULE('outputsStatement', (): A.OutputsStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.outputs);
    const names: A.NameNode[] = [];
    this.AT_LEAST_ONE({
      GATE: () => this.outputNameAhead(),
      DEF: () => {
        const n = nameOf(this.CONSUME(T.Name));
        if (n) names.push(n);
      },
    });
    return { kind: 'outputs', keyword: tokenSpan(kw), names, span: this.finish(start) };
  });

  // stem = "stem" "{" { conv | pool } "}" ;
  stemStatement = this.RULE('stemStatement', (): A.StemStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.stem);
    this.CONSUME(T.LBrace);
    const layers: A.StemLayerNode[] = [];
    this.MANY(() => {
      const l = this.OR(this.stemLayerAlts);
      if (l) layers.push(l);
    });
    this.CONSUME(T.RBrace);
    return { kind: 'stem', keyword: tokenSpan(kw), layers, span: this.finish(start) };
  });

  // conv = "conv" SIZE NUMBER { numberOption } ;
  convLayer = this.RULE('convLayer', (): A.ConvLayerNode => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.conv);
    const kernel = sizeOf(this.CONSUME(T.Size));
    const channels = numberOf(this.CONSUME(T.NumberLiteral));
    const options: A.OptionNode[] = [];
    this.MANY(() => {
      const o = this.SUBRULE(this.numberOption);
      if (o) options.push(o);
    });
    return { kind: 'conv', keyword: tokenSpan(kw), kernel, channels, options, span: this.finish(start) };
  });

  // pool = ( "maxpool" | "avgpool" ) SIZE { numberOption } ;
  poolLayer = this.RULE('poolLayer', (): A.PoolLayerNode => {
    const start = this.begin();
    const kw = this.OR(this.poolKindAlts);
    const kernel = sizeOf(this.CONSUME(T.Size));
    const options: A.OptionNode[] = [];
    this.MANY(() => {
      const o = this.SUBRULE(this.numberOption);
      if (o) options.push(o);
    });
    const kind = kw.image === 'avgpool' ? 'avgpool' : 'maxpool';
    return { kind, keyword: tokenSpan(kw), kernel, options, span: this.finish(start) };
  });

  // numberOption = ( "stride" | "groups" | "pad" ) NUMBER ;
  numberOption = this.RULE('numberOption', (): A.OptionNode => {
    const start = this.begin();
    const key = this.OR(this.numberOptionAlts);
    const value = numberOf(this.CONSUME(T.NumberLiteral));
    return { key: nameOf(key)!, value, span: this.finish(start) };
  });

  // block = "block" NAME [ "{" { blockOption } "}" ] ;
  blockStatement = this.RULE('blockStatement', (): A.BlockStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.block);
    const blockKind = nameOf(this.CONSUME(T.Name));
    const { options, hasBody } = this.optionBody(this.blockOption);
    return { kind: 'block', keyword: tokenSpan(kw), blockKind, options, hasBody, span: this.finish(start) };
  });

  // blockOption = ( "expansion" | "groups" | "width_per_group" | "se" ) NUMBER | "stride_on" SIZE ;
  blockOption = this.RULE('blockOption', (): A.OptionNode | undefined => {
    const start = this.begin();
    const option = this.OR(this.blockOptionAlts);
    return option && { key: option.key, value: option.value, span: this.finish(start) };
  });

  // shortcut = "shortcut" NAME ;
  shortcutStatement = this.RULE('shortcutStatement', (): A.ShortcutStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.shortcut);
    const shortcutKind = nameOf(this.CONSUME(T.Name));
    return { kind: 'shortcut', keyword: tokenSpan(kw), shortcutKind, span: this.finish(start) };
  });

  // stage = "stage" NAME "{" { stageField | block | shortcut } "}" ;
  stageStatement = this.RULE(
    'stageStatement',
    (): A.StageStatement => {
      const start = this.begin();
      const node: A.StageStatement = { kind: 'stage', keyword: { start, end: start }, name: undefined, items: [], span: { start, end: start }, bodySpan: undefined };
      this.ACTION(() => this.partials.push({ kind: 'stage', node, start }));
      node.keyword = tokenSpan(this.CONSUME(T.Kw.stage));
      node.name = nameOf(this.CONSUME(T.Name));
      const open = this.CONSUME(T.LBrace);
      this.MANY(() => {
        const item = this.OR(this.stageItemAlts);
        if (item) node.items.push(item);
      });
      const close = this.CONSUME(T.RBrace);
      this.ACTION(() => {
        node.bodySpan = this.bodySpan(open, close);
        this.recovered('stage');
      });
      return node;
    },
    { recoveryValueFunc: () => this.recovered('stage')! },
  );

  // stageField = ( "blocks" | "width" | "stride" | "dilation" ) NUMBER ;
  stageField = this.RULE('stageField', (): A.StageField => {
    const start = this.begin();
    const key = this.OR(this.stageFieldAlts);
    const value = numberOf(this.CONSUME(T.NumberLiteral));
    return { kind: 'field', key: nameOf(key)!, value, span: this.finish(start) };
  });

  // norm = "norm" NAME [ "{" { normOption } "}" ] ;
  normStatement = this.RULE('normStatement', (): A.NormStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.norm);
    const normKind = nameOf(this.CONSUME(T.Name));
    const { options, hasBody } = this.optionBody(this.normOption);
    return { kind: 'norm', keyword: tokenSpan(kw), normKind, options, hasBody, span: this.finish(start) };
  });

  // normOption = ( "eps" | "momentum" | "groups" ) NUMBER ;
  normOption = this.RULE('normOption', (): A.OptionNode | undefined => {
    const start = this.begin();
    const option = this.OR(this.normOptionAlts);
    return option && { key: option.key, value: option.value, span: this.finish(start) };
  });

  // activation = "activation" NAME [ NUMBER ] ;
  activationStatement = this.RULE('activationStatement', (): A.ActivationStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.activation);
    const fn = nameOf(this.CONSUME(T.Name));
    const slope = this.OPTION(() => numberOf(this.CONSUME(T.NumberLiteral)));
    return { kind: 'activation', keyword: tokenSpan(kw), fn, slope, span: this.finish(start) };
  });

  // expect = "expect" ( ( "params" | "macs" ) NUMBER | "output" SIZE ) ;
  expectStatement = this.RULE('expectStatement', (): A.ExpectStatement => {
    const start = this.begin();
    const kw = this.CONSUME(T.Kw.expect);
    const { what, value } = this.OR(this.expectAlts);
    return { kind: 'expect', keyword: tokenSpan(kw), what: nameOf(what), value, span: this.finish(start) };
  });

  // The alternatives of every OR, made once: chevrotain takes an array of closures at each
  // call, and building it anew for every statement of a 1 MB file cost some 50 MB of
  // garbage a parse. Alternatives return what they read; the rule places it.
  private readonly fileItemAlts: IOrAlt<A.ImportNode | A.ModelNode | undefined>[] = [
    { ALT: () => this.SUBRULE(this.importDecl) },
    { ALT: () => this.SUBRULE(this.model) },
    { ALT: () => this.skipUnknown('file') },
  ];

  private readonly unknownTailAlts: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(T.NumberLiteral) },
    { ALT: () => this.CONSUME(T.Size) },
    { ALT: () => this.CONSUME(T.StringLiteral) },
    { ALT: () => this.CONSUME2(T.Identifier) },
  ];

  private readonly bracedAlts: IOrAlt<unknown>[] = [{ ALT: () => this.CONSUME(T.NotBrace) }, { ALT: () => this.SUBRULE(this.braced) }];

  private readonly statementAlts: IOrAlt<A.Statement | undefined>[] = [
    { ALT: () => this.SUBRULE(this.inputStatement) },
    { ALT: () => this.SUBRULE(this.classesStatement) },
    { ALT: () => this.SUBRULE(this.dropoutStatement) },
    { ALT: () => this.SUBRULE(this.stemStatement) },
    { ALT: () => this.SUBRULE(this.blockStatement) },
    { ALT: () => this.SUBRULE(this.shortcutStatement) },
    { ALT: () => this.SUBRULE(this.stageStatement) },
    { ALT: () => this.SUBRULE(this.normStatement) },
    { ALT: () => this.SUBRULE(this.activationStatement) },
    { ALT: () => this.SUBRULE(this.numberStatement) },
    { ALT: () => this.SUBRULE(this.poolStatement) },
    { ALT: () => this.SUBRULE(this.outputsStatement) },
    { ALT: () => this.SUBRULE(this.expectStatement) },
    { ALT: () => this.skipUnknown('model') },
  ];

  private readonly stemLayerAlts: IOrAlt<A.StemLayerNode | undefined>[] = [
    { ALT: () => this.SUBRULE(this.convLayer) },
    { ALT: () => this.SUBRULE(this.poolLayer) },
    { ALT: () => this.skipUnknown('stem') },
  ];

  private readonly poolKindAlts: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(T.Kw.maxpool) }, { ALT: () => this.CONSUME(T.Kw.avgpool) }];

  private readonly numberOptionAlts: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(T.Kw.stride) },
    { ALT: () => this.CONSUME(T.Kw.groups) },
    { ALT: () => this.CONSUME(T.Kw.pad) },
  ];

  private readonly numberStatementAlts: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(T.Kw.output_stride) }, { ALT: () => this.CONSUME(T.Kw.drop_path) }];

  private readonly blockNumberKeyAlts: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(T.Kw.expansion) },
    { ALT: () => this.CONSUME(T.Kw.groups) },
    { ALT: () => this.CONSUME(T.Kw.width_per_group) },
    { ALT: () => this.CONSUME(T.Kw.se) },
  ];

  private readonly blockOptionAlts: IOrAlt<OptionRead | undefined>[] = [
    {
      ALT: () => {
        const key = this.OR2(this.blockNumberKeyAlts);
        const value = numberOf(this.CONSUME(T.NumberLiteral));
        return { key: nameOf(key)!, value };
      },
    },
    {
      ALT: () => {
        const key = this.CONSUME(T.Kw.stride_on);
        const value = sizeOf(this.CONSUME(T.Size));
        return { key: nameOf(key)!, value };
      },
    },
    { ALT: () => this.skipUnknown('block') },
  ];

  private readonly stageItemAlts: IOrAlt<A.StageItem | undefined>[] = [
    {
      ALT: () => {
        const f = this.SUBRULE(this.stageField);
        return f?.key ? f : undefined;
      },
    },
    { ALT: () => this.SUBRULE(this.blockStatement) },
    { ALT: () => this.SUBRULE(this.shortcutStatement) },
    { ALT: () => this.skipUnknown('stage') },
  ];

  private readonly stageFieldAlts: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(T.Kw.blocks) },
    { ALT: () => this.CONSUME(T.Kw.width) },
    { ALT: () => this.CONSUME(T.Kw.stride) },
    { ALT: () => this.CONSUME(T.Kw.dilation) },
  ];

  private readonly normKeyAlts: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(T.Kw.eps) },
    { ALT: () => this.CONSUME(T.Kw.momentum) },
    { ALT: () => this.CONSUME(T.Kw.groups) },
  ];

  private readonly normOptionAlts: IOrAlt<OptionRead | undefined>[] = [
    {
      ALT: () => {
        const key = this.OR2(this.normKeyAlts);
        const value = numberOf(this.CONSUME(T.NumberLiteral));
        return { key: nameOf(key)!, value };
      },
    },
    { ALT: () => this.skipUnknown('norm') },
  ];

  private readonly expectKindAlts: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(T.Kw.params) }, { ALT: () => this.CONSUME(T.Kw.macs) }];

  private readonly expectAlts: IOrAlt<{ what: IToken; value: A.NumberNode | A.SizeNode | undefined }>[] = [
    {
      ALT: () => {
        const what = this.OR2(this.expectKindAlts);
        return { what, value: numberOf(this.CONSUME(T.NumberLiteral)) };
      },
    },
    {
      ALT: () => {
        const what = this.CONSUME(T.Kw.output);
        return { what, value: sizeOf(this.CONSUME(T.Size)) };
      },
    },
  ];

  /** `[ "{" { option } "}" ]` after a kind (`block KIND`, `norm KIND`): the options, and whether the braces were written, even empty. */
  private optionBody(option: typeof this.blockOption): { options: A.OptionNode[]; hasBody: boolean } {
    const options: A.OptionNode[] = [];
    let hasBody = false;
    this.OPTION(() => {
      this.CONSUME(T.LBrace);
      hasBody = true;
      this.MANY(() => {
        const o = this.SUBRULE(option);
        if (o) options.push(o);
      });
      this.CONSUME(T.RBrace);
    });
    return { options, hasBody };
  }

  /**
   * Whether the next token is a name `outputs` lists: any name but a keyword that starts a
   * model's statement, so that the statement after the list is not read into it; `stem`
   * is one unless a brace follows it (the stem statement).
   */
  private outputNameAhead(): boolean {
    const next = this.LA(1);
    if (!tokenMatcher(next, T.Name)) return false;
    if (tokenMatcher(next, T.Kw.stem)) return !tokenMatcher(this.LA(2), T.LBrace);
    return !modelKeywordTokens.some((t) => tokenMatcher(next, t));
  }

  private skipUnknown(context: A.UnknownContext): undefined {
    this.SUBRULE(this.unknownStatement, { ARGS: [context] });
    return undefined;
  }
}

/** One parser for the process: chevrotain parsers are reusable once their input is reset. */
export const parser = new ResnetParser();
