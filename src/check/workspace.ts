import { basename, dirname, resolve } from 'node:path';
import type { CodedError } from '../diagnostics/coded-error.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { CheckedModel } from '../model/types.js';
import type { ImportNode, ModelNode } from '../syntax/ast.js';
import type { ModelDecl } from './declaration.js';
import { Declarations } from './declarations.js';
import { Files, type ParsedFile } from './files.js';
import { type FileHost, diskHost } from './host.js';
import { Models } from './models.js';
import { withoutConsequences } from './recovery.js';
import { Collector } from './report.js';

export type { ParsedFile } from './files.js';

/**
 * The longest import chain read, in files (R0111): a file importing a file importing a
 * file… Each file of a chain is read and checked; docs/limits.md lists every limit.
 */
export const maxImportDepth = 100;

/** The most generations of `extends` above a model (R0112): each one merges the chain again. */
export const maxExtendsDepth = 100;

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

/** A file in one check: what loading it and its imports found, and the diagnostics of this check about it. */
interface FileState {
  parsed: ParsedFile;
  /** This file's diagnostics, gathered in the order found: each phase's, as it returns them. */
  found: Collector;
  decls: Map<string, ModelDecl>;
  /** Models visible in the file: its own, then those of the files it imports. */
  scope: Map<string, { file: string; decl: ModelDecl }>;
  imports: Map<ImportNode, string>;
  /** Imports that are part of a cycle (reported as such, not as imported errors). */
  cyclic: Set<ImportNode>;
}

/**
 * The checker's entry point: files in, checked files out. Its phases keep what they made
 * while their inputs are the same (Langium's document phases): `Files` the parses, while a
 * file's text is unchanged; `Declarations` each model node's declaration; `Models` the
 * merged declarations and the models built from them. An editor can ask again after every
 * keystroke and only what changed is done again. Each `check` call works on a consistent
 * snapshot of the host; scope and `extends` are resolved anew in each (they are cheap).
 */
export class Workspace {
  private readonly files: Files;
  private readonly declarations = new Declarations();
  private readonly models = new Models();

  constructor(host: FileHost = diskHost) {
    this.files = new Files(host);
  }

  /** Parses a file (kept while its text is unchanged); undefined when it cannot be read. */
  parseFile(path: string): ParsedFile | undefined {
    return this.files.parse(path);
  }

  /** Why the host refused to read a file when it was last asked for (FileHost.readFile), if it did. */
  readError(path: string): CodedError | undefined {
    return this.files.refusal(path);
  }

  /** Checks a file and the files it imports; undefined when the file cannot be read (readError says why, when the host said). */
  check(path: string): CheckedFile | undefined {
    return new CheckRun(this.files, this.declarations, this.models).checkFile(resolve(path));
  }

  /** Forgets a file's parse, e.g. when an editor closes it. */
  forget(path: string): void {
    this.files.forget(path);
  }

  /**
   * Uses a parse made elsewhere for a file's current text (the language server re-parses
   * only the lines an edit touched, with the same parser); it is kept like any other parse
   * while the host returns that text.
   */
  remember(parsed: ParsedFile): void {
    this.files.remember(parsed);
  }
}

/** A file being loaded: its imports, the next one to follow, the one being followed. */
interface LoadFrame {
  path: string;
  state: FileState;
  imports: ImportNode[];
  next: number;
  following?: ImportNode;
  importedPaths: Map<string, ImportNode>;
}

/** One consistent pass over the files reachable from those asked for. */
class CheckRun {
  private states = new Map<string, FileState | null>();
  /** Files being loaded, outermost first, each with the import it is following. */
  private loading: LoadFrame[] = [];
  private effective = new Map<ModelDecl, ModelDecl | null>();
  /** How many `extends` a resolved (merged) declaration is from its root model. */
  private generations = new Map<ModelDecl, number>();
  private checkedFiles = new Map<string, CheckedFile>();
  /** Declarations of models that error recovery cut short (ModelNode.cutShort), and merges with one of them in their chain: never built. */
  private cut = new Set<ModelDecl>();

