import type { ActivationFn, BlockKind, GlobalPoolKind, ShortcutOption } from '../model/types.js';

/**
 * The words of the language, in one table: every keyword with where it may stand, what
 * follows it, whether it may be written again, its default, its documentation and its
 * completion snippet; and the value words that follow some of them (block kinds, shortcut
 * kinds with their aliases, norm kinds, activations).
 *
 * Everything that lists words is derived from it: the lexer's keywords (tokens.ts), "did
 * you mean" for an unknown word (parse.ts), completion and keyword hover (src/lsp), the
 * checker's lists of what applies where and its defaults (src/check/vocabulary.ts), the
 * diagram's and the warnings' names of shortcut kinds, and the tables of docs/reference.md
 * (`npm run grammar`). The grammar itself stays in chevrotain's rules (parser.ts); a test
 * holds the two to the same words (test/syntax/vocabulary.test.ts).
 *
 * A new option is one entry here (its place, value, default, doc, and `of` when it applies
 * to some kinds only), an alternative in the parser's rule for that place, the checker's
 * meaning of it, and each backend's.
 */

/** Where a word may stand. */
export type Place =
  /** At the top of a file. */
  | 'file'
  /** In a model's header, after its name. */
  | 'header'
  /** Inside a model's braces. */
  | 'model'
  /** Right after `expect`. */
  | 'expect'
  /** Inside a stem's braces: its layers, and the options written after a layer. */
  | 'stem'
  /** Inside a stage's braces. */
  | 'stage'
  /** Inside a block's braces: its options. */
  | 'block'
  /** Inside a norm's braces: its options. */
  | 'norm';

/** The places that are braces (or the file): where a statement or option starts, and where an unknown word is reported. */
export const bodyPlaces = ['file', 'model', 'stem', 'stage', 'block', 'norm'] as const satisfies readonly Place[];

/** How people name each place in messages ("unknown word 'x' in a stage"). */
export const placeNames: Record<Place, string> = {
  file: 'at the top of a file',
  header: "in a model's header",
  model: 'in a model',
  expect: "after 'expect'",
  stem: 'in a stem',
  stage: 'in a stage',
  block: 'in block options',
  norm: 'in norm options',
};

/** A word that may follow a keyword: a kind, an activation, a size. */
export interface ValueWord {
  /** Other spellings of the same word (`projection` for shortcut `B`). */
  readonly aliases?: readonly string[];
  /** One line, Markdown: what it is. */
  readonly doc: string;
}

/** What the value words of a keyword are, for completion and colouring. */
export type WordRole = 'block-kind' | 'shortcut-kind' | 'norm-kind' | 'activation' | 'pool-kind' | 'size';

export interface WordSet<W extends string = string, V extends ValueWord = ValueWord> {
  readonly role: WordRole;
  readonly words: Readonly<Record<W, V>>;
}

/** What follows a keyword. */
export type Value =
  /** A quoted path. */
  | { readonly kind: 'path' }
  /** A name: a new model or stage, or a model in scope. */
  | { readonly kind: 'name' }
  /** A size, CxHxW. */
  | { readonly kind: 'size' }
  /** A stem layer's kernel (and channels), then its options. */
  | { readonly kind: 'layer' }
  /** A whole number. */
  | { readonly kind: 'whole' }
  /** A number. */
  | { readonly kind: 'number' }
  /** A count to compare: an exact integer, or a number with a suffix (`expect`). */
  | { readonly kind: 'count' }
  /** A body in braces. */
  | { readonly kind: 'body' }
  /** One or more names (`outputs conv3 conv4`). */
  | { readonly kind: 'names' }
  /** One of a set of words. */
  | { readonly kind: 'word'; readonly words: WordSet }
  /** One of the keywords of a place (`expect params`). */
  | { readonly kind: 'keyword'; readonly place: Place };

