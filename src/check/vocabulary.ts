import type { BlockKind, ShortcutOption } from '../model/types.js';

/** The words the checker gives meaning to, in one place for the checker, completion and docs. */

export const blockKinds: readonly BlockKind[] = ['basic', 'bottleneck', 'preact-basic', 'preact-bottleneck'];

export const blockExpansion: Record<BlockKind, number> = {
  basic: 1,
  bottleneck: 4,
  'preact-basic': 1,
  'preact-bottleneck': 4,
};

export function isBottleneck(kind: BlockKind): boolean {
  return kind === 'bottleneck' || kind === 'preact-bottleneck';
}

export function isPreactivation(kind: BlockKind): boolean {
  return kind.startsWith('preact-');
}

export const shortcutKinds: Record<string, ShortcutOption> = {
  A: 'A',
  B: 'B',
  C: 'C',
  D: 'D',
  zero_pad: 'A',
  projection: 'B',
  projection_all: 'C',
  avg_projection: 'D',
};

export const normKinds = ['batch'] as const;
export const activations = ['relu'] as const;

/** Stage names the layer names already use. */
export const reservedStageNames = ['stem', 'final', 'head'] as const;

export const defaults = {
  shortcut: 'B' as ShortcutOption,
  stride: 1,
  eps: 1e-5,
  momentum: 0.1,
  activation: 'relu' as const,
  widthPerGroup: 64,
  groups: 1,
  strideOn: '3x3' as const,
};
