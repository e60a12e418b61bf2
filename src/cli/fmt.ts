import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SourceText } from '../syntax/source.js';
import { displayPath, renderDiagnostic } from '../diagnostics/render.js';
import { formatText } from '../format/format.js';
import { readSpec } from '../check/host.js';
import { CodedError } from '../diagnostics/coded-error.js';
import { writeOutputFile } from '../io/write.js';
import { CliError, printError } from './errors.js';
import { resnetFiles } from './load.js';
import type { Output } from './output.js';

export function registerFmt(program: Command, out: Output): void {
  program
    .command('fmt')
    .argument('<files...>', '.resnet files or folders')
    .option('--check', 'change nothing; list the files that are not formatted and exit 1 if there are any')
    .action((files: string[], opts: { check?: boolean }) => {
      out.exitCode = runFmt(files, opts.check ?? false, out);
    });
}

export function runFmt(paths: string[], check: boolean, out: Output): number {
  const unreadable: { path: string; code: string }[] = [];
  const files = resnetFiles(paths, (path, code) => unreadable.push({ path, code }));
  const cwd = process.cwd();
  let failed = 0;
  for (const u of unreadable) out.err(`${out.paint(['bold', 'red'], 'error[R0902]')}: cannot list the folder '${displayPath(resolve(u.path), cwd)}' (${u.code}); its files were left as they were\n`);
  let unformatted = 0;
  let rewritten = 0;
  for (const file of files) {
    const shown = displayPath(resolve(file), cwd);
    let text: string;
    try {
      if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new CliError('R0902', `'${file}' is a folder with no .resnet file in it`);
      text = readSpec(file);
    } catch (e) {
      if (!(e instanceof CodedError)) throw e;
      printError(out, e);
      failed++;
      continue;
    }
    const result = formatText(text, resolve(file));
    if (!result.ok) {
      const source = new SourceText(resolve(file), text);
      for (const d of result.diagnostics) out.err(renderDiagnostic(d, { color: out.color, cwd, sourceOf: () => source }) + '\n');
      failed++;
      continue;
    }
    if (!result.changed) continue;
    if (check) {
      printError(out, new CliError('R0703', `'${shown}' is not formatted`));
      unformatted++;
      continue;
    }
    // Rewritten whole or not at all: on a full disk the original text stays.
    writeOutputFile(file, result.text, { replacesInput: true });
    out.out(`formatted ${shown}\n`);
    rewritten++;
  }
  const total = `${files.length} ${files.length === 1 ? 'file' : 'files'}`;
  if (unformatted > 0) out.err(`${unformatted} of ${total} not formatted; run \`resnetc fmt\` on them\n`);
  else if (rewritten === 0 && failed === 0 && unreadable.length === 0) out.out(`${total} already formatted\n`);
  if (failed > 0) out.err(`${failed} of ${total} could not be formatted and ${failed === 1 ? 'was' : 'were'} left as ${failed === 1 ? 'it was' : 'they were'}\n`);
  return failed + unformatted + unreadable.length > 0 ? 1 : 0;
}
