import type { ParsedFile } from '../check/workspace.js';
import { type FileNode, forEachSpan, type ImportNode, type ModelNode, type SyntaxNode } from '../syntax/ast.js';
import { parse } from '../syntax/parse.js';
import { SourceText, type Span } from '../syntax/source.js';

/**
 * Re-parsing after an edit, without re-parsing the whole file. A file is a sequence of
 * self-contained items (imports and models) and line breaks carry no meaning, so an edit
 * inside some items only needs those lines parsed again — by the same parser — and the
 * rest of the tree moved by the edit's length.
 *
 * The items after the edit are moved in place: the new tree shares them with `previous`,
 * which no longer matches its text and must not be used again. Copying them instead cost a
 * third of a keystroke's time on a 5,000-line file, most of it in the garbage collector.
 * What the checker made of a node links to the node and reads its span when a position is
 * needed, so the declaration, the checked model and the diagnostics of an item that only
 * moved are right as they are: the checker finds the same node and does nothing again.
 *
 * It only takes the short way when the result is certain to equal a full parse: the old
 * file and the re-parsed lines are free of syntax errors, the lines re-parsed are whole
 * lines holding whole items, and nothing straddles their edges. Otherwise (and whenever
 * in doubt) it parses the whole text. A property test compares both on random edits.
 */
export function reparse(previous: ParsedFile, text: string): ParsedFile {
  if (previous.source.text === text) return previous;
  return reparseWindow(previous, text) ?? fullParse(previous.path, text);
}

export function fullParse(path: string, text: string): ParsedFile {
  const result = parse(text, path);
  return { path, source: new SourceText(path, text), syntax: result.file, diagnostics: result.diagnostics };
}

type Item = ImportNode | ModelNode;

function reparseWindow(previous: ParsedFile, text: string): ParsedFile | undefined {
  const old = previous.source.text;
  if (previous.diagnostics.length > 0 || old === text) return undefined;
  // The edit: what differs between the common prefix and the common suffix.
  let prefix = 0;
  const shortest = Math.min(old.length, text.length);
  while (prefix < shortest && old.charCodeAt(prefix) === text.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < shortest - prefix && old.charCodeAt(old.length - 1 - suffix) === text.charCodeAt(text.length - 1 - suffix)) suffix++;
  const editStart = prefix;
  const editEnd = old.length - suffix;
  const delta = text.length - old.length;

  const items = previous.syntax.items;
  const touched = items.filter((i) => i.span.end >= editStart && i.span.start <= editEnd);
  if (touched.length === 0) return undefined;
  // Whole lines around the touched items and the edit: no token or comment crosses a line break.
  const start = lineStart(old, Math.min(editStart, touched[0]!.span.start));
  const end = lineEnd(old, Math.max(editEnd, touched[touched.length - 1]!.span.end));
  const newEnd = end + delta;
  if (newEnd < start || (newEnd < text.length && text[newEnd] !== '\n' && text[newEnd] !== '\r')) return undefined;
  const before: Item[] = [];
  const after: Item[] = [];
  for (const item of items) {
    if (item.span.end <= start) before.push(item);
    else if (item.span.start >= end) after.push(item);
    else if (item.span.start < start || item.span.end > end) return undefined;
  }
  const window = parse(text.slice(start, newEnd), previous.path);
  if (window.diagnostics.length > 0) return undefined;

  const windowComments = window.file.comments;
  const afterComments = previous.syntax.comments.filter((c) => c.span.start >= end);
  shift(window.file.items, start);
  shift(windowComments, start);
  shift(after, delta);
  shift(afterComments, delta);
  const newItems: Item[] = [...before, ...window.file.items, ...after];
  const comments = [...previous.syntax.comments.filter((c) => c.span.end <= start), ...windowComments, ...afterComments];
  const syntax: FileNode = {
    items: newItems,
    imports: newItems.filter((i): i is ImportNode => i.kind === 'import'),
    models: newItems.filter((i): i is ModelNode => i.kind === 'model'),
    unknowns: [],
    comments,
    span: { start: 0, end: text.length },
  };
  return { path: previous.path, source: new SourceText(previous.path, text), syntax, diagnostics: [] };
}

function lineStart(text: string, offset: number): number {
  let i = offset;
  while (i > 0 && text[i - 1] !== '\n' && text[i - 1] !== '\r') i--;
  return i;
}

function lineEnd(text: string, offset: number): number {
  let i = offset;
  while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
  return i;
}

/** Moves every span of the nodes by `by`, in place (the nodes and their spans stay the same objects). */
function shift(nodes: SyntaxNode[], by: number): void {
  if (by === 0) return;
  const move = (span: Span): void => {
    span.start += by;
    span.end += by;
  };
  for (const node of nodes) forEachSpan(node, move);
}
