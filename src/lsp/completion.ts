import { dirname, relative } from 'node:path';
import type { IToken } from 'chevrotain';
import { type CompletionItem, CompletionItemKind, InsertTextFormat, type Position } from 'vscode-languageserver';
import { formatLike } from '../check/expect.js';
import type { CheckedFile, ParsedFile } from '../check/workspace.js';
import type { CheckedModel } from '../model/types.js';
import type { ModelNode } from '../syntax/ast.js';
import { readNumber } from '../syntax/literals.js';
import { LBrace, RBrace, tokenize } from '../syntax/tokens.js';
import { type Keyword, keywordAt, keywordsIn, keywordsNamed, spellings, type WordRole, type WordSet } from '../syntax/vocabulary.js';
import { blockKindDoc, keywordDoc, shortcutKindDoc, valueWordDoc } from './keyword-docs.js';
import { checkedModelOf } from './checked.js';
import { shapeText } from './hover.js';
import { compactCount } from '../model/count-format.js';
import { offsetOf } from './positions.js';
import { resnetFilesIn } from '../util/resnet-files.js';
import { type Project, uriToPath } from './project.js';
import { resolveModel } from './resolve.js';

/** Where the cursor stands: at the top of the file, or inside which kind of braces. */
export type Place = 'file' | 'model' | 'stem' | 'stage' | 'block' | 'norm' | 'unknown';

/** The keywords whose braces make a place. */
const owners = new Set(['model', 'stage', 'stem', 'block', 'norm']);

/** How completion shows the value words of each role. */
const itemKinds: Record<WordRole, CompletionItemKind> = {
  'block-kind': CompletionItemKind.EnumMember,
  'shortcut-kind': CompletionItemKind.EnumMember,
  'norm-kind': CompletionItemKind.EnumMember,
  activation: CompletionItemKind.Function,
  'pool-kind': CompletionItemKind.EnumMember,
  size: CompletionItemKind.Value,
};

/** The documentation of a value word, by the role of its set. */
function wordDoc(set: WordSet, word: string): string | undefined {
  if (set.role === 'block-kind') return blockKindDoc(word);
  if (set.role === 'shortcut-kind') return shortcutKindDoc(word);
  const what = { 'norm-kind': 'norm', activation: 'activation', 'pool-kind': 'pool' } as Partial<Record<WordRole, string>>;
  return valueWordDoc(set, word, what[set.role] ?? 'value');
}

interface Context {
  place: Place;
  /** Tokens from the start of the current model (or file) up to the word being typed. */
  tokens: IToken[];
  /** The model being written, if any (its header included). */
  model: ModelNode | undefined;
  /** The text of the line before the cursor. */
  linePrefix: string;
}

/** Works out where the cursor is from the tokens of the current model: tolerant of the half-typed text an editor holds. */
export function completionContext(file: ParsedFile, offset: number): Context {
  const text = file.source.text;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const linePrefix = text.slice(lineStart, offset);
  const partial = /[A-Za-z0-9_-]*$/.exec(linePrefix)![0];
  const end = offset - partial.length;
  let model: ModelNode | undefined;
  for (const m of file.syntax.models) if (m.span.start < end) model = m;
  const from = model ? model.span.start : 0;
  const tokens = tokenize(text.slice(from, end)).tokens;
  const stack: Place[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.tokenType === LBrace) {
      let owner: Place = 'unknown';
      for (let j = i - 1; j >= 0; j--) {
        const image = tokens[j]!.image;
        if (tokens[j]!.tokenType === LBrace || tokens[j]!.tokenType === RBrace) break;
        if (owners.has(image) && !(j > 0 && owners.has(tokens[j - 1]!.image) && tokens[j - 1]!.image !== 'model')) {
          owner = image as Place;
          break;
        }
      }
      stack.push(owner);
    } else if (t.tokenType === RBrace) stack.pop();
  }
  const place: Place = stack.length > 0 ? stack[stack.length - 1]! : 'file';
  // At the top level the last model before the cursor only counts while its header is being written.
  const inHeader = model !== undefined && (model.bodySpan === undefined || end <= model.bodySpan.start);
  return { place, tokens, model: place === 'file' && !inHeader ? undefined : model, linePrefix };
}

