import type { Command } from 'commander';
import { resolve } from 'node:path';
import { Workspace } from '../check/workspace.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { summarize, displayPath } from '../diagnostics/render.js';
import { describeCount } from '../model/count-format.js';
import { CliError, exitCodes, printError } from './errors.js';
import { checkPath, printDiagnostics, resnetFiles } from './load.js';
import { CodedError } from '../diagnostics/coded-error.js';
import type { Output } from './output.js';
import { shapeText } from '../model/shape-text.js';

/** The `--json` document: the contract scripts and CI rely on. */
export interface CheckReport {
  files: {
    file: string;
    diagnostics: { code: string; severity: string; message: string; line: number; column: number; endLine: number; endColumn: number }[];
    /** `output`: what `expect output` compares (the last stage's map, or the last stage `outputs` lists); `outputs`: what the model returns, each with its name and C, H, W. */
    models: { name: string; params: number; buffers: number; macs: number; input: number[]; output: number[]; outputs: { name: string; shape: number[] }[] }[];
  }[];
}

export function registerCheck(program: Command, out: Output): void {
  program
    .command('check')
    .argument('<files...>', '.resnet files or folders (every .resnet file inside, recursively)')
    .option('--json', 'print one JSON document instead of text')
    .option('-q, --quiet', 'print only diagnostics')
    .action((files: string[], opts: { json?: boolean; quiet?: boolean }) => {
      out.exitCode = runCheck(files, opts, out);
    });
}

function runCheck(paths: string[], opts: { json?: boolean; quiet?: boolean }, out: Output): number {
  const unreadable: { path: string; code: string }[] = [];
  const files = resnetFiles(paths, (path, code) => unreadable.push({ path, code }));
  const workspace = new Workspace();
  const report: CheckReport = { files: [] };
  let errors = 0;
  let warnings = 0;
  // A folder that cannot be listed is an entry of its own: its files were not checked.
  for (const u of unreadable) {
    const e = new CliError('R0902', `cannot list the folder '${u.path}' (${u.code}); its files were not checked`);
    report.files.push({ file: u.path, diagnostics: [{ code: e.code, severity: 'error', message: e.message, line: 1, column: 1, endLine: 1, endColumn: 1 }], models: [] });
    if (!opts.json) printError(out, e);
    errors++;
  }
  let internal = false;
  for (const path of files) {
    let diagnostics: Diagnostic[];
    let entry: CheckReport['files'][number];
    try {
      const checked = checkPath(workspace, path);
      diagnostics = checked.diagnostics;
      entry = {
        file: path,
        diagnostics: diagnostics.map((d) => {
          const start = checked.source.position(d.span.start);
          const end = checked.source.position(d.span.end);
          return { code: d.code, severity: d.severity, message: d.message, line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
        }),
        models: checked.models.map((m) => ({
          name: m.name,
          params: m.totals.params,
          buffers: m.totals.buffers,
          macs: m.totals.macs,
          input: [m.input.c, m.input.h, m.input.w],
          output: [m.output.c, m.output.h, m.output.w],
          outputs: m.outputs.map((o) => ({ name: o.name, shape: [o.shape.c, o.shape.h, o.shape.w] })),
        })),
      };
      if (!opts.json) {
        printDiagnostics(out, workspace, diagnostics, checked.path);
        if (!opts.quiet) {
          for (const m of checked.models) {
            const shapeOf = shapeText;
            const named = m.outputs.length > 1 || m.outputs[0]?.name !== 'output';
            const returns = named ? `outputs ${m.outputs.map((o) => `${o.name} ${shapeOf(o.shape)}`).join(', ')}` : `output ${shapeOf(m.output)}`;
            out.out(`${displayPath(checked.path, process.cwd())}: ${m.name}: ${describeCount(m.totals.params)} params, ${describeCount(m.totals.macs)} MACs, ${returns}\n`);
          }
        }
      }
    } catch (e) {
      if (!(e instanceof CodedError)) {
        // A bug in resnetc: the other files still get their results, and the exit code says so.
        const message = `internal error in resnetc while checking this file, please report it: ${e instanceof Error ? e.message : String(e)}`;
        report.files.push({ file: path, diagnostics: [{ code: 'R0000', severity: 'error', message, line: 1, column: 1, endLine: 1, endColumn: 1 }], models: [] });
        if (!opts.json) out.err(`${out.paint(['bold', 'red'], 'error[R0000]')}${out.paint('bold', `: ${path}: ${message}`)}\n`);
        internal = true;
        errors++;
        continue;
      }
      diagnostics = [{ code: e.code, severity: 'error', message: e.message, file: resolve(path), span: { start: 0, end: 0 } }];
      entry = { file: path, diagnostics: [{ code: e.code, severity: 'error', message: e.message, line: 1, column: 1, endLine: 1, endColumn: 1 }], models: [] };
      if (!opts.json) printError(out, e);
    }
    errors += diagnostics.filter((d) => d.severity === 'error').length;
    warnings += diagnostics.filter((d) => d.severity === 'warning').length;
    report.files.push(entry);
  }
  if (opts.json) out.out(JSON.stringify(report, null, 2) + '\n');
  else if (errors + warnings > 0) out.err(`${summarize(errors, warnings)} in ${files.length} ${files.length === 1 ? 'file' : 'files'}\n`);
  return internal ? exitCodes.internal : errors > 0 ? exitCodes.failed : exitCodes.ok;
}
