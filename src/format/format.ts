import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type * as A from '../syntax/ast.js';
import { parse } from '../syntax/parse.js';
import type { Span } from '../syntax/source.js';
import { sameTokens } from './verify.js';

/**
 * The canonical layout of a `.resnet` file, printed from its syntax tree and comments:
 *
 * - two spaces of indentation per level, one statement per line, `{` at the end of its line;
 * - `stage`, `block { … }` and `norm { … }` bodies on one line, their items two spaces apart;
 *   a `stem` with one layer on one line, with more one layer per line;
 * - any body holding a comment is written one item per line, so the comment keeps its place;
 * - one blank line between models and after the imports; elsewhere at most one blank line,
 *   where the author left one;
 * - comments are kept: on their own line at the indentation of what follows them, or after
 *   code on its line (at the column the author chose, when that line was already canonical);
 * - words, numbers and sizes stay as written (`25_557_032` and `25.56M` are both canonical);
 * - lines end with `\n`, and so does the file.
 *
 * A file with syntax errors is never formatted: the tree would not hold all of it.
 */
export type FormatResult =
  | { ok: true; text: string; changed: boolean }
  | { ok: false; diagnostics: Diagnostic[] };

export function formatText(text: string, path: string): FormatResult {
  const { file, diagnostics } = parse(text, path);
  // Every error of the parse (R0001-R0005): a cascade's errors are dropped (parse.ts), so a
  // token skipped for its length (R0005) may be the only error a broken line gets.
  const syntaxErrors = diagnostics.filter((d) => d.severity === 'error');
  if (syntaxErrors.length > 0) {
    const first = syntaxErrors[0]!;
    const count = syntaxErrors.length === 1 ? 'a syntax error' : `${syntaxErrors.length} syntax errors`;
    return {
      ok: false,
      diagnostics: [
        {
          code: 'R0701',
          severity: 'error',
          message: `cannot format a file with ${count}; it was left as it is`,
          file: path,
          span: first.span,
          help: 'fix the syntax first (`resnetc check` shows where)',
          related: syntaxErrors.map((d) => ({ file: path, span: d.span, message: d.message })),
        },
      ],
    };
  }
  const formatted = new Printer(text, file.comments).file(file);
  if (!sameTokens(text, formatted)) {
    return {
      ok: false,
      diagnostics: [
        {
          code: 'R0702',
          severity: 'error',
          message: 'formatting would change what the file says; it was left as it is',
          file: path,
          span: { start: 0, end: 0 },
          help: 'this is a bug in resnetc fmt: please report it with the file',
        },
      ],
    };
  }
  return { ok: true, text: formatted, changed: formatted !== text };
}

/** Items inside a one-line body stand two spaces apart: `{ blocks 3  width 64 }`. */
const itemGap = '  ';
const indentUnit = '  ';

interface LineOptions {
  /** May a blank line the author left before it be kept? (Not after `{`, not before `}`.) */
  blankAllowed?: boolean;
}

class Printer {
  private readonly lines: string[] = [];
  private next = 0;
  /** Source offset where the last printed code or comment ended. */
  private lastEnd = 0;
  /** The last printed line opened a body: no blank line may follow it. */
  private afterOpen = true;
  /** The next line (comment or code) starts a new model: a blank line goes before it. */
  private forceBlank = false;

  constructor(
    private readonly text: string,
    private readonly comments: A.CommentNode[],
  ) {}

  file(f: A.FileNode): string {
    let previous: A.ImportNode | A.ModelNode | undefined;
    for (const item of f.items) {
      if (previous && (item.kind === 'model' || previous.kind === 'model')) this.forceBlank = true;
      if (item.kind === 'import') this.line(0, `import ${this.slice(item.path!.span)}`, item.span);
      else this.model(item);
      previous = item;
    }
    this.commentsBefore(Infinity, 0);
    while (this.lines.length > 0 && this.lines[this.lines.length - 1] === '') this.lines.pop();
    return this.lines.length === 0 ? '' : this.lines.join('\n') + '\n';
  }

