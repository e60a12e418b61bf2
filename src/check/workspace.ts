import { basename, dirname, resolve } from 'node:path';
import { CodedError } from '../diagnostics/coded-error.js';
import type { Code } from '../diagnostics/codes.js';
import { codes } from '../diagnostics/codes.js';
import type { Diagnostic, Fix, RelatedLocation } from '../diagnostics/diagnostic.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { CheckedModel, Origin } from '../model/types.js';
import { detach, type FileNode, type ImportNode, type ModelNode } from '../syntax/ast.js';
import { parse } from '../syntax/parse.js';
import { SourceText, type Span } from '../syntax/source.js';
import { type BlockSummary, buildModel } from './build.js';
import type { ModelDecl, Reporter } from './declaration.js';
import { checkExpects } from './expect.js';
import { type FileHost, diskHost } from './host.js';
import { mergeExtends } from './merge.js';
import { reportWarnings } from './warnings.js';
import { readDeclaration } from './read-declaration.js';
import { Relocation } from './relocate.js';

/** A parsed file, kept while its text is unchanged. */
export interface ParsedFile {
  path: string;
  source: SourceText;
  syntax: FileNode;
  diagnostics: Diagnostic[];
}

/** A model built from a merged declaration (undefined when it could not be), with the diagnostics building gave. */
interface Built {
  model: CheckedModel | undefined;
  diagnostics: Diagnostic[];
}

/**
 * What reading a model's syntax node gave, and where the node was then. An editor's partial
 * re-parse moves unchanged nodes in place (src/lsp/incremental.ts): a node found elsewhere
 * than `span` says its model moved, unchanged, by the difference.
 */
interface ReadDeclaration {
  path: string;
  span: Span;
  decl: ModelDecl | undefined;
  diagnostics: Diagnostic[];
}

interface MovedBuild {
  /** The parent the earlier declaration was merged with (none without `extends`). */
  parent: ModelDecl | undefined;
  build: Built;
  relocation: Relocation;
}

/** Everything the checker knows about one file. */
export interface CheckedFile extends ParsedFile {
  /** Syntax and checker diagnostics of this file, in source order. */
  diagnostics: Diagnostic[];
  /** The models this file declares, checked (those that could be built). */
  models: CheckedModel[];
  /** Every model declared in the file by name, built or not, with its declaration's node. */
  declarations: Map<string, ModelNode>;
  /** Resolved absolute paths of the file's imports, by import node. */
  imports: Map<ImportNode, string>;
  /** The models visible in the file (its own, then its imports'), each with the path of the file declaring it. */
  scope: Map<string, string>;
}

interface FileState {
  parsed: ParsedFile;
  diagnostics: Diagnostic[];
  decls: Map<string, ModelDecl>;
  /** Models visible in the file: its own, then those of the files it imports. */
  scope: Map<string, { file: string; decl: ModelDecl }>;
  imports: Map<ImportNode, string>;
  /** Imports that are part of a cycle (reported as such, not as imported errors). */
  cyclic: Set<ImportNode>;
}

/**
 * The checker's entry point: files in, checked files out. Parses are cached by text,
 * so an editor can ask again after every keystroke and only changed files are re-read.
 * Each `check` call works on a consistent snapshot of the host.
 */
export class Workspace {
  private parseCache = new Map<string, ParsedFile>();
  /** Files the host refused to read (a FIFO, too large…), with why, until read again. */
  private refusals = new Map<string, CodedError>();
  /**
   * A block's counts by its configuration (build.ts). Pure, so kept across checks: an
   * editor re-checking after each keystroke builds only blocks it has not seen.
   */
  readonly blockSummaries = new BoundedMap<string, BlockSummary>(50_000);
  /**
   * What the checker made of each model, kept while its inputs are the same objects: a
   * syntax node's declaration, a declaration merged with a given parent, the model built
   * from a merged declaration — each with the diagnostics it gave. An editor's partial
   * re-parse keeps the nodes it did not touch, so a keystroke re-checks one model.
   */
  readonly declarations = new WeakMap<ModelNode, ReadDeclaration>();
  readonly merges = new WeakMap<ModelDecl, { parent: ModelDecl; merged: ModelDecl }>();
  readonly builds = new WeakMap<ModelDecl, Built>();
  /**
   * Declarations of models an edit only moved, with what the checker made of their earlier
   * selves and the move; each is used once. The entry holds the earlier build, never the
   * earlier declaration: that one's own entry would keep the one before it, and so on back
   * to the first keystroke.
   */
  readonly relocated = new WeakMap<ModelDecl, MovedBuild>();

  constructor(private readonly host: FileHost = diskHost) {}

