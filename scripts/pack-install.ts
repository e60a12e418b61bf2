/**
 * `npm run test:pack` (a step of .ci/run): the package as a user gets it.
 *
 * Packs resnetc as `npm publish` would, installs the tarball into an empty project from the
 * npm registry with npm's default settings (this project's .npmrc and the `npm_config_*`
 * variables of an `npm run` do not reach it: they do not travel with the package either),
 * and runs from that install what a new user runs first, with the bundled specs:
 * `npx resnetc --version`, `check`, `compile --target onnx` and `--target tfjs` (their
 * files must be byte for byte this checkout's, and the ONNX file must run in ONNX Runtime),
 * `train` on the wasm backend, `graph`, a missing optional backend (R0605), an import
 * of every entry point in package.json's `exports`; then image folders: `train` and
 * `predict` without sharp (an optional peer dependency: R0940, nothing written), and, once
 * `npm install sharp` (the range package.json's peerDependencies give) has added it,
 * `train`, `eval` and `predict` on a small image folder.
 *
 * Exits 1, saying what failed, when the install fails, `node_modules` weighs more than
 * `maxInstallMiB` (sharp, which a user adds, is measured apart), or any of those steps fails. Needs the npm registry (the only network
 * CI has) and about a minute. Prints the install's size and each step's time.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

/** The goal of issue 11: what `npm install resnetc` may add to a project, in MiB (`du -sk`). */
const maxInstallMiB = 150;

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; exports: Record<string, unknown>; peerDependencies: Record<string, string> };
const scratch = mkdtempSync(join(tmpdir(), 'resnetc-pack-'));
const project = join(scratch, 'project');
const failures: string[] = [];
const started = performance.now();

/** The environment a user's shell would have: none of npm's per-run variables (npm_config_*, npm_package_*, npm_lifecycle_*). */
const userEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
userEnv['NO_COLOR'] = '1';

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = userEnv): SpawnSyncReturns<string> & { seconds: number } {
  const t = performance.now();
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  return Object.assign(r, { seconds: (performance.now() - t) / 1000 });
}

/** Records a failed check with the command's output. */
function check(ok: boolean, what: string, r?: SpawnSyncReturns<string>): void {
  if (ok) return;
  failures.push(what);
  console.error(`FAILED: ${what}`);
  if (r) console.error(`exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}${r.error ? `\n${r.error.message}` : ''}`);
}

/** `npx resnetc ARGS` in the project, as the README writes it (`--no`: never fetch a package of that name). */
function resnetc(...args: string[]): SpawnSyncReturns<string> & { seconds: number } {
  const r = run('npx', ['--no', '--', 'resnetc', ...args], project);
  const shown = args.join(' ');
  console.log(`  ${r.seconds.toFixed(1).padStart(5)} s  resnetc ${shown.length > 120 ? shown.slice(0, 117) + '...' : shown}`);
  return r;
}

/** The checkout's own command line (dist/, just built by `npm pack`): the reference for the install's files. */
function reference(...args: string[]): void {
  const r = run(process.execPath, [join(root, 'dist', 'cli', 'main.js'), ...args], scratch, process.env);
  if (r.status !== 0) throw new Error(`the checkout's resnetc ${args.join(' ')} failed:\n${r.stderr}`);
}

function sameBytes(a: string, b: string): boolean {
  return readFileSync(a).equals(readFileSync(b));
}

/**
 * The dependencies whose install script is known to reach no other host, by package name,
 * with the script. protobufjs 6 (under onnx-proto) makes a folder for its command line's
 * dependencies and prints a warning about version ranges.
 */
const allowedInstallScripts: Record<string, string> = {
  protobufjs: 'postinstall: node scripts/postinstall',
};