export interface Keyword {
  readonly word: string;
  readonly place: Place;
  /** How it is written, in the docs' notation: `stride S`, `block KIND [{ options }]`. */
  readonly syntax: string;
  readonly value: Value;
  /** May be written again where it stands (models, stages, layers; `expect` once per kind). Otherwise at most once (R0202). */
  readonly repeatable?: true;
  /** Needed in every model (or inherited) when absent from the model: R0201, R0210. */
  readonly required?: true;
  /** The value when it is not written. */
  readonly default?: number | string;
  /** For options: the kinds (stem layers, block kinds, norm kinds) it applies to; all when unset. */
  readonly of?: readonly string[];
  /** One paragraph, Markdown: what it means. Hover, completion and the reference show it. */
  readonly doc: string;
  /** A completion snippet (LSP snippet syntax), when it helps to insert more than the word. */
  readonly snippet?: string;
}

// ---- value words ----

export interface BlockKindWord extends ValueWord {
  /** The expansion unless set: the block outputs width x expansion channels. */
  readonly expansion: number;
  /** Which kinds of options it takes: the bottleneck options (groups, width_per_group, stride_on) or not. */
  readonly bottleneck: boolean;
}

export const blockKindWords: WordSet<BlockKind, BlockKindWord> = {
  role: 'block-kind',
  words: {
    basic: { expansion: 1, bottleneck: false, doc: 'conv 3x3 (s) to the inner width → norm → act → conv 3x3 to W x expansion → norm; add shortcut; act' },
    bottleneck: { expansion: 4, bottleneck: true, doc: 'conv 1x1 → norm → act → conv 3x3 (s, groups) → norm → act → conv 1x1 to W x expansion → norm; add; act' },
    'preact-basic': { expansion: 1, bottleneck: false, doc: 'norm → act → conv 3x3 (s) → norm → act → conv 3x3; add' },
    'preact-bottleneck': { expansion: 4, bottleneck: true, doc: 'norm → act → conv 1x1 → norm → act → conv 3x3 (s, groups) → norm → act → conv 1x1; add' },
  },
};

export interface ShortcutKindWord extends ValueWord {
  /** A few words for diagrams and messages: `projection`. */
  readonly title: string;
  /** `doc` says what it is where a block changes shape; this, where it does not. */
  readonly elsewhere: string;
}

export const shortcutKindWords: WordSet<ShortcutOption, ShortcutKindWord> = {
  role: 'shortcut-kind',
  words: {
    A: {
      aliases: ['zero_pad'],
      title: 'zero-pad',
      doc: 'rows and columns 0, s, 2s, … of the input, new channels appended as zeros; no parameters. Cannot drop channels (R0303)',
      elsewhere: 'identity',
    },
    B: { aliases: ['projection'], title: 'projection', doc: 'conv 1x1 (stride s) → norm', elsewhere: 'identity' },
    C: { aliases: ['projection_all'], title: 'projection everywhere', doc: 'conv 1x1 (stride s) → norm', elsewhere: 'conv 1x1 → norm' },
    D: {
      aliases: ['avg_projection'],
      title: 'avg-pool projection',
      doc: 'avgpool 2x2 stride s (ceil mode, padding not counted; none when s is 1) → conv 1x1 → norm',
      elsewhere: 'identity',
    },
  },
};

export const normKindWords: WordSet<'batch' | 'group'> = {
  role: 'norm-kind',
  words: {
    batch: { doc: "batch normalization (PyTorch's `BatchNorm2d`): a scale and a shift per channel, and running mean and variance as buffers" },
    group: { doc: "group normalization (PyTorch's `GroupNorm(G, C)`): statistics over each group of C / G channels of one image, a scale and a shift per channel, no buffers" },
  },
};

export const activationWords: WordSet<ActivationFn> = {
  role: 'activation',
  words: {
    relu: { doc: "PyTorch's `ReLU`: max(0, x)" },
    silu: { doc: "PyTorch's `SiLU` (swish): x·sigmoid(x)" },
    gelu: { doc: "PyTorch's `GELU`, the exact form: x·Φ(x) = x·(1 + erf(x / √2)) / 2 (not the tanh approximation)" },
    leaky_relu: { doc: "PyTorch's `LeakyReLU`: x where x ≥ 0, SLOPE·x below (`activation leaky_relu 0.2`; 0.01 unless written)" },
    mish: { doc: "PyTorch's `Mish`: x·tanh(softplus(x))" },
  },
};

