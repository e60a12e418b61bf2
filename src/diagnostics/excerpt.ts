/**
 * Text quoted in a message, cut to its first `max` characters (a token can be a thousand
 * characters long, a run of bad characters longer): `'aaaa…' (80,000 characters)`.
 */
export function quoted(text: string, max = 40): string {
  if (text.length <= max) return `'${text}'`;
  return `'${text.slice(0, max)}…' (${text.length.toLocaleString('en-US')} characters)`;
}
