import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CodeActionRequest,
  CompletionRequest,
  type CompletionItem,
  type CompletionList,
  DefinitionRequest,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  type DocumentSymbol,
  FoldingRangeRequest,
  HoverRequest,
  InlayHintRequest,
  type Location,
  type MarkupContent,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  SemanticTokensRequest,
  type TextEdit,
} from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { TestClient, root, uriOf } from './client.js';

/** Where a snippet is in a text, as a protocol position (0-based line and character). */
function at(text: string, snippet: string, delta = 0): { line: number; character: number } {
  const offset = text.indexOf(snippet);
  if (offset < 0) throw new Error(`'${snippet}' not in text`);
  return TextDocument.create('x', 'resnet', 1, text).positionAt(offset + delta);
}

function labels(result: CompletionItem[] | CompletionList | null): string[] {
  const items = Array.isArray(result) ? result : (result?.items ?? []);
  return items.map((i) => i.label);
}

function applyEdits(text: string, edits: TextEdit[]): string {
  return TextDocument.applyEdits(TextDocument.create('x', 'resnet', 1, text), edits);
}

const resnet50 = `# ResNet-50 as torchvision builds it
model resnet50 {
  input 3x224x224
  classes 1000

  stem {
    conv 7x7 64 stride 2
    maxpool 3x3 stride 2
  }

  block bottleneck
  shortcut B

  stage conv2 { blocks 3  width 64 }
  stage conv3 { blocks 4  width 128  stride 2 }
  stage conv4 { blocks 6  width 256  stride 2 }
  stage conv5 { blocks 3  width 512  stride 2 }

  expect params 25_557_032
}
`;

const resnet101 = `import "resnet50.resnet"

model resnet101 extends resnet50 {
  stage conv4 { blocks 23 }
  expect params 44_549_160
}
`;

