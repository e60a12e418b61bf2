import type { CstElement, CstNode, IToken } from 'chevrotain';
import type * as A from './ast.js';
import { readNumber, readSize } from './literals.js';
import type { Span } from './source.js';

/** Turns the parser's concrete syntax tree into the plain syntax tree of ast.ts. */

type Children = Record<string, CstElement[] | undefined>;

function isToken(e: CstElement | undefined): e is IToken {
  return e !== undefined && 'image' in e;
}

/** The first token under a key that the parser did not invent while recovering. */
function token(ch: Children, key: string): IToken | undefined {
  const list = ch[key];
  if (!list) return undefined;
  for (const e of list) if (isToken(e) && !e.isInsertedInRecovery && !Number.isNaN(e.startOffset)) return e;
  return undefined;
}

const noNodes: CstNode[] = [];

function nodes(ch: Children, key: string): CstNode[] {
  return (ch[key] as CstNode[] | undefined) ?? noNodes; // rule keys hold only nodes
}

function tokenSpan(t: IToken): Span {
  return { start: t.startOffset, end: (t.endOffset ?? t.startOffset + t.image.length - 1) + 1 };
}

/** A node's span: from its first real token to its last. */
function nodeSpan(n: CstNode): Span {
  const loc = n.location;
  if (loc && !Number.isNaN(loc.startOffset) && loc.endOffset !== undefined && !Number.isNaN(loc.endOffset) && !n.recoveredNode) {
    return { start: loc.startOffset, end: loc.endOffset + 1 };
  }
  // Recovered nodes can hold tokens the parser invented: find the real ones.
  let start = Infinity;
  let end = -Infinity;
  const visit = (node: CstNode): void => {
    for (const list of Object.values(node.children)) {
      for (const e of list ?? []) {
        if (isToken(e)) {
          if (e.isInsertedInRecovery || Number.isNaN(e.startOffset)) continue;
          const s = tokenSpan(e);
          if (s.start < start) start = s.start;
          if (s.end > end) end = s.end;
        } else visit(e);
      }
    }
  };
  visit(n);
  return start === Infinity ? { start: 0, end: 0 } : { start, end };
}

function name(t: IToken | undefined): A.NameNode | undefined {
  return t ? { text: t.image, span: tokenSpan(t) } : undefined;
}

function numberNode(t: IToken | undefined): A.NumberNode | undefined {
  return t ? readNumber(t.image, tokenSpan(t)) : undefined;
}

function sizeNode(t: IToken | undefined): A.SizeNode | undefined {
  return t ? readSize(t.image, tokenSpan(t)) : undefined;
}

/** The first keyword token among the children, for `stride 2`, `groups 32`, … */
function keywordToken(ch: Children): IToken | undefined {
  for (const key in ch) {
    if (!key.startsWith('Kw_')) continue;
    const t = ch[key]?.find((e): e is IToken => isToken(e) && !e.isInsertedInRecovery);
    if (t) return t;
  }
  return undefined;
}

function option(n: CstNode): A.OptionNode | undefined {
  const ch = n.children;
  const key = name(keywordToken(ch));
  if (!key) return undefined;
  const value = numberNode(token(ch, 'NumberLiteral')) ?? sizeNode(token(ch, 'Size'));
  return { key, value, span: nodeSpan(n) };
}

function options(ch: Children, key: string): A.OptionNode[] {
  const list = nodes(ch, key);
  if (key === 'blockOption' || key === 'normOption') for (const n of list) collectUnknowns(n.children, key === 'blockOption' ? 'block' : 'norm');
  return list.map(option).filter((o): o is A.OptionNode => o !== undefined);
}

function keywordSpan(ch: Children, key: string, n: CstNode): Span {
  const t = token(ch, key);
  return t ? tokenSpan(t) : nodeSpan(n);
}

function braceSpan(ch: Children): Span | undefined {
  const open = token(ch, 'LBrace');
  const close = token(ch, 'RBrace');
  if (!open || !close) return undefined;
  return { start: open.startOffset, end: tokenSpan(close).end };
}

function blockStatement(n: CstNode): A.BlockStatement {
  const ch = n.children;
  return {
    kind: 'block',
    keyword: keywordSpan(ch, 'Kw_block', n),
    blockKind: name(token(ch, 'Name')),
    options: options(ch, 'blockOption'),
    hasBody: token(ch, 'LBrace') !== undefined,
    span: nodeSpan(n),
  };
}

function shortcutStatement(n: CstNode): A.ShortcutStatement {
  const ch = n.children;
  return { kind: 'shortcut', keyword: keywordSpan(ch, 'Kw_shortcut', n), shortcutKind: name(token(ch, 'Name')), span: nodeSpan(n) };
}

function stemLayer(n: CstNode): A.StemLayerNode {
  const ch = n.children;
  if (n.name === 'convLayer') {
    return {
      kind: 'conv',
      keyword: keywordSpan(ch, 'Kw_conv', n),
      kernel: sizeNode(token(ch, 'Size')),
      channels: numberNode(token(ch, 'NumberLiteral')),
      options: options(ch, 'numberOption'),
      span: nodeSpan(n),
    };
  }
  const max = token(ch, 'Kw_maxpool');
  const avg = token(ch, 'Kw_avgpool');
  return {
    kind: max ? 'maxpool' : 'avgpool',
    keyword: tokenSpan((max ?? avg)!),
    kernel: sizeNode(token(ch, 'Size')),
    options: options(ch, 'numberOption'),
    span: nodeSpan(n),
  };
}

