import { DiagnosticSeverity, type Diagnostic as LspDiagnostic, type DiagnosticRelatedInformation } from 'vscode-languageserver';
import type { CheckedFile } from '../check/workspace.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { rangeOf } from './positions.js';
import type { Project } from './project.js';

/** The checker's diagnostics as the protocol carries them: same codes, same ranges, the help appended. */
export function toLspDiagnostics(project: Project, file: CheckedFile): LspDiagnostic[] {
  return file.diagnostics.map((d) => toLspDiagnostic(project, file, d));
}

export function toLspDiagnostic(project: Project, file: CheckedFile, d: Diagnostic): LspDiagnostic {
  const related: DiagnosticRelatedInformation[] = [];
  for (const r of d.related ?? []) {
    const source = r.file === file.path ? file.source : project.workspace.parseFile(r.file)?.source;
    if (!source) continue;
    related.push({ location: { uri: project.uriOf(r.file), range: rangeOf(source, r.span) }, message: r.message });
  }
  return {
    range: rangeOf(file.source, d.span),
    severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: 'resnetc',
    message: d.help ? `${d.message}\nhelp: ${d.help}` : d.message,
    ...(related.length > 0 ? { relatedInformation: related } : {}),
  };
}
