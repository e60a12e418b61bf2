import type { Span } from '../syntax/source.js';
import type { Code } from './codes.js';

export type Severity = 'error' | 'warning';

/** Another place that explains a diagnostic: the first definition of a duplicate, an inherited stage. */
export interface RelatedLocation {
  file: string;
  span: Span;
  message: string;
}

/** An edit that fixes a diagnostic: a "did you mean", an `expect` set to the actual value. */
export interface Fix {
  title: string;
  span: Span;
  newText: string;
}

export interface Diagnostic {
  code: Code;
  severity: Severity;
  message: string;
  file: string;
  span: Span;
  help?: string;
  related?: RelatedLocation[];
  fixes?: Fix[];
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
