import { tokenize } from '../syntax/tokens.js';

/**
 * Whether two texts say the same thing: the same tokens in the same order, and the same
 * comments in the same order. The formatter checks its output with this before handing it
 * back, so a bug in the layout can never change a network.
 */
export function sameTokens(before: string, after: string): boolean {
  const a = tokenize(before);
  const b = tokenize(after);
  if (a.errors.length > 0 || b.errors.length > 0) return false;
  if (a.tokens.length !== b.tokens.length) return false;
  for (let i = 0; i < a.tokens.length; i++) {
    const x = a.tokens[i]!;
    const y = b.tokens[i]!;
    if (x.tokenType !== y.tokenType || x.image !== y.image) return false;
  }
  const ca = (a.groups['comments'] ?? []).map((t) => t.image.trimEnd());
  const cb = (b.groups['comments'] ?? []).map((t) => t.image.trimEnd());
  return ca.length === cb.length && ca.every((c, i) => c === cb[i]);
}
