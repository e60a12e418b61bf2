import type { BlockKind, ShortcutOption } from '../model/types.js';
import { activationWords, blockKindWords, defaultOf, meaning, normKindWords, poolKindWords, shortcutKindWords, spellings } from '../syntax/vocabulary.js';

/**
 * The checker's view of the vocabulary (src/syntax/vocabulary.ts, where the words, their
 * documentation and their defaults are written): the kinds as typed lists, and what a
 * block kind means for the rest of the checker.
 */

export const blockKinds = Object.keys(blockKindWords.words) as readonly BlockKind[];

export const blockExpansion = Object.fromEntries(blockKinds.map((k) => [k, blockKindWords.words[k].expansion])) as Record<BlockKind, number>;

/** Kinds with a 1x1 → 3x3 → 1x1 branch, which take groups, width_per_group and stride_on. */
export function isBottleneck(kind: BlockKind): boolean {
  return blockKindWords.words[kind].bottleneck;
}

export function isPreactivation(kind: BlockKind): boolean {
  return kind.startsWith('preact-');
}

/** Every spelling of a shortcut kind, with the kind it means: `{ A: 'A', …, zero_pad: 'A', … }`. */
export const shortcutKinds: Readonly<Record<string, ShortcutOption>> = Object.fromEntries(spellings(shortcutKindWords).map((w) => [w, meaning(shortcutKindWords, w)!]));

export const normKinds = Object.keys(normKindWords.words) as readonly (keyof typeof normKindWords.words)[];
export const activations = Object.keys(activationWords.words) as readonly (keyof typeof activationWords.words)[];
export const poolKinds = Object.keys(poolKindWords.words) as readonly (keyof typeof poolKindWords.words)[];

/** Stage names the layer names (and `outputs`) already use. */
export const reservedStageNames = ['stem', 'final', 'head', 'logits'] as const;

/** `leaky_relu`'s negative slope unless written: PyTorch's `LeakyReLU` default. */
export const leakyReluSlope = 0.01;

/** The values `output_stride` takes (torchvision's and timm's). */
export const outputStrides = [8, 16, 32] as const;

/** The values of what is not written, from the vocabulary. */
export const defaults = {
  shortcut: defaultOf('model', 'shortcut') as ShortcutOption,
  stride: defaultOf('stage', 'stride') as number,
  eps: defaultOf('norm', 'eps') as number,
  momentum: defaultOf('norm', 'momentum') as number,
  normGroups: defaultOf('norm', 'groups') as number,
  dilation: defaultOf('stage', 'dilation') as number,
  outputStride: defaultOf('model', 'output_stride') as number,
  pool: defaultOf('model', 'pool') as (typeof poolKinds)[number],
  activation: defaultOf('model', 'activation') as (typeof activations)[number],
  widthPerGroup: defaultOf('block', 'width_per_group') as number,
  groups: defaultOf('block', 'groups') as number,
  strideOn: defaultOf('block', 'stride_on') as '1x1' | '3x3',
};
