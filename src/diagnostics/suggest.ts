import { distance } from 'fastest-levenshtein';

/**
 * The candidate a misspelling most likely meant, or undefined when none is close:
 * a case-insensitive match, or a few edits away (1 for short words, up to 3 for long ones).
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    if (candidate.toLowerCase() === lower) return candidate;
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const allowed = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  return bestDistance <= allowed ? best : undefined;
}
