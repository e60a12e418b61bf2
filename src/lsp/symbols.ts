import { type DocumentSymbol, SymbolKind } from 'vscode-languageserver';
import type { CheckedFile } from '../check/workspace.js';
import { checkedModelOf, checkedStageOf } from './checked.js';
import { shapeText } from './hover.js';
import { compactCount } from '../model/count-format.js';
import type { Slices } from './cooperate.js';
import { rangeOf } from './positions.js';

/** The outline: each model, with its stem and stages. Linear in the document; pauses between models. */
export async function documentSymbols(file: CheckedFile, slices: Slices): Promise<DocumentSymbol[]> {
  const out: DocumentSymbol[] = [];
  for (const node of file.syntax.models) {
    if (slices.due()) await slices.pause();
    if (!node.name) continue;
    const model = checkedModelOf(file, node);
    const children: DocumentSymbol[] = [];
    for (const s of node.statements) {
      if (s.kind === 'stem') {
        children.push({ name: 'stem', kind: SymbolKind.Constructor, range: rangeOf(file.source, s.span), selectionRange: rangeOf(file.source, s.keyword), detail: `${s.layers.length} layers` });
      } else if (s.kind === 'stage' && s.name) {
        const stage = model ? checkedStageOf(model, s) : undefined;
        children.push({
          name: s.name.text,
          kind: SymbolKind.Module,
          range: rangeOf(file.source, s.span),
          selectionRange: rangeOf(file.source, s.name.span),
          detail: stage ? `${stage.depth} blocks → ${shapeText(stage.out)}` : '',
        });
      }
    }
    const parts = [node.extendsName ? `extends ${node.extendsName.text}` : '', model ? `${compactCount(model.totals.params)} params` : ''].filter(Boolean);
    out.push({ name: node.name.text, kind: SymbolKind.Class, range: rangeOf(file.source, node.span), selectionRange: rangeOf(file.source, node.name.span), detail: parts.join(' · '), children });
  }
  return out;
}
