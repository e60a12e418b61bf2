import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import { loadData } from '../../src/train/data.js';
import { metricsCsv } from '../../src/train/metrics.js';
import { parseSafetensors, tensorAsFloat32 } from '../../src/weights/safetensors.js';
import { readSafetensorsWeights } from '../../src/weights/state-dict.js';
import { torchStateDict } from '../../src/weights/torch-names.js';
import { pythonWith } from '../../scripts/python.js';
import { cli, root } from '../helpers/cli.js';

/**
 * examples/distributed/train.py, launched by torchrun on two CPU processes (gloo) for two
 * epochs of 8 steps on 256 Fashion-MNIST images, bf16 autocast and augmentation on; then
 * once more from a checkpoint the first run kept in the middle of its second epoch. What
 * it must give, each against a reference of its own: both processes' weights and momentum
 * identical; the loss falling; the resumed run's weights bit for bit the uninterrupted
 * run's; resnetc's metrics columns; a checkpoint resnetc reads exactly and compiles to an
 * ONNX model that gives, in ONNX Runtime, the PyTorch module's outputs.
 */

const python = pythonWith(['torch', 'torchvision']);
const fashion = '/usr/share/datasets/fashion-mnist';
const example = join(root, 'examples', 'distributed');
const spec = join(root, 'examples', 'fashion-mnist', 'fashion.resnet');
const images = 256;
const compared = 64;

