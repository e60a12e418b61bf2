import type { Command } from 'commander';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SourceText } from '../syntax/source.js';
import { displayPath, renderDiagnostic } from '../diagnostics/render.js';
import { formatText } from '../format/format.js';
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
  const files = resnetFiles(paths);
  const cwd = process.cwd();
  let failed = 0;
  let unformatted = 0;
  let rewritten = 0;
  for (const file of files) {
    const shown = displayPath(resolve(file), cwd);
    let text: string;
    try {
      if (!existsSync(file)) throw new CliError('R0101', `cannot find '${file}'`);
      if (statSync(file).isDirectory()) throw new CliError('R0902', `'${file}' is a folder with no .resnet file in it`);
      text = readFileSync(file, 'utf8');
    } catch (e) {
      printError(out, e instanceof CliError ? e : new CliError('R0902', `cannot read '${shown}'`));
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
    try {
      writeFileSync(file, result.text);
    } catch (e) {
      throw new CliError('R0903', `cannot write '${shown}': ${e instanceof Error ? e.message : String(e)}`);
    }
    out.out(`formatted ${shown}\n`);
    rewritten++;
  }
  const total = `${files.length} ${files.length === 1 ? 'file' : 'files'}`;
  if (unformatted > 0) out.err(`${unformatted} of ${total} not formatted; run \`resnetc fmt\` on them\n`);
  else if (rewritten === 0 && failed === 0) out.out(`${total} already formatted\n`);
  if (failed > 0) out.err(`${failed} of ${total} could not be formatted and ${failed === 1 ? 'was' : 'were'} left as ${failed === 1 ? 'it was' : 'they were'}\n`);
  return failed + unformatted > 0 ? 1 : 0;
}