  /** Parses a file (cached while its text is unchanged); undefined when it cannot be read. */
  parseFile(path: string): ParsedFile | undefined {
    const abs = resolve(path);
    let text: string | undefined;
    try {
      text = this.host.readFile(abs);
      this.refusals.delete(abs);
    } catch (e) {
      if (!(e instanceof CodedError)) throw e;
      this.refusals.set(abs, e);
    }
    if (text === undefined) {
      this.parseCache.delete(abs);
      return undefined;
    }
    const cached = this.parseCache.get(abs);
    if (cached && cached.source.text === text) return cached;
    const result = parse(text, abs);
    const parsed: ParsedFile = { path: abs, source: new SourceText(abs, text), syntax: result.file, diagnostics: result.diagnostics };
    this.parseCache.set(abs, parsed);
    return parsed;
  }

  /** Why the host refused to read a file when it was last asked for (FileHost.readFile), if it did. */
  readError(path: string): CodedError | undefined {
    return this.refusals.get(resolve(path));
  }

  /** Checks a file and the files it imports; undefined when the file cannot be read (readError says why, when the host said). */
  check(path: string): CheckedFile | undefined {
    return new CheckRun(this).checkFile(resolve(path));
  }

  /** Forgets a file's parse, e.g. when an editor closes it. */
  forget(path: string): void {
    this.parseCache.delete(resolve(path));
  }

