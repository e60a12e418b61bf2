import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import * as esbuild from 'esbuild';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitOnnx } from '../../src/onnx/index.js';
import { initialWeights } from '../../src/weights/init.js';
import { nchwToNhwc } from '../../src/weights/layout.js';
import { cli } from '../helpers/cli.js';
import { checkText, randomImages, relativeError, tempDir } from './helpers.js';

// Every custom layer the tfjs target has: shortcut A (SubsamplePad), grouped convolutions,
// PyTorch-style pools (the stem's, and shortcut D's ceil-mode average), SE.
const specText = `model browser {
  input 3x9x9
  classes 5
  stem { conv 3x3 8  maxpool 3x3 stride 2 }
  block bottleneck { groups 2  width_per_group 32  se 4 }
  shortcut D
  stage s1 { blocks 1  width 4 }
  stage s2 { blocks 1  width 32  stride 2  block basic  shortcut A }
}
`;

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
// CI installs Chromium (.ci/run); elsewhere the test says why it did not run.
const runIt = chromium || process.env['CI'] ? it : it.skip;

const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.bin': 'application/octet-stream' };

function serve(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
    if (!path.startsWith(root) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

describe('a model written by --target tfjs, in a browser', () => {
  let server: Server | undefined;
  afterAll(() => server?.close());
  beforeAll(() => {
    if (!chromium) console.warn('Chromium is not installed (apt-get install chromium): the browser test does not run here');
  });

  runIt('loads with tf.loadLayersModel in a bundled page and gives ONNX Runtime outputs', async () => {
    expect(chromium, 'CI installs Chromium for this test').toBeDefined();
    const root = tempDir('resnetc-browser-');
    const specPath = join(root, 'browser.resnet');
    writeFileSync(specPath, specText);
    const r = await cli('compile', specPath, '--target', 'tfjs', '-o', join(root, 'model'), '--seed', '3');
    expect(r.code, r.stderr).toBe(0);

    const model = checkText(specText);
    const x = randomImages(2 * 3 * 9 * 9, 11);
    writeFileSync(join(root, 'input.json'), JSON.stringify({ data: Array.from(nchwToNhwc(x, 2, 3, 9, 9)), shape: [2, 9, 9, 3] }));
    await esbuild.build({
      entryPoints: [join(import.meta.dirname, 'browser', 'page.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(root, 'page.js'),
      logLevel: 'silent',
    });
    writeFileSync(join(root, 'index.html'), '<!doctype html><html><body>LOADING<script type="module" src="page.js"></script></body></html>');
    mkdirSync(join(root, 'profile'));
    server = await serve(root);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`;

    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(root, 'profile')}`, '--virtual-time-budget=30000', '--dump-dom', url];
    // Asynchronously, so that this process's server can answer the page's requests.
    const page = await new Promise<string>((done) => execFile(chromium!, args, { timeout: 60_000, maxBuffer: 1 << 24 }, (_e, stdout) => done(stdout)));
    const found = /OUTPUT (\[[^<]*\])/.exec(page);
    expect(found, page.slice(0, 2000)).not.toBeNull();
    const inBrowser = JSON.parse(found![1]!) as number[];

    const session = await ort.InferenceSession.create(emitOnnx(model, initialWeights(model, { seed: 3 })));
    const reference = (await session.run({ input: new ort.Tensor('float32', x, [2, 3, 9, 9]) }))['output']!.data as Float32Array;
    await session.release();
    expect(inBrowser).toHaveLength(reference.length);
    expect(relativeError(inBrowser, reference)).toBeLessThan(1e-4);
  });
});
