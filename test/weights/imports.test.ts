import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The import graph of src/, read from the sources' own import statements (static `import …
 * from`, `export … from`, side-effect `import '…'`, and `import('…')`): backends consume
 * weight sources and never reach into each other, and the weights layer reads every format
 * without loading TensorFlow.js or the ONNX protobuf code until a file of that format is read.
 */
const src = join(import.meta.dirname, '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

interface Import {
  target: string;
  dynamic: boolean;
}

/** A module's imports: resolved paths under src/ (`.js` read as the `.ts` source), packages by name. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[^]*?\*\/|^\s*\/\/.*$/gm, '');
  const found: Import[] = [];
  const add = (spec: string, dynamic: boolean): void => {
    const target = spec.startsWith('.') ? resolve(dirname(file), spec).replace(/\.js$/, '.ts') : spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
    found.push({ target, dynamic });
  };
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm)) add(m[1]!, false);
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) add(m[1]!, false);
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) add(m[1]!, true);
  return found;
}

const graph = new Map(files(src).map((f) => [f, importsOf(f)]));
const area = (file: string): string => relative(src, file).split('/')[0]!;

/** Every module (and package) a module loads when it is imported: its static imports, transitively. */
function staticClosure(start: string): Set<string> {
  const seen = new Set<string>([start]);
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const { target, dynamic } of graph.get(queue[i]!) ?? []) {
      if (dynamic || seen.has(target)) continue;
      seen.add(target);
      queue.push(target);
    }
  }
  return seen;
}

describe('the import graph', () => {
  it('is read: every relative import names a module of src/', () => {
    for (const [file, imports] of graph) {
      for (const { target } of imports) if (target.startsWith('/')) expect(graph.has(target), `${relative(src, file)} imports ${relative(src, target)}`).toBe(true);
    }
    // The reader finds what it must: the ONNX format's dynamic import of the matcher.
    expect(graph.get(join(src, 'weights', 'formats', 'onnx.ts'))).toContainEqual({ target: join(src, 'onnx', 'import.ts'), dynamic: true });
  });

  it('has no backend import another, statically or lazily (src/train is the tfjs backend\'s training)', () => {
    const backend = (file: string): string | undefined => ({ onnx: 'onnx', tfjs: 'tfjs', train: 'tfjs', torch: 'torch' })[area(file)];
    const crossings: string[] = [];
    for (const [file, imports] of graph) {
      const from = backend(file);
      if (!from) continue;
      for (const { target } of imports) {
        const to = target.startsWith('/') ? backend(target) : undefined;
        if (to && to !== from) crossings.push(`${relative(src, file)} -> ${relative(src, target)}`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it('lets src/weights read every format without loading TensorFlow.js or the ONNX protobuf code', () => {
    for (const file of graph.keys()) {
      if (area(file) !== 'weights') continue;
      const loaded = [...staticClosure(file)];
      expect(
        loaded.filter((m) => m.startsWith('@tensorflow') || m === 'onnx-proto' || m === 'protobufjs'),
        relative(src, file),
      ).toEqual([]);
      // Nothing of a backend but the modules that read its files (no model building, no training).
      const backendModules = loaded.filter((m) => m.startsWith('/') && ['onnx', 'tfjs', 'torch', 'train'].includes(area(m))).map((m) => relative(src, m));
      for (const m of backendModules) expect(['tfjs/model-dir.ts', 'tfjs/model-path.ts', 'tfjs/names.ts'], `${relative(src, file)} loads ${m}`).toContain(m);
    }
  });
});
