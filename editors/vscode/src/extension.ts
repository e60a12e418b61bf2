import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

/**
 * The extension is a thin client: `resnetc lsp --stdio` does everything (diagnostics,
 * completion, hover, inlay hints, navigation, formatting, code actions), and draws the
 * architecture diagram the preview shows (`resnet/graph`).
 */

let client: LanguageClient | undefined;

interface GraphResult {
  model: string;
  models: string[];
  svg: string;
}

/** The server command: the setting, else the workspace's own resnetc, else resnetc on the PATH. */
function serverCommand(): { command: string; args: string[] } {
  const config = vscode.workspace.getConfiguration('resnet');
  const args = config.get<string[]>('server.args', ['lsp', '--stdio']);
  const configured = config.get<string>('server.command', '');
  if (configured) return { command: configured, args };
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const local = join(folder.uri.fsPath, 'node_modules', '.bin', process.platform === 'win32' ? 'resnetc.cmd' : 'resnetc');
    if (existsSync(local)) return { command: local, args };
  }
  return { command: 'resnetc', args };
}

function startClient(context: vscode.ExtensionContext): LanguageClient {
  const { command, args } = serverCommand();
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'resnet' },
      { scheme: 'untitled', language: 'resnet' },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.resnet') },
  };
  const c = new LanguageClient('resnet', 'ResNet language server', serverOptions, clientOptions);
  void c.start().catch((e: unknown) => {
    void vscode.window.showErrorMessage(`Could not start '${command} ${args.join(' ')}': ${e instanceof Error ? e.message : String(e)}. Set resnet.server.command to resnetc's path.`);
  });
  context.subscriptions.push(c);
  return c;
}

/** One preview panel beside the editor, following the active .resnet document. */
class GraphPreview {
  private panel: vscode.WebviewPanel | undefined;
  private document: vscode.TextDocument | undefined;
  private model: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    context.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.panel && e.document === this.document) this.schedule();
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (this.panel && editor?.document.languageId === 'resnet' && editor.document !== this.document) {
          this.document = editor.document;
          this.model = undefined;
          this.schedule();
        }
      }),
    );
  }

  show(document: vscode.TextDocument): void {
    this.document = document;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('resnet.graph', 'ResNet diagram', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true });
      this.panel.onDidDispose(() => (this.panel = undefined), undefined, this.context.subscriptions);
      this.panel.webview.onDidReceiveMessage((m: { model?: string }) => {
        this.model = m.model;
        void this.render();
      });
    } else this.panel.reveal(vscode.ViewColumn.Beside, true);
    void this.render();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.render(), 300);
  }

  private async render(): Promise<void> {
    if (!this.panel || !this.document || !client) return;
    const name = this.document.uri.path.split('/').pop() ?? 'diagram';
    this.panel.title = `Diagram: ${name}`;
    try {
      const result = await client.sendRequest<GraphResult>('resnet/graph', { uri: this.document.uri.toString(), model: this.model });
      this.panel.webview.html = page(result, nonce());
    } catch (e) {
      // Keep the last good diagram while the file has errors; say why it is stale.
      const message = e instanceof Error ? e.message : String(e);
      void this.panel.webview.postMessage({ stale: message });
      if (!this.panel.webview.html) this.panel.webview.html = `<!DOCTYPE html><html><body><p>${escape(message)}</p></body></html>`;
    }
  }
}

function nonce(): string {
  return Array.from({ length: 24 }, () => Math.floor(Math.random() * 36).toString(36)).join('');
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function page(result: GraphResult, n: string): string {
  const options = result.models.map((m) => `<option${m === result.model ? ' selected' : ''}>${escape(m)}</option>`).join('');
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${n}';">
<style>body{background:#fff;color:#223;font-family:var(--vscode-font-family)} #stale{color:#b00;display:none} svg{max-width:100%;height:auto}</style>
</head><body>
${result.models.length > 1 ? `<label>model <select id="model">${options}</select></label>` : ''}
<p id="stale"></p>
${result.svg}
<script nonce="${n}">
const vscode = acquireVsCodeApi();
document.getElementById('model')?.addEventListener('change', (e) => vscode.postMessage({ model: e.target.value }));
window.addEventListener('message', (e) => { const s = document.getElementById('stale'); s.textContent = 'Not up to date: ' + e.data.stale; s.style.display = 'block'; });
</script>
</body></html>`;
}

export function activate(context: vscode.ExtensionContext): void {
  client = startClient(context);
  const preview = new GraphPreview(context);
  context.subscriptions.push(
    vscode.commands.registerCommand('resnet.showGraph', () => {
      const document = vscode.window.activeTextEditor?.document;
      if (document?.languageId !== 'resnet') {
        void vscode.window.showInformationMessage('Open a .resnet file to see its diagram.');
        return;
      }
      preview.show(document);
    }),
    vscode.commands.registerCommand('resnet.restartServer', async () => {
      await client?.stop();
      client = startClient(context);
    }),
  );
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
