import type { TextEdit } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { formatText } from '../format/format.js';

/**
 * The whole document in the canonical layout (`resnetc fmt`), as the smallest edit that
 * turns the text into it, so the cursor and folds elsewhere stay put. A document with
 * syntax errors is left alone: `null` and the reason.
 */
export function formatDocument(doc: TextDocument, path: string): { edits: TextEdit[] } | { refused: string } {
  const text = doc.getText();
  const result = formatText(text, path);
  if (!result.ok) return { refused: result.diagnostics.map((d) => d.message).join('; ') };
  if (!result.changed) return { edits: [] };
  const next = result.text;
  let start = 0;
  while (start < text.length && start < next.length && text[start] === next[start]) start++;
  let endOld = text.length;
  let endNew = next.length;
  while (endOld > start && endNew > start && text[endOld - 1] === next[endNew - 1]) {
    endOld--;
    endNew--;
  }
  return { edits: [{ range: { start: doc.positionAt(start), end: doc.positionAt(endOld) }, newText: next.slice(start, endNew) }] };
}
