import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CheckedFile, Workspace } from '../check/workspace.js';
import type { CheckedModel } from '../model/types.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { CliError } from './errors.js';

/** Checks a file named on the command line; a missing, refused or unreadable file is a CodedError. */
export function checkPath(workspace: Workspace, path: string): CheckedFile {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new CliError('R0101', `cannot find '${path}'`);
  if (statSync(abs).isDirectory()) throw new CliError('R0902', `'${path}' is a folder, not a .resnet file`);
  const checked = workspace.check(abs);
  if (!checked) throw workspace.readError(abs) ?? new CliError('R0902', `cannot read '${path}'`);
  return checked;
}

/**
 * The model a command works on: `--model NAME`, or the file's only model. A file with
 * syntax errors, or whose chosen model has errors, sends the user to `resnetc check`.
 */
export function pickModel(file: CheckedFile, path: string, name: string | undefined): CheckedModel {
  const errors = file.diagnostics.filter((d) => d.severity === 'error');
  const syntaxError = errors.find((d) => d.code.startsWith('R00'));
  const hasErrors = (): CliError =>
    new CliError((syntaxError ?? errors[0]!).code, `'${path}' has ${errors.length} ${errors.length === 1 ? 'error' : 'errors'}; run \`resnetc check ${path}\``);
  if (syntaxError) throw hasErrors();
  const declared = [...file.declarations.keys()];
  if (name !== undefined) {
    if (!file.declarations.has(name)) {
      const suggestion = didYouMean(name, declared);
      throw new CliError('R0104', `'${path}' declares no model named '${name}'`, 1, suggestion ? `did you mean '${suggestion}'?` : `it declares ${declared.join(', ') || 'none'}`);
    }
    const model = file.models.find((m) => m.name === name);
    if (!model) throw new CliError('R0104', `model '${name}' has errors; run \`resnetc check ${path}\``);
    return model;
  }
  if (declared.length <= 1 && errors.length > 0) throw hasErrors();
  const only = declared[0];
  if (only === undefined) throw new CliError('R0108', `'${path}' declares no model`);
  if (declared.length > 1) {
    throw new CliError('R0901', `'${path}' declares ${declared.length} models: pick one with --model`, 2, `its models are ${declared.join(', ')}`);
  }
  const model = file.models.find((m) => m.name === only);
  if (!model) throw hasErrors();
  return model;
}
