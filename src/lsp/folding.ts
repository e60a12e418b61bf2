import { type FoldingRange, FoldingRangeKind } from 'vscode-languageserver';
import type { CheckedFile } from '../check/workspace.js';
import type { Span } from '../syntax/source.js';
import type { Slices } from './cooperate.js';

/** Folds: models and any body written over several lines, runs of comment lines, the imports. */
export async function foldingRanges(file: CheckedFile, slices: Slices): Promise<FoldingRange[]> {
  const out: FoldingRange[] = [];
  const line = (offset: number): number => file.source.position(offset).line - 1;
  const fold = (span: Span | undefined, kind?: FoldingRangeKind): void => {
    if (!span) return;
    const start = line(span.start);
    // Keep the closing brace visible: fold up to the line before it.
    const end = kind ? line(span.end) : line(span.end) - 1;
    if (end > start) out.push({ startLine: start, endLine: end, ...(kind ? { kind } : {}) });
  };
  for (const m of file.syntax.models) {
    if (slices.due()) await slices.pause();
    fold(m.bodySpan);
    for (const s of m.statements) if (s.kind === 'stem' || s.kind === 'stage' || s.kind === 'block' || s.kind === 'norm') fold(s.span);
  }
  const imports = file.syntax.imports;
  if (imports.length > 1) fold({ start: imports[0]!.span.start, end: imports[imports.length - 1]!.span.end }, FoldingRangeKind.Imports);
  let run: { start: number; end: number; lastLine: number } | undefined;
  const flush = (): void => {
    if (run) fold(run, FoldingRangeKind.Comment);
    run = undefined;
  };
  for (const [i, c] of file.syntax.comments.entries()) {
    if (i % 1024 === 0 && slices.due()) await slices.pause();
    const l = line(c.span.start);
    const alone = /^[ \t]*$/.test(file.source.lineText(l + 1).slice(0, file.source.position(c.span.start).column - 1));
    if (!alone) continue;
    if (run && run.lastLine === l - 1) {
      run.end = c.span.end;
      run.lastLine = l;
    } else {
      flush();
      run = { start: c.span.start, end: c.span.end, lastLine: l };
    }
  }
  flush();
  return out;
}
