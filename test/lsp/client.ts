import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  type ProtocolConnection,
  PublishDiagnosticsNotification,
  type PublishDiagnosticsParams,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type TextDocumentContentChangeEvent,
} from 'vscode-languageserver-protocol/node';

export const root = join(import.meta.dirname, '..', '..');
export const uriOf = (path: string): string => pathToFileURL(path).href;

/**
 * A real protocol client talking to `resnetc lsp --stdio` in its own process, as an editor
 * would: it initializes, opens and edits documents, and collects published diagnostics.
 */
export class TestClient {
  readonly connection: ProtocolConnection;
  private readonly diagnostics = new Map<string, PublishDiagnosticsParams[]>();
  private waiters: (() => void)[] = [];
  private versions = new Map<string, number>();

  private constructor(private readonly child: ChildProcess) {
    this.connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    this.connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      const list = this.diagnostics.get(p.uri) ?? [];
      list.push(p);
      this.diagnostics.set(p.uri, list);
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w();
    });
    this.connection.onRequest('client/registerCapability', () => null);
    this.connection.onRequest('workspace/inlayHint/refresh', () => null);
    this.connection.onNotification('window/showMessage', () => undefined);
    this.connection.onRequest('window/showMessageRequest', () => null);
    this.connection.listen();
  }

  static async start(workspaceFolder: string, options: { dist?: boolean } = {}): Promise<TestClient> {
    const args = options.dist ? [join(root, 'dist', 'cli', 'main.js'), 'lsp', '--stdio'] : ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'lsp', '--stdio'];
    // RESNETC_SERVER_NODE_ARGS: extra node options for the server, e.g. `--cpu-prof` to profile it under the bench.
    const nodeArgs = process.env['RESNETC_SERVER_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    const client = new TestClient(child);
    await client.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: uriOf(workspaceFolder),
      workspaceFolders: [{ uri: uriOf(workspaceFolder), name: 'test' }],
      capabilities: { workspace: { didChangeWatchedFiles: { dynamicRegistration: true } } },
    });
    await client.connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  async open(path: string, text: string): Promise<string> {
    const uri = uriOf(path);
    this.versions.set(uri, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'resnet', version: 1, text } });
    return uri;
  }

  /** Sends an edit; returns the new version. */
  async change(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: changes });
    return version;
  }

  /** The first diagnostics published for the document that satisfy `ok` (already received or yet to come). */
  async diagnosticsFor(uri: string, ok: (p: PublishDiagnosticsParams) => boolean = () => true, timeoutMs = 15_000): Promise<PublishDiagnosticsParams> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (this.diagnostics.get(uri) ?? []).find(ok);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching diagnostics for ${uri}: got ${JSON.stringify(this.diagnostics.get(uri) ?? [])}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** Diagnostics published for a given version. */
  diagnosticsAt(uri: string, version: number): Promise<PublishDiagnosticsParams> {
    return this.diagnosticsFor(uri, (p) => p.version === version);
  }

  clearDiagnostics(uri: string): void {
    this.diagnostics.delete(uri);
  }

  async stop(): Promise<void> {
    try {
      await this.connection.sendRequest(ShutdownRequest.type);
      await this.connection.sendNotification(ExitNotification.type);
    } catch {
      // the server may already be gone
    }
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) resolve();
      else {
        this.child.once('exit', () => resolve());
        setTimeout(() => {
          this.child.kill();
          resolve();
        }, 3000);
      }
    });
    this.connection.dispose();
  }
}
