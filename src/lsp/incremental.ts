import type { ParsedFile } from '../check/workspace.js';
import type { FileNode, ImportNode, ModelNode } from '../syntax/ast.js';
import { parse } from '../syntax/parse.js';
import { SourceText } from '../syntax/source.js';

/**
 * Re-parsing after an edit, without re-parsing the whole file. A file is a sequence of
 * self-contained items (imports and models) and line breaks carry no meaning, so an edit
 * inside some items only needs those lines parsed again — by the same parser — and the
 * rest of the tree moved by the edit's length.
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

  const moved = <T>(node: T, by: number): T => (by === 0 ? node : shift(node, by));
  // Models after the edit are the same models, moved: the checker is told, so it moves
  // what it made of them rather than checking them again.
  const movedModels = new Map<ModelNode, { from: ModelNode; by: number }>();
  const shiftedAfter = after.map((i) => {
    const m = moved(i, delta);
    if (m !== i && m.kind === 'model' && i.kind === 'model') movedModels.set(m, { from: i, by: delta });
    return m;
  });
  const newItems: Item[] = [...before, ...window.file.items.map((i) => moved(i, start)), ...shiftedAfter];
  const comments = [
    ...previous.syntax.comments.filter((c) => c.span.end <= start),
    ...window.file.comments.map((c) => moved(c, start)),
    ...previous.syntax.comments.filter((c) => c.span.start >= end).map((c) => moved(c, delta)),
  ];
  const syntax: FileNode = {
    items: newItems,
    imports: newItems.filter((i): i is ImportNode => i.kind === 'import'),
    models: newItems.filter((i): i is ModelNode => i.kind === 'model'),
    unknowns: [],
    comments,
    span: { start: 0, end: text.length },
  };
  return { path: previous.path, source: new SourceText(previous.path, text), syntax, diagnostics: [], ...(movedModels.size > 0 ? { moved: movedModels } : {}) };
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

/** A copy of a syntax node with every span moved by `by` (spans are the `{ start, end }` objects). */
function shift<T>(node: T, by: number): T {
  if (typeof node !== 'object' || node === null) return node;
  if (Array.isArray(node)) {
    const out = new Array<unknown>(node.length);
    for (let i = 0; i < node.length; i++) out[i] = shift(node[i] as unknown, by);
    return out as T;
  }
  const o = node as Record<string, unknown>;
  const start = o['start'];
  const end = o['end'];
  if (typeof start === 'number' && typeof end === 'number' && keyCount(o) === 2) return { start: start + by, end: end + by } as T;
  const out: Record<string, unknown> = {};
  for (const k in o) {
    const v = o[k];
    out[k] = typeof v === 'object' && v !== null ? shift(v, by) : v;
  }
  return out as T;
}

/** How many own keys an object has, up to 3, without allocating their list. */
function keyCount(o: object): number {
  let n = 0;
  for (const _ in o) if (++n > 2) break;
  return n;
}
