import { ErrorCodes, type Location, type Position, type Range, ResponseError, type TextEdit, type WorkspaceEdit } from 'vscode-languageserver';
import { quoted } from '../diagnostics/excerpt.js';
import { maxTokenLength } from '../syntax/limits.js';
import type { CheckedFile } from '../check/workspace.js';
import type { Span } from '../syntax/source.js';
import type { Slices } from './cooperate.js';
import { offsetOf, rangeOf } from './positions.js';
import type { Project } from './project.js';
import { type ModelSite, type StageSite, inheritedStage, resolveModel, rootStage, sameSite, stageNamed } from './resolve.js';
import { wordAt, type Word } from './words.js';

/** Go to definition, find references and rename: imports, `extends`, overridden stages, across files. */

function located(project: Project, file: CheckedFile, span: Span): Location {
  return { uri: project.uriOf(file.path), range: rangeOf(file.source, span) };
}

function wordAtPosition(project: Project, uri: string, position: Position): { file: CheckedFile; word: Word } | undefined {
  const file = project.checkUri(uri);
  if (!file) return undefined;
  const word = wordAt(file.syntax, file.source.text, offsetOf(file.source, position));
  return word ? { file, word } : undefined;
}

export function definition(project: Project, uri: string, position: Position): Location[] {
  const hit = wordAtPosition(project, uri, position);
  if (!hit) return [];
  const { file, word } = hit;
  switch (word.role) {
    case 'import-path': {
      const imp = file.syntax.imports.find((i) => i.path?.span === word.span);
      const target = imp ? file.imports.get(imp) : undefined;
      return target ? [{ uri: project.uriOf(target), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }] : [];
    }
    case 'extends-name': {
      const site = resolveModel(project, file, word.text);
      return site ? [located(project, site.file, site.model.name!.span)] : [];
    }
    case 'model-name':
      return [located(project, file, word.span)];
    case 'stage-name': {
      if (!word.model || word.statement?.kind !== 'stage') return [];
      const up = inheritedStage(project, { file, model: word.model }, word.text);
      return [located(project, up?.file ?? file, (up?.stage ?? word.statement).name!.span)];
    }
    default:
      return [];
  }
}

/** The model a word names, when it names one. */
function modelOfWord(project: Project, file: CheckedFile, word: Word): ModelSite | undefined {
  if (word.role === 'model-name' && word.model) return { file, model: word.model };
  if (word.role === 'extends-name') return resolveModel(project, file, word.text);
  return undefined;
}

/** Every place a model is named: its declaration and each `extends` that resolves to it. Pauses between files. */
export async function modelReferences(project: Project, target: ModelSite, includeDeclaration: boolean, slices: Slices): Promise<{ file: CheckedFile; span: Span }[]> {
  const name = target.model.name!.text;
  const out: { file: CheckedFile; span: Span }[] = [];
  if (includeDeclaration) out.push({ file: target.file, span: target.model.name!.span });
  for (const path of project.allFiles()) {
    if (slices.due()) await slices.pause();
    const parsed = project.workspace.parseFile(path);
    if (!parsed || !parsed.syntax.models.some((m) => m.extendsName?.text === name)) continue;
    const file = project.check(path);
    if (!file) continue;
    for (const m of file.syntax.models) {
      if (m.extendsName?.text !== name) continue;
      const site = resolveModel(project, file, name);
      if (site && sameSite(site, target)) out.push({ file, span: m.extendsName.span });
    }
  }
  return out;
}

/** Every stage statement that writes the same stage: the first declaration and every override of it. */
async function stageReferences(project: Project, target: StageSite, slices: Slices): Promise<{ file: CheckedFile; span: Span }[]> {
  const root = rootStage(project, target);
  const name = target.stage.name!.text;
  const out: { file: CheckedFile; span: Span }[] = [];
  for (const path of project.allFiles()) {
    if (slices.due()) await slices.pause();
    const parsed = project.workspace.parseFile(path);
    if (!parsed || !parsed.source.text.includes(name)) continue;
    const file = project.check(path);
    if (!file) continue;
    for (const model of file.syntax.models) {
      if (slices.due()) await slices.pause();
      const stage = stageNamed(model, name);
      if (!stage) continue;
      const r = rootStage(project, { file, model, stage });
      if (sameSite(r, root) && r.stage === root.stage) out.push({ file, span: stage.name!.span });
    }
  }
  return out;
}

export async function references(project: Project, uri: string, position: Position, includeDeclaration: boolean, slices: Slices): Promise<Location[]> {
  const hit = wordAtPosition(project, uri, position);
  if (!hit) return [];
  const { file, word } = hit;
  const model = modelOfWord(project, file, word);
  if (model) return (await modelReferences(project, model, includeDeclaration, slices)).map((r) => located(project, r.file, r.span));
  if (word.role === 'stage-name' && word.model && word.statement?.kind === 'stage') {
    return (await stageReferences(project, { file, model: word.model, stage: word.statement }, slices)).map((r) => located(project, r.file, r.span));
  }
  if (word.role === 'import-path') {
    const imp = file.syntax.imports.find((i) => i.path?.span === word.span);
    const target = imp ? file.imports.get(imp) : undefined;
    if (!target) return [];
    const out: Location[] = [];
    for (const path of project.allFiles()) {
      if (slices.due()) await slices.pause();
      const other = project.check(path);
      for (const [node, to] of other?.imports ?? []) if (to === target && node.path) out.push(located(project, other!, node.path.span));
    }
    return out;
  }
  return [];
}

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*$/;

export function prepareRename(project: Project, uri: string, position: Position): { range: Range; placeholder: string } | null {
  const hit = wordAtPosition(project, uri, position);
  if (!hit || !modelOfWord(project, hit.file, hit.word)) return null;
  return { range: rangeOf(hit.file.source, hit.word.span), placeholder: hit.word.text };
}

/** Renames a model: its declaration and every `extends` naming it, in every file of the workspace. */
export async function rename(project: Project, uri: string, position: Position, newName: string, slices: Slices): Promise<WorkspaceEdit | null> {
  const hit = wordAtPosition(project, uri, position);
  if (!hit) return null;
  const model = modelOfWord(project, hit.file, hit.word);
  if (!model) return null;
  if (!namePattern.test(newName) || newName.length > maxTokenLength) {
    throw new ResponseError(ErrorCodes.InvalidParams, `${quoted(newName)} is not a model name: use letters, digits, _ and - (at most ${maxTokenLength} characters)`);
  }
  const changes: Record<string, TextEdit[]> = {};
  for (const r of await modelReferences(project, model, true, slices)) {
    const u = project.uriOf(r.file.path);
    (changes[u] ??= []).push({ range: rangeOf(r.file.source, r.span), newText: newName });
  }
  return { changes };
}
