import type { NumberNode, SizeNode } from './ast.js';
import type { Span } from './source.js';

const suffixMultipliers: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Reads a number token: `64`, `25_557_032`, `0.1`, `1e-5`, `25.56M`. */
export function readNumber(text: string, span: Span): NumberNode {
  if (isPlainInteger(text)) {
    return { text, value: Number(text.includes('_') ? text.replaceAll('_', '') : text), suffix: undefined, decimals: 0, plainInteger: true, span };
  }
  const last = text[text.length - 1] ?? '';
  const suffix = last in suffixMultipliers ? last : undefined;
  const body = (suffix ? text.slice(0, -1) : text).replace(/_/g, '');
  const mantissa = body.split(/[eE]/)[0] ?? '';
  const dot = mantissa.indexOf('.');
  const decimals = dot < 0 ? 0 : mantissa.length - dot - 1;
  const value = Number(body) * (suffix ? suffixMultipliers[suffix]! : 1);
  return { text, value, suffix, decimals, plainInteger: false, span };
}

/** Digits and underscores only (the common case, read without regular expressions). */
function isPlainInteger(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 48 || c > 57) && c !== 95) return false;
  }
  return text.length > 0;
}

/** Reads a size token: `7x7`, `3x224x224`. */
export function readSize(text: string, span: Span): SizeNode {
  return { text, dims: text.split('x').map(Number), span };
}
