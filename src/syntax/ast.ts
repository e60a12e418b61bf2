import type { Span } from './source.js';
import type { bodyPlaces } from './vocabulary.js';

/** The syntax tree: plain data, every node and every value keeping its span. */

export interface NameNode {
  text: string;
  span: Span;
}

export interface NumberNode {
  /** The text as written, e.g. `25_557_032`, `4.09G`. */
  text: string;
  value: number;
  /** `K`, `M`, `G` or `T` when written with one. */
  suffix: string | undefined;
  /** Digits written after the decimal point (before the suffix). */
  decimals: number;
  /** Written as a plain integer: digits and underscores only. */
  plainInteger: boolean;
  span: Span;
}

export interface SizeNode {
  text: string;
  dims: number[];
  span: Span;
}

export interface StringNode {
  value: string;
  span: Span;
}

/** A keyword followed by a value, e.g. `stride 2`, `groups 32`, `stride_on 1x1`. */
export interface OptionNode {
  key: NameNode;
  value: NumberNode | SizeNode | undefined;
  span: Span;
}

export interface ImportNode {
  kind: 'import';
  path: StringNode | undefined;
  span: Span;
}

export interface ModelNode {
  kind: 'model';
  name: NameNode | undefined;
  extendsName: NameNode | undefined;
  statements: Statement[];
  span: Span;
  /** From the opening to the closing brace; undefined when the brace is missing. */
  bodySpan: Span | undefined;
  /**
   * Set when error recovery had to cut the model short: a syntax error lies in it, or in what
   * follows it before the next model (a `}` too many leaves the model's last statements at the
   * top of the file). The checker reads such a model but does not build it.
   */
  cutShort?: true;
}

export interface InputStatement {
  kind: 'input';
  keyword: Span;
  size: SizeNode | undefined;
  span: Span;
}

export interface ClassesStatement {
  kind: 'classes';
  keyword: Span;
  value: NumberNode | undefined;
  span: Span;
}

export interface DropoutStatement {
  kind: 'dropout';
  keyword: Span;
  value: NumberNode | undefined;
  span: Span;
}

export interface ConvLayerNode {
  kind: 'conv';
  keyword: Span;
  kernel: SizeNode | undefined;
  channels: NumberNode | undefined;
  options: OptionNode[];
  span: Span;
}

export interface PoolLayerNode {
  kind: 'maxpool' | 'avgpool';
  keyword: Span;
  kernel: SizeNode | undefined;
  options: OptionNode[];
  span: Span;
}

export type StemLayerNode = ConvLayerNode | PoolLayerNode;

export interface StemStatement {
  kind: 'stem';
  keyword: Span;
  layers: StemLayerNode[];
  span: Span;
}

export interface BlockStatement {
  kind: 'block';
  keyword: Span;
  blockKind: NameNode | undefined;
  options: OptionNode[];
  /** Whether `{ … }` was written, even empty. */
  hasBody: boolean;
  span: Span;
}

export interface ShortcutStatement {
  kind: 'shortcut';
  keyword: Span;
  shortcutKind: NameNode | undefined;
  span: Span;
}

export interface StageStatement {
  kind: 'stage';
  keyword: Span;
  name: NameNode | undefined;
  /** `blocks`, `width`, `stride`, `block …` and `shortcut …`, in the order written. */
  items: StageItem[];
  span: Span;
  bodySpan: Span | undefined;
}

/** `blocks 3`, `width 64`, `stride 2`, `dilation 2` inside a stage. */
export interface StageField extends OptionNode {
  kind: 'field';
}

export type StageItem = StageField | BlockStatement | ShortcutStatement;

export interface NormStatement {
  kind: 'norm';
  keyword: Span;
  normKind: NameNode | undefined;
  options: OptionNode[];
  hasBody: boolean;
  span: Span;
}

export interface ActivationStatement {
  kind: 'activation';
  keyword: Span;
  fn: NameNode | undefined;
  /** `leaky_relu`'s negative slope, when written after the function. */
  slope: NumberNode | undefined;
  span: Span;
}

/** `output_stride 16`, `drop_path 0.1`: a model statement of one number. */
export interface NumberStatement {
  kind: 'output_stride' | 'drop_path';
  keyword: Span;
  value: NumberNode | undefined;
  span: Span;
}

/** `pool catavgmax`: the head's global pool. */
export interface PoolStatement {
  kind: 'pool';
  keyword: Span;
  poolKind: NameNode | undefined;
  span: Span;
}

/** `outputs conv3 conv4 conv5`: what the model returns, in order. */
export interface OutputsStatement {
  kind: 'outputs';
  keyword: Span;
  names: NameNode[];
  span: Span;
}

export interface ExpectStatement {
  kind: 'expect';
  keyword: Span;
  /** `params`, `macs`, `output`; undefined when missing. */
  what: NameNode | undefined;
  value: NumberNode | SizeNode | undefined;
  span: Span;
}

export type Statement =
  | InputStatement
  | ClassesStatement
  | DropoutStatement
  | StemStatement
  | BlockStatement
  | ShortcutStatement
  | StageStatement
  | NormStatement
  | ActivationStatement
  | NumberStatement
  | PoolStatement
  | OutputsStatement
  | ExpectStatement;

export interface CommentNode {
  text: string;
  span: Span;
}