  constructor(
    private readonly files: Files,
    private readonly declarations: Declarations,
    private readonly models: Models,
  ) {}

  /** Checks a file, after the files it imports (whose errors are reported at their imports). */
  checkFile(path: string): CheckedFile | undefined {
    const state = this.load(path);
    if (!state) return undefined;
    // Post-order along the imports that are not part of a cycle (those make a DAG), with an
    // explicit stack: an import chain of any length never overflows the call stack.
    const stack = [{ state, targets: this.importTargets(state), next: 0 }];
    const visiting = new Set([path]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const target = top.targets[top.next++];
      if (target === undefined) {
        stack.pop();
        this.checkLoaded(top.state);
        continue;
      }
      const imported = this.states.get(target);
      if (!imported || visiting.has(target) || this.checkedFiles.has(target)) continue;
      visiting.add(target);
      stack.push({ state: imported, targets: this.importTargets(imported), next: 0 });
    }
    return this.checkedFiles.get(path);
  }

  private importTargets(state: FileState): string[] {
    return [...state.imports].filter(([imp]) => !state.cyclic.has(imp)).map(([, target]) => target);
  }

  /** Builds a loaded file's models, once its imports are checked. */
  private checkLoaded(state: FileState): CheckedFile {
    const path = state.parsed.path;
    const done = this.checkedFiles.get(path);
    if (done) return done;

    const models: CheckedModel[] = [];
    for (const decl of state.decls.values()) {
      const merged = this.resolveExtends(decl, state);
      if (!merged || this.cut.has(merged)) continue;
      const built = this.models.build(decl, merged);
      for (const d of built.diagnostics) state.found.diagnostics.push(d); // not push(...): a model may have 100,000
      if (built.model) models.push(built.model);
    }
    this.reportImports(state);
    const declarations = new Map<string, ModelNode>();
    for (const m of state.parsed.syntax.models) if (m.name && !declarations.has(m.name.text)) declarations.set(m.name.text, m);
    const all = [...state.parsed.diagnostics, ...withoutConsequences(state.parsed, state.found.diagnostics)].sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
    const scope = new Map([...state.scope].map(([name, { file }]) => [name, file]));
    const checked: CheckedFile = { ...state.parsed, diagnostics: dedupe(all), models, declarations, imports: state.imports, scope };
    this.checkedFiles.set(path, checked);
    return checked;
  }

  /**
   * Parses a file and the files it imports, and reads their declarations; null when it
   * cannot be read. Depth first along the imports, with an explicit stack rather than
   * recursion: an import chain of any length never overflows the call stack, and one
   * deeper than `maxImportDepth` files is cut there (R0111).
   */
  private load(path: string): FileState | null {
    const known = this.states.get(path);
    if (known !== undefined) return known;
    const bottom = this.loading.length;
    const state = this.open(path);
    if (!state) return null;
    while (this.loading.length > bottom) {
      const frame = this.loading[this.loading.length - 1]!;
      const imp = frame.imports[frame.next++];
      if (!imp) {
        this.loading.pop();
        const parent = this.loading[this.loading.length - 1];
        if (this.loading.length > bottom && parent) this.link(parent, frame.state);
        continue;
      }
      this.follow(frame, imp);
    }
    return state;
  }

