import { CstParser, type CstNode, type IParserErrorMessageProvider, type IRecognitionException, type TokenType, defaultParserErrorProvider } from 'chevrotain';
import * as T from './tokens.js';

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
  return t.LABEL ?? t.name;
}

function found(image: string): string {
  return image === '' ? 'the end of the file' : `'${image}'`;
}

function list(items: string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique[0] ?? 'something else';
  return unique.slice(0, -1).join(', ') + ' or ' + unique[unique.length - 1];
}

/**
 * The grammar of `.resnet` files. Each rule reads as the EBNF in grammar/README.md;
 * the parser only recognises structure, the checker gives it meaning.
 */
export class ResnetParser extends CstParser {
  constructor() {
    super(T.allTokens, { recoveryEnabled: true, nodeLocationTracking: 'onlyOffset', errorMessageProvider: errorMessages, maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  // file = { import | model } ;
  file = this.RULE('file', () => {
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.model) },
        { ALT: () => this.SUBRULE(this.unknownStatement) },
      ]),
    );
  });

  // Not part of the language: a misspelt or unknown word where a statement or option
  // should be, with the values and braces that follow it. Parsing it keeps one typo from
  // derailing the rest of the file; the checker reports it with a "did you mean".
  // unknown = IDENTIFIER { NUMBER | SIZE | STRING | IDENTIFIER } [ "{" { any | braced } "}" ] ;
  unknownStatement = this.RULE('unknownStatement', () => {
    this.CONSUME(T.Identifier);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.NumberLiteral) },
        { ALT: () => this.CONSUME(T.Size) },
        { ALT: () => this.CONSUME(T.StringLiteral) },
        { ALT: () => this.CONSUME2(T.Identifier) },
      ]),
    );
    this.OPTION(() => this.SUBRULE(this.braced));
  });

  braced = this.RULE('braced', () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => this.OR([{ ALT: () => this.CONSUME(T.NotBrace) }, { ALT: () => this.SUBRULE(this.braced) }]));
    this.CONSUME(T.RBrace);
  });

  // import = "import" STRING ;
  importDecl = this.RULE('importDecl', () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLiteral);
  });

  // model = "model" NAME [ "extends" NAME ] "{" { statement } "}" ;
  model = this.RULE('model', () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Name, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(T.Extends);
      this.CONSUME2(T.Name, { LABEL: 'parent' });
    });
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(T.RBrace);
  });

  // statement = input | classes | dropout | stem | block | shortcut | stage | norm | activation | expect ;
  statement = this.RULE('statement', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.inputStatement) },
      { ALT: () => this.SUBRULE(this.classesStatement) },
      { ALT: () => this.SUBRULE(this.dropoutStatement) },
      { ALT: () => this.SUBRULE(this.stemStatement) },
      { ALT: () => this.SUBRULE(this.blockStatement) },
      { ALT: () => this.SUBRULE(this.shortcutStatement) },
      { ALT: () => this.SUBRULE(this.stageStatement) },
      { ALT: () => this.SUBRULE(this.normStatement) },
      { ALT: () => this.SUBRULE(this.activationStatement) },
      { ALT: () => this.SUBRULE(this.expectStatement) },
      { ALT: () => this.SUBRULE(this.unknownStatement) },
    ]);
  });

  // input = "input" SIZE ;
  inputStatement = this.RULE('inputStatement', () => {
    this.CONSUME(T.Input);
    this.CONSUME(T.Size);
  });

  // classes = "classes" NUMBER ;
  classesStatement = this.RULE('classesStatement', () => {
    this.CONSUME(T.Classes);
    this.CONSUME(T.NumberLiteral);
  });

  // dropout = "dropout" NUMBER ;
  dropoutStatement = this.RULE('dropoutStatement', () => {
    this.CONSUME(T.Dropout);
    this.CONSUME(T.NumberLiteral);
  });

  // stem = "stem" "{" { conv | pool } "}" ;
  stemStatement = this.RULE('stemStatement', () => {
    this.CONSUME(T.Stem);
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.convLayer) },
        { ALT: () => this.SUBRULE(this.poolLayer) },
        { ALT: () => this.SUBRULE(this.unknownStatement) },
      ]),
    );
    this.CONSUME(T.RBrace);
  });

  // conv = "conv" SIZE NUMBER { ( "stride" | "groups" ) NUMBER } ;
  convLayer = this.RULE('convLayer', () => {
    this.CONSUME(T.Conv);
    this.CONSUME(T.Size);
    this.CONSUME(T.NumberLiteral);
    this.MANY(() => this.SUBRULE(this.numberOption));
  });

  // pool = ( "maxpool" | "avgpool" ) SIZE { "stride" NUMBER } ;
  poolLayer = this.RULE('poolLayer', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Maxpool) }, { ALT: () => this.CONSUME(T.Avgpool) }]);
    this.CONSUME(T.Size);
    this.MANY(() => this.SUBRULE(this.numberOption));
  });

  // numberOption = ( "stride" | "groups" ) NUMBER ;
  numberOption = this.RULE('numberOption', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Stride) }, { ALT: () => this.CONSUME(T.Groups) }]);
    this.CONSUME(T.NumberLiteral);
  });

  // block = "block" NAME [ "{" { blockOption } "}" ] ;
  blockStatement = this.RULE('blockStatement', () => {
    this.CONSUME(T.Block);
    this.CONSUME(T.Name);
    this.OPTION(() => {
      this.CONSUME(T.LBrace);
      this.MANY(() => this.SUBRULE(this.blockOption));
      this.CONSUME(T.RBrace);
    });
  });

  // blockOption = ( "expansion" | "groups" | "width_per_group" | "se" ) NUMBER | "stride_on" SIZE ;
  blockOption = this.RULE('blockOption', () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([
            { ALT: () => this.CONSUME(T.Expansion) },
            { ALT: () => this.CONSUME(T.Groups) },
            { ALT: () => this.CONSUME(T.WidthPerGroup) },
            { ALT: () => this.CONSUME(T.Se) },
          ]);
          this.CONSUME(T.NumberLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.StrideOn);
          this.CONSUME(T.Size);
        },
      },
      { ALT: () => this.SUBRULE(this.unknownStatement) },
    ]);
  });

  // shortcut = "shortcut" NAME ;
  shortcutStatement = this.RULE('shortcutStatement', () => {
    this.CONSUME(T.Shortcut);
    this.CONSUME(T.Name);
  });

  // stage = "stage" NAME "{" { stageField | block | shortcut } "}" ;
  stageStatement = this.RULE('stageStatement', () => {
    this.CONSUME(T.Stage);
    this.CONSUME(T.Name);
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.stageField) },
        { ALT: () => this.SUBRULE(this.blockStatement) },
        { ALT: () => this.SUBRULE(this.shortcutStatement) },
        { ALT: () => this.SUBRULE(this.unknownStatement) },
      ]),
    );
    this.CONSUME(T.RBrace);
  });

  // stageField = ( "blocks" | "width" | "stride" ) NUMBER ;
  stageField = this.RULE('stageField', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Blocks) }, { ALT: () => this.CONSUME(T.Width) }, { ALT: () => this.CONSUME(T.Stride) }]);
    this.CONSUME(T.NumberLiteral);
  });

  // norm = "norm" NAME [ "{" { ( "eps" | "momentum" ) NUMBER } "}" ] ;
  normStatement = this.RULE('normStatement', () => {
    this.CONSUME(T.Norm);
    this.CONSUME(T.Name);
    this.OPTION(() => {
      this.CONSUME(T.LBrace);
      this.MANY(() => this.SUBRULE(this.normOption));
      this.CONSUME(T.RBrace);
    });
  });

  normOption = this.RULE('normOption', () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([{ ALT: () => this.CONSUME(T.Eps) }, { ALT: () => this.CONSUME(T.Momentum) }]);
          this.CONSUME(T.NumberLiteral);
        },
      },
      { ALT: () => this.SUBRULE(this.unknownStatement) },
    ]);
  });

  // activation = "activation" NAME ;
  activationStatement = this.RULE('activationStatement', () => {
    this.CONSUME(T.Activation);
    this.CONSUME(T.Name);
  });

  // expect = "expect" ( ( "params" | "macs" ) NUMBER | "output" SIZE ) ;
  expectStatement = this.RULE('expectStatement', () => {
    this.CONSUME(T.Expect);
    this.OR([
      {
        ALT: () => {
          this.OR2([{ ALT: () => this.CONSUME(T.Params) }, { ALT: () => this.CONSUME(T.Macs) }]);
          this.CONSUME(T.NumberLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Output);
          this.CONSUME(T.Size);
        },
      },
    ]);
  });
}

/** One parser for the process: chevrotain parsers are reusable once their input is reset. */
export const parser = new ResnetParser();

export interface CstParseResult {
  cst: CstNode;
  errors: IRecognitionException[];
}
