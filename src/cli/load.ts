import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CheckedFile, Workspace } from '../check/workspace.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { displayPath, renderDiagnostic, summarize } from '../diagnostics/render.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { CheckedModel } from '../model/types.js';
import type { Span } from '../syntax/source.js';
import { resnetFilesIn } from '../util/resnet-files.js';
import { CliError, RefusedError } from './errors.js';
import type { Output } from './output.js';

/** Checks a file named on the command line; a missing, refused or unreadable file is a CodedError. */
export function checkPath(workspace: Workspace, path: string): CheckedFile {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new CliError('R0101', `cannot find '${path}'`);
  if (statSync(abs).isDirectory()) {
    if (resnetFilesIn(abs, 1).length === 0) throw new CliError('R0902', `'${path}' is a folder with no .resnet file in it`);
    throw new CliError('R0902', `'${path}' is a folder, not a .resnet file`, 1, 'this command takes one file; `resnetc check` and `resnetc fmt` take folders');
  }
  const checked = workspace.check(abs);
  if (!checked) throw workspace.readError(abs) ?? new CliError('R0902', `cannot read '${path}'`);
  return checked;
}

/**
 * The files named on a command line, each folder replaced by the `.resnet` files inside it,
 * recursively and sorted (resnetFilesIn). A path that does not exist, or a folder without
 * any, stays as named, for checkPath (or the command) to report. Folders that cannot be
 * listed are told to `unreadable` (with the errno code) and skipped.
 */
export function resnetFiles(paths: readonly string[], unreadable?: (folder: string, code: string) => void): string[] {
  return paths.flatMap((p) => {
    if (!existsSync(p) || !statSync(p).isDirectory()) return [p];
    const inside = resnetFilesIn(p, Infinity, unreadable);
    return inside.length > 0 ? inside : [p];
  });
}

/**
 * What a command does with the model it loads. `build` (compile, train) makes something of
 * it, so any error stops it, a failing `expect` line included: the spec does not say what
 * its author believes. `inspect` (summary, graph) shows the model, so errors that are only
 * failing `expect` lines (R04xx) do not stop it: the table or diagram is what shows why,
 * and the command prints the failures and exits 1.
 */
export type ModelUse = 'build' | 'inspect';

/**
 * The model a command works on: `--model NAME`, or the file's only model. Its diagnostics
 * (and the file's own: imports, syntax) are printed rustc-style first, as `resnetc check`
 * prints them, warnings included; then either the model is returned, or the command stops
 * with a line that counts them (RefusedError, exit code 1). A file with syntax errors always
 * stops, with all its diagnostics.
 * @throws CliError R0101/R0902 (the file cannot be read), R0104 (no such model), R0108 (no
 *   model), R0901 (several models and no --model, exit code 2), RefusedError.
 */
export function loadModel(path: string, name: string | undefined, out: Output, command: string, use: ModelUse): { checked: CheckedFile; model: CheckedModel } {
  const workspace = new Workspace();
  const file = checkPath(workspace, path);
  const shown = displayPath(file.path, process.cwd());
  const stop = (diagnostics: Diagnostic[]): RefusedError => {
    printDiagnostics(out, workspace, diagnostics);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const onlyExpect = errors.length > 0 && errors.every((d) => d.code.startsWith('R04'));
    const why = onlyExpect ? `; an \`expect\` line that does not hold stops ${command}: correct it or the model (\`resnetc summary\` shows the counts)` : '';
    return new RefusedError(errors[0]?.code ?? 'R0901', `\`resnetc ${command}\` stopped: ${summarize(errors.length, diagnostics.length - errors.length)} in ${shown}${why}`);
  };
  if (file.diagnostics.some((d) => d.severity === 'error' && d.code.startsWith('R00'))) throw stop(file.diagnostics);

  const declared = [...file.declarations.keys()];
  if (name !== undefined && !file.declarations.has(name)) {
    const suggestion = didYouMean(name, declared);
    throw new CliError('R0104', `'${path}' declares no model named '${name}'`, 1, suggestion ? `did you mean '${suggestion}'?` : `it declares ${declared.join(', ') || 'none'}`);
  }
  if (name === undefined && declared.length === 0) {
    if (file.diagnostics.some((d) => d.severity === 'error')) throw stop(file.diagnostics);
    throw new CliError('R0108', `'${path}' declares no model`);
  }
  if (name === undefined && declared.length > 1) {
    throw new CliError('R0901', `'${path}' declares ${declared.length} models: pick one with --model`, 2, `its models are ${declared.join(', ')}`);
  }
  const chosen = name ?? declared[0]!;

  // The model's own diagnostics, and the file's that are in no model (imports, R0103…).
  const node = file.declarations.get(chosen)!;
  const within = (d: Diagnostic, span: Span): boolean => d.span.start >= span.start && d.span.end <= span.end;
  let diagnostics = file.diagnostics.filter((d) => within(d, node.span) || !file.syntax.models.some((m) => within(d, m.span)));
  const model = file.models.find((m) => m.origin.node === node);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  // A model that could not be built for want of another's statements (an inherited error): show everything.
  if (!model && errors.length === 0) diagnostics = file.diagnostics;
  if (!model || errors.some((d) => !d.code.startsWith('R04')) || (errors.length > 0 && use === 'build')) throw stop(diagnostics);

  printDiagnostics(out, workspace, diagnostics);
  if (errors.length > 0) {
    out.err(`${summarize(errors.length, diagnostics.length - errors.length)} in ${shown}\n`);
    out.exitCode = 1;
  }
  return { checked: file, model };
}

/** Text output shows this many diagnostics of a file, then says how many more there are (`--json` gives them all). */
export const maxShownPerFile = 100;

/** Diagnostics rustc-style on standard error, as `resnetc check` prints them. */
export function printDiagnostics(out: Output, workspace: Workspace, diagnostics: readonly Diagnostic[], file?: string): void {
  for (const d of diagnostics.slice(0, maxShownPerFile)) out.err(renderDiagnostic(d, { color: out.color, cwd: process.cwd(), sourceOf: (f) => workspace.parseFile(f)?.source }) + '\n');
  const more = diagnostics.length - maxShownPerFile;
  if (more > 0) out.err(`… and ${more.toLocaleString('en-US')} more${file ? ` in ${displayPath(file, process.cwd())}` : ''} (\`resnetc check --json\` lists them all)\n`);
}
