import type { Code } from '../diagnostics/codes.js';
import type { Fix, RelatedLocation } from '../diagnostics/diagnostic.js';
import type { ActivationSpec, BlockKind, GlobalPoolKind, NormSpec, Origin, Shape, ShortcutOption } from '../model/types.js';
import type { NameNode, NumberNode, SizeNode } from '../syntax/ast.js';

/**
 * A model's statements as written in one declaration, each value validated and
 * located: its origin links it to the syntax node that wrote it (positions are read from
 * the node, never copied). `undefined`: not written here. `null`: written, but invalid
 * (already reported), so later stages neither build on it nor report it missing.
 */

export type Maybe<T> = T | null | undefined;

export interface Located<T> {
  value: T;
  origin: Origin;
}

export interface StemLayerSpec {
  op: 'conv' | 'maxpool' | 'avgpool';
  kernel: [number, number];
  channels: number;
  stride: number;
  groups: number;
  /** `pad P` as written; undefined: K/2. */
  pad: number | undefined;
  origin: Origin;
  /** Where `stride S` was written (for warnings about a stride that does nothing). */
  strideOrigin?: Origin;
  /** Where `pad P` was written. */
  padOrigin?: Origin;
}

export interface BlockSpec {
  kind: BlockKind;
  expansion: number;
  groups: number;
  widthPerGroup: number;
  strideOn: '1x1' | '3x3';
  se: number | undefined;
  origin: Origin;
  /** Where `stride_on` and `se` were written, when they were. */
  strideOnOrigin?: Origin;
  seOrigin?: Origin;
}

export interface StageDecl {
  name: string;
  origin: Origin;
  nameOrigin: Origin;
  blocks: Maybe<Located<number>>;
  width: Maybe<Located<number>>;
  stride: Maybe<Located<number>>;
  dilation: Maybe<Located<number>>;
  block: Maybe<BlockSpec>;
  shortcut: Maybe<Located<ShortcutOption>>;
}

/** A name `outputs` lists, where it was written. */
export interface OutputName {
  name: string;
  origin: Origin;
}

export interface ExpectDecl {
  what: 'params' | 'macs' | 'output';
  value: NumberNode | SizeNode;
  origin: Origin;
}

export interface ModelDecl {
  name: string;
  file: string;
  origin: Origin;
  /** The model's name as written (its node: R0106, R0201… point at it). */
  nameNode: NameNode;
  parent: NameNode | undefined;
  input: Maybe<Located<Shape>>;
  classes: Maybe<Located<number>>;
  dropout: Maybe<Located<number>>;
  stem: Maybe<Located<StemLayerSpec[]>>;
  block: Maybe<BlockSpec>;
  shortcut: Maybe<Located<ShortcutOption>>;
  /** The norm as written; `groupsOrigin`: where `groups G` was written (R0233 points at it). */
  norm: Maybe<Located<NormSpec> & { groupsOrigin?: Origin }>;
  activation: Maybe<Located<ActivationSpec>>;
  outputStride: Maybe<Located<number>>;
  dropPath: Maybe<Located<number>>;
  pool: Maybe<Located<GlobalPoolKind>>;
  outputs: Maybe<Located<OutputName[]>>;
  stages: StageDecl[];
  expects: ExpectDecl[];
}

/** What the checker reports through; it decides where a diagnostic lands. The code decides the severity. */
export interface Reporter {
  report(code: Code, origin: Origin, message: string, extra?: { help?: string; related?: RelatedLocation[]; fixes?: Fix[] }): void;
}
