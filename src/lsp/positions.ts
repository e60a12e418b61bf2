import type { Position, Range } from 'vscode-languageserver';
import type { SourceText, Span } from '../syntax/source.js';

/** Offsets of the syntax tree to the protocol's 0-based lines and UTF-16 characters, and back. */

export function positionOf(source: SourceText, offset: number): Position {
  const p = source.position(offset);
  return { line: p.line - 1, character: p.column - 1 };
}

export function rangeOf(source: SourceText, span: Span): Range {
  return { start: positionOf(source, span.start), end: positionOf(source, span.end) };
}

export function offsetOf(source: SourceText, position: Position): number {
  return source.offset(position.line + 1, position.character + 1);
}

export function contains(span: Span, offset: number): boolean {
  return offset >= span.start && offset <= span.end;
}
