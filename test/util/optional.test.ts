import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadOptional, optionalPackages, type OptionalPackage } from '../../src/util/optional.js';

const fakePackages: Record<string, string> = {
  // Present and loads.
  'node_modules/onnxruntime-node/package.json': '{ "name": "onnxruntime-node", "main": "index.js" }',
  'node_modules/onnxruntime-node/index.js': 'exports.InferenceSession = class InferenceSession {};',
  // Present, but its native binary was never fetched (its install script did not run).
  'node_modules/@tensorflow/tfjs-node/package.json': '{ "name": "@tensorflow/tfjs-node", "main": "index.js" }',
  'node_modules/@tensorflow/tfjs-node/index.js': "require('./lib/napi-v8/tfjs_binding.node');",
  // Present, but a dependency of its own is missing: not "webgpu is not installed".
  'node_modules/webgpu/package.json': '{ "name": "webgpu", "type": "module", "exports": "./index.js" }',
  'node_modules/webgpu/index.js': "export * from 'dawn-bindings-that-are-absent';",
  // @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-backend-webgpu and sharp: absent.
};

interface Outcome {
  loaded?: string[];
  code?: string;
  message?: string;
  help?: string;
}

// Node resolves a package from the folder of the module that imports it. So that each case
// meets a package that is present, absent or broken whatever this checkout has installed,
// the loader is bundled into a folder of its own beside a node_modules made for the test,
// and run there by Node itself (not through the test runner's module loader).
const probe = `
import { loadOptional, optionalPackages } from './optional.mjs';
const outcomes = {};
for (const name of Object.keys(optionalPackages)) {
  try {
    outcomes[name] = { loaded: Object.keys(await loadOptional(name)) };
  } catch (e) {
    outcomes[name] = { code: e.code, message: e.message, help: e.help };
  }
}
console.log(JSON.stringify(outcomes));
`;

describe('loadOptional', () => {
  let outcomes: Record<OptionalPackage, Outcome>;
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'resnetc-optional-'));
    for (const [path, text] of Object.entries({ ...fakePackages, 'probe.mjs': probe })) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    await esbuild.build({
      entryPoints: [join(import.meta.dirname, '..', '..', 'src', 'util', 'optional.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: join(root, 'optional.mjs'),
      external: Object.keys(optionalPackages),
      logLevel: 'silent',
    });
    const r = spawnSync(process.execPath, [join(root, 'probe.mjs')], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    outcomes = JSON.parse(r.stdout) as Record<OptionalPackage, Outcome>;
  });

  it('returns the module of an installed package', () => {
    expect(outcomes['onnxruntime-node'].loaded).toContain('InferenceSession');
  });

  it.each(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-webgpu', 'sharp'] as const)('reports %s, absent, as R0940 with the command that installs it', (name) => {
    expect(outcomes[name]).toEqual({ code: 'R0940', message: `${name} is not installed`, help: `to use ${optionalPackages[name]}: npm install ${name}` });
  });

  it('reports a package whose native binary is missing as R0941, with the loader saying what is missing', () => {
    const o = outcomes['@tensorflow/tfjs-node'];
    expect(o.code).toBe('R0941');
    expect(o.message).toMatch(/^@tensorflow\/tfjs-node is installed but does not load: Cannot find module '.*tfjs_binding\.node'$/);
  });

  it('reports a package whose own dependency is missing as R0941, not as the package missing', () => {
    expect(outcomes.webgpu.code).toBe('R0941');
    expect(outcomes.webgpu.message).toContain("Cannot find package 'dawn-bindings-that-are-absent'");
  });
});

describe('loadOptional from this checkout', () => {
  it('loads onnxruntime-node, a dev dependency, as tests and benches use it', async () => {
    const ort = await loadOptional<typeof import('onnxruntime-node')>('onnxruntime-node');
    expect(ort.InferenceSession.create).toBeTypeOf('function');
  });
});