/** Every package under `dir` (nested node_modules included) that has an install-time script, as [name, 'stage: command']. */
function installScripts(dir: string): [string, string][] {
  const found: [string, string][] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      found.push(...installScripts(path));
      continue;
    }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const { name, scripts = {} } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; scripts?: Record<string, string> };
      const stages = ['preinstall', 'install', 'postinstall'].filter((s) => scripts[s] !== undefined).map((s) => `${s}: ${scripts[s]}`);
      // npm runs `node-gyp rebuild` for a package with a binding.gyp and no install script.
      if (stages.length === 0 && existsSync(join(path, 'binding.gyp'))) stages.push('install: node-gyp rebuild');
      if (stages.length > 0) found.push([name, stages.join('; ')]);
    }
    if (existsSync(join(path, 'node_modules'))) found.push(...installScripts(join(path, 'node_modules')));
  }
  return found;
}

function sizes(dir: string): [string, number][] {
  const out = run('du', ['-sk', ...readdirSync(dir).map((d) => join(dir, d))], dir).stdout;
  return out
    .trim()
    .split('\n')
    .map((line) => line.split('\t'))
    .map(([kib, path]) => [path!.slice(dir.length + 1), Number(kib) / 1024] as [string, number])
    .sort((a, b) => b[1] - a[1]);
}

// ---- pack and install ----
console.log(`npm ${run('npm', ['--version'], scratch).stdout.trim()}, node ${process.version}; scratch folder ${scratch}`);
const packed = run('npm', ['pack', '--json', '--pack-destination', scratch], root, process.env);
if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
const tarball = join(scratch, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
console.log(`packed ${tarball} in ${packed.seconds.toFixed(1)} s`);

mkdirSync(project);
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }, null, 2));
const ignoreScripts = run('npm', ['config', 'get', 'ignore-scripts'], project).stdout.trim();
if (ignoreScripts !== 'false') throw new Error(`npm's ignore-scripts is '${ignoreScripts}' in this environment: the check needs install scripts to run, as they do for users`);

const installed = run('npm', ['install', tarball], project);
const installLog = (installed.stdout + installed.stderr).split('\n').filter((l) => /install-scripts\s+\S+@/.test(l));
console.log(`npm install: exit ${installed.status} in ${installed.seconds.toFixed(1)} s`);
for (const line of installLog) console.log(`  ${line.trim()}`);
check(installed.status === 0, 'npm install of the packed tarball into an empty project', installed);
if (installed.status !== 0) process.exit(1);

// npm 10 runs every dependency's install script; npm 11 runs them with a notice unless told
// to be strict. Each one that runs must be known to stay on this machine.
const scripts = installScripts(join(project, 'node_modules'));
console.log(`install scripts in the tree: ${scripts.map(([name, script]) => `${name} (${script})`).join(', ') || 'none'}`);
for (const [name, script] of scripts) {
  check(allowedInstallScripts[name] === script, `${name} has an install script no one has reviewed ('${script}'): a user's install would run it (allowedInstallScripts)`);
}

/** node_modules's size in MiB, with its largest folders. */
function installSize(): { mib: number; largest: string } {
  const modules = sizes(join(project, 'node_modules'));
  const mib = Number(run('du', ['-sk', 'node_modules'], project).stdout.split('\t')[0]) / 1024;
  return { mib, largest: modules.slice(0, 5).map(([n, m]) => `${n} ${m.toFixed(1)}`).join(', ') };
}
const { mib, largest } = installSize();
console.log(`node_modules: ${mib.toFixed(1)} MiB (goal <= ${maxInstallMiB}); largest: ${largest}`);
check(mib <= maxInstallMiB, `the install weighs ${mib.toFixed(1)} MiB, more than ${maxInstallMiB} MiB`);

// ---- the commands, from the install ----
const specs = join('node_modules', pkg.name, 'specs');
console.log('commands:');

const version = run('npx', ['resnetc', '--version'], project);
check(version.status === 0 && version.stdout.trim() === pkg.version, `npx resnetc --version prints ${pkg.version}`, version);

