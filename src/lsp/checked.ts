import type { CheckedFile } from '../check/workspace.js';
import type { CheckedModel, Stage } from '../model/types.js';
import type { ModelNode, StageStatement } from '../syntax/ast.js';

/**
 * From syntax nodes to what the checker made of them: the checked model of a model
 * declaration, the checked stage of a stage statement. Each checked model and stage links to
 * the node that wrote it (its origin), so a node finds it wherever an edit has moved the
 * text; the links are indexed once per checked file (and model), so a provider going through
 * every model and stage of a document (the outline, inlay hints) is linear in its size.
 */

/** Checked models of a file by their declaration's node. */
const modelIndexes = new WeakMap<CheckedFile, Map<object, CheckedModel>>();
/** A model's stages by the node of their statement (in whichever file). */
const stageIndexes = new WeakMap<CheckedModel, Map<object, Stage>>();

/** The checked model a model declaration became (undefined when it has errors). */
export function checkedModelOf(file: CheckedFile, model: ModelNode | undefined): CheckedModel | undefined {
  if (!model) return undefined;
  let models = modelIndexes.get(file);
  if (!models) {
    models = new Map(file.models.map((m) => [m.origin.node, m]));
    modelIndexes.set(file, models);
  }
  return models.get(model);
}

/** The checked stage a stage statement wrote in a checked model (undefined when the model has no such stage). */
export function checkedStageOf(model: CheckedModel, statement: StageStatement): Stage | undefined {
  let stages = stageIndexes.get(model);
  if (!stages) {
    stages = new Map(model.stages.map((s) => [s.origin.node, s]));
    stageIndexes.set(model, stages);
  }
  return stages.get(statement);
}
