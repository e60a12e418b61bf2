import { type BabelCodeFrameOptions, codeFrameColumns } from '@babel/code-frame';
import { relative } from 'node:path';
import { styleText } from 'node:util';
import type { SourceText } from '../syntax/source.js';
import type { Diagnostic } from './diagnostic.js';

export interface RenderOptions {
  color: boolean;
  /** Paths are shown relative to this folder. */
  cwd: string;
  /** Reads other files' text, for related locations. */
  sourceOf: (file: string) => SourceText | undefined;
}

/** Where a diagnostic is, as `file:line:col` (1-based). */
export function location(file: string, source: SourceText | undefined, offset: number, cwd: string): string {
  const shown = displayPath(file, cwd);
  if (!source) return shown;
  const p = source.position(offset);
  return `${shown}:${p.line}:${p.column}`;
}

export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel.startsWith('..') || rel === '' ? file : rel;
}

/**
 * rustc-style text of one diagnostic:
 *
 *     error[R0401]: expected 25,557,032 parameters, the model has 25,557,033
 *       --> specs/resnet50.resnet:19:17
 *     > 19 |   expect params 25_557_032
 *          |                 ^^^^^^^^^^
 *       = help: …
 */
export function renderDiagnostic(d: Diagnostic, o: RenderOptions): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string): string => (o.color ? styleText(style, text) : text);
  const source = o.sourceOf(d.file);
  const lines: string[] = [];
  const severity = d.severity === 'error' ? paint(['bold', 'red'], `error[${d.code}]`) : paint(['bold', 'yellow'], `warning[${d.code}]`);
  lines.push(`${severity}${paint('bold', `: ${d.message}`)}`);
  lines.push(`  ${paint('blue', '-->')} ${location(d.file, source, d.span.start, o.cwd)}`);
  if (source) lines.push(frame(source, d.span.start, d.span.end, o.color));
  if (d.help) lines.push(`  ${paint('blue', '=')} ${paint('bold', 'help')}: ${d.help}`);
  for (const r of d.related ?? []) {
    const rs = o.sourceOf(r.file);
    lines.push(`  ${paint('blue', '=')} ${paint('bold', 'note')}: ${r.message} at ${location(r.file, rs, r.span.start, o.cwd)}`);
  }
  return lines.join('\n');
}

/** The most characters of a source line a frame shows; a longer line is cut around the span. */
export const frameWidth = 120;

/**
 * The diagnostic's line with a caret under its span. Only that line goes to code-frame (with
 * its line number), so a frame costs the length of its line, not of the file: rendering is
 * linear in the output. A line longer than `frameWidth` is cut to a window around the span,
 * `…` marking the cuts.
 */
function frame(source: SourceText, start: number, end: number, color: boolean): string {
  const from = source.position(start);
  const to = source.position(Math.max(start, end));
  const line = source.lineText(from.line);
  // A range across lines is marked on its first line only, as rustc does for long spans.
  let first = from.column;
  let last = Math.max(to.line === from.line ? to.column : line.length + 1, first + 1);
  let shown = line;
  if (line.length > frameWidth) {
    const begin = Math.max(0, Math.min(first - 1 - frameWidth / 4, line.length - frameWidth));
    const cut = line.slice(begin, begin + frameWidth);
    const head = begin > 0 ? '…' : '';
    shown = head + cut + (begin + frameWidth < line.length ? '…' : '');
    first = first - begin + head.length;
    last = Math.min(last - begin + head.length, shown.length + 1);
  }
  const options: BabelCodeFrameOptions & { startLine: number } = { linesAbove: 0, linesBelow: 0, highlightCode: color, forceColor: color, startLine: from.line };
  return codeFrameColumns(shown, { start: { line: from.line, column: first }, end: { line: from.line, column: Math.max(last, first + 1) } }, options);
}

/** `2 errors, 1 warning` */
export function summarize(errors: number, warnings: number): string {
  const part = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return [part(errors, 'error'), part(warnings, 'warning')].join(', ');
}
