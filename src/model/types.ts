/**
 * The checked model: what the checker produces and every backend and editor service
 * reads. Shapes and counts are resolved, every layer is named; nothing here refers to
 * syntax except the origins, which link a part to the syntax node that wrote it.
 */

/** A feature map of one image, as the language writes it: channels x height x width. */
export interface Shape {
  c: number;
  h: number;
  w: number;
}

/** A node of the syntax tree (src/syntax/ast.ts), as the checked model sees it: something written at a span of its file. */
export interface Written {
  readonly span: { readonly start: number; readonly end: number };
}

/**
 * Where a part of the model was written (possibly in a parent model's file): the file and
 * the syntax node itself. Read the node's span when a position is needed, never keep a
 * copy: an editor's re-parse moves unchanged nodes in place (src/lsp/incremental.ts), and
 * the checked model of a moved node stays right without being touched.
 */
export interface Origin {
  file: string;
  node: Written;
}

/**
 * The activations the language names, as PyTorch defines them: `ReLU`, `SiLU`, `GELU`
 * (the exact form, x·Φ(x) with erf, not the tanh approximation), `LeakyReLU` and `Mish`
 * (x·tanh(softplus(x))). See the "Backbone statements" section of the language.
 */
export type ActivationFn = 'relu' | 'silu' | 'gelu' | 'leaky_relu' | 'mish';

/** A model's activation as written: the function and, for `leaky_relu`, PyTorch's `negative_slope` (0.01 unless written; 0 for the others). */
export interface ActivationSpec {
  fn: ActivationFn;
  negativeSlope: number;
}

/**
 * A model's norm: batch norm (PyTorch's `BatchNorm2d`: eps, momentum, running statistics)
 * or group norm (`GroupNorm(groups, C, eps)`: a scale and shift per channel, no buffers).
 * `momentum` means nothing for group norm, `groups` nothing for batch norm (1).
 */
export interface NormSpec {
  kind: 'batch' | 'group';
  eps: number;
  momentum: number;
  groups: number;
}

/** The head's global pool, timm's names: average, max, their mean, or the two concatenated along channels (avg first, then max: 2C channels). */
export type GlobalPoolKind = 'avg' | 'max' | 'avgmax' | 'catavgmax';

export interface Counts {
  /** Trainable parameters, as PyTorch counts them. */
  params: number;
  /** Norm running mean and variance. */
  buffers: number;
  /** Multiply-accumulates of convolutions and fully connected layers, for one image. */
  macs: number;
}

interface LayerBase extends Counts {
  /** Unique in the model, e.g. `conv3.block0.conv1`; backends name weights `<name>.weight`. */
  name: string;
  in: Shape;
  out: Shape;
}

export interface ConvLayer extends LayerBase {
  op: 'conv';
  kernel: [number, number];
  stride: number;
  /** Spacing of the kernel's taps (PyTorch's `dilation`, the same on both axes); the kernel spans dilation x (K - 1) + 1 pixels. */
  dilation: number;
  /** Zeros added before and after each spatial axis: [top, left, bottom, right]. */
  padding: [number, number, number, number];
  groups: number;
  bias: boolean;
}

export interface NormLayer extends LayerBase {
  op: 'norm';
  /** `batch`: BatchNorm2d (scale, shift, running mean and variance); `group`: GroupNorm (scale and shift per channel, statistics over each group of channels of one image). */
  kind: 'batch' | 'group';
  eps: number;
  /** Batch norm only, PyTorch's convention: the weight of the new batch in the running statistics. */
  momentum: number;
  /** Group norm only: the number of groups (divides the channels); 1 for batch norm. */
  groups: number;
}

export interface ActivationLayer extends LayerBase {
  op: 'act';
  fn: ActivationFn | 'sigmoid';
  /** `leaky_relu` only: PyTorch's `negative_slope`; 0 for the others. */
  negativeSlope: number;
}

export interface PoolLayer extends LayerBase {
  op: 'maxpool' | 'avgpool';
  kernel: [number, number];
  stride: number;
  padding: [number, number, number, number];
  /** Output size rounds up (PyTorch's ceil_mode); the last window still starts inside the input. */
  ceilMode: boolean;
  /** For average pools: whether padded zeros count in the divisor. */
  countIncludePad: boolean;
}

/** The head's global pool over height and width: out is C x 1 x 1 (2C x 1 x 1 for `catavgmax`: the average's channels, then the max's). */
export interface GlobalPoolLayer extends LayerBase {
  op: 'global_pool';
  kind: GlobalPoolKind;
}

export interface DropoutLayer extends LayerBase {
  op: 'dropout';
  rate: number;
}

export interface DenseLayer extends LayerBase {
  op: 'dense';
  bias: true;
}

/** Shortcut A: every s-th pixel of the input, then zero channels appended after the input's. */
export interface SubsamplePadLayer extends LayerBase {
  op: 'subsample_pad';
  stride: number;
}

