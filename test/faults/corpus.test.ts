import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/cli/check.js';
import { codes } from '../../src/diagnostics/codes.js';
import { emitOnnx } from '../../src/onnx/index.js';
import { type GraphProto, onnx } from '../../src/onnx/proto.js';
import { initialWeights } from '../../src/weights/init.js';
import { model } from '../helpers/check.js';
import { faultsOf, finish, hangLimitMs, removeTranspiled, root, runCli, transpiledCli } from './harness.js';
import { hostileTexts, importChain, manyModels, manyStages, validModel } from './hostile.js';
import { LspProcess } from './lsp-process.js';

/**
 * The fault corpus: hostile inputs through the command line and the language server, each in
 * processes of their own, as users run them. Any internal error (R0000), stack trace, crash or
 * run over 10 s (killed there) fails the test. The inputs are those of issue 9's "hangs and
 * crashes" (cases 10, 11, 12 and 15) and their kin; test/faults/ may hold other corpora
 * (file-system faults) built on the same harness.
 */

let dir: string;
/** The hostile texts as files, by name. */
const files = new Map<string, string>();
const slug = (name: string): string => name.replace(/[^a-z0-9]+/gi, '-');

beforeAll(async () => {
  await transpiledCli();
  dir = mkdtempSync(join(tmpdir(), 'resnetc-faults-'));
  for (const [name, make] of Object.entries(hostileTexts)) {
    const path = join(dir, `${slug(name)}.resnet`);
    writeFileSync(path, make());
    files.set(name, path);
  }
  mkdirSync(join(dir, 'chain'));
  for (const [name, text] of Object.entries(importChain(2_000))) writeFileSync(join(dir, 'chain', name), text);
  writeFileSync(join(dir, 'tall.resnet'), manyStages(1_500));
  writeFileSync(join(dir, 'ok.resnet'), validModel);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeTranspiled();
});

/** The faults of a run, with what it printed last when there are any (for the failure message). */
function faults(run: Awaited<ReturnType<typeof runCli>>, what: string): string[] {
  const found = faultsOf(run, what);
  return found.length === 0 ? [] : [...found, `stderr: ${run.stderr.slice(-600)}`, `stdout: ${run.stdout.slice(-300)}`];
}

/** The texts that take a second or more to check: each gets a process of its own, the rest share one. */
const heavy = ['words without statements', 'errors on every line', 'errors on one long line', 'a large valid file', 'a stage per line', 'characters that start no token'];