function stageItems(ch: Children): A.StageItem[] {
  const items: A.StageItem[] = [];
  for (const n of nodes(ch, 'stageField')) {
    const o = option(n);
    if (o) items.push({ ...o, kind: 'field' });
  }
  for (const n of nodes(ch, 'blockStatement')) items.push(blockStatement(n));
  for (const n of nodes(ch, 'shortcutStatement')) items.push(shortcutStatement(n));
  return items.sort((a, b) => a.span.start - b.span.start);
}

function statement(n: CstNode): A.Statement | undefined {
  collectUnknowns(n.children, 'model');
  const inner = Object.values(n.children)[0]?.[0];
  if (!inner || isToken(inner) || inner.name === 'unknownStatement') return undefined;
  const ch = inner.children;
  const span = nodeSpan(inner);
  switch (inner.name) {
    case 'inputStatement':
      return { kind: 'input', keyword: keywordSpan(ch, 'Kw_input', inner), size: sizeNode(token(ch, 'Size')), span };
    case 'classesStatement':
      return { kind: 'classes', keyword: keywordSpan(ch, 'Kw_classes', inner), value: numberNode(token(ch, 'NumberLiteral')), span };
    case 'dropoutStatement':
      return { kind: 'dropout', keyword: keywordSpan(ch, 'Kw_dropout', inner), value: numberNode(token(ch, 'NumberLiteral')), span };
    case 'stemStatement': {
      collectUnknowns(ch, 'stem');
      const layers = [...nodes(ch, 'convLayer'), ...nodes(ch, 'poolLayer')].map(stemLayer).sort((a, b) => a.span.start - b.span.start);
      return { kind: 'stem', keyword: keywordSpan(ch, 'Kw_stem', inner), layers, span };
    }
    case 'blockStatement':
      return blockStatement(inner);
    case 'shortcutStatement':
      return shortcutStatement(inner);
    case 'stageStatement':
      collectUnknowns(ch, 'stage');
      return {
        kind: 'stage',
        keyword: keywordSpan(ch, 'Kw_stage', inner),
        name: name(token(ch, 'Name')),
        items: stageItems(ch),
        span,
        bodySpan: braceSpan(ch),
      };
    case 'normStatement':
      return {
        kind: 'norm',
        keyword: keywordSpan(ch, 'Kw_norm', inner),
        normKind: name(token(ch, 'Name')),
        options: options(ch, 'normOption'),
        hasBody: token(ch, 'LBrace') !== undefined,
        span,
      };
    case 'activationStatement':
      return { kind: 'activation', keyword: keywordSpan(ch, 'Kw_activation', inner), fn: name(token(ch, 'Name')), span };
    case 'expectStatement': {
      const what = token(ch, 'Kw_params') ?? token(ch, 'Kw_macs') ?? token(ch, 'Kw_output');
      return {
        kind: 'expect',
        keyword: keywordSpan(ch, 'Kw_expect', inner),
        what: name(what),
        value: numberNode(token(ch, 'NumberLiteral')) ?? sizeNode(token(ch, 'Size')),
        span,
      };
    }
    default:
      return undefined;
  }
}

function model(n: CstNode): A.ModelNode {
  const ch = n.children;
  const statements = nodes(ch, 'statement')
    .map(statement)
    .filter((s): s is A.Statement => s !== undefined);
  return {
    kind: 'model',
    name: name(token(ch, 'name')),
    extendsName: name(token(ch, 'parent')),
    statements,
    span: nodeSpan(n),
    bodySpan: braceSpan(ch),
  };
}

function importDecl(n: CstNode): A.ImportNode {
  const t = token(n.children, 'StringLiteral');
  const path = t ? { value: unquote(t.image), span: tokenSpan(t) } : undefined;
  return { kind: 'import', path, span: nodeSpan(n) };
}

function unquote(image: string): string {
  const closed = image.length >= 2 && image.endsWith('"');
  return image.slice(1, closed ? -1 : undefined).replace(/\\(.)/g, '$1');
}

/** The unknown words found while building, with where they stood. */
let unknowns: A.UnknownNode[] = [];

function collectUnknowns(ch: Children, context: A.UnknownContext): void {
  for (const n of nodes(ch, 'unknownStatement')) {
    const word = name(token(n.children, 'Identifier'));
    if (word) unknowns.push({ word, context, span: nodeSpan(n) });
  }
}

export function buildFileNode(cst: CstNode, comments: IToken[], length: number): A.FileNode {
  unknowns = [];
  const items: (A.ImportNode | A.ModelNode)[] = [];
  for (const n of nodes(cst.children, 'importDecl')) items.push(importDecl(n));
  for (const n of nodes(cst.children, 'model')) items.push(model(n));
  items.sort((a, b) => a.span.start - b.span.start);
  collectUnknowns(cst.children, 'file');
  const found = unknowns.sort((a, b) => a.span.start - b.span.start);
  return {
    items,
    unknowns: found,
    imports: items.filter((i): i is A.ImportNode => i.kind === 'import'),
    models: items.filter((i): i is A.ModelNode => i.kind === 'model'),
    comments: comments.map((c) => ({ text: c.image, span: tokenSpan(c) })),
    span: { start: 0, end: length },
  };
}