  /**
   * Uses a parse made elsewhere for a file's current text (the language server re-parses
   * only the lines an edit touched, with the same parser); it is kept like any other parse
   * while the host returns that text.
   */
  remember(parsed: ParsedFile): void {
    this.parseCache.set(resolve(parsed.path), parsed);
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

/** One consistent pass over the files reachable from those asked for. */
class CheckRun {
  private states = new Map<string, FileState | null>();
  /** Files being loaded, outermost first, each with the import it is following. */
  private loading: { path: string; state: FileState; following?: ImportNode }[] = [];
  private effective = new Map<ModelDecl, ModelDecl | null>();
  private resolving = new Set<ModelDecl>();
  private checkedFiles = new Map<string, CheckedFile>();

  constructor(private readonly workspace: Workspace) {}

  checkFile(path: string): CheckedFile | undefined {
    const state = this.load(path);
    if (!state) return undefined;
    const done = this.checkedFiles.get(path);
    if (done) return done;

    const models: CheckedModel[] = [];
    const report = this.reporterFor(state);
    for (const decl of state.decls.values()) {
      const merged = this.resolveExtends(decl, state);
      if (!merged) continue;
      let built = this.workspace.builds.get(merged) ?? this.movedBuild(decl, merged);
      if (built) state.diagnostics.push(...built.diagnostics);
      else {
        const mark = state.diagnostics.length;
        const base = buildModel(merged, report.forModel(decl), this.workspace.blockSummaries);
        if (base) reportWarnings(merged, base, report.forModel(decl));
        const model = base && { ...base, expects: checkExpects(base, decl.expects, report.forModel(decl)) };
        built = { model, diagnostics: state.diagnostics.slice(mark) };
        this.workspace.builds.set(merged, built);
      }
      if (built.model) models.push(built.model);
    }
    this.reportImports(state);
    const declarations = new Map<string, ModelNode>();
    for (const m of state.parsed.syntax.models) if (m.name && !declarations.has(m.name.text)) declarations.set(m.name.text, m);
    const all = [...state.parsed.diagnostics, ...state.diagnostics].sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
    const scope = new Map([...state.scope].map(([name, { file }]) => [name, file]));
    const checked: CheckedFile = { ...state.parsed, diagnostics: dedupe(all), models, declarations, imports: state.imports, scope };
    this.checkedFiles.set(path, checked);
    return checked;
  }

  /** Parses a file and reads its declarations and imports; null when it cannot be read. */
  private load(path: string): FileState | null {
    const known = this.states.get(path);
    if (known !== undefined) return known;
    const parsed = this.workspace.parseFile(path);
    if (!parsed) {
      this.states.set(path, null);
      return null;
    }
    const state: FileState = { parsed, diagnostics: [], decls: new Map(), scope: new Map(), imports: new Map(), cyclic: new Set() };
    this.states.set(path, state);
    const frame: (typeof this.loading)[number] = { path, state };
    this.loading.push(frame);
    const report = this.reporterFor(state);
    const syntax = parsed.syntax;

    let seenModel = false;
    for (const item of syntax.items) {
      if (item.kind === 'model') seenModel = true;
      else if (seenModel) {
        report.at('R0107', item.span, 'imports come before the first model', { help: 'move this line to the top of the file' });
      }
    }
    if (syntax.models.length === 0 && parsed.diagnostics.length === 0) {
      report.at('R0108', { start: 0, end: 0 }, 'this file declares no model', { help: 'add one, e.g. `model mynet { … }`' });
    }

    for (const node of syntax.models) {
      let read = this.workspace.declarations.get(node);
      if (read?.path === path && read.span.start === node.span.start) state.diagnostics.push(...read.diagnostics);
      else {
        const earlier = read?.path === path ? read : undefined;
        const mark = state.diagnostics.length;
        const decl = readDeclaration(node, path, report.plain());
        read = { path, span: { start: node.span.start, end: node.span.end }, decl, diagnostics: state.diagnostics.slice(mark) };
        this.workspace.declarations.set(node, read);
        if (decl && earlier) this.noteMove(path, earlier, node, decl);
      }
      const decl = read.decl;
      if (!decl) continue;
      const first = state.decls.get(decl.name);
      if (first) {
        report.at('R0106', decl.nameSpan, `model '${decl.name}' is already declared in this file`, {
          related: [{ file: path, span: first.nameSpan, message: 'first declared here' }],
        });
        continue;
      }
      state.decls.set(decl.name, decl);
      state.scope.set(decl.name, { file: path, decl });
    }

    const importedPaths = new Map<string, ImportNode>();
    for (const imp of syntax.imports) {
      if (!imp.path) continue;
      const target = resolve(dirname(path), imp.path.value);
      const earlier = importedPaths.get(target);
      if (earlier) {
        report.at('R0110', imp.span, `'${imp.path.value}' is already imported`, {
          related: [{ file: path, span: earlier.span, message: 'first imported here' }],
          fixes: [{ title: 'remove this import', span: imp.span, newText: '' }],
        });
        continue;
      }
      importedPaths.set(target, imp);
      if (!target.endsWith('.resnet')) {
        // Never read (and quote) a file that is not a spec: docs/files.md.
        report.at('R0814', imp.path.span, `'${imp.path.value}' is not a .resnet file`, { help: 'an import names a spec: a file whose name ends in .resnet' });
        continue;
      }
      const cycleStart = this.loading.findIndex((f) => f.path === target);
      if (cycleStart >= 0) {
        frame.following = imp;
        this.reportCycle(this.loading.slice(cycleStart));
        continue;
      }
      frame.following = imp;
      const imported = this.load(target);
      if (!imported) {
        const refused = this.workspace.readError(target);
        if (refused) report.at(refused.code, imp.path.span, refused.message, refused.help ? { help: refused.help } : {});
        else report.at('R0101', imp.path.span, `cannot find '${imp.path.value}'`, { help: `looked for ${target}` });
        continue;
      }
      state.imports.set(imp, target);
      for (const [name, decl] of imported.decls) {
        const own = state.scope.get(name);
        if (own) {
          if (own.file === path) {
            report.at('R0106', own.decl.nameSpan, `model '${name}' is also declared in '${imp.path.value}'`, {
              related: [{ file: target, span: decl.nameSpan, message: 'declared there' }],
            });
          }
          continue;
        }
        state.scope.set(name, { file: target, decl });
      }
    }
    this.loading.pop();
    return state;
  }

  /** Every file of an import cycle gets the error, at its import that leads around the cycle. */
  private reportCycle(cycle: { path: string; state: FileState; following?: ImportNode }[]): void {
    const names = cycle.map((f) => displayName(f.path));
    for (const [i, f] of cycle.entries()) {
      const imp = f.following!;
      if (f.state.cyclic.has(imp)) continue;
      f.state.cyclic.add(imp);
      const around = [...names.slice(i), ...names.slice(0, i), names[i]].join(' -> ');
      this.reporterFor(f.state).at('R0102', imp.path!.span, `importing '${imp.path!.value}' makes a cycle: ${around}`, {
        help: 'files cannot import each other, directly or through others; move the shared models to a file both import',
      });
    }
  }

  /**
   * A model the edit only moved: reading its declaration again is cheap, building it is
   * not, so remember what its earlier declaration built — movedBuild moves that model.
   */
  private noteMove(path: string, earlier: ReadDeclaration, node: ModelNode, decl: ModelDecl): void {
    const by = node.span.start - earlier.span.start;
    if (!earlier.decl || node.span.end - earlier.span.end !== by) return;
    const merge = earlier.decl.parent ? this.workspace.merges.get(earlier.decl) : undefined;
    const build = this.workspace.builds.get(merge?.merged ?? earlier.decl);
    if (!build) return;
    this.workspace.relocated.set(decl, { parent: merge?.parent, build, relocation: new Relocation(path, earlier.span, by) });
  }

  /** The model built from a moved declaration's earlier self, when it had the same parent. */
  private movedBuild(decl: ModelDecl, merged: ModelDecl): Built | undefined {
    const move = this.workspace.relocated.get(decl);
    if (!move) return undefined;
    this.workspace.relocated.delete(decl);
    const parentNow = merged === decl ? undefined : this.workspace.merges.get(decl)?.parent;
    if (move.parent !== parentNow) return undefined;
    const earlier = move.build;
    const built = { model: earlier.model && move.relocation.model(earlier.model), diagnostics: move.relocation.diagnostics(earlier.diagnostics) };
    this.workspace.builds.set(merged, built);
    return built;
  }

  /** Import problems that need the imported files checked: errors inside them, unused imports. */
  private reportImports(state: FileState): void {
    const report = this.reporterFor(state);
    const used = new Set<string>();
    for (const decl of state.decls.values()) {
      const parent = decl.parent ? state.scope.get(decl.parent.text) : undefined;
      if (parent) used.add(parent.file);
    }
    for (const [imp, target] of state.imports) {
      if (state.cyclic.has(imp)) continue;
      const checked = this.checkFile(target);
      const errors = checked?.diagnostics.filter((d) => d.severity === 'error') ?? [];
      if (errors.length > 0) {
        const first = errors[0]!;
        const at = checked!.source.position(first.span.start);
        report.at('R0103', imp.path!.span, `'${imp.path!.value}' has ${errors.length} ${errors.length === 1 ? 'error' : 'errors'}`, {
          related: [{ file: target, span: first.span, message: `${first.message} (${at.line}:${at.column})` }],
        });
      } else if (!used.has(target)) {
        report.at('R0109', imp.span, `nothing from '${imp.path!.value}' is used`, {
          help: 'models from an import are used by `extends`',
          fixes: [{ title: 'remove this import', span: imp.span, newText: '' }],
        });
      }
    }
  }

  /** A declaration with everything it inherits merged in; null when its parent cannot be had. */
  private resolveExtends(decl: ModelDecl, state: FileState): ModelDecl | null {
    const known = this.effective.get(decl);
    if (known !== undefined) return known;
    if (!decl.parent) {
      this.effective.set(decl, decl);
      return decl;
    }
    const report = this.reporterFor(state);
    const parentName = decl.parent.text;
    const found = state.scope.get(parentName);
    let result: ModelDecl | null = null;
    if (!found) {
      const suggestion = didYouMean(parentName, state.scope.keys());
      report.at('R0104', decl.parent.span, `no model named '${parentName}' here`, {
        help: suggestion ? `did you mean '${suggestion}'?` : 'declare it in this file, or import the file that declares it',
        fixes: suggestion ? [{ title: `change to '${suggestion}'`, span: decl.parent.span, newText: suggestion }] : [],
      });
    } else if (this.resolving.has(found.decl) || found.decl === decl) {
      report.at('R0105', decl.parent.span, `'${decl.name}' extends itself through '${parentName}'`, { help: 'a model cannot inherit from its own descendants' });
    } else {
      this.resolving.add(decl);
      const parentState = found.file === state.parsed.path ? state : this.load(found.file);
      const parent = parentState ? this.resolveExtends(found.decl, parentState) : null;
      this.resolving.delete(decl);
      if (parent) {
        const known = this.workspace.merges.get(decl);
        result = known?.parent === parent ? known.merged : mergeExtends(parent, decl);
        this.workspace.merges.set(decl, { parent, merged: result });
      }
    }
    this.effective.set(decl, result);
    return result;
  }

  private reporterFor(state: FileState): FileReporter {
    return new FileReporter(state);
  }
}

type Extra = { help?: string; related?: RelatedLocation[]; fixes?: Fix[] };

/** Adds diagnostics to one file; `forModel` moves those about inherited statements to the `extends`. */
class FileReporter {
  constructor(private readonly state: FileState) {}

  at(code: Code, span: Span, message: string, extra: Extra = {}): void {
    // Copies: the syntax tree's spans move in place when an editor re-parses (src/lsp/incremental.ts).
    this.state.diagnostics.push({ code, severity: codes[code].severity, message, file: this.state.parsed.path, span: detach(span), ...detach(extra) });
  }

  plain(): Reporter {
    return { report: (code, origin, message, extra) => this.at(code, origin, message, extra) };
  }

  forModel(decl: ModelDecl): Reporter {
    const file = this.state.parsed.path;
    const inside = (o: Origin): boolean => o.file === file && o.start >= decl.origin.start && o.end <= decl.origin.end;
    const place = (code: Code, origin: Origin, message: string, extra: Extra = {}): void => {
      if (inside(origin) || !decl.parent) {
        this.at(code, origin, message, extra);
        return;
      }
      // The cause was inherited: say so at the `extends`, and point at where it was written.
      this.at(code, decl.parent.span, `${message} (inherited from '${decl.parent.text}')`, {
        help: extra.help,
        related: [{ file: origin.file, span: origin, message: 'written here' }, ...(extra.related ?? [])],
      });
    };
    return { report: place };
  }
}

function displayName(path: string): string {
  return basename(path);
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}:${d.span.start}:${d.span.end}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
