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

/** `blocks 3`, `width 64`, `stride 2` inside a stage. */
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

/**
 * A deep copy of a syntax node (or a span). The language server's re-parse moves the spans
 * of unchanged nodes in place, so whatever outlives a check (declarations, diagnostics)
 * keeps copies, never the tree's own span objects. Recursive, but only as deep as the
 * tree's types (file, model, statement, option, value, span): no input nests it deeper,
 * since what unknown braces hold is not kept in the tree.
 */
export function detach<T>(node: T): T {
  if (typeof node !== 'object' || node === null) return node;
  if (Array.isArray(node)) return node.map((n: unknown) => detach(n)) as T;
  const o = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in o) out[k] = detach(o[k]);
  return out as T;
}
