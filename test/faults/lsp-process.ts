import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Message, StreamMessageReader } from 'vscode-jsonrpc/node';
import { hangLimitMs, transpiledCli } from './harness.js';

export interface Answer {
  result?: unknown;
  error?: { code: number; message: string };
  /** No answer within the limit. */
  timedOut?: boolean;
  /** The server's process ended before answering. */
  dead?: boolean;
  ms: number;
}

export const uriOf = (path: string): string => pathToFileURL(path).href;

/**
 * `resnetc lsp --stdio` in a process of its own, spoken to byte by byte: well-framed messages
 * through `send`, anything at all through `sendRaw` (to break the framing on purpose). It
 * answers the server's own requests, keeps the published diagnostics and the log, and notices
 * when the process ends.
 */
export class LspProcess {
  private nextId = 1;
  private readonly pending = new Map<number, (a: Omit<Answer, 'ms'>) => void>();
  readonly diagnostics = new Map<string, { version?: number; diagnostics: { code?: unknown; message: string }[] }[]>();
  /** window/logMessage and window/showMessage texts. */
  readonly log: string[] = [];
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly versions = new Map<string, number>();

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => void (this.stderr += d));
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      for (const resolve of this.pending.values()) resolve({ dead: true });
      this.pending.clear();
    });
    child.stdin!.on('error', () => undefined); // writing to a server that died
    new StreamMessageReader(child.stdout!).listen((m: Message) => this.receive(m as unknown as Record<string, unknown>));
  }

  static async start(workspace: string): Promise<LspProcess> {
    const dir = await transpiledCli();
    const child = spawn(process.execPath, [join(dir, 'src', 'cli', 'main.js'), 'lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const server = new LspProcess(child);
    const init = await server.request('initialize', {
      processId: process.pid,
      rootUri: uriOf(workspace),
      workspaceFolders: [{ uri: uriOf(workspace), name: 'faults' }],
      capabilities: { workspace: { didChangeWatchedFiles: { dynamicRegistration: true } } },
    });
    if (!init.result) throw new Error(`the server did not initialize: ${JSON.stringify(init)}`);
    server.notify('initialized', {});
    return server;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  private receive(m: Record<string, unknown>): void {
    if (typeof m['id'] === 'number' && ('result' in m || 'error' in m) && !('method' in m)) {
      const resolve = this.pending.get(m['id']);
      this.pending.delete(m['id']);
      resolve?.({ ...('result' in m ? { result: m['result'] } : {}), ...('error' in m ? { error: m['error'] as Answer['error'] } : {}) });
      return;
    }
    const method = m['method'];
    const params = m['params'] as Record<string, unknown> | undefined;
    if ('id' in m) this.send({ jsonrpc: '2.0', id: m['id'], result: null }); // registerCapability, refresh…
    if (method === 'textDocument/publishDiagnostics' && params) {
      const uri = params['uri'] as string;
      const list = this.diagnostics.get(uri) ?? [];
      list.push(params as never);
      this.diagnostics.set(uri, list);
    } else if ((method === 'window/logMessage' || method === 'window/showMessage') && params) this.log.push(String(params['message']));
  }

  sendRaw(bytes: string | Buffer): void {
    if (this.alive) this.child.stdin!.write(bytes);
  }

  send(message: object): void {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    this.sendRaw(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
  }

  notify(method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  /** Sends a request and waits for its answer, at most `limitMs`. */
  request(method: string, params: unknown, limitMs = hangLimitMs): Promise<Answer> & { id: number } {
    const id = this.nextId++;
    const started = performance.now();
    const answer = new Promise<Answer>((resolve) => {
      if (!this.alive) return resolve({ dead: true, ms: 0 });
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ timedOut: true, ms: performance.now() - started });
      }, limitMs);
      this.pending.set(id, (a) => {
        clearTimeout(timer);
        resolve({ ...a, ms: performance.now() - started });
      });
      this.send({ jsonrpc: '2.0', id, method, params });
    });
    return Object.assign(answer, { id });
  }

  cancel(id: number): void {
    this.notify('$/cancelRequest', { id });
  }

  open(path: string, text: string): string {
    const uri = uriOf(path);
    this.versions.set(uri, 1);
    this.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'resnet', version: 1, text } });
    return uri;
  }

  /** Replaces the whole text of an open document; returns its new version. */
  replace(uri: string, text: string): number {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    this.notify('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return version;
  }

  /** The diagnostics published for a document's version (or any), waiting at most `limitMs`. */
  async diagnosticsOf(uri: string, version?: number, limitMs = hangLimitMs): Promise<{ code?: unknown; message: string }[] | undefined> {
    const deadline = performance.now() + limitMs;
    while (performance.now() < deadline && this.alive) {
      const found = (this.diagnostics.get(uri) ?? []).find((p) => version === undefined || p.version === version);
      if (found) return found.diagnostics;
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }

  /** Shutdown and exit, as an editor ends a session; kills the process if it does not go. */
  async stop(): Promise<void> {
    if (this.alive) {
      await this.request('shutdown', null, 3000);
      this.notify('exit', null);
    }
    await new Promise<void>((resolve) => {
      if (!this.alive) return resolve();
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, 3000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
