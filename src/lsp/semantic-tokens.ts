import { SemanticTokensBuilder, type SemanticTokens, type SemanticTokensLegend } from 'vscode-languageserver';
import type { CheckedFile } from '../check/workspace.js';
import type { Span } from '../syntax/source.js';
import type { Slices } from './cooperate.js';
import { fileWords, type Role } from './words.js';

/** Token types and modifiers the server reports; the index in these lists is what goes on the wire. */
export const legend: SemanticTokensLegend = {
  tokenTypes: ['keyword', 'class', 'property', 'type', 'enumMember', 'function', 'number', 'string', 'comment'],
  tokenModifiers: ['declaration', 'defaultLibrary'],
};

const typeIndex = (t: string): number => legend.tokenTypes.indexOf(t);
const declaration = 1 << legend.tokenModifiers.indexOf('declaration');
const defaultLibrary = 1 << legend.tokenModifiers.indexOf('defaultLibrary');

const byRole: Partial<Record<Role, [string, number]>> = {
  keyword: ['keyword', 0],
  'model-name': ['class', declaration],
  'extends-name': ['class', 0],
  'stage-name': ['property', declaration],
  'import-path': ['string', 0],
  'block-kind': ['type', defaultLibrary],
  'shortcut-kind': ['enumMember', defaultLibrary],
  'norm-kind': ['enumMember', defaultLibrary],
  activation: ['function', defaultLibrary],
  'pool-kind': ['enumMember', defaultLibrary],
  'output-name': ['property', 0],
  number: ['number', 0],
  size: ['number', 0],
};

/**
 * Semantic tokens from the syntax tree: what the grammar cannot know (a keyword used as a
 * stage name, a model name after `extends`) coloured by what it is.
 */
export async function semanticTokens(file: CheckedFile, slices: Slices): Promise<SemanticTokens> {
  const items: { span: Span; type: number; modifiers: number }[] = [];
  for (const w of fileWords(file.syntax, file.source.text)) {
    const kind = byRole[w.role];
    if (kind) items.push({ span: w.span, type: typeIndex(kind[0]), modifiers: kind[1] });
  }
  for (const c of file.syntax.comments) items.push({ span: c.span, type: typeIndex('comment'), modifiers: 0 });
  items.sort((a, b) => a.span.start - b.span.start);
  const builder = new SemanticTokensBuilder();
  let lastEnd = -1;
  for (const [i, it] of items.entries()) {
    if (i % 1024 === 0 && slices.due()) await slices.pause();
    if (it.span.start < lastEnd) continue;
    const p = file.source.position(it.span.start);
    const end = file.source.position(it.span.end);
    const length = end.line === p.line ? end.column - p.column : file.source.lineText(p.line).length - (p.column - 1);
    builder.push(p.line - 1, p.column - 1, length, it.type, it.modifiers);
    lastEnd = it.span.end;
  }
  return builder.build();
}