/** Where an unknown word stood, which decides what it may have meant. */
export type UnknownContext = (typeof bodyPlaces)[number];

/** A word the grammar does not know where a statement or option should be (see the parser). */
export interface UnknownNode {
  word: NameNode;
  context: UnknownContext;
  span: Span;
}

export interface FileNode {
  /** Imports and models in the order written. */
  items: (ImportNode | ModelNode)[];
  imports: ImportNode[];
  models: ModelNode[];
  unknowns: UnknownNode[];
  comments: CommentNode[];
  span: Span;
}

/** Any node of the syntax tree. */
export type SyntaxNode =
  | FileNode
  | ImportNode
  | ModelNode
  | Statement
  | StemLayerNode
  | StageField
  | OptionNode
  | UnknownNode
  | CommentNode
  | NameNode
  | NumberNode
  | SizeNode
  | StringNode;

/**
 * Calls `visit` with each child of a node, in source order: the one typed traversal of the
 * tree (TypeScript's forEachChild), which knows every node's fields. Words, numbers, sizes,
 * strings and comments have no children.
 */
export function forEachChild(node: SyntaxNode, visit: (child: SyntaxNode) => void): void {
  if (kindOf(node) !== undefined) forEachChildOf(node as Kinded, visit);
  else forEachChildOfPlain(node as Exclude<SyntaxNode, Kinded>, visit);
}

/** The nodes with a `kind`: items, statements, layers, stage fields. */
type Kinded = Extract<SyntaxNode, { kind: string }>;

/**
 * A node's kind, if it has one: a property read, which costs less than `in` over the
 * tree's many object shapes (the traversal moves every span after an edit, on each keystroke).
 */
const kindOf = (node: SyntaxNode): Kinded['kind'] | undefined => (node as { kind?: Kinded['kind'] }).kind;

function forEachChildOf(node: Kinded, visit: (child: SyntaxNode) => void): void {
  switch (node.kind) {
    case 'import':
      if (node.path) visit(node.path);
      return;
    case 'model':
      if (node.name) visit(node.name);
      if (node.extendsName) visit(node.extendsName);
      for (const s of node.statements) visit(s);
      return;
    case 'input':
      if (node.size) visit(node.size);
      return;
    case 'classes':
    case 'dropout':
    case 'output_stride':
    case 'drop_path':
      if (node.value) visit(node.value);
      return;
    case 'pool':
      if (node.poolKind) visit(node.poolKind);
      return;
    case 'outputs':
      for (const n of node.names) visit(n);
      return;
    case 'stem':
      for (const l of node.layers) visit(l);
      return;
    case 'conv':
      if (node.kernel) visit(node.kernel);
      if (node.channels) visit(node.channels);
      for (const o of node.options) visit(o);
      return;
    case 'maxpool':
    case 'avgpool':
      if (node.kernel) visit(node.kernel);
      for (const o of node.options) visit(o);
      return;
    case 'block':
      if (node.blockKind) visit(node.blockKind);
      for (const o of node.options) visit(o);
      return;
    case 'norm':
      if (node.normKind) visit(node.normKind);
      for (const o of node.options) visit(o);
      return;
    case 'shortcut':
      if (node.shortcutKind) visit(node.shortcutKind);
      return;
    case 'activation':
      if (node.fn) visit(node.fn);
      if (node.slope) visit(node.slope);
      return;
    case 'expect':
      if (node.what) visit(node.what);
      if (node.value) visit(node.value);
      return;
    case 'stage':
      if (node.name) visit(node.name);
      for (const i of node.items) visit(i);
      return;
    case 'field':
      visit(node.key);
      if (node.value) visit(node.value);
      return;
    default: {
      // A node kind this traversal does not know: a compile error until it does.
      const unknown: never = node;
      throw new Error(`internal: forEachChild has no case for ${JSON.stringify(unknown)}`);
    }
  }
}

function forEachChildOfPlain(node: Exclude<SyntaxNode, Kinded>, visit: (child: SyntaxNode) => void): void {
  // Most are words, numbers and sizes, which have text and no children.
  if ((node as { text?: string }).text !== undefined) return;
  if ('key' in node) {
    // An option: `stride 2`.
    visit(node.key);
    if (node.value) visit(node.value);
  } else if ('word' in node) visit(node.word);
  else if ('items' in node) {
    for (const i of node.items) visit(i);
    for (const u of node.unknowns) visit(u);
    for (const c of node.comments) visit(c);
  }
}

/**
 * Calls `visit` with every span of a node and of the nodes below it, each once: a node's own
 * span, a statement's keyword, a body's braces. Recursive, but only as deep as the tree's
 * types (file, model, statement, option, value): no input nests it deeper, since what unknown
 * braces hold is not kept in the tree.
 */
export function forEachSpan(node: SyntaxNode, visit: (span: Span) => void): void {
  const walk = (n: SyntaxNode): void => {
    visit(n.span);
    if (kindOf(n) !== undefined) {
      const k = n as Kinded;
      if (k.kind === 'model' || k.kind === 'stage') {
        if (k.bodySpan) visit(k.bodySpan);
      }
      if (k.kind !== 'model' && k.kind !== 'import' && k.kind !== 'field') visit(k.keyword);
    }
    forEachChild(n, walk);
  };
  walk(node);
}
