import { type DocumentSymbol, SymbolKind } from 'vscode-languageserver';
import type { CheckedFile } from '../check/workspace.js';
import { checkedModelOf, checkedStageAt, shapeText } from './hover.js';
import { compactCount } from '../model/count-format.js';
import { rangeOf } from './positions.js';

/** The outline: each model, with its stem and stages. */
export function documentSymbols(file: CheckedFile): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const node of file.syntax.models) {
    if (!node.name) continue;
    const model = checkedModelOf(file, node);
    const children: DocumentSymbol[] = [];
    for (const s of node.statements) {
      if (s.kind === 'stem') {
        children.push({ name: 'stem', kind: SymbolKind.Constructor, range: rangeOf(file.source, s.span), selectionRange: rangeOf(file.source, s.keyword), detail: `${s.layers.length} layers` });
      } else if (s.kind === 'stage' && s.name) {
        const stage = model ? checkedStageAt(model, file.path, s.span.start) : undefined;
        children.push({
          name: s.name.text,
          kind: SymbolKind.Module,
          range: rangeOf(file.source, s.span),
          selectionRange: rangeOf(file.source, s.name.span),
          detail: stage ? `${stage.blocks.length} blocks → ${shapeText(stage.out)}` : '',
        });
      }
    }
    const parts = [node.extendsName ? `extends ${node.extendsName.text}` : '', model ? `${compactCount(model.totals.params)} params` : ''].filter(Boolean);
    out.push({ name: node.name.text, kind: SymbolKind.Class, range: rangeOf(file.source, node.span), selectionRange: rangeOf(file.source, node.name.span), detail: parts.join(' · '), children });
  }
  return out;
}
