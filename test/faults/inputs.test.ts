import { closeSync, constants, ftruncateSync, openSync, readFileSync, renameSync, symlinkSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import { emitOnnx } from '../../src/onnx/index.js';
import { DataError, loadData } from '../../src/train/data.js';
import { initialWeights } from '../../src/weights/init.js';
import { cli, root } from '../helpers/cli.js';
import { TestClient, uriOf } from '../lsp/client.js';
import { mkfifo, noCrash, resnetc, removeScratch, scratch, tinySpec } from './io-helpers.js';

/**
 * Issue 9, "never leak, never hang on a file": resnetc reads only regular files, within a
 * limit per kind, never a file a model names outside its folder, never a non-spec through
 * an import; a file's header is checked before its body is read or decompressed. Each
 * case failed on the code before src/io (a hang, unbounded memory, a leak, R0000).
 */

const codeOf = (stderr: string): string | undefined => /error\[(R\d{4})\]/.exec(stderr)?.[1];

/** A folder with the tiny spec compiled to a tfjs model in `model/`. */
async function tfjsModel(): Promise<{ dir: string; spec: string; model: string }> {
  const dir = scratch({ 'tiny.resnet': tinySpec });
  const spec = join(dir, 'tiny.resnet');
  const model = join(dir, 'model');
  expect((await cli('compile', spec, '-t', 'tfjs', '-o', model)).code).toBe(0);
  return { dir, spec, model };
}

type Manifest = { weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[] };
const readManifest = (model: string): Manifest => JSON.parse(readFileSync(join(model, 'model.json'), 'utf8')) as Manifest;
const writeManifest = (model: string, m: Manifest): void => writeFileSync(join(model, 'model.json'), JSON.stringify(m));

afterAll(removeScratch);

describe('a model reads only files in its own folder (case 6)', () => {
  it('refuses a tfjs shard path that leaves the model folder: `../`, absolute, or a link leading out', async () => {
    const { dir, spec, model } = await tfjsModel();
    // The shard moved out of the folder, the manifest pointing at it: its bytes were read as the weights.
    renameSync(join(model, 'weights.bin'), join(dir, 'secret.bin'));
    symlinkSync(join(dir, 'secret.bin'), join(model, 'link.bin'));
    for (const path of ['../secret.bin', join(dir, 'secret.bin'), './link.bin']) {
      const m = readManifest(model);
      m.weightsManifest[0]!.paths = [path];
      writeManifest(model, m);
      const r = await cli('compile', spec, '-t', 'onnx', '--weights', model, '-o', join(dir, 'out.onnx'));
      expect([r.code, codeOf(r.stderr)], path).toEqual([1, 'R0813']);
      expect(existsSync(join(dir, 'out.onnx'))).toBe(false);
    }
  });
});

describe('an import reads only specs (case 7)', () => {
  it('refuses to import a file that is not a .resnet file, and never quotes its text', async () => {
    const dir = scratch({ 'secret.txt': 'hunter2 is the password\n', 'a.resnet': `import "secret.txt"\n${tinySpec}` });
    symlinkSync(join(dir, 'secret.txt'), join(dir, 'secret.resnet'));
    writeFileSync(join(dir, 'b.resnet'), `import "secret.resnet"\n${tinySpec}`);
    writeFileSync(join(dir, 'c.resnet'), `import "/etc/passwd"\n${tinySpec}`);
    for (const file of ['a.resnet', 'b.resnet', 'c.resnet']) {
      const r = await cli('check', join(dir, file));
      expect(r.code, file).toBe(1);
      expect(codeOf(r.stderr), file).toBe('R0814');
      expect(r.stderr).not.toMatch(/hunter2|root/);
    }
  });
});

describe('special files are refused at once (cases 8, 9)', () => {
  it('FIFOs and /dev/zero as a spec, an import, --weights, model.json or a shard: a code at once (case 8: never returned; case 9: memory without bound)', async () => {
    const { dir, spec } = await tfjsModel();
    mkfifo(join(dir, 'pipe.onnx'));
    const shardModel = join(dir, 'fifo-shard');
    expect((await cli('compile', spec, '-t', 'tfjs', '-o', shardModel)).code).toBe(0);
    const m = readManifest(shardModel);
    m.weightsManifest[0]!.paths = ['./pipe.bin'];
    writeManifest(shardModel, m);
    mkfifo(join(shardModel, 'pipe.bin'));
    const jsonModel = join(dir, 'fifo-json');
    expect((await cli('compile', spec, '-t', 'tfjs', '-o', jsonModel)).code).toBe(0);
    renameSync(join(jsonModel, 'model.json'), join(jsonModel, 'saved.json'));
    mkfifo(join(jsonModel, 'model.json'));
    mkfifo(join(dir, 'pipe.resnet'));
    symlinkSync('/dev/zero', join(dir, 'zero.resnet'));
    writeFileSync(join(dir, 'imports-fifo.resnet'), `import "pipe.resnet"\n${tinySpec}`);
    writeFileSync(join(dir, 'imports-zero.resnet'), `import "/dev/zero"\n${tinySpec}`);
    const compile = (weights: string): string[] => ['compile', spec, '-t', 'onnx', '--weights', weights, '-o', join(dir, 'out.onnx')];
    // Each in a process of its own, killed after 30 s: on the old code each read forever.
    const [checks, ...compiles] = await Promise.all(
      [
        ['check', '--json', '/dev/zero', join(dir, 'pipe.resnet'), join(dir, 'zero.resnet'), join(dir, 'imports-fifo.resnet'), join(dir, 'imports-zero.resnet')],
        ...[join(dir, 'pipe.onnx'), '/dev/zero', shardModel, jsonModel].map(compile),
      ].map((args) => resnetc(args, { timeoutMs: 30_000 })),
    );
    expect(checks!.signal, checks!.stderr).toBeNull();
    const report = JSON.parse(checks!.stdout) as { files: { diagnostics: { code: string }[] }[] };
    expect(report.files.map((f) => f.diagnostics[0]?.code)).toEqual(['R0811', 'R0811', 'R0814', 'R0811', 'R0814']);
    for (const r of compiles) {
      expect(r.signal, r.stderr).toBeNull();
      noCrash(r);
      expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0811']);
    }
  }, 60_000);

  it('a spec over the size limit is refused before it is read', async () => {
    const dir = scratch();
    const path = join(dir, 'huge.resnet');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 17 * 1024 * 1024);
    closeSync(fd);
    const r = await cli('check', path);
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0812']);
  });

  it('the language server answers with a FIFO imported or asked for (case 8: it was wedged for good)', async () => {
    const dir = scratch();
    mkfifo(join(dir, 'pipe.resnet'));
    const client = await TestClient.start(dir);
    try {
      const uri = await client.open(join(dir, 'a.resnet'), `import "pipe.resnet"\n${tinySpec}`);
      const published = await client.diagnosticsFor(uri, () => true, 20_000);
      expect(published.diagnostics.map((d) => d.code)).toEqual(['R0811']);
      const symbols = await client.connection.sendRequest('textDocument/documentSymbol', { textDocument: { uri: uriOf(join(dir, 'pipe.resnet')) } });
      expect(symbols).toEqual([]);
      const other = await client.open(join(dir, 'b.resnet'), tinySpec);
      expect((await client.diagnosticsFor(other, () => true, 20_000)).diagnostics).toEqual([]);
    } finally {
      // A server blocked opening the FIFO (the old code) is let go by a writer's open.
      try {
        closeSync(openSync(join(dir, 'pipe.resnet'), constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // No reader: nothing is blocked on it.
      }
      await Promise.race([client.stop(), new Promise((r) => setTimeout(r, 5000))]);
    }
  }, 60_000);
});

/** An IDX file of unsigned bytes: 00 00 08, the rank, the dimensions (big-endian), then the data. */
function idxHeader(dims: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => new DataView(header.buffer).setUint32(4 + 4 * i, d));
  return header;
}

describe('sizes are checked against what headers declare, before reading (case 13)', () => {
  it('a gzip bomb in IDX data costs no more memory than its header declares', async () => {
    // 1000 images of 28x28 declared, 640 MB of zeros inside (gzip members of 16 MiB each).
    const zeros = gzipSync(new Uint8Array(16 * 1024 * 1024));
    const bomb = Buffer.concat([gzipSync(idxHeader([1000, 28, 28])), ...Array.from({ length: 40 }, () => zeros)]);
    const labels = (n: number): Uint8Array => gzipSync(Buffer.concat([idxHeader([n]), new Uint8Array(n)]));
    const counts = scratch({ 'train-images-idx3-ubyte.gz': bomb, 'train-labels-idx1-ubyte.gz': labels(999), 't10k-images-idx3-ubyte.gz': bomb, 't10k-labels-idx1-ubyte.gz': labels(999) });
    const longer = scratch({ 'train-images-idx3-ubyte.gz': bomb, 'train-labels-idx1-ubyte.gz': labels(1000), 't10k-images-idx3-ubyte.gz': bomb, 't10k-labels-idx1-ubyte.gz': labels(1000) });
    const script = join(scratch(), 'load.mts');
    writeFileSync(
      script,
      `import { loadData } from ${JSON.stringify(join(root, 'src', 'train', 'data.ts'))};
for (const dir of process.argv.slice(2)) {
  try { loadData(dir, { input: { c: 1, h: 28, w: 28 }, classes: 10 }); console.log('loaded'); }
  catch (e) { console.log((e as { code?: string }).code ?? String(e)); }
}
console.log(Math.round(process.resourceUsage().maxRSS / 1024));`,
    );
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, counts, longer], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const [first, second, mib] = r.stdout.trim().split('\n');
    expect(first).toBe('R0603'); // 1000 images, 999 labels: the headers say so
    expect(second).toBe('R0603'); // more data than the header declares
    expect(Number(mib)).toBeLessThan(400); // the bomb alone is 640 MiB
  }, 60_000);

  it('a tfjs manifest of 100,000 shards is refused before any is opened; shards of other sizes than declared too', async () => {
    const { dir, spec, model } = await tfjsModel();
    const m = readManifest(model);
    const paths = m.weightsManifest[0]!.paths;
    m.weightsManifest[0]!.paths = Array.from({ length: 100_000 }, () => paths[0]!);
    writeManifest(model, m);
    const started = Date.now();
    let r = await cli('compile', spec, '-t', 'onnx', '--weights', model, '-o', join(dir, 'out.onnx'));
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0815']);
    expect(Date.now() - started).toBeLessThan(10_000);
    m.weightsManifest[0]!.paths = paths;
    writeManifest(model, m);
    writeFileSync(join(model, 'weights.bin'), Buffer.concat([readFileSync(join(model, 'weights.bin')), new Uint8Array(4)]));
    r = await cli('compile', spec, '-t', 'onnx', '--weights', model, '-o', join(dir, 'out.onnx'));
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0815']);
  });
});

