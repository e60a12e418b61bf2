import type { Command } from 'commander';
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SourceText } from '../syntax/source.js';
import { displayPath, renderDiagnostic } from '../diagnostics/render.js';
import { formatText } from '../format/format.js';
import { readSpec } from '../check/host.js';
import { CodedError } from '../diagnostics/coded-error.js';
import { errnoCode } from '../io/file-error.js';
import { writeOutputFile } from '../io/write.js';
import { CliError } from './errors.js';
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

/**
 * The .resnet files named, folders expanded (sorted, recursively, skipping node_modules, dot
 * folders and symbolic links), and the folders that could not be listed (with why).
 * Throws CliError R0101 for a path that does not exist.
 */
export function resnetFiles(paths: string[]): { files: string[]; unreadable: { path: string; code: string }[] } {
  const files: string[] = [];
  const unreadable: { path: string; code: string }[] = [];
  // A stack, not recursion: a folder tree of any depth is walked.
  const walk = (root: string): void => {
    const stack = [root];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        unreadable.push({ path: dir, code: errnoCode(e) ?? String(e) });
        continue;
      }
      const sorted = entries.sort((a, b) => a.name.localeCompare(b.name));
      const subfolders: string[] = [];
      for (const entry of sorted) {
        if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
        const full = join(dir, entry.name);
        if (entry.isDirectory()) subfolders.push(full);
        else if (entry.isFile() && entry.name.endsWith('.resnet')) files.push(full);
      }
      stack.push(...subfolders.reverse());
    }
  };
  for (const p of paths) {
    let isFolder: boolean;
    try {
      isFolder = statSync(p).isDirectory();
    } catch {
      throw new CliError('R0101', `cannot find '${p}'`);
    }
    if (isFolder) walk(p);
    else files.push(p);
  }
  return { files, unreadable };
}

export function runFmt(paths: string[], check: boolean, out: Output): number {
  const { files, unreadable } = resnetFiles(paths);
  const cwd = process.cwd();
  let failed = 0;
  for (const u of unreadable) out.err(`${out.paint(['bold', 'red'], 'error[R0902]')}: cannot list the folder '${displayPath(resolve(u.path), cwd)}' (${u.code}); its files were left as they were\n`);
  let unformatted = 0;
  let rewritten = 0;
  for (const file of files) {
    const shown = displayPath(resolve(file), cwd);
    let text: string;
    try {
      text = readSpec(file);
    } catch (e) {
      if (!(e instanceof CodedError)) throw e;
      out.err(`${out.paint(['bold', 'red'], `error[${e.code}]`)}: ${e.message}\n`);
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
      out.err(`${out.paint(['bold', 'red'], 'error[R0703]')}: '${shown}' is not formatted\n`);
      unformatted++;
      continue;
    }
    // Rewritten whole or not at all: on a full disk the original text stays.
    writeOutputFile(file, result.text, { replacesInput: true });
    out.out(`formatted ${shown}\n`);
    rewritten++;
  }
  const total = `${files.length} ${files.length === 1 ? 'file' : 'files'}`;
  if (check) {
    if (unformatted > 0) out.err(`${unformatted} of ${total} not formatted; run \`resnetc fmt\` on them\n`);
    else if (failed === 0 && unreadable.length === 0) out.out(`${total} formatted\n`);
  } else if (rewritten === 0 && failed === 0 && unreadable.length === 0) out.out(`${total} already formatted\n`);
  if (failed > 0) out.err(`${failed} of ${total} could not be formatted and ${failed === 1 ? 'was' : 'were'} left as ${failed === 1 ? 'it was' : 'they were'}\n`);
  return failed + unformatted + unreadable.length > 0 ? 1 : 0;
}
