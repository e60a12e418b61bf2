import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { ModelNode } from '../syntax/ast.js';
import type { ModelDecl } from './declaration.js';
import { readDeclaration } from './read-declaration.js';
import { Collector } from './report.js';

/** A model node read: its declaration (undefined without a name), and what reading it found wrong. */
export interface ReadModel {
  decl: ModelDecl | undefined;
  diagnostics: Diagnostic[];
}

/**
 * The checker's second phase: each model's statements read into a declaration, once per
 * syntax node. An editor's partial re-parse keeps the nodes it did not touch (moved in
 * place when the edit changed the text's length), so their declarations, which hold the
 * nodes rather than copies of positions, stay right as they are: a keystroke reads one model.
 */
export class Declarations {
  private readonly read = new WeakMap<ModelNode, ReadModel & { path: string }>();

  of(node: ModelNode, path: string): ReadModel {
    let known = this.read.get(node);
    if (known?.path !== path) {
      const found = new Collector(path);
      known = { path, decl: readDeclaration(node, path, found.reporter()), diagnostics: found.diagnostics };
      this.read.set(node, known);
    }
    return known;
  }
}