export const poolKindWords: WordSet<GlobalPoolKind> = {
  role: 'pool-kind',
  words: {
    avg: { doc: 'the mean over height and width (torchvision\'s `AdaptiveAvgPool2d(1)`): C features' },
    max: { doc: 'the maximum over height and width: C features' },
    avgmax: { doc: 'the mean of the average and the max pool (timm\'s `avgmax`): C features' },
    catavgmax: { doc: 'the average pool and the max pool concatenated, average first (timm\'s `catavgmax`): 2C features, so the fully connected layer takes twice the channels' },
  },
};

export const strideOnWords: WordSet<'1x1' | '3x3'> = {
  role: 'size',
  words: {
    '1x1': { doc: "the first 1x1 convolution takes the stride: the original paper's and Caffe's layout (ResNet v1)" },
    '3x3': { doc: "the 3x3 convolution takes the stride: torchvision's layout (ResNet v1.5)" },
  },
};

// ---- keywords ----

const path = { kind: 'path' } as const;
const name = { kind: 'name' } as const;
const size = { kind: 'size' } as const;
const layer = { kind: 'layer' } as const;
const whole = { kind: 'whole' } as const;
const number = { kind: 'number' } as const;
const count = { kind: 'count' } as const;
const body = { kind: 'body' } as const;
const words = (set: WordSet): Value => ({ kind: 'word', words: set });

const blockKindList = Object.keys(blockKindWords.words) as BlockKind[];
const bottleneckKinds = blockKindList.filter((k) => blockKindWords.words[k].bottleneck);
const stemLayers = ['conv', 'maxpool', 'avgpool'];

/** The model's block and shortcut, and a stage's own: the same words with the same values. */
const blockSyntax = 'block KIND [{ expansion E  groups G  width_per_group P  stride_on 1x1|3x3  se R }]';

