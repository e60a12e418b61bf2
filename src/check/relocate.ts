import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { CheckedModel, Origin, Stage } from '../model/types.js';
import type { Span } from '../syntax/source.js';
import { relocateStage } from './build.js';

/**
 * Moving what the checker built of a model whose text did not change but moved in its file
 * (an edit above it changed the file's length): every range inside the model's old span
 * moves by `by`; ranges elsewhere (a parent model's stage, another file) stay. The result
 * is what building the moved model afresh would give, without the work.
 */
export class Relocation {
  constructor(
    readonly file: string,
    /** The model's span before the move. */
    readonly from: Span,
    readonly by: number,
  ) {}

  private moves(file: string | undefined, span: { start: number; end: number }): boolean {
    return (file === undefined || file === this.file) && span.start >= this.from.start && span.end <= this.from.end;
  }

  origin(o: Origin): Origin {
    return this.moves(o.file, o) ? { file: o.file, start: o.start + this.by, end: o.end + this.by } : o;
  }

  /** A deep copy of plain data (a diagnostic) with its ranges moved; as deep as a diagnostic's type. */
  data<T>(value: T, file?: string): T {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) {
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = this.data(value[i] as unknown, file);
      return out as T;
    }
    const o = value as Record<string, unknown>;
    const own = typeof o['file'] === 'string' ? (o['file'] as string) : file;
    const out: Record<string, unknown> = {};
    for (const key in o) {
      const v = o[key];
      out[key] = typeof v === 'object' && v !== null ? this.data(v, own) : v;
    }
    if (typeof o['start'] === 'number' && typeof o['end'] === 'number' && this.moves(own, o as unknown as Span)) {
      out['start'] = (o['start'] as number) + this.by;
      out['end'] = (o['end'] as number) + this.by;
    }
    return out as T;
  }

  diagnostics(list: Diagnostic[]): Diagnostic[] {
    return list.map((d) => this.data(d));
  }

  model(m: CheckedModel): CheckedModel {
    return {
      ...m,
      origin: this.origin(m.origin),
      stages: m.stages.map((s): Stage => (this.moves(s.origin.file, s.origin) ? relocateStage(s, this.origin(s.origin)) : s)),
      expects: m.expects.map((e) => ({ ...e, origin: this.origin(e.origin) })),
    };
  }
}
