import { blockExpansion, blockKinds, defaults, shortcutKinds } from '../check/vocabulary.js';

/**
 * What each word of the language means, as hover and completion show it. The text follows
 * the language reference; defaults and expansions come from the checker's vocabulary.
 */
export const keywordDocs: Record<string, { syntax: string; doc: string }> = {
  import: { syntax: 'import "relative/path.resnet"', doc: 'Makes the models of another file available to `extends`. Imports come before the first model.' },
  model: { syntax: 'model NAME [extends OTHER] { … }', doc: 'A network: its input, stem, block, stages, head and checks.' },
  extends: { syntax: 'model NAME extends OTHER { … }', doc: "Start from OTHER's statements: a stage of the same name merges field by field, another statement replaces the inherited one, `expect` lines are not inherited." },
  input: { syntax: 'input CxHxW', doc: 'The image the model takes: channels x height x width. Required (or inherited).' },
  classes: { syntax: 'classes N', doc: 'Adds the head: global average pool, then a fully connected layer (weight and bias) to N outputs. Without it the model ends at the last stage.' },
  dropout: { syntax: 'dropout P', doc: 'Dropout before the fully connected layer (training only). Needs `classes`.' },
  stem: { syntax: 'stem { conv KxK C [stride S] [groups G]  maxpool KxK [stride S] … }', doc: 'The layers before the first stage, in order. Every conv is followed by normalization and the activation (bare in a pre-activation model).' },
  conv: { syntax: 'conv KxK C [stride S] [groups G]', doc: 'A convolution to C channels with padding K/2 (rounded down) and no bias.' },
  maxpool: { syntax: 'maxpool KxK [stride S]', doc: 'Max pooling, padding K/2.' },
  avgpool: { syntax: 'avgpool KxK [stride S]', doc: 'Average pooling, padding K/2.' },
  block: {
    syntax: 'block KIND [{ expansion E  groups G  width_per_group P  stride_on 1x1|3x3  se R }]',
    doc: `The residual block of every stage (a stage may override it). Kinds: ${blockKinds.map((k) => `\`${k}\``).join(', ')}.`,
  },
  shortcut: { syntax: 'shortcut A|B|C|D', doc: `The shortcut of every block (a stage may override it). Default \`${defaults.shortcut}\`.` },
  stage: { syntax: 'stage NAME { blocks N  width W  [stride S]  [block …]  [shortcut …] }', doc: 'N blocks; the first one has stride S (default 1). W is the base width: the stage outputs W x expansion channels.' },
  blocks: { syntax: 'blocks N', doc: 'How many blocks the stage has.' },
  width: { syntax: 'width W', doc: "The stage's base width; it outputs W x expansion channels." },
  stride: { syntax: 'stride S', doc: 'The stride of a layer, or of the first block of a stage (default 1).' },
  groups: { syntax: 'groups G', doc: 'Grouped convolution: in a block, inner width = floor(W x width_per_group / 64) x groups (ResNeXt).' },
  width_per_group: { syntax: 'width_per_group P', doc: `Block option (default ${defaults.widthPerGroup}): inner width = floor(W x P / 64) x groups. 128 makes Wide ResNet-50-2.` },
  expansion: { syntax: 'expansion E', doc: 'Block option: the stage outputs W x E channels (basic 1, bottleneck 4 unless set).' },
  stride_on: { syntax: 'stride_on 1x1 | 3x3', doc: `Bottleneck kinds: which convolution takes the stride (default ${defaults.strideOn}; 1x1 is the original paper's and Caffe's layout).` },
  se: { syntax: 'se R', doc: 'Squeeze-and-excitation on the residual branch before the addition, reducing to floor(C / R) channels.' },
  norm: { syntax: 'norm batch [{ eps E  momentum M }]', doc: `Batch normalization after every convolution (eps ${defaults.eps}, momentum ${defaults.momentum} unless set; momentum in PyTorch's convention).` },
  eps: { syntax: 'eps E', doc: `Added to the variance in batch normalization (default ${defaults.eps}).` },
  momentum: { syntax: 'momentum M', doc: `Weight of the new batch in the running statistics, PyTorch's convention (default ${defaults.momentum}).` },
  activation: { syntax: 'activation relu', doc: `The nonlinearity everywhere (default ${defaults.activation}).` },
  expect: { syntax: 'expect params N | expect macs N | expect output CxHxW', doc: 'A check the compiler enforces: an exact integer must equal the count; a suffixed number (25.56M) must equal the count rounded to the digits written.' },
  params: { syntax: 'expect params N', doc: 'Trainable parameters, as PyTorch counts them (norm running statistics are buffers, not parameters).' },
  macs: { syntax: 'expect macs N', doc: 'Multiply-accumulates of convolutions and fully connected layers for one image.' },
  output: { syntax: 'expect output CxHxW', doc: 'The feature map the last stage produces.' },
};

const blockDocs: Record<string, string> = {
  basic: 'conv 3x3 (s) → norm → act → conv 3x3 → norm; add shortcut; act',
  bottleneck: 'conv 1x1 → norm → act → conv 3x3 (s, groups) → norm → act → conv 1x1 to W x expansion → norm; add shortcut; act',
  'preact-basic': 'norm → act → conv 3x3 (s) → norm → act → conv 3x3; add shortcut',
  'preact-bottleneck': 'norm → act → conv 1x1 → norm → act → conv 3x3 (s, groups) → norm → act → conv 1x1; add shortcut',
};

const shortcutDocs: Record<string, string> = {
  A: 'zero_pad: identity taken every s-th pixel, new channels appended as zeros; no parameters.',
  B: 'projection: conv 1x1 (stride s) → norm where the shape changes, identity elsewhere.',
  C: 'projection_all: conv 1x1 (stride s) → norm in every block.',
  D: 'avg_projection: avgpool 2x2 stride s (ceil mode) → conv 1x1 → norm where the shape changes, identity elsewhere.',
};

export function blockKindDoc(kind: string): string | undefined {
  const layers = blockDocs[kind];
  if (!layers) return undefined;
  return `**${kind}** block (expansion ${blockExpansion[kind as keyof typeof blockExpansion]}): ${layers}`;
}

export function shortcutKindDoc(kind: string): string | undefined {
  const option = shortcutKinds[kind];
  if (!option) return undefined;
  return `**shortcut ${kind}**${kind === option ? '' : ` (= ${option})`}: ${shortcutDocs[option]}`;
}

export function keywordMarkdown(word: string): string | undefined {
  const d = keywordDocs[word];
  if (!d) return undefined;
  return `\`\`\`resnet\n${d.syntax}\n\`\`\`\n${d.doc}`;
}
