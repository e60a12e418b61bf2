import { resolve } from 'node:path';
import { CodedError } from '../diagnostics/coded-error.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { FileNode } from '../syntax/ast.js';
import { parse } from '../syntax/parse.js';
import { SourceText } from '../syntax/source.js';
import type { FileHost } from './host.js';

/** A parsed file, kept while its text is unchanged. */
export interface ParsedFile {
  path: string;
  source: SourceText;
  syntax: FileNode;
  /** The lexer's and parser's diagnostics. */
  diagnostics: Diagnostic[];
}

/**
 * The checker's first phase: files read through the host and parsed. A parse is kept while
 * the host returns the same text, so an editor can ask after every keystroke and only
 * changed files are parsed again; a file the host refused is remembered with why.
 */
export class Files {
  private readonly parses = new Map<string, ParsedFile>();
  /** Files the host refused to read (a FIFO, too large…), with why, until read again. */
  private readonly refusals = new Map<string, CodedError>();

  constructor(private readonly host: FileHost) {}

  /** Parses a file (kept while its text is unchanged); undefined when it cannot be read. */
  parse(path: string): ParsedFile | undefined {
    const abs = resolve(path);
    let text: string | undefined;
    try {
      text = this.host.readFile(abs);
      this.refusals.delete(abs);
    } catch (e) {
      if (!(e instanceof CodedError)) throw e;
      this.refusals.set(abs, e);
    }
    if (text === undefined) {
      this.parses.delete(abs);
      return undefined;
    }
    const kept = this.parses.get(abs);
    if (kept && kept.source.text === text) return kept;
    const result = parse(text, abs);
    const parsed: ParsedFile = { path: abs, source: new SourceText(abs, text), syntax: result.file, diagnostics: result.diagnostics };
    this.parses.set(abs, parsed);
    return parsed;
  }

  /** Why the host refused to read a file when it was last asked for, if it did. */
  refusal(path: string): CodedError | undefined {
    return this.refusals.get(resolve(path));
  }

  /** Forgets a file's parse, e.g. when an editor closes it. */
  forget(path: string): void {
    this.parses.delete(resolve(path));
  }

  /** Uses a parse made elsewhere for a file's current text (the language server's re-parse of the lines an edit touched). */
  remember(parsed: ParsedFile): void {
    this.parses.set(resolve(parsed.path), parsed);
  }
}
