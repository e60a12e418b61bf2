import type { CheckedFile } from '../check/workspace.js';
import type { CheckedModel, Stage } from '../model/types.js';
import type { ModelNode } from '../syntax/ast.js';

/**
 * From syntax nodes to what the checker made of them: the checked model of a model
 * declaration, the checked stage of a stage statement. Looked up in maps made once per
 * checked file (and model), so a provider going through every model and stage of a document
 * (the outline, inlay hints) is linear in its size, not quadratic.
 */

/** Checked models of a file by the offset where their declaration starts. */
const modelIndexes = new WeakMap<CheckedFile, Map<number, CheckedModel>>();
/** A model's stages written in one file, by the offset where their statement starts. */
const stageIndexes = new WeakMap<CheckedModel, { file: string; stages: Map<number, Stage> }>();

/** The checked model a model declaration became (undefined when it has errors). */
export function checkedModelOf(file: CheckedFile, model: ModelNode | undefined): CheckedModel | undefined {
  const name = model?.name?.text;
  if (name === undefined) return undefined;
  let models = modelIndexes.get(file);
  if (!models) {
    models = new Map();
    for (const m of file.models) if (!models.has(m.origin.start)) models.set(m.origin.start, m);
    modelIndexes.set(file, models);
  }
  const found = models.get(model!.span.start);
  return found?.name === name ? found : undefined;
}

/** The checked stage a stage statement of `file` became. */
export function checkedStageAt(model: CheckedModel, file: string, start: number): Stage | undefined {
  let index = stageIndexes.get(model);
  if (index?.file !== file) {
    const stages = new Map<number, Stage>();
    for (const s of model.stages) if (s.origin.file === file && !stages.has(s.origin.start)) stages.set(s.origin.start, s);
    index = { file, stages };
    stageIndexes.set(model, index);
  }
  return index.stages.get(start);
}
