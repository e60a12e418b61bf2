import type { NumberNode, SizeNode } from './ast.js';
import type { Span } from './source.js';

const suffixMultipliers: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Reads a number token: `64`, `25_557_032`, `0.1`, `1e-5`, `25.56M`. */
export function readNumber(text: string, span: Span): NumberNode {
  const last = text[text.length - 1] ?? '';
  const suffix = last in suffixMultipliers ? last : undefined;
  const body = (suffix ? text.slice(0, -1) : text).replace(/_/g, '');
  const mantissa = body.split(/[eE]/)[0] ?? '';
  const dot = mantissa.indexOf('.');
  const decimals = dot < 0 ? 0 : mantissa.length - dot - 1;
  const value = Number(body) * (suffix ? suffixMultipliers[suffix]! : 1);
  return { text, value, suffix, decimals, plainInteger: /^[\d_]+$/.test(text), span };
}

/** Reads a size token: `7x7`, `3x224x224`. */
export function readSize(text: string, span: Span): SizeNode {
  return { text, dims: text.split('x').map(Number), span };
}