const checked = resnetc('check', ...readdirSync(join(project, specs)).map((f) => join(specs, f)));
check(checked.status === 0 && checked.stdout.includes('resnet50: 25,557,032 (25.56M) params'), 'check of the bundled specs', checked);

const onnx = resnetc('compile', join(specs, 'resnet18.resnet'), '--target', 'onnx', '-o', 'resnet18.onnx');
check(onnx.status === 0, 'compile --target onnx', onnx);
if (onnx.status === 0) {
  reference('compile', join(root, 'specs', 'resnet18.resnet'), '--target', 'onnx', '-o', 'resnet18.onnx');
  check(sameBytes(join(project, 'resnet18.onnx'), join(scratch, 'resnet18.onnx')), "the installed compile --target onnx writes the checkout's bytes");
  const session = await ort.InferenceSession.create(join(project, 'resnet18.onnx'));
  const input = new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(0.5), [1, 3, 224, 224]);
  const output = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!;
  check(output.dims.join('x') === '1x1000' && (output.data as Float32Array).every(Number.isFinite), `ONNX Runtime runs the installed compile's resnet18 (output ${output.dims.join('x')})`);
}

const tfjs = resnetc('compile', join(specs, 'cifar_resnet.resnet'), '--model', 'resnet20', '--target', 'tfjs', '-o', 'resnet20');
check(tfjs.status === 0, 'compile --target tfjs', tfjs);
if (tfjs.status === 0) {
  reference('compile', join(root, 'specs', 'cifar_resnet.resnet'), '--model', 'resnet20', '--target', 'tfjs', '-o', 'resnet20');
  for (const file of ['model.json', 'weights.bin']) {
    check(sameBytes(join(project, 'resnet20', file), join(scratch, 'resnet20', file)), `the installed compile --target tfjs writes the checkout's ${file}`);
  }
}

const trained = resnetc('train', join(specs, 'cifar_resnet.resnet'), '--model', 'resnet20', '--data', 'synthetic:16', '--limit', '16', '--epochs', '1', '--batch-size', '16', '--backend', 'wasm', '--out', 'run');
check(trained.status === 0 && trained.stderr.includes('with backend wasm') && /epoch 1: train loss \d/.test(trained.stdout) && existsSync(join(project, 'run', 'model', 'model.json')), 'train on the wasm backend', trained);

const native = resnetc('train', join(specs, 'cifar_resnet.resnet'), '--model', 'resnet20', '--data', 'synthetic:16', '--backend', 'tfjs-node', '--out', 'native');
check(native.status === 1 && native.stderr.includes("error[R0605]: backend 'tfjs-node' is not available") && native.stderr.includes('npm install @tensorflow/tfjs-node'), 'train --backend tfjs-node without the package says how to install it (R0605)', native);

const graph = resnetc('graph', join(specs, 'resnet18.resnet'), '-o', 'resnet18.svg');
check(graph.status === 0 && readFileSync(join(project, 'resnet18.svg'), 'utf8').includes('<svg'), 'graph', graph);

const entryPoints = Object.keys(pkg.exports).filter((p) => !p.endsWith('.json')).map((p) => pkg.name + p.slice(1));
const imports = run(process.execPath, ['--input-type=module', '-e', `for (const name of ${JSON.stringify(entryPoints)}) await import(name);`], project);
console.log(`  ${imports.seconds.toFixed(1).padStart(5)} s  import ${entryPoints.join(', ')}`);
check(imports.status === 0, "every entry point of package.json's exports imports", imports);

// ---- image folders: sharp is an optional peer dependency ----
const spec = 'tiny.resnet';
writeFileSync(join(project, spec), 'model tiny {\n  input 3x16x16\n  classes 2\n  stem { conv 3x3 8 }\n  block basic\n  stage a { blocks 1  width 8 }\n}\n');
for (const split of ['train', 'val'])
  for (const [k, name] of ['cat', 'dog'].entries())
    for (let i = 0; i < 4; i++) {
      const pixels = Buffer.from(Array.from({ length: 20 * 24 * 3 }, (_, j) => (j * (7 + k * 6) + i * 31) % 256));
      mkdirSync(join(project, 'pets', split, name), { recursive: true });
      await sharp(pixels, { raw: { width: 24, height: 20, channels: 3 } }).png().toFile(join(project, 'pets', split, name, `${i}.png`));
    }
