import { InlayHintKind, type InlayHint, type Range } from 'vscode-languageserver';
import { compactCount, describeCount } from '../model/count-format.js';
import type { CheckedFile } from '../check/workspace.js';
import { checkedModelOf, checkedStageOf } from './checked.js';
import { shapeText, share } from './hover.js';
import type { Slices } from './cooperate.js';
import { offsetOf, positionOf } from './positions.js';

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
      const stage = checkedStageOf(model, s);
      if (!stage) continue;
      hints.push({
        position: positionOf(file.source, s.span.end),
        label: `→ ${shapeText(stage.out)} · ${compactCount(stage.params)} params`,
        kind: InlayHintKind.Type,
        paddingLeft: true,
        tooltip: `${describeCount(stage.params)} parameters (${share(stage.params, model.totals.params)}), ${describeCount(stage.macs)} MACs (${share(stage.macs, model.totals.macs)})`,
      });
    }
    if (node.bodySpan && node.bodySpan.end >= from && node.bodySpan.end <= to + 1) {
      hints.push({
        position: positionOf(file.source, node.bodySpan.end),
        label: `${model.name}: ${compactCount(model.totals.params)} params · ${compactCount(model.totals.macs)} MACs → ${shapeText(model.output)}`,
        kind: InlayHintKind.Type,
        paddingLeft: true,
      });
    }
  }
  return hints;
}