describe('malformed input is a coded error, never R0000 (case 14)', () => {
  const code = (f: () => unknown): string => {
    try {
      f();
      return 'none';
    } catch (e) {
      return e instanceof DataError || (e as { code?: string }).code?.startsWith('R') ? (e as { code: string }).code : `R0000 ${String(e)}`;
    }
  };

  it('an IDX file of rank 255, a header cut short, or a size over the limit', () => {
    const set = (images: Uint8Array): string =>
      scratch({ 'train-images-idx3-ubyte': images, 'train-labels-idx1-ubyte': Buffer.concat([idxHeader([2]), new Uint8Array(2)]), 't10k-images-idx3-ubyte': images, 't10k-labels-idx1-ubyte': Buffer.concat([idxHeader([2]), new Uint8Array(2)]) });
    const rank255 = Buffer.concat([new Uint8Array([0, 0, 8, 255]), new Uint8Array(40)]);
    expect(code(() => loadData(set(rank255), { input: { c: 1, h: 2, w: 2 }, classes: 10 }))).toBe('R0603');
    expect(code(() => loadData(set(new Uint8Array([0, 0, 8, 3, 0, 0])), { input: { c: 1, h: 2, w: 2 }, classes: 10 }))).toBe('R0603');
    expect(code(() => loadData(set(idxHeader([0xffffffff, 0xffff, 0xffff])), { input: { c: 1, h: 2, w: 2 }, classes: 10 }))).toBe('R0812');
  });

  it('`fmt` over folders it cannot list says so with a code (case 14: `fmt /` gave R0000)', async () => {
    if (!existsSync('/proc/1')) return;
    let listable = true;
    try {
      readdirSync('/proc/1/fdinfo');
    } catch {
      listable = false;
    }
    const r = await cli('fmt', '--check', '/proc/1');
    expect(r.code).toBe(listable ? 0 : 1);
    if (!listable) expect(r.stderr).toMatch(/^error\[R0902\]: cannot list the folder/m);
  });

  it('NaN, an infinity or a negative running variance in --weights is refused, naming the tensor (ONNX file and tfjs model)', async () => {
    const { dir, spec, model } = await tfjsModel();
    const checked = new Workspace().check(spec)!.models[0]!;
    const cases: [string, number, RegExp][] = [
      ['stem.conv1.weight', NaN, /'stem\.conv1\.weight' holds NaN/],
      ['head.fc.bias', Infinity, /'head\.fc\.bias' holds Infinity/],
      ['s1.block0.norm1.running_var', -1, /'s1\.block0\.norm1\.running_var' holds a negative running variance/],
    ];
    for (const [name, value, message] of cases) {
      const weights = initialWeights(checked);
      weights.get(name)![0] = value;
      writeFileSync(join(dir, 'bad.onnx'), emitOnnx(checked, weights));
      for (const args of [['-t', 'onnx', '--inference', '-o', join(dir, 'out.onnx')], ['-t', 'tfjs', '-o', join(dir, 'out')]]) {
        const r = await cli('compile', spec, '--weights', join(dir, 'bad.onnx'), ...args);
        expect([r.code, codeOf(r.stderr)], `${name} ${args[1]}`).toEqual([1, 'R0816']);
        expect(r.stderr).toMatch(message);
      }
    }
    // The same in a tfjs model's shard: its first weight NaN.
    const bytes = readFileSync(join(model, 'weights.bin'));
    bytes.writeFloatLE(NaN, 0);
    writeFileSync(join(model, 'weights.bin'), bytes);
    const r = await cli('compile', spec, '-t', 'onnx', '--weights', model, '-o', join(dir, 'out.onnx'));
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0816']);
    // Refused while the file was streamed (the weights are checked as they are decoded): nothing left.
    expect(readdirSync(dir).filter((f) => f.includes('out'))).toEqual([]);
  });
});