  private model(m: A.ModelNode): void {
    let head = `model ${m.name!.text}`;
    if (m.extendsName) head += ` extends ${m.extendsName.text}`;
    const body = m.bodySpan!;
    this.body(0, head, m.span, body.start, body.end - 1, m.statements, (s, indent) => this.statement(s, indent));
  }

  private statement(s: A.Statement, indent: number): void {
    switch (s.kind) {
      case 'stem': {
        const flat = s.layers.length <= 1 && !this.hasComments(s.span);
        if (flat) this.line(indent, s.layers.length === 0 ? 'stem {}' : `stem { ${this.layerText(s.layers[0]!)} }`, s.span);
        else this.body(indent, 'stem', s.span, this.openBrace(s.keyword.end), s.span.end - 1, s.layers, (l, i) => this.line(i, this.layerText(l), l.span));
        return;
      }
      case 'stage': {
        const head = `stage ${s.name!.text}`;
        if (!this.hasComments(s.span)) this.line(indent, `${head} ${this.flatBody(s.items.map((i) => this.stageItemText(i)))}`, s.span);
        else this.body(indent, head, s.span, s.bodySpan!.start, s.bodySpan!.end - 1, s.items, (i, n) => this.stageItem(i, n));
        return;
      }
      case 'block':
      case 'norm':
        this.optionStatement(s, indent);
        return;
      default:
        this.line(indent, this.simpleText(s), s.span);
    }
  }

  private stageItem(item: A.StageItem, indent: number): void {
    if (item.kind === 'block') this.optionStatement(item, indent);
    else this.line(indent, this.stageItemText(item), item.span);
  }

  /** `block KIND [{ options }]` and `norm KIND [{ options }]`. */
  private optionStatement(s: A.BlockStatement | A.NormStatement, indent: number): void {
    const head = s.kind === 'block' ? `block ${s.blockKind!.text}` : `norm ${s.normKind!.text}`;
    if (!s.hasBody || !this.hasComments(s.span)) {
      this.line(indent, this.optionStatementText(s), s.span);
      return;
    }
    const kindEnd = (s.kind === 'block' ? s.blockKind! : s.normKind!).span.end;
    this.body(indent, head, s.span, this.openBrace(kindEnd), s.span.end - 1, s.options, (o, i) => this.line(i, this.optionText(o), o.span));
  }

  /** A body one item per line: `HEAD {`, the items, `}`. */
  private body<T>(indent: number, head: string, span: Span, open: number, close: number, items: T[], print: (item: T, indent: number) => void): void {
    if (items.length === 0 && !this.hasComments({ start: open, end: close })) {
      this.line(indent, `${head} {}`, span);
      return;
    }
    this.line(indent, `${head} {`, { start: span.start, end: open + 1 });
    this.afterOpen = true;
    for (const item of items) print(item, indent + 1);
    this.commentsBefore(close, indent + 1);
    this.line(indent, '}', { start: close, end: close + 1 }, { blankAllowed: false });
  }

  private flatBody(items: string[]): string {
    return items.length === 0 ? '{}' : `{ ${items.join(itemGap)} }`;
  }

  private simpleText(s: A.Statement): string {
    switch (s.kind) {
      case 'input':
        return `input ${s.size!.text}`;
      case 'classes':
        return `classes ${s.value!.text}`;
      case 'dropout':
        return `dropout ${s.value!.text}`;
      case 'shortcut':
        return `shortcut ${s.shortcutKind!.text}`;
      case 'activation':
        return s.slope ? `activation ${s.fn!.text} ${s.slope.text}` : `activation ${s.fn!.text}`;
      case 'output_stride':
      case 'drop_path':
        return `${s.kind} ${s.value!.text}`;
      case 'pool':
        return `pool ${s.poolKind!.text}`;
      case 'outputs':
        return `outputs ${s.names.map((n) => n.text).join(' ')}`;
      case 'expect':
        return `expect ${s.what!.text} ${s.value!.text}`;
      case 'block':
      case 'norm':
        return this.optionStatementText(s);
      case 'stem':
        return `stem ${this.flatBody(s.layers.map((l) => this.layerText(l)))}`;
      case 'stage':
        return `stage ${s.name!.text} ${this.flatBody(s.items.map((i) => this.stageItemText(i)))}`;
    }
  }

