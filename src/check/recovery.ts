import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { ParsedFile } from './files.js';

/** Codes that say something is missing from the file's models, which a syntax error may have lost. */
const missingModel = new Set(['R0104', 'R0109']);

/**
 * The checker's diagnostics without the consequences of the file's syntax errors (one
 * mistake, one error): none on a line with a syntax error (`stride stride 2` is "expected a
 * number", not also "'stride' is already set"; `block block basic` is not also "unknown block
 * kind 'block'"); and, when the file has a syntax
 * error, no "no model named" or "nothing from this import is used" (the model or the
 * `extends` may be in what the parser skipped).
 */
export function withoutConsequences(parsed: ParsedFile, checked: Diagnostic[]): Diagnostic[] {
  const syntax = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (syntax.length === 0) return checked;
  const lines = new Set(syntax.map((d) => parsed.source.position(d.span.start).line));
  return checked.filter((d) => !missingModel.has(d.code) && !lines.has(parsed.source.position(d.span.start).line));
}