describe('the fault corpus through the command line', () => {
  const groups = [...heavy.map((name) => [name]), Object.keys(hostileTexts).filter((name) => !heavy.includes(name))];
  for (const names of groups) {
    it(`check --json: ${names.join(', ')}`, async () => {
      const run = await runCli(['check', '--json', ...names.map((name) => files.get(name)!)]);
      expect(faults(run, 'check --json')).toEqual([]);
      const report = JSON.parse(run.stdout) as CheckReport;
      expect(report.files).toHaveLength(names.length);
      for (const file of report.files) for (const d of file.diagnostics) expect(d.code in codes, d.code).toBe(true);
    });
  }

  it('check --json gives every file its result when one of them is hostile (case 10)', async () => {
    const named = [join(dir, 'ok.resnet'), files.get('nested braces')!, files.get('digits then a letter')!, join(dir, 'ok.resnet')];
    const run = await runCli(['check', '--json', ...named]);
    expect(faults(run, 'check --json')).toEqual([]);
    const report = JSON.parse(run.stdout) as CheckReport;
    expect(report.files.map((f) => f.file)).toEqual(named);
    expect(report.files.map((f) => f.models.length)).toEqual([1, 1, 1, 1]);
    expect(report.files[1]!.diagnostics.map((d) => d.code)).toContain('R0004');
    expect(report.files[2]!.diagnostics.map((d) => d.code)).toContain('R0001');
  });

  it('check of an import chain of 2,000 files (case 10)', async () => {
    const run = await runCli(['check', '--json', join(dir, 'chain', 'chain1999.resnet')]);
    expect(faults(run, 'check')).toEqual([]);
    expect((JSON.parse(run.stdout) as CheckReport).files[0]!.diagnostics.map((d) => d.code)).toEqual(['R0111', 'R0103']);
  });

  it('check prints tens of thousands of errors in linear time, the first hundred of each file (case 11)', async () => {
    const path = files.get('errors on every line')!;
    const run = await runCli(['check', path, files.get('errors on one long line')!]);
    expect(faults(run, 'check')).toEqual([]);
    expect(run.stderr.match(/^error\[R\d{4}\]/gm)).toHaveLength(200);
    expect(run.stderr).toMatch(/^… and [\d,]+ more in .*errors-on-every-line\.resnet \(`resnetc check --json` lists them all\)$/m);
    // A frame shows at most 120 columns of a line, however long the line.
    expect(Math.max(...run.stderr.split('\n').map((l) => l.length))).toBeLessThan(200);
  });

  it('fmt on every hostile file', async () => {
    const copies = mkdtempSync(join(dir, 'fmt-'));
    const paths = [...files].map(([name, path]) => {
      const copy = join(copies, `${slug(name)}.resnet`);
      writeFileSync(copy, readFileSync(path));
      return copy;
    });
    const run = await runCli(['fmt', ...paths]);
    expect(faults(run, 'fmt')).toEqual([]);
    // Files with syntax errors are left exactly as they were.
    expect(readFileSync(join(copies, 'nested-braces.resnet'), 'utf8')).toBe(readFileSync(files.get('nested braces')!, 'utf8'));
  });

  for (const args of [['summary'], ['summary', '--layers'], ['graph'], ['compile', '-t', 'onnx', '-o', 'OUT']]) {
    it(`${args.join(' ')} of a model of 1,500 stages`, async () => {
      const run = await runCli([args[0]!, join(dir, 'tall.resnet'), ...args.slice(1).map((a) => (a === 'OUT' ? join(dir, 'tall.onnx') : a))]);
      expect(faults(run, args.join(' '))).toEqual([]);
      expect(run.code).toBe(0);
    });
  }

  describe('--weights files built to defeat matching (case 12)', () => {
    const cifar = join(root, 'specs', 'cifar_resnet.resnet');
    /** resnet56's ONNX file (seed 0), changed by `edit`. */
    const resnet56 = (edit: (g: GraphProto) => void): string => {
      const m = model(readFileSync(cifar, 'utf8'), 'resnet56');
      const decoded = onnx.ModelProto.decode(emitOnnx(m, initialWeights(m, { seed: 0 })));
      edit(decoded.graph!);
      const path = join(dir, `weights-${Math.random().toString(36).slice(2)}.onnx`);
      writeFileSync(path, onnx.ModelProto.encode(decoded).finish());
      return path;
    };

    it('every node duplicated, against resnet44: R0508 at once (the search over readings ran for minutes)', async () => {
      const weights = resnet56((g) => {
        g.node = [...g.node!, ...g.node!.map((n) => onnx.NodeProto.create({ ...n, name: `${n.name}_dup` }))];
      });
      const run = await runCli(['compile', cifar, '--model', 'resnet44', '-t', 'onnx', '-o', join(dir, 'r44.onnx'), '--weights', weights]);
      expect(faults(run, 'compile --weights')).toEqual([]);
      expect(run.stderr).toContain('error[R0508]');
    });

    it('an Identity cycle feeding an addition: R0509 (it overflowed the stack)', async () => {
      const weights = resnet56((g) => {
        g.node!.find((n) => n.opType === 'Add')!.input![1] = 'loop.a';
        g.node!.push(onnx.NodeProto.create({ opType: 'Identity', input: ['loop.b'], output: ['loop.a'] }));
        g.node!.push(onnx.NodeProto.create({ opType: 'Identity', input: ['loop.a'], output: ['loop.b'] }));
      });
      const run = await runCli(['compile', cifar, '--model', 'resnet56', '-t', 'onnx', '-o', join(dir, 'r56.onnx'), '--weights', weights]);
      expect(faults(run, 'compile --weights')).toEqual([]);
      expect(run.stderr).toContain('error[R0509]');
    });

    it('SIGTERM ends a compile at once while it reads its weights (it was held back for the whole compile)', async () => {
      const fifo = join(dir, 'weights.fifo');
      try {
        execFileSync('mkfifo', [fifo]);
      } catch {
        return; // no FIFOs here: nothing to block a read with
      }
      const main = join(await transpiledCli(), 'src', 'cli', 'main.js');
      const child = spawn(process.execPath, [main, 'compile', cifar, '--model', 'resnet20', '-t', 'onnx', '-o', join(dir, 'blocked.onnx'), '--weights', fifo], { stdio: ['ignore', 'pipe', 'pipe'] });
      const done = finish(child, hangLimitMs);
      // Opening the FIFO to write returns once the compile has opened it to read: it is then
      // blocked reading, with no data coming. (A compile that refuses FIFOs exits instead.)
      const writer = open(fifo, 'w');
      const first = await Promise.race([writer.then(() => 'reading' as const), done.then(() => 'exited' as const)]);
      if (first === 'reading') {
        const sent = performance.now();
        child.kill('SIGTERM');
        const run = await done;
        expect(run.timedOut, 'the compile ignored SIGTERM').toBe(false);
        expect(performance.now() - sent).toBeLessThan(3000);
        expect(run.signal ?? run.code).not.toBe(0);
      } else {
        expect(faultsOf(await done)).toEqual([]);
        // Let the pending open finish, so nothing is left waiting on the FIFO.
        closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
      }
      await (await writer).close();
      expect(existsSync(join(dir, 'blocked.onnx'))).toBe(false);
    });
  });
});

