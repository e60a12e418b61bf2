import type { ModelDecl, StageDecl } from './declaration.js';

/**
 * `model CHILD extends PARENT`: start from the parent's statements; a stage of the
 * same name merges field by field, any other statement replaces the inherited one,
 * and `expect` lines are not inherited.
 */
export function mergeExtends(parent: ModelDecl, child: ModelDecl): ModelDecl {
  const pick = <K extends keyof ModelDecl>(key: K): ModelDecl[K] => (child[key] !== undefined ? child[key] : parent[key]);
  // By name, through maps: a model may have thousands of stages.
  const childStages = new Map(child.stages.map((s) => [s.name, s]));
  const parentNames = new Set(parent.stages.map((s) => s.name));
  const stages: StageDecl[] = parent.stages.map((inherited) => {
    const own = childStages.get(inherited.name);
    return own ? mergeStage(inherited, own) : inherited;
  });
  for (const own of child.stages) if (!parentNames.has(own.name)) stages.push(own);
  return {
    ...child,
    input: pick('input'),
    classes: pick('classes'),
    dropout: pick('dropout'),
    stem: pick('stem'),
    block: pick('block'),
    shortcut: pick('shortcut'),
    norm: pick('norm'),
    activation: pick('activation'),
    outputStride: pick('outputStride'),
    dropPath: pick('dropPath'),
    pool: pick('pool'),
    outputs: pick('outputs'),
    stages,
    expects: child.expects,
  };
}

function mergeStage(inherited: StageDecl, own: StageDecl): StageDecl {
  const pick = <K extends keyof StageDecl>(key: K): StageDecl[K] => (own[key] !== undefined ? own[key] : inherited[key]);
  return {
    name: own.name,
    origin: own.origin,
    nameOrigin: own.nameOrigin,
    blocks: pick('blocks'),
    width: pick('width'),
    stride: pick('stride'),
    dilation: pick('dilation'),
    block: pick('block'),
    shortcut: pick('shortcut'),
  };
}
