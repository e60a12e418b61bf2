import type { Code } from '../diagnostics/codes.js';
import { codes } from '../diagnostics/codes.js';
import type { Diagnostic, Fix, RelatedLocation } from '../diagnostics/diagnostic.js';
import type { Origin } from '../model/types.js';
import type { Span } from '../syntax/source.js';
import type { ModelDecl, Reporter } from './declaration.js';

type Extra = { help?: string; related?: RelatedLocation[]; fixes?: Fix[] };

/**
 * The diagnostics one phase of the checker gives about one file, in the order it found
 * them. Each phase collects its own and hands them back (a cached result keeps its own
 * array); nothing appends to another phase's list.
 *
 * Spans are the syntax tree's own objects, never copies: an editor's re-parse moves the
 * unchanged nodes in place, and a diagnostic kept for such a node moves with it.
 */
export class Collector {
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly file: string) {}

  at(code: Code, span: Span, message: string, extra: Extra = {}): void {
    this.diagnostics.push({ code, severity: codes[code].severity, message, file: this.file, span, ...extra });
  }

  /** Reports at the origin given. */
  reporter(): Reporter {
    return { report: (code, origin, message, extra) => this.at(code, origin.node.span, message, extra) };
  }

  /** Reports about a model: a cause written in another model (an inherited statement) is said at the `extends`, pointing where it was written. */
  forModel(decl: ModelDecl): Reporter {
    const model = decl.origin.node.span;
    const inside = (o: Origin): boolean => o.file === this.file && o.node.span.start >= model.start && o.node.span.end <= model.end;
    const place = (code: Code, origin: Origin, message: string, extra: Extra = {}): void => {
      if (inside(origin) || !decl.parent) {
        this.at(code, origin.node.span, message, extra);
        return;
      }
      this.at(code, decl.parent.span, `${message} (inherited from '${decl.parent.text}')`, {
        help: extra.help,
        related: [{ file: origin.file, span: origin.node.span, message: 'written here' }, ...(extra.related ?? [])],
      });
    };
    return { report: place };
  }
}