/**
 * A language server for the tests of a describe block, over an empty folder (the documents
 * are open ones), stopped after them.
 */
function serve(folder: string, started: (server: LspProcess) => void): void {
  let server: LspProcess | undefined;
  beforeAll(async () => {
    mkdirSync(join(dir, folder));
    started((server = await LspProcess.start(join(dir, folder))));
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });
}

/** The server lived through it all, logged no internal failure, and ends as the protocol says. */
async function endsCleanly(server: LspProcess): Promise<void> {
  expect(server.alive).toBe(true);
  expect(server.log.filter((l) => / failed: |R0000|internal error/.test(l))).toEqual([]);
  expect(server.stderr).toBe('');
  await server.stop();
  expect(server.exit?.code).toBe(0);
}

describe('the language server: a large document, bad parameters, cancellation, broken framing', () => {
  let server: LspProcess;
  serve('lsp-messages', (started) => (server = started));

  const large = manyModels(1_000_000);
  let largeUri = '';

  it('answers documentSymbol and inlayHint on a large document in linear time (case 11: quadratic before)', async () => {
    const text = large;
    const uri = (largeUri = server.open(join(dir, 'open', 'large.resnet'), text));
    await server.diagnosticsOf(uri);
    const symbols = await server.request('textDocument/documentSymbol', { textDocument: { uri } });
    expect(symbols.timedOut).toBeUndefined();
    expect((symbols.result as unknown[]).length).toBeGreaterThan(15_000);
    const lines = text.split('\n').length;
    const hints = await server.request('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: lines, character: 0 } } });
    expect(hints.timedOut).toBeUndefined();
    expect((hints.result as unknown[]).length).toBeGreaterThan(15_000);
  });

  it('answers requests with bad parameters with InvalidParams, never an edit or a crash (case 15)', async () => {
    const uri = server.open(join(dir, 'open', 'params.resnet'), validModel);
    const at = { textDocument: { uri }, position: { line: 0, character: 7 } };
    for (const newName of [null, '', 'two words', 42, 'x'.repeat(2000)]) {
      const answer = await server.request('textDocument/rename', { ...at, newName });
      expect(answer.error?.code, `rename to ${JSON.stringify(newName)?.slice(0, 20)}`).toBe(-32602);
    }
    for (const position of [{ line: -1, character: 0 }, { line: '0', character: 0 }, null, { line: 1.5, character: 0 }]) {
      const answer = await server.request('textDocument/hover', { textDocument: { uri }, position });
      expect(answer.error?.code, `hover at ${JSON.stringify(position)}`).toBe(-32602);
    }
    for (const params of [null, {}, { textDocument: null }, { textDocument: { uri: 42 } }]) {
      const answer = await server.request('textDocument/documentSymbol', params);
      expect(answer.error?.code, `documentSymbol of ${JSON.stringify(params)}`).toBe(-32602);
    }
    // A document whose text is not a string is ignored, and the server goes on.
    server.notify('textDocument/didOpen', { textDocument: { uri: `${uri}.bad`, languageId: 'resnet', version: 1, text: 42 } });
    expect((await server.request('textDocument/hover', at)).result).toBeTruthy();
  });

  it('answers a cancelled request with RequestCancelled or its result, and serves others meanwhile', async () => {
    const small = server.open(join(dir, 'open', 'small.resnet'), validModel);
    const symbols = server.request('textDocument/documentSymbol', { textDocument: { uri: largeUri } });
    server.cancel(symbols.id);
    const hover = await server.request('textDocument/hover', { textDocument: { uri: small }, position: { line: 0, character: 7 } });
    expect(hover.result).toBeTruthy();
    const answer = await symbols;
    expect(answer.timedOut).toBeUndefined();
    if (answer.error) expect(answer.error.code).toBe(-32800);
  });

  it('keeps serving after framing errors (case 15: it stopped answering for good)', async () => {
    const uri = server.open(join(dir, 'open', 'framing.resnet'), validModel);
    const hover = { textDocument: { uri }, position: { line: 0, character: 7 } };
    const broken = [
      'Content-Type: x\r\n\r\n{"jsonrpc":"2.0","id":9999}',
      'Content-Length: abc\r\n\r\n{}',
      'Content-Length: 5\r\n\r\n{abc}',
      'Content-Length: 100000\r\n\r\n{"jsonrpc":"2.0"}',
      'Content-Length: 3\r\n\r\n{"jsonrpc":"2.0","id":9998,"method":"shutdown"}',
      'garbage\r\n\r\n',
    ];
    for (const bytes of broken) {
      server.sendRaw(bytes);
      const answer = await server.request('textDocument/hover', hover);
      expect(answer.result, `no answer after ${JSON.stringify(bytes)}`).toBeTruthy();
    }
  });

  it('is alive at the end, logged no internal failure and exits cleanly', () => endsCleanly(server));
});

describe('the fault corpus through the language server', () => {
  let server: LspProcess;
  serve('lsp-corpus', (started) => (server = started));

  /** Requests a document's every provider, as an editor does on opening it; returns what failed. */
  async function everyProvider(uri: string, text: string): Promise<string[]> {
    const problems: string[] = [];
    const doc = { textDocument: { uri } };
    const lines = text.split('\n');
    const end = { line: lines.length - 1, character: lines[lines.length - 1]!.length };
    const middle = { line: Math.floor(lines.length / 2), character: 2 };
    const requests: [string, unknown][] = [
      ['textDocument/documentSymbol', doc],
      ['textDocument/inlayHint', { ...doc, range: { start: { line: 0, character: 0 }, end } }],
      ['textDocument/semanticTokens/full', doc],
      ['textDocument/foldingRange', doc],
      ['textDocument/hover', { ...doc, position: { line: 0, character: 7 } }],
      ['textDocument/hover', { ...doc, position: middle }],
      ['textDocument/completion', { ...doc, position: end }],
      ['textDocument/completion', { ...doc, position: middle }],
      ['textDocument/definition', { ...doc, position: middle }],
      ['textDocument/references', { ...doc, position: { line: 0, character: 7 }, context: { includeDeclaration: true } }],
      ['textDocument/rename', { ...doc, position: { line: 0, character: 7 }, newName: 'renamed' }],
      ['textDocument/formatting', { ...doc, options: { tabSize: 2, insertSpaces: true } }],
      ['textDocument/codeAction', { ...doc, range: { start: { line: 0, character: 0 }, end }, context: { diagnostics: [] } }],
    ];
    for (const [method, params] of requests) {
      const answer = await server.request(method, params);
      if (answer.timedOut || answer.dead) problems.push(`${method}: ${answer.timedOut ? 'no answer in 10 s' : 'the server died'}`);
      else if (answer.error && answer.error.code !== -32602) problems.push(`${method}: ${answer.error.message}`);
    }
    return problems;
  }

  for (const name of Object.keys(hostileTexts)) {
    it(`opens and serves: ${name}`, async () => {
      const text = readFileSync(files.get(name)!, 'utf8');
      const uri = server.open(join(dir, 'open', `${slug(name)}.resnet`), text);
      const diagnostics = await server.diagnosticsOf(uri);
      expect(diagnostics, 'no diagnostics published within 10 s').toBeDefined();
      expect(diagnostics!.filter((d) => d.code === 'R0000')).toEqual([]);
      expect(await everyProvider(uri, text)).toEqual([]);
      expect(server.alive).toBe(true);
    });
  }

  it('is alive at the end, logged no internal failure and exits cleanly', () => endsCleanly(server));
});