export function completion(project: Project, uri: string, position: Position): CompletionItem[] {
  // The place and the vocabulary need only the syntax; the checked file is asked for (and
  // checked if an edit just came in) only for what depends on it: models in scope, the
  // parent's stages, actual counts.
  const path = uriToPath(uri);
  const file = project.workspace.parseFile(path);
  if (!file) return [];
  const checked = (): CheckedFile | undefined => project.check(path);
  const offset = offsetOf(file.source, position);
  const ctx = completionContext(file, offset);

  // Inside the quotes of an import: file paths.
  const quoted = /^\s*import\s+"([^"]*)$/.exec(ctx.linePrefix);
  if (quoted) return importPaths(file, false);

  const last = ctx.tokens[ctx.tokens.length - 1];
  const before = ctx.tokens[ctx.tokens.length - 2];
  if (last) {
    const word = last.image;
    if (word === 'import' && /\bimport\s+$/.test(ctx.linePrefix)) return importPaths(file, true);
    if (word === 'extends') return modelsInScope(project, checked(), ctx.model);
    if (before?.image === 'model' && ctx.place === 'file') return keywordsIn('header').map((k) => keywordItem(k));
    if (before?.image === 'expect' && (word === 'params' || word === 'macs' || word === 'output')) return actualValue(checked(), ctx.model, word);
    if (word === 'stage' && ctx.place === 'model') return inheritedStages(project, ctx.model?.extendsName ? checked() : undefined, ctx.model, false);
    const keyword = isKeywordToken(last) ? (ctx.place !== 'unknown' ? keywordAt(ctx.place, word) : undefined) ?? keywordsNamed(word)[0] : undefined;
    const value = keyword?.value;
    if (value?.kind === 'word') {
      return spellings(value.words).map((w) => {
        const doc = wordDoc(value.words, w);
        return { label: w, kind: itemKinds[value.words.role], ...(doc ? { documentation: { kind: 'markdown' as const, value: doc } } : {}) };
      });
    }
    if (value?.kind === 'keyword') return keywordsIn(value.place).map((k) => keywordItem(k));
    if (value?.kind === 'names' || (ctx.place === 'model' && listsOutputs(ctx))) return outputNames(ctx.model);
    // A number, size, path or new name follows: nothing to offer from the vocabulary.
    if (value && value.kind !== 'body') return [];
  }

  const written = writtenHere(ctx);
  const here = ctx.place === 'unknown' ? [] : keywordsIn(ctx.place);
  const items: CompletionItem[] = here.filter((k) => k.repeatable || !written.has(k.word)).map((k) => keywordItem(k));
  return ctx.place === 'model' && ctx.model?.extendsName ? items.concat(inheritedStages(project, checked(), ctx.model, true)) : items;
}

/** Whether the cursor follows `outputs` and the names after it on its line. */
function listsOutputs(ctx: Context): boolean {
  return /\boutputs(\s+[A-Za-z_][\w-]*)*\s+$/.test(ctx.linePrefix);
}

/** What `outputs` may list: the model's stages as written here, `stem`, and `logits`. */
function outputNames(model: ModelNode | undefined): CompletionItem[] {
  const stages = (model?.statements ?? []).flatMap((s) => (s.kind === 'stage' && s.name ? [s.name.text] : []));
  return [
    ...stages.map((label) => ({ label, kind: CompletionItemKind.Field, detail: 'stage' })),
    { label: 'stem', kind: CompletionItemKind.Field, detail: "the stem's last layer" },
    { label: 'logits', kind: CompletionItemKind.Field, detail: "the head's output (needs classes)" },
  ];
}

function isKeywordToken(t: IToken): boolean {
  return t.tokenType.name.startsWith('Kw_');
}

function keywordItem(k: Keyword): CompletionItem {
  return {
    label: k.word,
    kind: k.snippet?.includes('{\n') ? CompletionItemKind.Snippet : CompletionItemKind.Keyword,
    detail: k.syntax,
    documentation: { kind: 'markdown', value: keywordDoc(k) },
    ...(k.snippet ? { insertText: k.snippet, insertTextFormat: InsertTextFormat.Snippet } : {}),
  };
}

