import { type CodeAction, CodeActionKind, type Range } from 'vscode-languageserver';
import { groupDigits } from '../model/count-format.js';
import type { CheckedFile } from '../check/workspace.js';
import { toLspDiagnostic } from './diagnostics.js';
import { checkedModelOf } from './checked.js';
import { shapeText } from './hover.js';
import type { Slices } from './cooperate.js';
import { offsetOf, positionOf, rangeOf } from './positions.js';
import type { Project } from './project.js';

/**
 * Quick fixes are the checker's own: each diagnostic carries the edits that fix it (a "did
 * you mean", an `expect` set to the actual value, an unused import removed). This only
 * offers those whose diagnostic touches the range asked about.
 */
export async function codeActions(project: Project, file: CheckedFile, uri: string, range: Range, slices: Slices): Promise<CodeAction[]> {
  const from = offsetOf(file.source, range.start);
  const to = offsetOf(file.source, range.end);
  const actions: CodeAction[] = [];
  for (const [i, d] of file.diagnostics.entries()) {
    if (i % 1024 === 0 && slices.due()) await slices.pause();
    if (d.file !== file.path || d.span.end < from || d.span.start > to) continue;
    for (const fix of d.fixes ?? []) {
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [toLspDiagnostic(project, file, d)],
        isPreferred: (d.fixes ?? []).length === 1,
        edit: { changes: { [uri]: [{ range: rangeOf(file.source, fix.span), newText: fix.newText }] } },
      });
    }
  }
  return actions.concat(await addExpects(file, uri, from, to, slices));
}

/**
 * For a model that checks but does not state all its counts: add the missing `expect`
 * lines with the actual values, before the model's closing brace, so a later change that
 * alters the network is caught.
 */
async function addExpects(file: CheckedFile, uri: string, from: number, to: number, slices: Slices): Promise<CodeAction[]> {
  const actions: CodeAction[] = [];
  for (const node of file.syntax.models) {
    if (slices.due()) await slices.pause();
    if (node.span.end < from || node.span.start > to || !node.bodySpan) continue;
    const model = checkedModelOf(file, node);
    if (!model) continue;
    const close = node.bodySpan.end - 1;
    const lineStart = file.source.text.lastIndexOf('\n', close - 1) + 1;
    if (file.source.text.slice(lineStart, close).trim() !== '') continue; // `}` shares its line: format first
    const written = new Set(model.expects.map((e) => e.what));
    const lines: string[] = [];
    if (!written.has('params')) lines.push(`  expect params ${groupDigits(model.totals.params, '_')}`);
    if (!written.has('macs')) lines.push(`  expect macs ${groupDigits(model.totals.macs, '_')}`);
    if (!written.has('output')) lines.push(`  expect output ${shapeText(model.output)}`);
    if (lines.length === 0) continue;
    const at = positionOf(file.source, lineStart);
    actions.push({
      title: `add ${lines.length === 1 ? 'the missing expect line' : 'expect lines'} with ${model.name}'s actual counts`,
      kind: CodeActionKind.RefactorRewrite,
      edit: { changes: { [uri]: [{ range: { start: at, end: at }, newText: lines.join('\n') + '\n' }] } },
    });
  }
  return actions;
}