/** Every keyword, by place, in the order the reference lists them (completion offers them in this order). */
export const keywordTable = [
  // At the top of a file.
  {
    word: 'import',
    place: 'file',
    syntax: 'import "relative/path.resnet"',
    value: path,
    repeatable: true,
    doc: 'Makes the models of another file available to `extends`. Imports come before the first model.',
    snippet: 'import "${1}"',
  },
  {
    word: 'model',
    place: 'file',
    syntax: 'model NAME [extends OTHER] { … }',
    value: name,
    repeatable: true,
    doc: 'A network: its input, stem, block, stages, head and checks.',
    snippet: `model \${1:name} {\n  input \${2:3x224x224}\n  classes \${3:1000}\n\n  stem {\n    conv 7x7 64 stride 2\n    maxpool 3x3 stride 2\n  }\n\n  block \${4|${blockKindList.join(',')}|}\n\n  stage \${5:conv2} { blocks \${6:2}  width \${7:64} }\n}`,
  },
  {
    word: 'extends',
    place: 'header',
    syntax: 'model NAME extends OTHER { … }',
    value: name,
    doc: "Start from OTHER's statements: a stage of the same name merges field by field, another statement replaces the inherited one, `expect` lines are not inherited.",
  },

  // In a model.
  {
    word: 'input',
    place: 'model',
    syntax: 'input CxHxW',
    value: size,
    required: true,
    doc: 'The image the model takes: channels x height x width.',
    snippet: 'input ${1:3x224x224}',
  },
  {
    word: 'classes',
    place: 'model',
    syntax: 'classes N',
    value: whole,
    doc: 'Adds the head: a global pool (`pool`, average unless set), then a fully connected layer (weight and bias) to N outputs. Without it the model ends at the last stage.',
    snippet: 'classes ${1:1000}',
  },
  {
    word: 'dropout',
    place: 'model',
    syntax: 'dropout P',
    value: number,
    doc: 'Dropout before the fully connected layer (training only), 0 ≤ P < 1. Needs `classes` (a warning without).',
    snippet: 'dropout ${1:0.2}',
  },
  {
    word: 'stem',
    place: 'model',
    syntax: 'stem { conv KxK C [stride S] [groups G] [pad P]  maxpool KxK [stride S] [pad P]  avgpool KxK [stride S] [pad P] … }',
    value: body,
    required: true,
    doc: 'The layers before the first stage, in order; may be empty. Every conv is followed by the norm and the activation (bare in a pre-activation model).',
    snippet: 'stem {\n  conv ${1:7x7} ${2:64} stride ${3:2}\n  maxpool 3x3 stride 2\n}',
  },
  {
    word: 'block',
    place: 'model',
    syntax: blockSyntax,
    value: words(blockKindWords),
    required: true,
    doc: 'The residual block of every stage (a stage may override it), with its options.',
  },
  {
    word: 'shortcut',
    place: 'model',
    syntax: 'shortcut KIND',
    value: words(shortcutKindWords),
    default: 'B',
    doc: 'The shortcut of every block (a stage may override it).',
  },
  {
    word: 'stage',
    place: 'model',
    syntax: 'stage NAME { blocks N  width W  [stride S]  [block …]  [shortcut …] }',
    value: name,
    repeatable: true,
    doc: 'N blocks, the first with stride S; W is the base width: the stage outputs W x expansion channels. Stages run in the order written; each name once.',
    snippet: 'stage ${1:name} { blocks ${2:2}  width ${3:64}${4:  stride 2} }',
  },
  {
    word: 'norm',
    place: 'model',
    syntax: 'norm KIND [{ eps E  momentum M  groups G }]',
    value: words(normKindWords),
    default: 'batch',
    doc: 'The normalization after every convolution, with its options: batch norm, or group norm (`norm group { groups 32 }`, no running statistics).',
    snippet: 'norm batch',
  },
  {
    word: 'activation',
    place: 'model',
    syntax: 'activation relu | silu | gelu | leaky_relu [SLOPE] | mish',
    value: words(activationWords),
    default: 'relu',
    doc: "The nonlinearity everywhere, SE's inner one too (SE's gate stays a sigmoid). `leaky_relu` takes its negative slope after it (0.01 unless written).",
    snippet: 'activation relu',
  },
  {
    word: 'output_stride',
    place: 'model',
    syntax: 'output_stride 8 | 16 | 32',
    value: whole,
    default: 32,
    doc: "torchvision's `replace_stride_with_dilation`, timm's `output_stride`: the stages are taken in order with the stride reached so far (the stem's included); a stage whose stride would take it past N gets stride 1 and multiplies the dilation by its stride instead. Not with a stage's `dilation`.",
    snippet: 'output_stride ${1|16,8,32|}',
  },
  {
    word: 'outputs',
    place: 'model',
    syntax: 'outputs NAME…',
    value: { kind: 'names' },
    doc: "What the model returns, in the order written (the order the network computes them), each named after what it lists: stages by their names, `stem`, or `logits` (the head's output). The model ends at the last one listed: later layers are not part of the graph and are not counted (torchvision's `IntermediateLayerGetter`). Without it the model has one output, `output`.",
    snippet: 'outputs ${1:conv3 conv4 conv5}',
  },
  {
    word: 'drop_path',
    place: 'model',
    syntax: 'drop_path P',
    value: number,
    doc: "Stochastic depth while training, 0 ≤ P < 1 (timm's `drop_path_rate`): each block's residual branch is dropped per example with a probability rising linearly from 0 at the model's first block to P at its last, and scaled by 1 / (1 − p) when kept; nothing at inference.",
    snippet: 'drop_path ${1:0.1}',
  },
  {
    word: 'pool',
    place: 'model',
    syntax: 'pool avg | max | avgmax | catavgmax',
    value: words(poolKindWords),
    default: 'avg',
    doc: "The head's global pool (timm's names). `catavgmax` gives the fully connected layer twice the channels.",
    snippet: 'pool ${1|avg,max,avgmax,catavgmax|}',
  },
  {
    word: 'expect',
    place: 'model',
    syntax: 'expect params N | expect macs N | expect output CxHxW',
    value: { kind: 'keyword', place: 'expect' },
    repeatable: true,
    doc: 'A check the compiler enforces, once per kind: an exact integer must equal the count; a suffixed number (25.56M) must equal the count rounded to the digits written.',
  },

  // After `expect`.
  {
    word: 'params',
    place: 'expect',
    syntax: 'expect params N',
    value: count,
    doc: 'Trainable parameters, as PyTorch counts them (norm running statistics are buffers, not parameters).',
  },
  { word: 'macs', place: 'expect', syntax: 'expect macs N', value: count, doc: 'Multiply-accumulates of convolutions and fully connected layers for one image.' },
  {
    word: 'output',
    place: 'expect',
    syntax: 'expect output CxHxW',
    value: size,
    doc: 'The feature map the last stage produces (before any head); with `outputs`, the last stage listed.',
  },

  // In a stem: its layers, then the options written after a layer.
  {
    word: 'conv',
    place: 'stem',
    syntax: 'conv KxK C [stride S] [groups G] [pad P]',
    value: layer,
    repeatable: true,
    doc: 'A convolution to C channels with padding K/2 (rounded down, or P) and no bias.',
    snippet: 'conv ${1:3x3} ${2:64}',
  },
  {
    word: 'maxpool',
    place: 'stem',
    syntax: 'maxpool KxK [stride S] [pad P]',
    value: layer,
    repeatable: true,
    doc: 'Max pooling, padding K/2 or P (with −∞).',
    snippet: 'maxpool ${1:3x3} stride ${2:2}',
  },
  {
    word: 'avgpool',
    place: 'stem',
    syntax: 'avgpool KxK [stride S] [pad P]',
    value: layer,
    repeatable: true,
    doc: 'Average pooling, padding K/2 or P, the padding not counted in the divisor.',
    snippet: 'avgpool ${1:3x3} stride ${2:2}',
  },
  { word: 'stride', place: 'stem', syntax: 'stride S', value: whole, default: 1, of: stemLayers, doc: "The layer's stride." },
  { word: 'groups', place: 'stem', syntax: 'groups G', value: whole, default: 1, of: ['conv'], doc: "Grouped convolution: G groups, which divide the layer's input and output channels." },
  {
    word: 'pad',
    place: 'stem',
    syntax: 'pad P',
    value: whole,
    default: 'K/2',
    of: stemLayers,
    doc: 'Symmetric padding of P on every side instead of K/2, e.g. a patchify stem `conv 4x4 64 stride 4 pad 0`. A pool takes at most K/2, as PyTorch.',
  },

  // In a stage.
  { word: 'blocks', place: 'stage', syntax: 'blocks N', value: whole, required: true, doc: 'How many blocks the stage has.' },
  { word: 'width', place: 'stage', syntax: 'width W', value: whole, required: true, doc: "The stage's base width; it outputs W x expansion channels." },
  { word: 'stride', place: 'stage', syntax: 'stride S', value: whole, default: 1, doc: "The stride of the stage's first block." },
  {
    word: 'dilation',
    place: 'stage',
    syntax: 'dilation D',
    value: whole,
    default: 1,
    doc: "The dilation of the stage's 3x3 convolutions (padded by D, so the map keeps its size); the first block's first 3x3 takes the previous stage's, as in torchvision and timm. Not with `output_stride`.",
  },
  { word: 'block', place: 'stage', syntax: blockSyntax, value: words(blockKindWords), doc: "The stage's own block kind and options, in place of the model's." },
  { word: 'shortcut', place: 'stage', syntax: 'shortcut KIND', value: words(shortcutKindWords), doc: "The stage's own shortcut kind, in place of the model's." },

  // In a block's options.
  {
    word: 'expansion',
    place: 'block',
    syntax: 'expansion E',
    value: whole,
    doc: `The block outputs W x E channels (${blockKindList.map((k) => `${k} ${blockKindWords.words[k].expansion}`).join(', ')} unless set).`,
  },
  {
    word: 'groups',
    place: 'block',
    syntax: 'groups G',
    value: whole,
    default: 1,
    of: bottleneckKinds,
    doc: 'Grouped 3x3 convolution: inner width = floor(W x width_per_group / 64) x groups (ResNeXt).',
  },
  {
    word: 'width_per_group',
    place: 'block',
    syntax: 'width_per_group P',
    value: whole,
    default: 64,
    of: bottleneckKinds,
    doc: 'Inner width = floor(W x P / 64) x groups; 128 makes Wide ResNet-50-2.',
  },
  {
    word: 'stride_on',
    place: 'block',
    syntax: 'stride_on 1x1 | 3x3',
    value: words(strideOnWords),
    default: '3x3',
    of: bottleneckKinds,
    doc: "Which convolution takes the block's stride; 1x1 is the original paper's and Caffe's layout.",
  },
  {
    word: 'se',
    place: 'block',
    syntax: 'se R',
    value: whole,
    doc: 'Squeeze-and-excitation at the end of the residual branch, before the addition: global average pool → 1x1 conv with bias to floor(C / R) → act → 1x1 conv with bias back to C → sigmoid → scale.',
  },

  // In a norm's options.
  { word: 'eps', place: 'norm', syntax: 'eps E', value: number, default: 1e-5, of: ['batch', 'group'], doc: 'Added to the variance before its square root.' },
  {
    word: 'momentum',
    place: 'norm',
    syntax: 'momentum M',
    value: number,
    default: 0.1,
    of: ['batch'],
    doc: "The weight of the new batch in the running statistics: PyTorch's convention (Keras's and tfjs's momentum is 1 − M).",
  },
  {
    word: 'groups',
    place: 'norm',
    syntax: 'groups G',
    value: whole,
    default: 32,
    of: ['group'],
    doc: 'The number of groups of group norm; it must divide every channel count it normalises.',
  },
] as const satisfies readonly Keyword[];

