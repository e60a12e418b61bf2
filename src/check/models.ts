import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { CheckedModel } from '../model/types.js';
import { type BlockSummary, buildModel } from './build.js';
import type { ModelDecl } from './declaration.js';
import { checkExpects } from './expect.js';
import { mergeExtends } from './merge.js';
import { Collector } from './report.js';
import { reportWarnings } from './warnings.js';

/** A model built from a merged declaration (undefined when it could not be), with what building found. */
export interface Built {
  model: CheckedModel | undefined;
  diagnostics: Diagnostic[];
}

/**
 * The checker's last phase: declarations merged with their parents and built into checked
 * models. Each result is kept while its inputs are the same objects (a declaration merged
 * with a given parent, the model built from a merged declaration), so the models an edit did
 * not touch are not built again; and a block's counts by its configuration, kept across
 * checks, so a new model builds only the blocks not seen before.
 */
export class Models {
  /** A block's counts by its configuration (build.ts): pure, so kept across checks. */
  private readonly blockSummaries = new BoundedMap<string, BlockSummary>(50_000);
  private readonly merges = new WeakMap<ModelDecl, { parent: ModelDecl; merged: ModelDecl }>();
  private readonly builds = new WeakMap<ModelDecl, Built>();

  /** `child` with what it inherits from `parent` merged in (merge.ts). */
  merged(parent: ModelDecl, child: ModelDecl): ModelDecl {
    const known = this.merges.get(child);
    if (known?.parent === parent) return known.merged;
    const merged = mergeExtends(parent, child);
    this.merges.set(child, { parent, merged });
    return merged;
  }

  /** The model built from `merged`, the declaration `decl` merged with what it inherits (itself without `extends`). */
  build(decl: ModelDecl, merged: ModelDecl): Built {
    let built = this.builds.get(merged);
    if (!built) {
      const found = new Collector(decl.file);
      const report = found.forModel(decl);
      const base = buildModel(merged, report, this.blockSummaries);
      if (base) reportWarnings(merged, base, report);
      const model = base && { ...base, expects: checkExpects(base, decl.expects, report) };
      built = { model, diagnostics: found.diagnostics };
      this.builds.set(merged, built);
    }
    return built;
  }
}

/** A Map that forgets its oldest entries past a size. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