const dir = mkdtempSync(join(tmpdir(), 'resnetc-distributed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * torchrun's options: two processes on this machine, the rendezvous on a port of the
 * system's choosing (--standalone takes 29400 in torch 1.13, which another run may hold).
 * Debian 12's torchrun (torch 1.13 under Python 3.11) fails at start with its default
 * --redirects/--tee of 0 (Python 3.11's IntFlag no longer lists NONE); a mapping for a local
 * rank that does not exist redirects nothing, as 0 means.
 */
function torchrunOptions(): string[] {
  const r = spawnSync(python!, ['-c', 'import importlib.metadata as m, sys; print(int(m.version("torch").split(".")[0]) < 2 and sys.version_info >= (3, 11))'], { encoding: 'utf8' });
  const debian12 = r.stdout.trim() === 'True' ? ['--redirects', '9:0', '--tee', '9:0'] : [];
  return ['--nnodes', '1', '--nproc_per_node', '2', '--rdzv_backend', 'c10d', '--rdzv_endpoint', 'localhost:0', '--rdzv_id', `test-${process.pid}`, '--monitor_interval', '0.2', ...debian12];
}

let options: string[] | undefined;

/** `torchrun … train.py ARGS` (torchrun is torch.distributed.run's console script). */
function torchrun(args: string[]): { status: number | null; stdout: string; stderr: string } {
  options ??= torchrunOptions();
  return spawnSync(python!, ['-m', 'torch.distributed.run', ...options, join(example, 'train.py'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
}

/** An IDX file of unsigned bytes (MNIST's layout): 00 00 08, the rank, big-endian sizes, the bytes. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  head.setUint8(2, 8);
  head.setUint8(3, dims.length);
  dims.forEach((d, i) => head.setUint32(4 + 4 * i, d));
  return Buffer.concat([new Uint8Array(head.buffer), data]);
}

function floats(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function tensorsOf(path: string): Map<string, Uint8Array> {
  const file = parseSafetensors(new Uint8Array(readFileSync(path)), path);
  return new Map([...file.tensors.values()].map((e) => [e.name, file.bytes.subarray(e.begin, e.end)]));
}

describe('examples/distributed', () => {
  const why = !python ? 'no Python here imports torch and torchvision (Debian: python3-torchvision; or set PYTHON)' : !existsSync(fashion) ? `no Fashion-MNIST in ${fashion} (Debian: dataset-fashion-mnist)` : undefined;
  if (why) console.warn(`examples/distributed: skipped, ${why}`);

  it.runIf(why === undefined)('trains on two processes with torchrun: replicas agree, the loss falls, a resumed run is the uninterrupted one, the checkpoint compiles to ONNX and classifies as PyTorch does', async () => {
    // 256 images of each split, uncompressed, read by resnetc's own loader.
    const source = loadData(fashion, { input: { c: 1, h: 28, w: 28 }, classes: 10, limit: images });
    const data = join(dir, 'fashion');
    mkdirSync(data);
    for (const [prefix, split] of [['train', source.train], ['t10k', source.test]] as const) {
      writeFileSync(join(data, `${prefix}-images-idx3-ubyte`), idx([images, 28, 28], split.images));
      writeFileSync(join(data, `${prefix}-labels-idx1-ubyte`), idx([images], split.labels));
    }
    const module = join(dir, 'model.py');
    expect((await cli('compile', spec, '--target', 'pytorch', '-o', module)).code).toBe(0);
    const model = new Workspace().check(spec)!.models[0]!;

    const recipe = [module, '--data', data, '--epochs', '2', '--batch-size', '32', '--lr', '0.1', '--augment', '--amp', 'bf16', '--print-every', '0'];
    const full = torchrun([...recipe, '--out', 'full', '--checkpoint-every', '11', '--keep-checkpoints', '--save-replicas']);
    expect(full.stderr).not.toMatch(/Traceback|error/i);
    expect(full.status).toBe(0);
    expect(full.stderr).toContain('2 processes (gloo, cpu), global batch 32 = 2 x 16, 8 steps an epoch, amp bf16');
    const resumed = torchrun([...recipe, '--out', 'resumed', '--resume', join('full', 'checkpoints', 'epoch-2-step-3'), '--no-plot']);
    expect(resumed.stderr).not.toMatch(/Traceback|error/i);
    expect(resumed.status).toBe(0);
    expect(resumed.stderr).toContain('epoch 2, step 4');
    const out = join(dir, 'full');

    // Both processes hold the same parameters, running statistics and momentum buffers,
    // under the naming table's keys.
    const [rank0, rank1] = [0, 1].map((k) => tensorsOf(join(out, 'replicas', `rank-${k}.safetensors`)));
    const keys = torchStateDict(model).map((e) => e.key);
    expect([...rank0!.keys()].sort()).toEqual([...keys, ...torchStateDict(model).filter((e) => e.role === 'weight' || e.role === 'bias' || e.role === 'norm_scale' || e.role === 'norm_shift').map((e) => `momentum.${e.key}`)].sort());
    for (const [key, bytes] of rank0!) expect(Buffer.compare(bytes, rank1!.get(key)!), key).toBe(0);

    // metrics.csv has resnetc train's columns; the loss falls.
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(metricsCsv([]).trim());
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(rows.map((r) => r['epoch'])).toEqual([1, 2]);
    expect(rows[1]!['trainLoss']!).toBeLessThan(rows[0]!['trainLoss']! - 0.1);
    expect(readFileSync(join(out, 'plot.svg'), 'utf8').match(/<polyline/g)).toHaveLength(4);

    // The resumed run ends where the uninterrupted one did: the same bytes, the same figures.
    expect(Buffer.compare(readFileSync(join(dir, 'resumed', 'model.safetensors')), readFileSync(join(out, 'model.safetensors')))).toBe(0);
    const figures = (path: string): string[] => readFileSync(path, 'utf8').split('\n').map((l) => l.split(',').slice(0, 6).join());
    expect(figures(join(dir, 'resumed', 'metrics.csv'))).toEqual(figures(join(out, 'metrics.csv')));

    // resnetc reads the checkpoint exactly (every float32 as written).
    const weightsPath = join(out, 'checkpoint', 'model.safetensors');
    const read = readSafetensorsWeights(weightsPath, model);
    const file = parseSafetensors(new Uint8Array(readFileSync(weightsPath)), weightsPath);
    for (const e of torchStateDict(model).filter((t) => t.name !== undefined)) {
      expect(read.get(e.name!), e.key).toEqual(tensorAsFloat32(file, file.tensors.get(e.key)!, weightsPath));
    }
    expect(JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8'))).toMatchObject({ model: model.name, epoch: 2, step: 0 });

    // The Python half: the module's outputs with these weights; what data.py reads.
    const size = 28 * 28;
    const input = Float32Array.from(source.test.images.subarray(0, compared * size), (v) => v / 255);
    writeFileSync(join(dir, 'input.bin'), new Uint8Array(input.buffer));
    const cifar = join(dir, 'cifar');
    mkdirSync(cifar);
    const records = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n * 3073 }, (_, i) => (i * 37 + seed * 101 + ((i * i) >> 3)) % 256);
    writeFileSync(join(cifar, 'data_batch_1.bin'), records(3, 1));
    writeFileSync(join(cifar, 'test_batch.bin'), records(2, 2));
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ dir, module, weights: join(out, 'model.safetensors'), input: join(dir, 'input.bin'), idx: data, cifar }));
    const check = spawnSync(python!, [join(root, 'test', 'examples', 'distributed_check.py'), join(dir, 'job.json'), join(dir, 'result.json')], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { name: string; metadata: Record<string, string>; folder: { what: string; shape: number[]; dtype: string; labels: number[]; test: number }; syncBnKeys: boolean; damaged: Record<string, string | null>; refusals: Record<string, [number, string]> };
    expect(result.name).toBe(model.name);
    expect(result.metadata).toMatchObject({ format: 'pt', model: model.name, epoch: '2' });
    expect(result.syncBnKeys).toBe(true);
    // What cannot run here is refused with the reason and exit status 2 (usage) or 1.
    expect(result.refusals).toEqual({
      'sync-bn': [2, "error: --sync-bn needs GPUs: torch's SyncBatchNorm runs on CUDA only\n"],
      fp16: [2, 'error: --amp fp16 needs GPUs: autocast on the CPU computes in bfloat16 only (--amp bf16)\n'],
      resume: [1, expect.stringMatching(/^training .*\nerror: there is no checkpoint to resume in '.*refused\/checkpoint' \(no state\.json\): train without --resume first, or name the checkpoint directory\n$/)],
    });
    // The example's safetensors reader (checkpoints, --weights) refuses damaged files, saying how.
    const refusals: Record<string, RegExp> = {
      short: /5 bytes, fewer than the 8/,
      'header past the end': /header length says \d+ bytes, but the file has \d+ after it/,
      'not JSON': /header is not UTF-8 JSON/,
      'shape and offsets disagree': /a: \[3, 3\] of F32 is 36 bytes, its offsets span 24/,
      'a byte too many': /tensors end at byte 176, the file at 177/,
      'a gap': /a starts at byte 40 of the data, not 32/,
      'unknown dtype': /a: unknown dtype 'F99'/,
    };
    expect(Object.keys(result.damaged)).toEqual(Object.keys(refusals));
    for (const [name, pattern] of Object.entries(refusals)) expect(result.damaged[name], name).toMatch(new RegExp(`^'FILE' is not a safetensors file: .*${pattern.source}`));
    expect(result.folder).toEqual({ what: `the ImageFolder tree in '${join(dir, 'folder')}'`, shape: [4, 1, 28, 28], dtype: 'torch.uint8', labels: [0, 0, 1, 1], test: 4 });
    // data.py's IDX and CIFAR-10 readers give resnetc's images (NCHW here, NHWC there) and labels.
    expect(Buffer.compare(readFileSync(join(dir, 'idx-images.bin')), source.train.images)).toBe(0);
    expect(Buffer.compare(readFileSync(join(dir, 'idx-labels.bin')), source.train.labels)).toBe(0);
    const c10 = loadData(cifar, { input: { c: 3, h: 32, w: 32 }, classes: 10 }).train;
    const chw = Uint8Array.from({ length: c10.images.length }, (_, i) => {
      const [n, c, p] = [Math.floor(i / 3072), Math.floor((i % 3072) / 1024), i % 1024];
      return c10.images[n * 3072 + p * 3 + c]!;
    });
    expect(Buffer.compare(readFileSync(join(dir, 'cifar-images.bin')), chw)).toBe(0);
    expect(Buffer.compare(readFileSync(join(dir, 'cifar-labels.bin')), c10.labels)).toBe(0);

    // The checkpoint compiled to ONNX by resnetc classifies as the PyTorch module does.
    const onnxPath = join(dir, 'model.onnx');
    expect((await cli('compile', spec, '--target', 'onnx', '--weights', join(out, 'model.safetensors'), '-o', onnxPath)).code).toBe(0);
    const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 1 });
    const output = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [compared, 1, 28, 28]) });
    const onnx = output[session.outputNames[0]!]!.data as Float32Array;
    const torch = floats(join(dir, 'torch-output.bin'));
    expect(onnx.length).toBe(compared * 10);
    let worst = 0;
    for (let i = 0; i < onnx.length; i++) worst = Math.max(worst, Math.abs(onnx[i]! - torch[i]!));
    expect(worst).toBeLessThan(1e-5);
    const argmax = (v: Float32Array, n: number): number => {
      const row = v.subarray(n * 10, n * 10 + 10);
      return row.indexOf(Math.max(...row));
    };
    for (let n = 0; n < compared; n++) expect(argmax(onnx, n), `image ${n}`).toBe(argmax(torch, n));
  }, 300_000);
});