/** A word of the table. */
export type KeywordWord = (typeof keywordTable)[number]['word'];

/** Every keyword once, in the table's order: the lexer's keywords. */
export const keywordWords: readonly KeywordWord[] = [...new Set(keywordTable.map((k) => k.word))];

const byPlace = new Map<Place, Keyword[]>();
for (const k of keywordTable as readonly Keyword[]) {
  const list = byPlace.get(k.place) ?? [];
  list.push(k);
  byPlace.set(k.place, list);
}

/** The keywords that may stand in a place, in the table's order. */
export function keywordsIn(place: Place): readonly Keyword[] {
  return byPlace.get(place) ?? [];
}

/** The keyword `word` where it stands in `place`, if it may. */
export function keywordAt(place: Place, word: string): Keyword | undefined {
  return byPlace.get(place)?.find((k) => k.word === word);
}

/** The keywords of `word`, wherever it may stand. */
export function keywordsNamed(word: string): readonly Keyword[] {
  return (keywordTable as readonly Keyword[]).filter((k) => k.word === word);
}

/** Options of a place (`stem`, `block`, `norm`) that apply to a kind (`conv`, `bottleneck`, `batch`). */
export function optionsFor(place: 'stem' | 'block' | 'norm', kind: string): string[] {
  return keywordsIn(place)
    .filter((k) => k.value.kind !== 'layer' && (k.of === undefined || k.of.includes(kind)))
    .map((k) => k.word);
}

/** The default of a keyword where it stands: the value used when it is not written. */
export function defaultOf(place: Place, word: string): number | string {
  const d = keywordAt(place, word)?.default;
  if (d === undefined) throw new Error(`internal: '${word}' ${placeNames[place]} has no default in the vocabulary`);
  return d;
}

/** A default as the language writes it: `1e-5`, not `0.00001`. */
export function defaultText(value: number | string): string {
  return typeof value === 'number' && value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential() : String(value);
}

/** Every spelling a set accepts, the words then their aliases: what completion offers and "did you mean" compares with. */
export function spellings(set: WordSet): string[] {
  const entries = Object.entries<ValueWord>(set.words);
  return [...entries.map(([w]) => w), ...entries.flatMap(([, v]) => v.aliases ?? [])];
}

/** The word a spelling means in a set (an alias's kind), or undefined. */
export function meaning<W extends string>(set: WordSet<W>, spelling: string): W | undefined {
  for (const [w, v] of Object.entries<ValueWord>(set.words)) if (w === spelling || v.aliases?.includes(spelling)) return w as W;
  return undefined;
}
