import type { Shape } from './types.js';

/** A feature map as the language writes it: `CxHxW`, e.g. `256x56x56` (channels, height, width of one image). */
export function shapeText(s: Shape): string {
  return `${s.c}x${s.h}x${s.w}`;
}
