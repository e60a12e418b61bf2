import type { CheckedFile } from '../check/workspace.js';
import type { ModelNode, StageStatement } from '../syntax/ast.js';
import type { Project } from './project.js';

/** A model's declaration: the file and the syntax node. */
export interface ModelSite {
  file: CheckedFile;
  model: ModelNode;
}

export interface StageSite extends ModelSite {
  stage: StageStatement;
}

/** The model a name means in a file: the checker's scope says which file declares it. */
export function resolveModel(project: Project, file: CheckedFile, name: string): ModelSite | undefined {
  const path = file.scope.get(name);
  const declaring = path === undefined ? undefined : path === file.path ? file : project.check(path);
  const model = declaring?.declarations.get(name);
  return declaring && model ? { file: declaring, model } : undefined;
}

export function stageNamed(model: ModelNode, name: string): StageStatement | undefined {
  return model.statements.find((s): s is StageStatement => s.kind === 'stage' && s.name?.text === name);
}

/** The nearest ancestor of a model that writes a stage of this name (the stage it overrides). */
export function inheritedStage(project: Project, site: ModelSite, name: string): StageSite | undefined {
  const seen = new Set<ModelNode>([site.model]);
  let current = site;
  while (current.model.extendsName) {
    const parent = resolveModel(project, current.file, current.model.extendsName.text);
    if (!parent || seen.has(parent.model)) return undefined;
    seen.add(parent.model);
    const stage = stageNamed(parent.model, name);
    if (stage) return { ...parent, stage };
    current = parent;
  }
  return undefined;
}

/** Where a stage was first written: the farthest ancestor declaring it, or the stage itself. */
export function rootStage(project: Project, site: StageSite): StageSite {
  let root = site;
  for (let i = 0; i < 100; i++) {
    const up = inheritedStage(project, root, site.stage.name!.text);
    if (!up) break;
    root = up;
  }
  return root;
}

/** Whether `model` extends `ancestor`, directly or through others. */
export function extendsModel(project: Project, site: ModelSite, ancestor: ModelSite): boolean {
  const seen = new Set<ModelNode>();
  let current: ModelSite | undefined = site;
  while (current && !seen.has(current.model)) {
    if (current.model === ancestor.model) return true;
    seen.add(current.model);
    const parent: string | undefined = current.model.extendsName?.text;
    current = parent ? resolveModel(project, current.file, parent) : undefined;
  }
  return false;
}

export function sameSite(a: ModelSite, b: ModelSite): boolean {
  return a.model === b.model;
}