describe('resnetc lsp --stdio, driven by a protocol client', () => {
  let client: TestClient;
  let dir: string;
  let baseUri: string;
  let childUri: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'resnetc-lsp-'));
    writeFileSync(join(dir, 'resnet50.resnet'), resnet50);
    writeFileSync(join(dir, 'resnet101.resnet'), resnet101);
    copyFileSync(join(root, 'specs', 'cifar_resnet.resnet'), join(dir, 'cifar_resnet.resnet'));
    client = await TestClient.start(dir);
    baseUri = await client.open(join(dir, 'resnet50.resnet'), resnet50);
    childUri = await client.open(join(dir, 'resnet101.resnet'), resnet101);
  });

  afterAll(async () => {
    await client.stop();
  });

  describe('diagnostics', () => {
    it('publishes no diagnostics for a correct file when it is opened', async () => {
      const p = await client.diagnosticsFor(baseUri);
      expect(p.diagnostics).toEqual([]);
      expect((await client.diagnosticsFor(childUri)).diagnostics).toEqual([]);
    });

    it('publishes the checker’s code and exact range for a mistake, with its help', async () => {
      const text = 'model m {\n  input 3x32x32\n  stem { conv 3x3 16 }\n  block bottlenek\n  stage s { blocks 1  width 16 }\n}\n';
      const uri = await client.open(join(dir, 'typo.resnet'), text);
      const p = await client.diagnosticsFor(uri);
      expect(p.diagnostics).toHaveLength(1);
      const d = p.diagnostics[0]!;
      expect(d.code).toBe('R0203');
      expect(d.source).toBe('resnetc');
      expect(d.range).toEqual({ start: { line: 3, character: 8 }, end: { line: 3, character: 17 } });
      expect(d.message).toContain("did you mean 'bottleneck'?");
    });

    it('re-publishes after an incremental edit, for the version edited', async () => {
      const text = 'model e {\n  input 3x32x32\n  stem { conv 3x3 16 }\n  block basic\n  stage s { blocks 1  width 16 }\n}\n';
      const uri = await client.open(join(dir, 'edit.resnet'), text);
      expect((await client.diagnosticsFor(uri)).diagnostics).toEqual([]);
      // `width 16` becomes `width 0`: a value out of range.
      const pos = at(text, 'width 16', 'width '.length);
      const v2 = await client.change(uri, [{ range: { start: pos, end: { line: pos.line, character: pos.character + 2 } }, text: '0' }]);
      const broken = await client.diagnosticsAt(uri, v2);
      expect(broken.diagnostics.map((d) => d.code)).toContain('R0208');
      const v3 = await client.change(uri, [{ range: { start: pos, end: { line: pos.line, character: pos.character + 1 } }, text: '16' }]);
      expect((await client.diagnosticsAt(uri, v3)).diagnostics).toEqual([]);
    });

    it('re-publishes an open file when a file it imports changes', async () => {
      client.clearDiagnostics(childUri);
      const pos = at(resnet50, 'block bottleneck', 'block '.length);
      const v = await client.change(baseUri, [{ range: { start: pos, end: { line: pos.line, character: pos.character + 'bottleneck'.length } }, text: 'bottlenick' }]);
      await client.diagnosticsAt(baseUri, v);
      const child = await client.diagnosticsFor(childUri, (p) => p.diagnostics.length > 0);
      expect(child.diagnostics[0]!.code).toBe('R0103');
      const back = await client.change(baseUri, [{ range: { start: pos, end: { line: pos.line, character: pos.character + 'bottlenick'.length } }, text: 'bottleneck' }]);
      await client.diagnosticsAt(baseUri, back);
      await client.diagnosticsFor(childUri, (p) => p.diagnostics.length === 0);
    });
  });

  it('re-publishes an open file when a file it imports changes on disk', async () => {
    writeFileSync(join(dir, 'disk-base.resnet'), 'model diskbase {\n  input 3x32x32\n  stem { conv 3x3 16 }\n  block basic\n  stage s { blocks 1  width 16 }\n}\n');
    const uri = await client.open(join(dir, 'disk-child.resnet'), 'import "disk-base.resnet"\n\nmodel diskchild extends diskbase {\n  classes 10\n}\n');
    expect((await client.diagnosticsFor(uri)).diagnostics).toEqual([]);
    writeFileSync(join(dir, 'disk-base.resnet'), 'model diskbase {\n  input 3x32x32\n  stem { conv 3x3 16 }\n  block basik\n  stage s { blocks 1  width 16 }\n}\n');
    await client.connection.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: uriOf(join(dir, 'disk-base.resnet')), type: FileChangeType.Changed }] });
    const p = await client.diagnosticsFor(uri, (d) => d.diagnostics.length > 0);
    expect(p.diagnostics.map((d) => d.code)).toEqual(['R0103']);
  });

  describe('completion', () => {
    const complete = async (uri: string, text: string, snippet: string, delta = snippet.length): Promise<string[]> =>
      labels(await client.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: at(text, snippet, delta) }));

    it('offers the block kinds after `block`', async () => {
      expect(await complete(baseUri, resnet50, 'block ')).toEqual(['basic', 'bottleneck', 'preact-basic', 'preact-bottleneck']);
    });

    it('offers the pool kinds after `pool`, and the stages, stem and logits after `outputs`', async () => {
      const text = 'model p {\n  pool \n  outputs \n  stage a { blocks 1  width 8 }\n}\n';
      const uri = await client.open(join(dir, 'pool.resnet'), text);
      expect(await complete(uri, text, 'pool ')).toEqual(['avg', 'max', 'avgmax', 'catavgmax']);
      expect(await complete(uri, text, 'outputs ')).toEqual(['a', 'stem', 'logits']);
    });

    it('offers the shortcut kinds after `shortcut`', async () => {
      expect(await complete(baseUri, resnet50, 'shortcut ')).toEqual(expect.arrayContaining(['A', 'B', 'C', 'D', 'projection']));
    });

    it('offers the models in scope after `extends`, imported ones included', async () => {
      expect(await complete(childUri, resnet101, 'extends ')).toEqual(['resnet50']);
    });

    it('offers the stage fields inside a stage, without those already written', async () => {
      const text = 'model s {\n  stage a { blocks 2  }\n}\n';
      const uri = await client.open(join(dir, 'stage.resnet'), text);
      expect(await complete(uri, text, 'blocks 2 ', 'blocks 2 '.length)).toEqual(['width', 'stride', 'dilation', 'block', 'shortcut']);
    });

    it('offers the statements of a model, and the inherited stages to override inside an `extends` model', async () => {
      const items = await complete(childUri, resnet101, '  expect', 2);
      expect(items).toEqual(expect.arrayContaining(['input', 'stem', 'stage', 'expect', 'stage conv2', 'stage conv3', 'stage conv5']));
      expect(items).not.toContain('stage conv4'); // already overridden
    });

    it('offers the parent’s stages after `stage` in an `extends` model', async () => {
      const text = 'import "resnet50.resnet"\n\nmodel r extends resnet50 {\n  stage \n}\n';
      const uri = await client.open(join(dir, 'inherit.resnet'), text);
      expect(await complete(uri, text, '  stage ')).toEqual(['conv2', 'conv3', 'conv4', 'conv5']);
    });

    it('offers a snippet for a new model at the top of a file', async () => {
      const result = await client.connection.sendRequest(CompletionRequest.type, { textDocument: { uri: childUri }, position: { line: 0, character: 0 } });
      const items = Array.isArray(result) ? result : (result?.items ?? []);
      const model = items.find((i) => i.label === 'model');
      expect(model?.insertText).toMatch(/^model \$\{1:name\} \{/);
      expect(items.map((i) => i.label)).toContain('import');
    });

    it('offers file paths inside an import', async () => {
      const text = 'import "\n';
      const uri = await client.open(join(dir, 'imp.resnet'), text);
      expect(await complete(uri, text, 'import "')).toEqual(expect.arrayContaining(['resnet50.resnet', 'cifar_resnet.resnet']));
    });

    it('offers the actual count after `expect params`', async () => {
      expect(await complete(baseUri, resnet50, 'expect params ')).toContain('25_557_032');
    });
  });

  describe('hover', () => {
    const hoverText = async (uri: string, text: string, snippet: string, delta = 1): Promise<string> => {
      const h = await client.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: at(text, snippet, delta) });
      return (h?.contents as MarkupContent | undefined)?.value ?? '';
    };

    it('shows a stage’s output shape, parameters, MACs and share of the model', async () => {
      const value = await hoverText(baseUri, resnet50, 'conv3 {');
      expect(value).toContain('**stage conv3**');
      expect(value).toContain('4 × bottleneck blocks, width 128, stride 2, shortcut B');
      expect(value).toContain('256x56x56 → **512x28x28**');
      // torchvision's layer2 of ResNet-50: 1,219,584 parameters.
      expect(value).toContain('1,219,584 (1.22M)');
      expect(value).toMatch(/4\.8% of the model/);
    });

    it('shows a model’s totals on its name', async () => {
      const value = await hoverText(baseUri, resnet50, 'resnet50 {');
      expect(value).toContain('25,557,032 (25.56M)');
      expect(value).toContain('4,089,184,256 (4.09G)');
    });

    it('shows the parent’s totals on the name after `extends`', async () => {
      expect(await hoverText(childUri, resnet101, 'resnet50 {')).toContain('**model resnet50**');
    });

    it('documents a keyword', async () => {
      expect(await hoverText(baseUri, resnet50, 'classes')).toContain('a global pool (`pool`, average unless set)');
    });

    it('documents the backbone words and shows an output’s shape', async () => {
      const text = 'model b {\n  input 3x64x64\n  stem { conv 3x3 8 }\n  block basic\n  activation gelu\n  outputs s\n  stage s { blocks 1  width 8 }\n}\n';
      const uri = await client.open(join(dir, 'backbone.resnet'), text);
      expect(await hoverText(uri, text, 'gelu')).toContain('exact form');
      expect(await hoverText(uri, text, 's\n  stage')).toContain('**output s**: 8x64x64');
      expect(await hoverText(uri, text, 'outputs')).toContain('IntermediateLayerGetter');
    });
  });

  it('gives inlay hints with each stage’s output shape and parameters', async () => {
    const hints = await client.connection.sendRequest(InlayHintRequest.type, { textDocument: { uri: baseUri }, range: { start: { line: 0, character: 0 }, end: { line: 30, character: 0 } } });
    const labelsAt = (hints ?? []).map((h) => `${h.position.line}:${typeof h.label === 'string' ? h.label : ''}`);
    expect(labelsAt).toContain('13:→ 256x56x56 · 215.8K params');
    expect(labelsAt).toContain('16:→ 2048x7x7 · 14.96M params');
  });

  describe('navigation', () => {
    it('goes from `extends NAME` to the model’s declaration in the imported file', async () => {
      const locs = (await client.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri: childUri }, position: at(resnet101, 'resnet50 {', 2) })) as Location[];
      expect(locs).toEqual([{ uri: baseUri, range: { start: { line: 1, character: 6 }, end: { line: 1, character: 14 } } }]);
    });

    it('goes from an import to the imported file', async () => {
      const locs = (await client.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri: childUri }, position: at(resnet101, 'resnet50.resnet', 1) })) as Location[];
      expect(locs[0]!.uri).toBe(baseUri);
    });

    it('goes from an overriding stage to the stage it overrides', async () => {
      const locs = (await client.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri: childUri }, position: at(resnet101, 'conv4', 1) })) as Location[];
      expect(locs).toEqual([{ uri: baseUri, range: { start: { line: 15, character: 8 }, end: { line: 15, character: 13 } } }]);
    });

    it('finds the references of a model across files', async () => {
      const refs = (await client.connection.sendRequest(ReferencesRequest.type, {
        textDocument: { uri: baseUri },
        position: at(resnet50, 'resnet50 {', 1),
        context: { includeDeclaration: true },
      }))!;
      // inherit.resnet, opened by a completion test, extends resnet50 too.
      expect(refs.map((r) => `${r.uri.split('/').pop()}:${r.range.start.line}`).sort()).toEqual(['inherit.resnet:2', 'resnet101.resnet:2', 'resnet50.resnet:1']);
    });

    it('finds a stage and its overrides', async () => {
      const refs = (await client.connection.sendRequest(ReferencesRequest.type, {
        textDocument: { uri: baseUri },
        position: at(resnet50, 'conv4', 1),
        context: { includeDeclaration: true },
      }))!;
      expect(refs.map((r) => `${r.uri.split('/').pop()}:${r.range.start.line}`).sort()).toEqual(['resnet101.resnet:3', 'resnet50.resnet:15']);
    });

    it('renames a model in its declaration and every `extends`, across the workspace', async () => {
      const prepared = await client.connection.sendRequest(PrepareRenameRequest.type, { textDocument: { uri: childUri }, position: at(resnet101, 'resnet50 {', 1) });
      expect(prepared).toMatchObject({ placeholder: 'resnet50' });
      const edit = await client.connection.sendRequest(RenameRequest.type, { textDocument: { uri: childUri }, position: at(resnet101, 'resnet50 {', 1), newName: 'rn50' });
      expect(Object.keys(edit!.changes!).sort()).toEqual([childUri, baseUri, uriOf(join(dir, 'inherit.resnet'))].sort());
      expect(applyEdits(resnet50, edit!.changes![baseUri]!)).toContain('model rn50 {');
      expect(applyEdits(resnet101, edit!.changes![childUri]!)).toContain('model resnet101 extends rn50 {');
    });
  });

  describe('formatting and code actions', () => {
    it('formats a document into the canonical layout', async () => {
      const text = 'model f {   input 3x32x32\n stem { conv 3x3 16 }   block basic\n      stage s {blocks 1 width 16}  # one\n}';
      const uri = await client.open(join(dir, 'fmt.resnet'), text);
      const edits = await client.connection.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
      expect(applyEdits(text, edits ?? [])).toBe('model f {\n  input 3x32x32\n  stem { conv 3x3 16 }\n  block basic\n  stage s { blocks 1  width 16 } # one\n}\n');
    });

    it('leaves a document with syntax errors alone', async () => {
      const uri = await client.open(join(dir, 'broken.resnet'), 'model b { input 3x32x32 stage s { blocks }\n');
      const edits = await client.connection.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
      expect(edits).toEqual([]);
    });

    it('offers to set an `expect` line to the actual value', async () => {
      const text = resnet50.replace('25_557_032', '25_000_000');
      const uri = await client.open(join(dir, 'expect.resnet'), text);
      const diags = await client.diagnosticsFor(uri);
      expect(diags.diagnostics.map((d) => d.code)).toEqual(['R0401']);
      const actions = await client.connection.sendRequest(CodeActionRequest.type, {
        textDocument: { uri },
        range: diags.diagnostics[0]!.range,
        context: { diagnostics: diags.diagnostics },
      });
      const action = actions?.find((a) => 'edit' in a);
      expect(action?.title).toBe('set the expected value to 25_557_032');
      const edit = 'edit' in action! ? action.edit!.changes![uri]! : [];
      expect(applyEdits(text, edit)).toBe(resnet50);
    });

    it('sets a rounded `expect` to the figure the check accepts: 1.01M for 1,005,000 parameters', async () => {
      // 27·164 + 2·164 + 2·(9·164² + 2·164) + 164·3124 + 3124 = 1,005,000 parameters exactly.
      const text = 'model r {\n  input 3x8x8\n  classes 3124\n  stem { conv 3x3 164 }\n  block basic\n  stage s { blocks 1  width 164 }\n  expect params 1.00M\n}\n';
      const uri = await client.open(join(dir, 'rounded.resnet'), text);
      const diags = await client.diagnosticsFor(uri);
      expect(diags.diagnostics.map((d) => d.code)).toEqual(['R0401']);
      const actions = await client.connection.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range: diags.diagnostics[0]!.range, context: { diagnostics: diags.diagnostics } });
      const action = actions?.find((a) => 'edit' in a);
      expect(action?.title).toBe('set the expected value to 1.01M');
      const fixed = applyEdits(text, 'edit' in action! ? action.edit!.changes![uri]! : []);
      expect(fixed).toContain('expect params 1.01M\n');
      const again = await client.open(join(dir, 'rounded-fixed.resnet'), fixed);
      expect((await client.diagnosticsFor(again)).diagnostics).toEqual([]);
    });

    it('offers to add the missing `expect` lines with the actual counts', async () => {
      const text = resnet50.replace('  expect params 25_557_032\n', '');
      const uri = await client.open(join(dir, 'noexpect.resnet'), text);
      await client.diagnosticsFor(uri);
      const actions = await client.connection.sendRequest(CodeActionRequest.type, {
        textDocument: { uri },
        range: { start: at(text, 'stage conv2'), end: at(text, 'stage conv2') },
        context: { diagnostics: [] },
      });
      const action = actions?.find((a) => a.title.startsWith('add expect lines'));
      const edited = applyEdits(text, 'edit' in action! ? action.edit!.changes![uri]! : []);
      // torchvision's figures for ResNet-50.
      expect(edited).toContain('  expect params 25_557_032\n  expect macs 4_089_184_256\n  expect output 2048x7x7\n}\n');
    });

    it('offers a "did you mean" as a quick fix', async () => {
      const text = 'model q {\n  input 3x32x32\n  stem { conv 3x3 16 }\n  block basic\n  shortcut projecton\n  stage s { blocks 1  width 16 }\n}\n';
      const uri = await client.open(join(dir, 'mean.resnet'), text);
      const diags = await client.diagnosticsFor(uri);
      const actions = await client.connection.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range: diags.diagnostics[0]!.range, context: { diagnostics: diags.diagnostics } });
      const action = actions?.find((a) => 'edit' in a);
      expect(action?.title).toBe("change to 'projection'");
      expect(applyEdits(text, 'edit' in action! ? action.edit!.changes![uri]! : [])).toContain('shortcut projection\n');
    });
  });

  describe('outline and colouring', () => {
    it('lists models and their stages as document symbols', async () => {
      const symbols = (await client.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: baseUri } })) as DocumentSymbol[];
      expect(symbols.map((s) => s.name)).toEqual(['resnet50']);
      expect(symbols[0]!.children!.map((s) => s.name)).toEqual(['stem', 'conv2', 'conv3', 'conv4', 'conv5']);
    });

    it('folds models and multi-line bodies, keeping the closing brace visible', async () => {
      const folds = (await client.connection.sendRequest(FoldingRangeRequest.type, { textDocument: { uri: baseUri } }))!;
      expect(folds.map((f) => [f.startLine, f.endLine])).toEqual([[1, 18], [5, 7]]);
    });

    it('colours a keyword used as a stage name as a stage name', async () => {
      const text = 'model k {\n  stage output { blocks 1  width 8 }\n}\n';
      const uri = await client.open(join(dir, 'kw.resnet'), text);
      const tokens = await client.connection.sendRequest(SemanticTokensRequest.type, { textDocument: { uri } });
      // Tokens come in fives: delta line, delta start, length, type, modifiers. The 4th token is `output` (line 1, char 8).
      const data = tokens!.data;
      expect(data.slice(15, 20)).toEqual([0, 6, 6, 2, 1]);
    });
  });

  it('draws a model as SVG for the preview', async () => {
    const result = (await client.connection.sendRequest('resnet/graph', { uri: uriOf(join(dir, 'cifar_resnet.resnet')), model: 'resnet56' })) as { svg: string; models: string[] };
    expect(result.models).toEqual(['resnet20', 'resnet32', 'resnet44', 'resnet56', 'resnet110']);
    expect(result.svg).toMatch(/^<svg /);
    expect(result.svg).toContain('conv2: 9 × basic');
  });
});