  private optionStatementText(s: A.BlockStatement | A.NormStatement): string {
    const head = s.kind === 'block' ? `block ${s.blockKind!.text}` : `norm ${s.normKind!.text}`;
    return s.hasBody ? `${head} ${this.flatBody(s.options.map((o) => this.optionText(o)))}` : head;
  }

  private stageItemText(item: A.StageItem): string {
    switch (item.kind) {
      case 'field':
        return this.optionText(item);
      case 'block':
        return this.optionStatementText(item);
      case 'shortcut':
        return `shortcut ${item.shortcutKind!.text}`;
    }
  }

  private layerText(l: A.StemLayerNode): string {
    const parts = [l.kind, l.kernel!.text];
    if (l.kind === 'conv') parts.push(l.channels!.text);
    for (const o of l.options) parts.push(this.optionText(o));
    return parts.join(' ');
  }

  private optionText(o: A.OptionNode): string {
    return `${o.key.text} ${o.value!.text}`;
  }

  // ---- lines, blank lines and comments ----

  private line(indent: number, code: string, span: Span, opts: LineOptions = {}): void {
    this.commentsBefore(span.start, indent);
    this.push(indent, code, span.start, opts.blankAllowed ?? true);
    this.lastEnd = span.end;
    this.trailingComment();
  }

  /** Comments that stand before `offset` go on their own lines. */
  private commentsBefore(offset: number, indent: number): void {
    while (this.next < this.comments.length && this.comments[this.next]!.span.start < offset) {
      const c = this.comments[this.next++]!;
      this.push(indent, c.text.trimEnd(), c.span.start, true);
      this.lastEnd = c.span.end;
    }
  }

  /** A comment after code on the same line stays there. */
  private trailingComment(): void {
    const c = this.comments[this.next];
    if (!c || c.span.start < this.lastEnd || !/^[ \t]*$/.test(this.text.slice(this.lastEnd, c.span.start))) return;
    this.next++;
    const last = this.lines.length - 1;
    const code = this.lines[last]!;
    // The author's column is kept when the line itself was already in its canonical form.
    const written = this.text.slice(this.lineStart(c.span.start), c.span.start);
    const gap = written.trimEnd() === code ? written.length - code.length : 1;
    this.lines[last] = code + ' '.repeat(Math.max(1, gap)) + c.text.trimEnd();
    this.lastEnd = c.span.end;
  }

  private push(indent: number, text: string, start: number, blankAllowed: boolean): void {
    const wantsBlank = this.forceBlank || (blankAllowed && !this.afterOpen && /\n[ \t\r]*\n/.test(this.text.slice(this.lastEnd, start)));
    if (wantsBlank && this.lines.length > 0 && (this.forceBlank || blankAllowed)) this.lines.push('');
    this.forceBlank = false;
    this.afterOpen = false;
    this.lines.push(indentUnit.repeat(indent) + text);
  }

  /** Whether a comment starts inside `span`: a binary search (comments are in source order), so a file of many commented statements formats in linear time. */
  private hasComments(span: Span): boolean {
    let lo = 0;
    let hi = this.comments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.comments[mid]!.span.start < span.start) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.comments.length && this.comments[lo]!.span.start < span.end;
  }

  /** The offset of the `{` that follows `from`, skipping comments. */
  private openBrace(from: number): number {
    let i = from;
    while (i < this.text.length) {
      const ch = this.text[i];
      if (ch === '{') return i;
      if (ch === '#') while (i < this.text.length && this.text[i] !== '\n') i++;
      else i++;
    }
    return from;
  }

  private lineStart(offset: number): number {
    let i = offset;
    while (i > 0 && this.text[i - 1] !== '\n' && this.text[i - 1] !== '\r') i--;
    return i;
  }

  private slice(span: Span): string {
    return this.text.slice(span.start, span.end);
  }
}
