import type * as A from '../syntax/ast.js';
import type { Span } from '../syntax/source.js';
import type { Place } from '../syntax/vocabulary.js';

/** What a word of the syntax tree is, for hover, navigation and semantic tokens. */
export type Role =
  | 'keyword'
  | 'model-name'
  | 'extends-name'
  | 'stage-name'
  | 'import-path'
  | 'block-kind'
  | 'shortcut-kind'
  | 'norm-kind'
  | 'activation'
  | 'pool-kind'
  /** A name `outputs` lists: a stage, `stem` or `logits`. */
  | 'output-name'
  | 'number'
  | 'size'
  | 'unknown';

export interface Word {
  role: Role;
  text: string;
  span: Span;
  /** The model it stands in, if any. */
  model?: A.ModelNode;
  /** The statement it belongs to, if any (the stage for words inside a stage). */
  statement?: A.Statement;
  /** Keywords: where it stands, which says which of the vocabulary's entries it is (`stride` in a stem or a stage). */
  place?: Place;
}

const cache = new WeakMap<A.FileNode, Word[]>();

/** Every word of a file's syntax tree with its role, in source order. */
export function fileWords(file: A.FileNode, text: string): Word[] {
  const known = cache.get(file);
  if (known) return known;
  const words: Word[] = [];
  const add = (role: Role, text: string, span: Span | undefined, model?: A.ModelNode, statement?: A.Statement): void => {
    if (span && span.end > span.start) words.push({ role, text, span, model, statement });
  };
  const keyword = (place: Place, text: string, span: Span | undefined, model?: A.ModelNode, statement?: A.Statement): void => {
    if (span && span.end > span.start) words.push({ role: 'keyword', text, span, model, statement, place });
  };
  const name = (role: Role, n: A.NameNode | undefined, model?: A.ModelNode, statement?: A.Statement): void => {
    if (n) add(role, n.text, n.span, model, statement);
  };
  const value = (v: A.NumberNode | A.SizeNode | undefined, model: A.ModelNode, statement: A.Statement): void => {
    if (v) add('dims' in v ? 'size' : 'number', v.text, v.span, model, statement);
  };
  const option = (place: Place, o: A.OptionNode, model: A.ModelNode, statement: A.Statement): void => {
    keyword(place, o.key.text, o.key.span, model, statement);
    value(o.value, model, statement);
  };
  const optionStatement = (place: Place, s: A.BlockStatement | A.NormStatement, model: A.ModelNode, owner: A.Statement): void => {
    keyword(place, s.kind, s.keyword, model, owner);
    if (s.kind === 'block') name('block-kind', s.blockKind, model, owner);
    else name('norm-kind', s.normKind, model, owner);
    for (const o of s.options) option(s.kind, o, model, owner);
  };

  for (const item of file.items) {
    if (item.kind === 'import') {
      keyword('file', 'import', { start: item.span.start, end: item.span.start + 'import'.length });
      if (item.path) add('import-path', item.path.value, item.path.span);
      continue;
    }
    const m = item;
    keyword('file', 'model', { start: m.span.start, end: m.span.start + 'model'.length }, m);
    name('model-name', m.name, m);
    if (m.extendsName) {
      const at = text.lastIndexOf('extends', m.extendsName.span.start);
      if (at >= (m.name?.span.end ?? m.span.start)) keyword('header', 'extends', { start: at, end: at + 'extends'.length }, m);
      name('extends-name', m.extendsName, m);
    }
    for (const s of m.statements) {
      switch (s.kind) {
        case 'input':
          keyword('model', 'input', s.keyword, m, s);
          value(s.size, m, s);
          break;
        case 'classes':
        case 'dropout':
        case 'output_stride':
        case 'drop_path':
          keyword('model', s.kind, s.keyword, m, s);
          value(s.value, m, s);
          break;
        case 'pool':
          keyword('model', 'pool', s.keyword, m, s);
          name('pool-kind', s.poolKind, m, s);
          break;
        case 'outputs':
          keyword('model', 'outputs', s.keyword, m, s);
          for (const n of s.names) name('output-name', n, m, s);
          break;
        case 'stem':
          keyword('model', 'stem', s.keyword, m, s);
          for (const l of s.layers) {
            keyword('stem', l.kind, l.keyword, m, s);
            value(l.kernel, m, s);
            if (l.kind === 'conv') value(l.channels, m, s);
            for (const o of l.options) option('stem', o, m, s);
          }
          break;
        case 'block':
        case 'norm':
          optionStatement('model', s, m, s);
          break;
        case 'shortcut':
          keyword('model', 'shortcut', s.keyword, m, s);
          name('shortcut-kind', s.shortcutKind, m, s);
          break;
        case 'activation':
          keyword('model', 'activation', s.keyword, m, s);
          name('activation', s.fn, m, s);
          value(s.slope, m, s);
          break;
        case 'expect':
          keyword('model', 'expect', s.keyword, m, s);
          if (s.what) keyword('expect', s.what.text, s.what.span, m, s);
          value(s.value, m, s);
          break;
        case 'stage':
          keyword('model', 'stage', s.keyword, m, s);
          name('stage-name', s.name, m, s);
          for (const i of s.items) {
            if (i.kind === 'field') option('stage', i, m, s);
            else if (i.kind === 'block') optionStatement('stage', i, m, s);
            else {
              keyword('stage', 'shortcut', i.keyword, m, s);
              name('shortcut-kind', i.shortcutKind, m, s);
            }
          }
          break;
      }
    }
  }
  for (const u of file.unknowns) add('unknown', u.word.text, u.word.span);
  words.sort((a, b) => a.span.start - b.span.start);
  cache.set(file, words);
  return words;
}

/** The word at an offset (touching its start or end counts), or undefined. */
export function wordAt(file: A.FileNode, text: string, offset: number): Word | undefined {
  const words = fileWords(file, text);
  let lo = 0;
  let hi = words.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const w = words[mid]!;
    if (w.span.end < offset) lo = mid + 1;
    else if (w.span.start > offset) hi = mid - 1;
    else {
      // Prefer the word that starts at the offset over the one that ends there.
      const next = words[mid + 1];
      return next && next.span.start === offset ? next : w;
    }
  }
  return undefined;
}

/** The model whose text holds an offset. */
export function modelAt(file: A.FileNode, offset: number): A.ModelNode | undefined {
  return file.models.find((m) => offset >= m.span.start && offset <= m.span.end);
}