/** The statements already written in the innermost braces around the cursor. */
function writtenHere(ctx: Context): Set<string> {
  const written = new Set<string>();
  let depth = 0;
  for (let i = ctx.tokens.length - 1; i >= 0; i--) {
    const t = ctx.tokens[i]!;
    if (t.tokenType === RBrace) depth++;
    else if (t.tokenType === LBrace) {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && isKeywordToken(t)) {
      const prev = ctx.tokens[i - 1];
      // `block` and `shortcut` name kinds after them; `stride` after a layer is the layer's option.
      if (prev && (prev.image === 'expect' || (ctx.place === 'stem' && isKeywordToken(prev)))) continue;
      written.add(t.image);
    }
  }
  return written;
}

function modelsInScope(project: Project, file: CheckedFile | undefined, current: ModelNode | undefined): CompletionItem[] {
  const items: CompletionItem[] = [];
  if (!file) return items;
  const add = (name: string, from: CheckedFile, node: ModelNode): void => {
    if (node === current || items.some((i) => i.label === name)) return;
    const model = checkedModelOf(from, node);
    items.push({
      label: name,
      kind: CompletionItemKind.Class,
      detail: model ? `${compactCount(model.totals.params)} params · ${compactCount(model.totals.macs)} MACs → ${shapeText(model.output)}` : undefined,
      labelDetails: from === file ? undefined : { description: relative(dirname(file.path), from.path) },
    });
  };
  for (const [name, node] of file.declarations) add(name, file, node);
  for (const target of file.imports.values()) {
    const imported = project.check(target);
    for (const [name, node] of imported?.declarations ?? []) add(name, imported!, node);
  }
  return items;
}

/** In an `extends` model: the parent's stages, to override (those not overridden yet when `unwritten`). */
function inheritedStages(project: Project, file: CheckedFile | undefined, model: ModelNode | undefined, asStatements: boolean): CompletionItem[] {
  if (!file || !model?.extendsName) return [];
  const parent = resolveModel(project, file, model.extendsName.text);
  const checked = parent ? checkedModelOf(parent.file, parent.model) : undefined;
  if (!checked) return [];
  const overridden = new Set(model.statements.flatMap((s) => (s.kind === 'stage' && s.name ? [s.name.text] : [])));
  return checked.stages
    .filter((s) => !overridden.has(s.name))
    .map((s, i) => ({
      label: asStatements ? `stage ${s.name}` : s.name,
      kind: CompletionItemKind.Module,
      detail: `inherited from ${checked.name}: blocks ${s.depth}, width ${s.width}${s.stride !== 1 ? `, stride ${s.stride}` : ''} → ${shapeText(s.out)}`,
      insertText: `${asStatements ? 'stage ' : ''}${s.name} { blocks \${1:${s.depth}} }`,
      insertTextFormat: InsertTextFormat.Snippet,
      sortText: `~${String(i).padStart(3, '0')}`,
    }));
}

/** After `expect params`: the model's actual count (and after `expect output`, its shape). */
function actualValue(file: CheckedFile | undefined, node: ModelNode | undefined, what: string): CompletionItem[] {
  const model: CheckedModel | undefined = file ? checkedModelOf(file, node) : undefined;
  if (!model) return [];
  if (what === 'output') return [{ label: shapeText(model.output), kind: CompletionItemKind.Value, detail: 'what the last stage outputs' }];
  const count = what === 'params' ? model.totals.params : model.totals.macs;
  const exact = formatLike(readNumber('1_000', { start: 0, end: 0 }), count);
  const rounded = formatLike(readNumber(count >= 1e9 ? '1.00G' : '1.00M', { start: 0, end: 0 }), count);
  return [
    { label: exact, kind: CompletionItemKind.Value, detail: `the model's ${what}, exactly`, sortText: '0' },
    { label: rounded, kind: CompletionItemKind.Value, detail: `the model's ${what}, rounded`, sortText: '1' },
  ];
}

function importPaths(file: ParsedFile, quote: boolean): CompletionItem[] {
  const dir = dirname(file.path);
  return resnetFilesIn(dir, 200)
    .filter((p) => p !== file.path)
    .map((p) => relative(dir, p))
    .sort()
    .map((rel) => ({ label: rel, kind: CompletionItemKind.File, insertText: quote ? `"${rel}"` : rel }));
}