/** Squeeze-and-excitation: global pool, reduce (conv with bias), act, expand, sigmoid, scale. */
export interface SqueezeExcitation extends LayerBase {
  op: 'se';
  reduce: ConvLayer;
  act: ActivationLayer;
  expand: ConvLayer;
}

export type Layer =
  | ConvLayer
  | NormLayer
  | ActivationLayer
  | PoolLayer
  | GlobalPoolLayer
  | DropoutLayer
  | DenseLayer
  | SubsamplePadLayer
  | SqueezeExcitation;

export type BlockKind = 'basic' | 'bottleneck' | 'preact-basic' | 'preact-bottleneck';
export type ShortcutOption = 'A' | 'B' | 'C' | 'D';

export interface Shortcut {
  /** The option the spec asked for. */
  option: ShortcutOption;
  /** What it became for this block: an identity, a zero-padding subsample (A), or layers (B, C, D). */
  kind: 'identity' | 'subsample_pad' | 'projection';
  /** `input`: the block's raw input; `preactivated`: after the block's first norm and activation. */
  source: 'input' | 'preactivated';
  layers: Layer[];
}

export interface Block extends Counts {
  /** e.g. `conv3.block0` */
  name: string;
  index: number;
  kind: BlockKind;
  stride: number;
  in: Shape;
  out: Shape;
  /** Channels of the inner convolutions: floor(width x width_per_group / 64) x groups. */
  innerWidth: number;
  groups: number;
  expansion: number;
  /** Pre-activation blocks: the norm and activation that open the block. */
  preactivation: Layer[];
  /** The residual branch up to the addition, SE included when present. */
  branch: Layer[];
  shortcut: Shortcut;
  /** The activation after the addition (post-activation blocks only). */
  after: Layer[];
  /**
   * Stochastic depth (timm's `drop_path`): the probability that training drops this block's
   * residual branch for an example (kept branches are scaled by 1 / (1 - p)); 0 when none.
   * Rises linearly from 0 at the model's first block to the model's `drop_path` at its last.
   */
  dropPath: number;
}

export interface Stage extends DetailedCounts {
  name: string;
  index: number;
  /**
   * Built on first access: a stage's blocks after the first are alike, so the checker
   * counts them from two and only a consumer that reads the layers pays for all of them.
   */
  readonly blocks: Block[];
  /** Number of blocks (without building them). */
  depth: number;
  kind: BlockKind;
  shortcut: ShortcutOption;
  /** The stride the stage applies (after `output_stride` turned strides into dilation). */
  stride: number;
  /** The dilation of the stage's 3x3 convolutions (its first block's first one takes the previous stage's: see the language). */
  dilation: number;
  width: number;
  in: Shape;
  out: Shape;
  origin: Origin;
}

export interface Head extends Counts {
  classes: number;
  layers: Layer[];
  in: Shape;
}

export interface DetailedCounts extends Counts {
  /** Biases of convolutions and fully connected layers (part of params). */
  biases: number;
  /** Norm scales and shifts (part of params). */
  normParams: number;
}

export type ModelTotals = DetailedCounts;

export interface ExpectResult {
  what: 'params' | 'macs' | 'output';
  written: string;
  actual: string;
  ok: boolean;
  origin: Origin;
}

/** One output of the model: named after what it lists (a stage's name, `stem` or `logits`; `output` when `outputs` is not written). */
export interface ModelOutput {
  name: string;
  /** `stem`: after the stem's last layer; `stage`: after stage `stage` (index into stages; in a pre-activation model the last stage's output is after `final`, as timm's ResNetV2 features are); `logits`: the head's output. */
  source: 'stem' | 'stage' | 'logits';
  stage: number | undefined;
  /** C x H x W; logits are classes x 1 x 1. */
  shape: Shape;
}

export interface CheckedModel {
  name: string;
  /** The model this one extends, as written. */
  parent: string | undefined;
  origin: Origin;
  input: Shape;
  /** The feature map the last stage produces (what `expect output` compares). */
  output: Shape;
  classes: number | undefined;
  preactivation: boolean;
  activation: ActivationSpec;
  norm: NormSpec;
  /** `output_stride` as written (8, 16 or 32), undefined when not written. */
  outputStride: number | undefined;
  /** `drop_path` as written (the last block's rate), 0 when not written. */
  dropPath: number;
  /**
   * What the model returns, in order: without `outputs` one item named `output` (the head's
   * logits when there is a head, else the last stage's map). The model ends at the last
   * item: stages after it are absent from `stages`, and the head is absent unless `logits` is listed.
   */
  outputs: ModelOutput[];
  stem: Layer[];
  stages: Stage[];
  /** Pre-activation models: the norm and activation after the last stage. */
  final: Layer[];
  head: Head | undefined;
  totals: ModelTotals;
  expects: ExpectResult[];
}
