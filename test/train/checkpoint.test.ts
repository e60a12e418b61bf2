import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/tfjs/backend.js';
import { standardAugment } from '../../src/train/batches.js';
import { loadData } from '../../src/train/data.js';
import { train } from '../../src/train/train.js';
import { cli } from '../helpers/cli.js';
import { checkText, tempDir } from '../tfjs/helpers.js';

/**
 * `--resume` trusts nothing it finds: a checkpoint of another run (spec, data, options) and a
 * damaged one are each refused with a code and a message that names what differs or what is
 * wrong — never resumed, never a crash (R0000). The checkpoint here was written by a run
 * stopped in the middle of its second epoch (so every field is in use: the generator's
 * state, momentum, a metrics row); each case damages or changes one thing.
 */
const spec = (changes: { name?: string; stride?: number; pool?: string; dropout?: number } = {}): string => `model ${changes.name ?? 'tiny'} {
  input 3x8x8
  classes 4
  dropout ${changes.dropout ?? 0.1}
  stem { conv 3x3 8  ${changes.pool ?? 'maxpool 3x3 stride 1'} }
  block basic
  stage a { blocks 1  width 8 }
  stage b { blocks 1  width 16  stride ${changes.stride ?? 2} }
}
`;

/** The run's options as flags (the checkpoint below is written with the same ones); `true` is a flag without a value. */
const flags: Record<string, string | true> = { '--data': 'synthetic:40', '--epochs': '3', '--batch-size': '16', '--lr': '0.05', '--momentum': '0.9', '--weight-decay': '5e-4', '--schedule': 'cosine', '--augment': true, '--seed': '7', '--backend': 'wasm' };

let pristine: string;
let specPath: string;

beforeAll(async () => {
  await useBackend('wasm');
  const dir = tempDir();
  specPath = join(dir, 'tiny.resnet');
  writeFileSync(specPath, spec());
  pristine = join(dir, 'out');
  const model = checkText(spec());
  const data = loadData('synthetic:40', { input: model.input, classes: 4, seed: 7 });
  let steps = 0;
  const options = { epochs: 3, batchSize: 16, lr: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: 'cosine' as const, augment: standardAugment, seed: 7, out: pristine };
  const r = await train(model, data, options, { shouldStop: () => ++steps === 4 });
  expect(r.stopped).toBe(true);
  r.model.dispose();
});

/** A copy of the checkpoint's output directory to damage. */
function copy(): string {
  const out = join(tempDir(), 'out');
  cpSync(pristine, out, { recursive: true });
  return out;
}

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** state.json as the cases edit it: any field, any value. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** Edits state.json as JSON. */
function editState(out: string, edit: (state: Json) => void): void {
  const path = join(out, 'checkpoint', 'state.json');
  const state = JSON.parse(readFileSync(path, 'utf8')) as Json;
  edit(state);
  writeFileSync(path, JSON.stringify(state));
}

/** Rewrites a binary file and records its new checksum, as if the run had written it. */
function rewrite(out: string, file: string, change: (bytes: Uint8Array) => Uint8Array): void {
  const path = join(out, 'checkpoint', file);
  const bytes = change(new Uint8Array(readFileSync(path)));
  writeFileSync(path, bytes);
  editState(out, (s) => (s['files'][file] = sha(bytes)));
}

const nanAt = (offset: number) => (bytes: Uint8Array): Uint8Array => {
  const copy = bytes.slice();
  new DataView(copy.buffer).setFloat32(offset, NaN, true);
  return copy;
};

/** `resnetc train … --resume` with the run's flags, some changed (null: left out), and another spec if given. */
async function resume(out: string, changed: Record<string, string | true | null> = {}, spec = specPath): Promise<{ code: number; stderr: string }> {
  const args = Object.entries({ ...flags, ...changed }).flatMap(([flag, value]) => (value === null ? [] : value === true ? [flag] : [flag, value]));
  const r = await cli('train', spec, '--out', out, '--resume', ...args);
  return { code: r.code, stderr: r.stderr };
}