const image = join('pets', 'val', 'dog', '0.png');
const trainImages = ['train', spec, '--data', 'pets', '--epochs', '1', '--batch-size', '4', '--backend', 'wasm', '--augment'];
const refused = (r: SpawnSyncReturns<string>): boolean => r.status === 1 && r.stderr.includes('error[R0940]: sharp is not installed') && r.stderr.includes('npm install sharp');
const noSharp = resnetc(...trainImages, '--out', 'pets-run-no-sharp');
check(refused(noSharp) && !existsSync(join(project, 'pets-run-no-sharp')), 'train on an image folder without sharp says how to install it (R0940) and writes nothing', noSharp);
const predictNoSharp = resnetc('predict', join(specs, 'cifar_resnet.resnet'), '--model', 'resnet20', '--weights', join('run', 'model'), image);
check(refused(predictNoSharp), 'predict without sharp says how to install it (R0940)', predictNoSharp);

const sharpRange = pkg.peerDependencies['sharp']!;
const withSharp = run('npm', ['install', `sharp@${sharpRange}`], project);
console.log(`npm install sharp@${sharpRange}: exit ${withSharp.status} in ${withSharp.seconds.toFixed(1)} s`);
check(withSharp.status === 0, `npm install sharp@${sharpRange} beside resnetc`, withSharp);
if (withSharp.status === 0) {
  for (const [name, script] of installScripts(join(project, 'node_modules'))) {
    if (allowedInstallScripts[name] !== script) check(false, `${name} (with sharp) has an install script no one has reviewed ('${script}')`);
  }
  const withSharpSize = installSize();
  console.log(`node_modules with sharp: ${withSharpSize.mib.toFixed(1)} MiB (sharp's share: ${(withSharpSize.mib - mib).toFixed(1)} MiB, the user's choice); largest: ${withSharpSize.largest}`);
  const petsRun = resnetc(...trainImages, '--out', 'pets-run');
  check(petsRun.status === 0 && existsSync(join(project, 'pets-run', 'model', 'preprocess.json')), 'train on an image folder (with preprocess.json beside the model)', petsRun);
  const evaluated = resnetc('eval', spec, '--weights', join('pets-run', 'model'), '--data', 'pets', '--json', '--backend', 'wasm');
  const figures = evaluated.status === 0 ? (JSON.parse(evaluated.stdout) as { images: number; top1: number; classes: { name: string }[] }) : undefined;
  check(figures?.images === 8 && figures.top1 >= 0 && figures.classes.map((c) => c.name).join() === 'cat,dog', 'eval of the image folder: 8 images, classes cat and dog', evaluated);
  const predicted = resnetc('predict', spec, '--weights', join('pets-run', 'model'), image, '--json', '--backend', 'wasm');
  const top = predicted.status === 0 ? (JSON.parse(predicted.stdout) as { predictions: { top: { name: string; probability: number }[] }[] }).predictions[0]!.top : [];
  check(top.map((t) => t.name).sort().join() === 'cat,dog' && Math.abs(top[0]!.probability + top[1]!.probability - 1) < 1e-5, 'predict names both classes with probabilities that sum to 1', predicted);
}

// ---- verdict ----
const seconds = (performance.now() - started) / 1000;
if (failures.length > 0) {
  console.error(`\n${failures.length} failed (the install is kept in ${project}):\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exit(1);
}
rmSync(scratch, { recursive: true, force: true });
console.log(`\nthe packed package installs (${mib.toFixed(1)} MiB) and runs: ${seconds.toFixed(1)} s in all`);
