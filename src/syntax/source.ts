/** A half-open range of character offsets in one file. */
export interface Span {
  start: number;
  end: number;
}

/** 1-based line and column, as people and `--json` count them. */
export interface LineColumn {
  line: number;
  column: number;
}

/** A file's text with the table that turns offsets into lines and columns. */
export class SourceText {
  private lineStarts: number[] | undefined;

  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  private starts(): number[] {
    if (!this.lineStarts) {
      const starts = [0];
      const text = this.text;
      for (let i = 0; i < text.length; i++) {
        const ch = text.charCodeAt(i);
        if (ch === 10) starts.push(i + 1);
        else if (ch === 13) {
          if (text.charCodeAt(i + 1) === 10) i++;
          starts.push(i + 1);
        }
      }
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }

  lineCount(): number {
    return this.starts().length;
  }

  /** 1-based line and column of an offset (column counts UTF-16 units). */
  position(offset: number): LineColumn {
    const starts = this.starts();
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: clamped - starts[lo]! + 1 };
  }

  /** Offset of a 1-based line and column, clamped to the text. */
  offset(line: number, column: number): number {
    const starts = this.starts();
    const lineIndex = Math.max(0, Math.min(line - 1, starts.length - 1));
    const lineStart = starts[lineIndex]!;
    const lineEnd = lineIndex + 1 < starts.length ? starts[lineIndex + 1]! : this.text.length;
    return Math.min(lineStart + Math.max(0, column - 1), lineEnd);
  }

  lineText(line: number): string {
    const starts = this.starts();
    const start = starts[line - 1] ?? this.text.length;
    const end = line < starts.length ? starts[line]! : this.text.length;
    return this.text.slice(start, end).replace(/\r?\n$|\r$/, '');
  }
}
