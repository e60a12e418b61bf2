import type { Command } from 'commander';
import { resolve } from 'node:path';
import { Workspace } from '../check/workspace.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { renderDiagnostic, summarize, displayPath } from '../diagnostics/render.js';
import { describeCount } from '../check/expect.js';
import type { SourceText } from '../syntax/source.js';
import { CliError, exitCodes } from './errors.js';
import { checkPath } from './load.js';
import type { Output } from './output.js';

/** Text output shows this many diagnostics of a file, then says how many more there are. */
export const maxShownPerFile = 100;

/** The `--json` document: the contract scripts and CI rely on. */
export interface CheckReport {
  files: {
    file: string;
    diagnostics: { code: string; severity: string; message: string; line: number; column: number; endLine: number; endColumn: number }[];
    models: { name: string; params: number; buffers: number; macs: number; input: number[]; output: number[] }[];
  }[];
}

export function registerCheck(program: Command, out: Output): void {
  program
    .command('check')
    .argument('<files...>', '.resnet files to check')
    .option('--json', 'print one JSON document instead of text')
    .option('-q, --quiet', 'print only diagnostics')
    .action((files: string[], opts: { json?: boolean; quiet?: boolean }) => {
      out.exitCode = runCheck(files, opts, out);
    });
}

function runCheck(files: string[], opts: { json?: boolean; quiet?: boolean }, out: Output): number {
  const workspace = new Workspace();
  const report: CheckReport = { files: [] };
  const sources = new Map<string, SourceText>();
  let errors = 0;
  let warnings = 0;
  let internal = false;
  for (const path of files) {
    let diagnostics: Diagnostic[];
    let entry: CheckReport['files'][number];
    try {
      const checked = checkPath(workspace, path);
      sources.set(checked.path, checked.source);
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
        })),
      };
      if (!opts.json) {
        for (const d of diagnostics.slice(0, maxShownPerFile)) {
          out.err(renderDiagnostic(d, { color: out.color, cwd: process.cwd(), sourceOf: (f) => sources.get(f) ?? workspace.parseFile(f)?.source }) + '\n');
        }
        const more = diagnostics.length - maxShownPerFile;
        if (more > 0) out.err(`… and ${more.toLocaleString('en-US')} more in ${displayPath(checked.path, process.cwd())} (\`resnetc check --json\` lists them all)\n`);
        if (!opts.quiet) {
          for (const m of checked.models) {
            const shape = `${m.output.c}x${m.output.h}x${m.output.w}`;
            out.out(`${displayPath(checked.path, process.cwd())}: ${m.name}: ${describeCount(m.totals.params)} params, ${describeCount(m.totals.macs)} MACs, output ${shape}\n`);
          }
        }
      }
    } catch (e) {
      if (!(e instanceof CliError)) {
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
      if (!opts.json) out.err(`${out.paint(['bold', 'red'], `error[${e.code}]`)}${out.paint('bold', `: ${e.message}`)}\n`);
    }
    errors += diagnostics.filter((d) => d.severity === 'error').length;
    warnings += diagnostics.filter((d) => d.severity === 'warning').length;
    report.files.push(entry);
  }
  if (opts.json) out.out(JSON.stringify(report, null, 2) + '\n');
  else if (errors + warnings > 0) out.err(`${summarize(errors, warnings)} in ${files.length} ${files.length === 1 ? 'file' : 'files'}\n`);
  return internal ? exitCodes.internal : errors > 0 ? exitCodes.failed : exitCodes.ok;
}
