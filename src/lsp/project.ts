import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { overlayHost, type FileHost } from '../check/host.js';
import { type CheckedFile, type ParsedFile, Workspace } from '../check/workspace.js';
import { resnetFilesIn } from '../util/resnet-files.js';
import { reparse } from './incremental.js';

/**
 * What the server knows: the open documents (their text wins over the disk), the checker's
 * workspace over them, and the folders the editor opened. Every provider asks it for the
 * checked file of a document; a check is reused until any document or file changes.
 */
export class Project {
  /** Open documents by absolute path. */
  readonly open = new Map<string, TextDocument>();
  private readonly texts = new Map<string, string>();
  readonly workspace: Workspace;
  private generation = 0;
  private readonly checks = new Map<string, { generation: number; file: CheckedFile | undefined }>();
  /** The files each checked file imported when last checked: imports change rarely, checks often. */
  private readonly directImports = new Map<string, string[]>();
  /** The URI the client used for each open path, so what the server sends back names it the same way. */
  private readonly uris = new Map<string, string>();

  constructor(
    public roots: string[] = [],
    host?: FileHost,
  ) {
    this.workspace = new Workspace(overlayHost(this.texts, host));
  }

  // ---- documents ----

  didOpen(doc: TextDocument): string {
    const path = uriToPath(doc.uri);
    this.open.set(path, doc);
    this.uris.set(path, doc.uri);
    this.texts.set(path, doc.getText());
    this.generation++;
    return path;
  }

  didChange(doc: TextDocument): string {
    const path = uriToPath(doc.uri);
    const previous: ParsedFile | undefined = this.workspace.parseFile(path);
    const text = doc.getText();
    this.open.set(path, doc);
    this.texts.set(path, text);
    // Only the lines the edit touched are parsed again; the checker then reuses that parse.
    if (previous) this.workspace.remember(reparse(previous, text));
    this.generation++;
    return path;
  }

  didClose(uri: string): string {
    const path = uriToPath(uri);
    this.open.delete(path);
    this.texts.delete(path);
    this.uris.delete(path);
    this.workspace.forget(path);
    this.generation++;
    return path;
  }

  /** A file changed on disk (saved by another program, created, deleted). */
  didChangeOnDisk(path: string): void {
    this.workspace.forget(path);
    this.generation++;
  }

  uriOf(path: string): string {
    return this.uris.get(path) ?? pathToUri(path);
  }

  document(uri: string): TextDocument | undefined {
    return this.open.get(uriToPath(uri));
  }

  // ---- checking ----

  /** The checked file at a path, reused while nothing has changed. */
  check(path: string): CheckedFile | undefined {
    const abs = resolve(path);
    const known = this.checks.get(abs);
    if (known && known.generation === this.generation) return known.file;
    const file = this.workspace.check(abs);
    this.checks.set(abs, { generation: this.generation, file });
    this.directImports.set(abs, [...(file?.imports.values() ?? [])]);
    return file;
  }

  checkUri(uri: string): CheckedFile | undefined {
    return this.check(uriToPath(uri));
  }

  /** Every file a file imported when last checked, directly or through others. */
  importsOf(path: string): Set<string> {
    const seen = new Set<string>();
    const queue = [path];
    for (let i = 0; i < queue.length; i++) {
      const p = queue[i]!;
      if (!this.directImports.has(p)) this.check(p);
      for (const target of this.directImports.get(p) ?? []) {
        if (seen.has(target)) continue;
        seen.add(target);
        queue.push(target);
      }
    }
    return seen;
  }

  /** The open documents other than `path` that import it, directly or through others. */
  openDependents(path: string): string[] {
    return [...this.open.keys()].filter((p) => p !== path && this.importsOf(p).has(path));
  }

  /** Every .resnet file the editor can see: those in the opened folders, and the open documents. */
  allFiles(): string[] {
    const files = new Set<string>(this.open.keys());
    for (const root of this.roots) for (const f of resnetFilesIn(root, 5000)) files.add(f);
    return [...files].sort();
  }
}

export function uriToPath(uri: string): string {
  return uri.startsWith('file:') ? fileURLToPath(uri) : resolve(uri);
}

export function pathToUri(path: string): string {
  return pathToFileURL(path).href;
}

