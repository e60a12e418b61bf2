import { InlayHintKind, type InlayHint, type Range } from 'vscode-languageserver';
import { describeCount } from '../check/expect.js';
import type { CheckedFile } from '../check/workspace.js';
import { checkedModelOf, checkedStageAt } from './checked.js';
import { shapeText, share } from './hover.js';
import type { Slices } from './cooperate.js';
import { offsetOf, positionOf } from './positions.js';

/** `1.22M`, `86.5K`, `4.09G`: a count short enough for the end of a line. */
export function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/**
 * After each stage written in the file: its output shape and parameters; after each model's
 * closing brace: its totals. Both come from the checked model, so they always agree with
 * `resnetc check` and `expect`. Linear in the document; pauses between models.
 */
export async function inlayHints(file: CheckedFile, range: Range, slices: Slices): Promise<InlayHint[]> {
  const from = offsetOf(file.source, range.start);
  const to = offsetOf(file.source, range.end);
  const hints: InlayHint[] = [];
  for (const node of file.syntax.models) {
    if (slices.due()) await slices.pause();
    if (node.span.end < from || node.span.start > to) continue;
    const model = checkedModelOf(file, node);
    if (!model) continue;
    for (const s of node.statements) {
      if (s.kind !== 'stage' || s.span.end < from || s.span.start > to) continue;
      const stage = checkedStageAt(model, file.path, s.span.start);
      if (!stage) continue;
      hints.push({
        position: positionOf(file.source, s.span.end),
        label: `→ ${shapeText(stage.out)} · ${compact(stage.params)} params`,
        kind: InlayHintKind.Type,
        paddingLeft: true,
        tooltip: `${describeCount(stage.params)} parameters (${share(stage.params, model.totals.params)}), ${describeCount(stage.macs)} MACs (${share(stage.macs, model.totals.macs)})`,
      });
    }
    if (node.bodySpan && node.bodySpan.end >= from && node.bodySpan.end <= to + 1) {
      hints.push({
        position: positionOf(file.source, node.bodySpan.end),
        label: `${model.name}: ${compact(model.totals.params)} params · ${compact(model.totals.macs)} MACs → ${shapeText(model.output)}`,
        kind: InlayHintKind.Type,
        paddingLeft: true,
      });
    }
  }
  return hints;
}
