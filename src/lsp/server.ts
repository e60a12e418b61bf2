import {
  type CancellationToken,
  CodeActionRequest,
  CompletionRequest,
  type Connection,
  createConnection,
  type Diagnostic,
  DiagnosticSeverity,
  DefinitionRequest,
  DidChangeWatchedFilesNotification,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  FoldingRangeRequest,
  HoverRequest,
  InlayHintRequest,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  SemanticTokensRequest,
  type InitializeResult,
  ProposedFeatures,
  ResponseError,
  ErrorCodes,
  MessageType,
  ShowMessageNotification,
  TextDocuments,
  StreamMessageWriter,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { CheckedFile } from '../check/workspace.js';
import { modelSvg } from '../graph/svg.js';
import { checkedModelOf } from './checked.js';
import { codeActions } from './code-actions.js';
import { completion } from './completion.js';
import { toLspDiagnostics } from './diagnostics.js';
import { foldingRanges } from './folding.js';
import { formatDocument } from './formatting.js';
import { Slices } from './cooperate.js';
import { ResyncMessageReader } from './framing.js';
import { hover } from './hover.js';
import { inlayHints } from './inlay-hints.js';
import { definition, prepareRename, references, rename } from './navigation.js';
import * as P from './params.js';
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

/** An error as the log shows it: with its stack, for the bug report. */
function trace(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
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

  /** Checks a file and publishes its diagnostics; a failure (a bug) is logged and shown on the file, and the server goes on. */
  const publish = (path: string): void => {
    let diagnostics: Diagnostic[];
    try {
      const file = project.check(path);
      if (!file) return;
      diagnostics = toLspDiagnostics(project, file);
    } catch (e) {
      connection.console.error(`resnetc: checking ${path} failed: ${trace(e)}`);
      const message = `internal error in resnetc while checking this file, please report it: ${e instanceof Error ? e.message : String(e)}`;
      diagnostics = [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: DiagnosticSeverity.Error, code: 'R0000', source: 'resnetc', message }];
    }
    void connection.sendDiagnostics({ uri: project.uriOf(path), version: project.open.get(path)?.version, diagnostics });
  };

  /** A file changed: re-check it (when open) and every open document that imports it. */
  // Changes that arrive together (fast typing) are checked once, for their last version:
  // the check runs as soon as the messages already received have been handled (a request
  // that came with the change, like a completion, needs only the re-parse: it goes first).
  const pending = new Set<string>();
  const flush = (): void => {
    const paths = [...pending];
    pending.clear();
    try {
      publishChanged(paths);
    } catch (e) {
      connection.console.error(`resnetc: ${trace(e)}`);
    }
  };
  const publishChanged = (paths: string[]): void => {
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
    if (typeof doc.getText() !== 'string') {
      connection.console.error(`resnetc: ignored ${doc.uri}: its text is not a string`);
      return;
    }
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

  /**
   * A request answered in isolation (Prisma's rule: one bad document never takes the server
   * down): its parameters are checked (InvalidParams), a provider that throws answers this
   * request with InternalError and the error is logged, a cancelled one with
   * RequestCancelled. Long providers pause between slices of their work (`Slices`), so
   * other requests and cancellations are served meanwhile.
   */
  const request =
    <P, R>(name: string, answer: (params: P, slices: Slices) => R | Promise<R>) =>
    async (params: P, token: CancellationToken): Promise<R | ResponseError<void>> => {
      try {
        const slices = new Slices(token);
        slices.check();
        return await answer(params, slices);
      } catch (e) {
        if (e instanceof ResponseError) return e as ResponseError<void>;
        connection.console.error(`resnetc: ${name} failed: ${trace(e)}`);
        return new ResponseError(ErrorCodes.InternalError, `resnetc: ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    };

  /** The checked file of a request's document, or `empty` when it cannot be read. */
  const withFile =
    <T>(name: string, empty: T, answer: (file: CheckedFile, params: unknown, slices: Slices) => T | Promise<T>) =>
    request<unknown, T>(name, (params, slices) => {
      const file = project.checkUri(P.documentUri(params));
      return file ? answer(file, params, slices) : empty;
    });

  // Registered by method, not through the typed helpers (onHover, …): those read the
  // parameters (for progress tokens) before any handler can check them.
  connection.onRequest(CompletionRequest.method, request('completion', (p) => completion(project, P.documentUri(p), P.position(p))));
  connection.onRequest(HoverRequest.method, request('hover', (p) => hover(project, P.documentUri(p), P.position(p))));
  connection.onRequest(InlayHintRequest.method, withFile('inlay hints', [], (f, p, slices) => inlayHints(f, P.range(p), slices)));
  connection.onRequest(DocumentSymbolRequest.method, withFile('document symbols', [], (f, _p, slices) => documentSymbols(f, slices)));
  connection.onRequest(FoldingRangeRequest.method, withFile('folding ranges', [], (f, _p, slices) => foldingRanges(f, slices)));
  connection.onRequest(SemanticTokensRequest.method, withFile('semantic tokens', { data: [] }, (f, _p, slices) => semanticTokens(f, slices)));
  connection.onRequest(DefinitionRequest.method, request('definition', (p) => definition(project, P.documentUri(p), P.position(p))));
  connection.onRequest(
    ReferencesRequest.method,
    request('references', (p, slices) => references(project, P.documentUri(p), P.position(p), (p as { context?: { includeDeclaration?: unknown } }).context?.includeDeclaration === true, slices)),
  );
  connection.onRequest(PrepareRenameRequest.method, request('prepare rename', (p) => prepareRename(project, P.documentUri(p), P.position(p))));
  connection.onRequest(RenameRequest.method, request('rename', (p, slices) => rename(project, P.documentUri(p), P.position(p), P.newName(p), slices)));
  connection.onRequest(
    DocumentFormattingRequest.method,
    request('formatting', (p) => {
      const doc = project.document(P.documentUri(p));
      if (!doc) return [];
      const result = formatDocument(doc, uriToPath(doc.uri));
      if ('refused' in result) {
        void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message: `resnetc: ${result.refused}` });
        return [];
      }
      return result.edits;
    }),
  );
  connection.onRequest(CodeActionRequest.method, withFile('code actions', [], (f, p, slices) => codeActions(project, f, P.documentUri(p), P.range(p), slices)));
  connection.onRequest(
    graphRequest,
    request('graph', async (p: GraphParams): Promise<GraphResult | ResponseError> => {
      const uri = P.requiredString(p, 'uri');
      const wanted = P.optionalString(p, 'model');
      const file = project.checkUri(uri);
      if (!file) return new ResponseError(ErrorCodes.InvalidParams, `cannot read ${uri}`);
      const models = [...file.declarations.keys()];
      const node = wanted !== undefined ? file.declarations.get(wanted) : file.syntax.models.find((m) => checkedModelOf(file, m));
      const model = node ? checkedModelOf(file, node) : undefined;
      if (!model) {
        const which = wanted === undefined ? 'no model checks' : models.includes(wanted) ? `'${wanted}' has errors` : `there is no model '${wanted}'`;
        return new ResponseError(ErrorCodes.InvalidParams, `no diagram: in ${file.path}, ${which}`);
      }
      return { model: model.name, models, svg: await modelSvg(model) };
    }),
  );

  documents.listen(connection);
  connection.listen();
  return project;
}

/**
 * `resnetc lsp --stdio`: serves until the editor says exit (or closes its end). Messages are
 * read by `ResyncMessageReader`, which skips what is not well framed and goes on with the
 * next message; nothing that goes wrong while serving ends the process (it is logged).
 */
export function startStdioServer(): Promise<void> {
  const reader = new ResyncMessageReader(process.stdin);
  const connection = createConnection(ProposedFeatures.all, reader, new StreamMessageWriter(process.stdout));
  const log = (message: string): void => connection.console.error(message);
  reader.problems = log;
  // Standard output carries the protocol: what the code might print goes to the log.
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) console[level] = (...args: unknown[]) => log(args.map(String).join(' '));
  // One failed request (or check) must not take the editor's server down with it.
  process.on('unhandledRejection', (e) => log(`resnetc: ${trace(e)}`));
  process.on('uncaughtException', (e) => log(`resnetc: ${trace(e)}`));
  let shutdown = false;
  connection.onShutdown(() => {
    shutdown = true;
  });
  // The editor went away without saying exit: end as the protocol says (1 without a shutdown).
  const gone = (): never => process.exit(shutdown ? 0 : 1);
  process.stdin.on('end', gone);
  process.stdin.on('close', gone);
  return new Promise((resolveExit) => {
    connection.onExit(() => resolveExit());
    startServer(connection);
  });
}
