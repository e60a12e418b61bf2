import {
  type Connection,
  createConnection,
  DidChangeWatchedFilesNotification,
  type InitializeResult,
  ProposedFeatures,
  ResponseError,
  ErrorCodes,
  MessageType,
  ShowMessageNotification,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { modelSvg } from '../graph/svg.js';
import { codeActions } from './code-actions.js';
import { completion } from './completion.js';
import { toLspDiagnostics } from './diagnostics.js';
import { foldingRanges } from './folding.js';
import { formatDocument } from './formatting.js';
import { checkedModelOf, hover } from './hover.js';
import { inlayHints } from './inlay-hints.js';
import { definition, prepareRename, references, rename } from './navigation.js';
import { Project, uriToPath } from './project.js';
import { legend, semanticTokens } from './semantic-tokens.js';
import { documentSymbols } from './symbols.js';

/** `resnet/graph`: the SVG diagram of a model of a document, for the editor's preview. */
export const graphRequest = 'resnet/graph';

export interface GraphParams {
  uri: string;
  /** The model to draw; the first that checks when omitted. */
  model?: string;
}

export interface GraphResult {
  /** The model drawn, and the others the document declares. */
  model: string;
  models: string[];
  svg: string;
}

/**
 * The language server: each request is answered by one provider module reading the
 * checked file the `Project` keeps for the document. Text sync is incremental; each change
 * re-checks the document and the open documents that import it, and publishes their
 * diagnostics straight away.
 */
export function startServer(connection: Connection): Project {
  const documents = new TextDocuments(TextDocument);
  const project = new Project();
  let watchFiles = false;
  let refreshHints = false;

  connection.onInitialize((params): InitializeResult => {
    const roots = (params.workspaceFolders ?? []).map((f) => uriToPath(f.uri));
    if (roots.length === 0 && params.rootUri) roots.push(uriToPath(params.rootUri));
    project.roots = roots;
    watchFiles = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    refreshHints = params.capabilities.workspace?.inlayHint?.refreshSupport === true;
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: false },
        completionProvider: { triggerCharacters: [' ', '"', '/'] },
        hoverProvider: true,
        inlayHintProvider: true,
        documentSymbolProvider: true,
        foldingRangeProvider: true,
        semanticTokensProvider: { legend, full: true },
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        documentFormattingProvider: true,
        codeActionProvider: { codeActionKinds: ['quickfix', 'refactor.rewrite'] },
      },
      serverInfo: { name: 'resnetc' },
    };
  });

  connection.onInitialized(() => {
    if (watchFiles) void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.resnet' }] });
  });

  const publish = (path: string): void => {
    const file = project.check(path);
    if (!file) return;
    void connection.sendDiagnostics({ uri: project.uriOf(path), version: project.open.get(path)?.version, diagnostics: toLspDiagnostics(project, file) });
  };

  /** A file changed: re-check it (when open) and every open document that imports it. */
  // Changes that arrive together (fast typing) are checked once, for their last version:
  // the check runs as soon as the messages already received have been handled (a request
  // that came with the change, like a completion, needs only the re-parse: it goes first).
  const pending = new Set<string>();
  const flush = (): void => {
    const paths = [...pending];
    pending.clear();
    const dependents = new Set<string>();
    for (const path of paths) {
      if (project.open.has(path)) publish(path);
      for (const d of project.openDependents(path)) if (!pending.has(d)) dependents.add(d);
    }
    for (const d of dependents) if (!paths.includes(d)) publish(d);
    // Hints of other open files may show counts that just changed.
    if (refreshHints) connection.languages.inlayHint.refresh().catch(() => undefined);
  };
  const changed = (path: string): void => {
    if (pending.size === 0) setImmediate(() => setImmediate(flush));
    pending.add(path);
  };

  // TextDocuments reports an opened document twice (open, then content); check each version once.
  const checkedVersion = new Map<string, number>();
  const onContent = (doc: TextDocument, opened: boolean): void => {
    if (checkedVersion.get(doc.uri) === doc.version) return;
    checkedVersion.set(doc.uri, doc.version);
    changed(opened ? project.didOpen(doc) : project.didChange(doc));
  };
  documents.onDidOpen((e) => onContent(e.document, true));
  documents.onDidChangeContent((e) => onContent(e.document, false));
  documents.onDidClose((e) => {
    checkedVersion.delete(e.document.uri);
    const path = project.didClose(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
    for (const dependent of project.openDependents(path)) publish(dependent);
  });
  connection.onDidChangeWatchedFiles((params) => {
    for (const change of params.changes) {
      const path = uriToPath(change.uri);
      if (project.open.has(path)) continue;
      project.didChangeOnDisk(path);
      changed(path);
    }
  });

  const withFile = <T>(uri: string, empty: T, answer: (file: NonNullable<ReturnType<Project['checkUri']>>) => T): T => {
    const file = project.checkUri(uri);
    return file ? answer(file) : empty;
  };

  connection.onCompletion((p) => completion(project, p.textDocument.uri, p.position));
  connection.onHover((p) => hover(project, p.textDocument.uri, p.position));
  connection.languages.inlayHint.on((p) => withFile(p.textDocument.uri, [], (f) => inlayHints(f, p.range)));
  connection.onDocumentSymbol((p) => withFile(p.textDocument.uri, [], documentSymbols));
  connection.onFoldingRanges((p) => withFile(p.textDocument.uri, [], foldingRanges));
  connection.languages.semanticTokens.on((p) => withFile(p.textDocument.uri, { data: [] }, semanticTokens));
  connection.onDefinition((p) => definition(project, p.textDocument.uri, p.position));
  connection.onReferences((p) => references(project, p.textDocument.uri, p.position, p.context.includeDeclaration));
  connection.onPrepareRename((p) => prepareRename(project, p.textDocument.uri, p.position));
  connection.onRenameRequest((p) => {
    try {
      return rename(project, p.textDocument.uri, p.position, p.newName);
    } catch (e) {
      return new ResponseError(ErrorCodes.InvalidParams, e instanceof Error ? e.message : String(e));
    }
  });
  connection.onDocumentFormatting((p) => {
    const doc = project.document(p.textDocument.uri);
    if (!doc) return [];
    const result = formatDocument(doc, uriToPath(doc.uri));
    if ('refused' in result) {
      void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message: `resnetc: ${result.refused}` });
      return [];
    }
    return result.edits;
  });
  connection.onCodeAction((p) => withFile(p.textDocument.uri, [], (f) => codeActions(project, f, p.textDocument.uri, p.range)));
  connection.onRequest(graphRequest, async (p: GraphParams): Promise<GraphResult | ResponseError> => {
    const file = project.checkUri(p.uri);
    if (!file) return new ResponseError(ErrorCodes.InvalidParams, `cannot read ${p.uri}`);
    const models = [...file.declarations.keys()];
    const node = p.model !== undefined ? file.declarations.get(p.model) : file.syntax.models.find((m) => checkedModelOf(file, m));
    const model = node ? checkedModelOf(file, node) : undefined;
    if (!model) {
      const which = p.model === undefined ? 'no model checks' : models.includes(p.model) ? `'${p.model}' has errors` : `there is no model '${p.model}'`;
      return new ResponseError(ErrorCodes.InvalidParams, `no diagram: in ${file.path}, ${which}`);
    }
    return { model: model.name, models, svg: await modelSvg(model) };
  });

  documents.listen(connection);
  connection.listen();
  return project;
}

/** `resnetc lsp --stdio`: serves until the editor says exit. */
export function startStdioServer(): Promise<void> {
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  // One failed request must not take the editor's server down with it.
  process.on('unhandledRejection', (e) => connection.console.error(`resnetc: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
  return new Promise((resolveExit) => {
    connection.onExit(() => resolveExit());
    startServer(connection);
  });
}