describe('a damaged checkpoint is refused, naming what is wrong', () => {
  const cases: [string, string, RegExp, (out: string) => void][] = [
    ['"epoch": -1', 'R0609', /"epoch" must be a whole number from 0 to 3, not -1/, (o) => editState(o, (s) => (s['progress'].epoch = -1))],
    ['"epoch": "abc"', 'R0609', /"epoch" must be a whole number/, (o) => editState(o, (s) => (s['progress'].epoch = 'abc'))],
    ['"epoch": 1.5', 'R0609', /"epoch" must be a whole number/, (o) => editState(o, (s) => (s['progress'].epoch = 1.5))],
    ['an epoch past the run', 'R0609', /"epoch" must be a whole number from 0 to 3, not 9/, (o) => editState(o, (s) => (s['progress'].epoch = 9))],
    ['a step past the epoch', 'R0609', /"step" must be a whole number from 0 to 3, not 50/, (o) => editState(o, (s) => (s['progress'].step = 50))],
    ["a generator's state that is not one", 'R0609', /"rng" must be the generator's state/, (o) => editState(o, (s) => (s['progress'].rng = [1, 2]))],
    ['metrics rows that do not match the epochs', 'R0609', /"metrics" has 0 rows for 1 completed epochs/, (o) => editState(o, (s) => (s['metrics'] = []))],
    ['a metric of the wrong type', 'R0609', /"trainLoss" must be a number or null/, (o) => editState(o, (s) => (s['metrics'][0].trainLoss = 'low'))],
    ['a run field of the wrong type', 'R0609', /"batchSize" must be a whole number, at least 1, not "16"/, (o) => editState(o, (s) => (s['run'].batchSize = '16'))],
    ['no "run"', 'R0609', /"run" must be an object/, (o) => editState(o, (s) => delete s['run'])],
    ['no "files"', 'R0609', /"files" must be an object/, (o) => editState(o, (s) => delete s['files'])],
    ["an edited model description", 'R0609', /description does not match its recorded SHA-256/, (o) => editState(o, (s) => (s['run'].model.description.layers['stem.conv1'].stride = 2))],
    ['state.json cut short', 'R0609', /state\.json is not JSON/, (o) => writeFileSync(join(o, 'checkpoint', 'state.json'), readFileSync(join(o, 'checkpoint', 'state.json'), 'utf8').slice(0, 100))],
    ['state.json of something else', 'R0609', /not a resnetc checkpoint's/, (o) => writeFileSync(join(o, 'checkpoint', 'state.json'), '{"format": "keras"}')],
    ['a checkpoint of format 1', 'R0610', /older resnetc \(format 1\)/, (o) => editState(o, (s) => (s['version'] = 1))],
    ['momentum.bin cut short', 'R0609', /momentum\.bin does not match the SHA-256/, (o) => writeFileSync(join(o, 'checkpoint', 'momentum.bin'), readFileSync(join(o, 'checkpoint', 'momentum.bin')).subarray(0, 10))],
    ['momentum.bin cut short, its checksum updated', 'R0609', /momentum\.bin has 12 bytes/, (o) => rewrite(o, 'momentum.bin', (b) => b.subarray(0, 12))],
    ['momentum.bin missing', 'R0609', /momentum\.bin is missing/, (o) => rmSync(join(o, 'checkpoint', 'momentum.bin'))],
    ['weights.bin cut short', 'R0609', /weights\.bin does not match the SHA-256/, (o) => writeFileSync(join(o, 'checkpoint', 'weights.bin'), readFileSync(join(o, 'checkpoint', 'weights.bin')).subarray(0, 64))],
    ['model.json missing', 'R0609', /model\.json is missing/, (o) => rmSync(join(o, 'checkpoint', 'model.json'))],
    ['model.json not JSON, its checksum updated', 'R0609', /model\.json is not JSON/, (o) => rewrite(o, 'model.json', () => new TextEncoder().encode('{"modelTopology":'))],
    ['a NaN weight', 'R0609', /weights\.bin holds a value that is not finite \(NaN at value 5\)/, (o) => rewrite(o, 'weights.bin', nanAt(20))],
    ['a NaN momentum', 'R0609', /momentum\.bin holds a value that is not finite/, (o) => rewrite(o, 'momentum.bin', nanAt(8))],
    ["momentum of a tensor the model lacks", 'R0609', /momentum\.bin has buffers for tensors the model lacks \(stem\.conv9\.weight\)/, (o) => editState(o, (s) => (s['momentum'].tensors[0].name = 'stem.conv9.weight'))],
    ['no state.json', 'R0604', /there is no checkpoint to resume/, (o) => rmSync(join(o, 'checkpoint', 'state.json'))],
    ['no checkpoint directory', 'R0604', /there is no checkpoint to resume/, (o) => rmSync(join(o, 'checkpoint'), { recursive: true })],
  ];
  for (const [name, code, message, damage] of cases) {
    it(`${name}: ${code}`, async () => {
      const out = copy();
      damage(out);
      const r = await resume(out);
      expect(r.stderr).toContain(`error[${code}]`);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(1);
    });
  }
});

describe('a checkpoint of another run is refused, naming what differs', () => {
  const cases: [string, Record<string, string | true | null>, Parameters<typeof spec>[0] | undefined, RegExp][] = [
    ['another stride (same parameter shapes)', {}, { stride: 1 }, /layers\.b\.block0\.conv1\.stride: 2 in the checkpoint, 1 now/],
    ['another stem pool', {}, { pool: 'avgpool 3x3 stride 1' }, /layers\.stem\.pool1\.op: "maxpool" in the checkpoint, "avgpool" now/],
    ['another dropout rate', {}, { dropout: 0.2 }, /layers\.head\.dropout\.rate: 0\.1 in the checkpoint, 0\.2 now/],
    ['another model', {}, { name: 'other' }, /model\.name: "tiny" in the checkpoint, "other" now/],
    ['other data', { '--data': 'synthetic:41' }, undefined, /data\.train: 40 in the checkpoint, 41 now/],
    ['another seed', { '--seed': '8' }, undefined, /seed: 7 in the checkpoint, 8 now/],
    ['another batch size', { '--batch-size': '8' }, undefined, /batchSize: 16 in the checkpoint, 8 now/],
    ['another learning rate', { '--lr': '0.1' }, undefined, /lr: 0\.05 in the checkpoint, 0\.1 now/],
    ['another momentum', { '--momentum': '0.5' }, undefined, /momentum: 0\.9 in the checkpoint, 0\.5 now/],
    ['another weight decay', { '--weight-decay': '0' }, undefined, /weightDecay: 0\.0005 in the checkpoint, 0 now/],
    ['another schedule', { '--schedule': 'step' }, undefined, /schedule: "cosine" in the checkpoint, "step" now/],
    ['no augmentation', { '--augment': null }, undefined, /augment: \{"cropPadding":4,"flip":true\} in the checkpoint, null now/],
    ['other epochs under a cosine schedule', { '--epochs': '4' }, undefined, /epochs: 3 in the checkpoint, 4 now/],
    ['another optimizer', { '--optimizer': 'adamw', '--momentum': null }, undefined, /optimizer: "sgd" in the checkpoint, "adamw" now/],
    ['Nesterov momentum', { '--nesterov': true }, undefined, /nesterov: false in the checkpoint, true now/],
    ['a warmup', { '--warmup': '1' }, undefined, /warmup: 0 in the checkpoint, 1 now/],
    ['label smoothing', { '--label-smoothing': '0.1' }, undefined, /labelSmoothing: 0 in the checkpoint, 0\.1 now/],
    ['a frozen part', { '--freeze': 'stem' }, undefined, /freeze: \[\] in the checkpoint, \["stem"\] now/],
    ['frozen norms', { '--freeze-norms': true }, undefined, /freezeNorms: false in the checkpoint, true now/],
  ];
  for (const [name, changed, specChange, message] of cases) {
    it(`${name}: R0608`, async () => {
      let path = specPath;
      if (specChange) {
        path = join(tempDir(), 'changed.resnet');
        writeFileSync(path, spec(specChange));
      }
      const r = await resume(copy(), changed, path);
      expect(r.stderr).toContain("error[R0608]");
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(1);
    });
  }
});

describe('what --resume may change', () => {
  it('--epochs may grow under a constant schedule (its learning rate does not depend on it), and a finished run has nothing to resume', async () => {
    const out = join(tempDir(), 'out');
    const base: Record<string, string | true> = { ...flags, '--schedule': 'constant', '--epochs': '1' };
    const run = async (changed: Record<string, string | true>) => {
      const args = Object.entries({ ...base, ...changed }).flatMap(([flag, value]) => (value === true ? [flag] : [flag, value]));
      return cli('train', specPath, '--out', out, ...args);
    };
    expect((await run({})).code).toBe(0);
    const again = await run({ '--resume': true });
    expect(again.stderr).toContain('error[R0604]');
    expect(again.stderr).toMatch(/has already trained 1 of 1 epochs[\s\S]*raise --epochs above 1/);
    const longer = await run({ '--resume': true, '--epochs': '2' });
    expect(longer.stderr).not.toContain('error');
    expect(longer.code).toBe(0);
    expect(readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(',')[0])).toEqual(['epoch', '1', '2']);
  });
});