  /** Reads a file's declarations and pushes its frame; null when it cannot be read. */
  private open(path: string): FileState | null {
    const parsed = this.files.parse(path);
    if (!parsed) {
      this.states.set(path, null);
      return null;
    }
    const state: FileState = { parsed, found: new Collector(path), decls: new Map(), scope: new Map(), imports: new Map(), cyclic: new Set() };
    this.states.set(path, state);
    const report = state.found;
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
      const read = this.declarations.of(node, path);
      for (const d of read.diagnostics) state.found.diagnostics.push(d);
      const decl = read.decl;
      if (!decl) continue;
      if (node.cutShort) this.cut.add(decl);
      const first = state.decls.get(decl.name);
      if (first) {
        report.at('R0106', decl.nameNode.span, `model '${decl.name}' is already declared in this file`, {
          related: [{ file: path, span: first.nameNode.span, message: 'first declared here' }],
        });
        continue;
      }
      state.decls.set(decl.name, decl);
      state.scope.set(decl.name, { file: path, decl });
    }
    this.loading.push({ path, state, imports: syntax.imports, next: 0, importedPaths: new Map() });
    return state;
  }

  /** The next import of the file on top of the stack: reported, or its file opened (pushed). */
  private follow(frame: LoadFrame, imp: ImportNode): void {
    if (!imp.path) return;
    const report = frame.state.found;
    const target = resolve(dirname(frame.path), imp.path.value);
    const earlier = frame.importedPaths.get(target);
    if (earlier) {
      report.at('R0110', imp.span, `'${imp.path.value}' is already imported`, {
        related: [{ file: frame.path, span: earlier.span, message: 'first imported here' }],
        fixes: [{ title: 'remove this import', span: imp.span, newText: '' }],
      });
      return;
    }
    frame.importedPaths.set(target, imp);
    if (!target.endsWith('.resnet')) {
      // Never read (and quote) a file that is not a spec: docs/files.md.
      report.at('R0814', imp.path.span, `'${imp.path.value}' is not a .resnet file`, { help: 'an import names a spec: a file whose name ends in .resnet' });
      return;
    }
    frame.following = imp;
    const cycleStart = this.loading.findIndex((f) => f.path === target);
    if (cycleStart >= 0) {
      this.reportCycle(this.loading.slice(cycleStart));
      return;
    }
    const known = this.states.get(target);
    if (known === undefined && this.loading.length >= maxImportDepth) {
      const help = `an import chain (a file importing a file importing a file…) may be at most ${maxImportDepth} files long; the rest of the chain was not read`;
      report.at('R0111', imp.path.span, `importing '${imp.path.value}' makes a chain of more than ${maxImportDepth} files`, { help });
      // Said in the file being checked too, at its import that leads there: the cut is far down.
      const root = this.loading[0]!;
      const first = root.following!;
      root.state.found.at('R0111', first.path!.span, `importing '${first.path!.value}' leads to a chain of more than ${maxImportDepth} files (cut where ${displayName(frame.path)} imports '${imp.path.value}')`, {
        help,
        related: [{ file: frame.path, span: imp.path.span, message: 'cut here' }],
      });
      return;
    }
    const imported = known === undefined ? this.open(target) : known;
    if (!imported) {
      const refused = this.files.refusal(target);
      if (refused) report.at(refused.code, imp.path.span, refused.message, refused.help ? { help: refused.help } : {});
      else report.at('R0101', imp.path.span, `cannot find '${imp.path.value}'`, { help: `looked for ${target}` });
      return;
    }
    frame.state.imports.set(imp, target);
    // A file opened now is linked when its own imports are done (see `load`).
    if (known !== undefined) this.link(frame, imported);
  }

  /** The models of an imported file (its own, not its imports') come into the importer's scope. */
  private link(frame: LoadFrame, imported: FileState): void {
    const imp = frame.following!;
    const path = frame.path;
    const target = imported.parsed.path;
    const report = frame.state.found;
    for (const [name, decl] of imported.decls) {
      const own = frame.state.scope.get(name);
      if (own) {
        if (own.file === path) {
          report.at('R0106', own.decl.nameNode.span, `model '${name}' is also declared in '${imp.path!.value}'`, {
            related: [{ file: target, span: decl.nameNode.span, message: 'declared there' }],
          });
        }
        continue;
      }
      frame.state.scope.set(name, { file: target, decl });
    }
  }

  /** Every file of an import cycle gets the error, at its import that leads around the cycle. */
  private reportCycle(cycle: LoadFrame[]): void {
    const names = cycle.map((f) => displayName(f.path));
    for (const [i, f] of cycle.entries()) {
      const imp = f.following!;
      if (f.state.cyclic.has(imp)) continue;
      f.state.cyclic.add(imp);
      const around = [...names.slice(i), ...names.slice(0, i), names[i]].join(' -> ');
      f.state.found.at('R0102', imp.path!.span, `importing '${imp.path!.value}' makes a cycle: ${around}`, {
        help: 'files cannot import each other, directly or through others; move the shared models to a file both import',
      });
    }
  }

  /** Import problems that need the imported files checked: errors inside them, unused imports. */
  private reportImports(state: FileState): void {
    const report = state.found;
    const used = new Set<string>();
    for (const decl of state.decls.values()) {
      const parent = decl.parent ? state.scope.get(decl.parent.text) : undefined;
      if (parent) used.add(parent.file);
    }
    for (const [imp, target] of state.imports) {
      if (state.cyclic.has(imp)) continue;
      const checked = this.checkedFiles.get(target);
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

  /**
   * A declaration with everything it inherits merged in; null when its parent cannot be had.
   * Walks up the `extends` chain to a declaration already resolved (or without a parent),
   * then merges back down: a loop, not recursion, so a chain of any length is safe; a model
   * more than `maxExtendsDepth` generations from its root is refused (R0112).
   */
  private resolveExtends(decl: ModelDecl, state: FileState): ModelDecl | null {
    const chain: { decl: ModelDecl; state: FileState }[] = [];
    const onChain = new Set<ModelDecl>();
    let current = decl;
    let currentState = state;
    let top: ModelDecl | null;
    for (;;) {
      const known = this.effective.get(current);
      if (known !== undefined) {
        top = known;
        break;
      }
      if (!current.parent) {
        this.effective.set(current, current);
        this.generations.set(current, 0);
        top = current;
        break;
      }
      const parentName = current.parent.text;
      const found = currentState.scope.get(parentName);
      const report = currentState.found;
      if (!found) {
        const suggestion = didYouMean(parentName, currentState.scope.keys());
        report.at('R0104', current.parent.span, `no model named '${parentName}' here`, {
          help: suggestion ? `did you mean '${suggestion}'?` : 'declare it in this file, or import the file that declares it',
          fixes: suggestion ? [{ title: `change to '${suggestion}'`, span: current.parent.span, newText: suggestion }] : [],
        });
        this.effective.set(current, null);
        top = null;
        break;
      }
      if (onChain.has(found.decl) || found.decl === current) {
        report.at('R0105', current.parent.span, `'${current.name}' extends itself through '${parentName}'`, { help: 'a model cannot inherit from its own descendants' });
        this.effective.set(current, null);
        top = null;
        break;
      }
      chain.push({ decl: current, state: currentState });
      onChain.add(current);
      const parentState = found.file === currentState.parsed.path ? currentState : this.load(found.file);
      if (!parentState) {
        top = null;
        break;
      }
      current = found.decl;
      currentState = parentState;
    }
    // Back down the chain: each declaration merged onto its resolved parent.
    let parent = top;
    for (let i = chain.length - 1; i >= 0; i--) {
      const { decl: child, state: childState } = chain[i]!;
      let result: ModelDecl | null = null;
      const generation = parent ? this.generations.get(parent)! + 1 : 0;
      if (parent && generation > maxExtendsDepth) {
        childState.found.at('R0112', child.parent!.span, `'${child.name}' is more than ${maxExtendsDepth} generations of 'extends' from its root model`, {
          help: `a model may extend a model that extends another… at most ${maxExtendsDepth} times over`,
        });
      } else if (parent) {
        result = this.models.merged(parent, child);
        this.generations.set(result, generation);
        if (this.cut.has(parent) || this.cut.has(child)) this.cut.add(result);
      }
      this.effective.set(child, result);
      parent = result;
    }
    return parent;
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
