import { execFileSync, spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputFile } from '../../src/io/write.js';
import { cli, root } from '../helpers/cli.js';
import { canMountTmpfs, mkfifo, mknodNull, noCrash, onTmpfs, resnetc, removeScratch, scratch, tinySpec } from './io-helpers.js';

/**
 * Issue 9, "never destroy": no output of resnetc is written over an input, a device, a FIFO
 * or a folder it did not write, and none is left half-written by a full disk or a kill.
 * Each case failed on the code before src/io (exit 0 with the damage done, or R0000).
 */

const codeOf = (stderr: string): string | undefined => /error\[(R\d{4})\]/.exec(stderr)?.[1];
const identity = (path: string): string => {
  const s = statSync(path);
  return `${s.dev}:${s.ino}:${s.mode}:${s.size}`;
};

afterAll(removeScratch);

describe('an output never replaces what it must not', () => {
  it('`compile --target tfjs -o DIR` refuses a working folder it did not write, and leaves every file in it (case 1: `-o .`)', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec, 'notes.txt': 'mine' });
    const r = await cli('compile', join(dir, 'tiny.resnet'), '-t', 'tfjs', '-o', dir);
    expect(r.code).toBe(1);
    expect(codeOf(r.stderr)).toBe('R0804');
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'tiny.resnet']);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('`compile --target tfjs -o FILE` does not turn an existing file into a folder (case 1)', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec, 'model.bin': 'precious' });
    const r = await cli('compile', join(dir, 'tiny.resnet'), '-t', 'tfjs', '-o', join(dir, 'model.bin'));
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0803']);
    expect(readFileSync(join(dir, 'model.bin'), 'utf8')).toBe('precious');
  });

  it('replaces a tfjs folder it wrote, but not once someone has put a file of their own in it', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const out = join(dir, 'model');
    expect((await cli('compile', join(dir, 'tiny.resnet'), '-t', 'tfjs', '-o', out)).code).toBe(0);
    expect((await cli('compile', join(dir, 'tiny.resnet'), '-t', 'tfjs', '-o', out, '--seed', '1')).code).toBe(0);
    writeFileSync(join(out, 'README.md'), 'my notes');
    const r = await cli('compile', join(dir, 'tiny.resnet'), '-t', 'tfjs', '-o', out, '--seed', '2');
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0804']);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe('my notes');
  });

  it('writes nothing onto a FIFO, with any command (case 2)', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const fifo = join(dir, 'pipe');
    mkfifo(fifo);
    const before = identity(fifo);
    for (const args of [
      ['compile', join(dir, 'tiny.resnet'), '-t', 'onnx', '-o', fifo],
      ['compile', join(dir, 'tiny.resnet'), '-t', 'tfjs', '-o', fifo],
      ['graph', join(dir, 'tiny.resnet'), '-o', fifo],
    ]) {
      const r = await cli(...args);
      expect([r.code, codeOf(r.stderr)], args.join(' ')).toEqual([1, 'R0802']);
      expect(statSync(fifo).isFIFO()).toBe(true);
      expect(identity(fifo)).toBe(before);
    }
    expect(readdirSync(dir).sort()).toEqual(['pipe', 'tiny.resnet']);
  });

  it('writes nothing onto a character device (case 2: `-o /dev/null` as root)', async () => {
    // /dev/null itself is refused before any write is attempted.
    expect(() => checkOutputFile('/dev/null')).toThrow(expect.objectContaining({ code: 'R0802' }));
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const device = join(dir, 'null');
    if (!mknodNull(device)) return; // no CAP_MKNOD here: the check above stands for it
    const before = identity(device);
    const r = await cli('compile', join(dir, 'tiny.resnet'), '-t', 'onnx', '-o', device);
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0802']);
    expect(statSync(device).isCharacterDevice()).toBe(true);
    expect(identity(device)).toBe(before);
  });

  it('refuses `train --out` onto a device or a FIFO with a code, before training (case 14: `--out /dev/null` gave R0000)', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const fifo = join(dir, 'pipe');
    mkfifo(fifo);
    const r = await cli('train', join(dir, 'tiny.resnet'), '--data', 'synthetic:8', '--epochs', '1', '--batch-size', '8', '--backend', 'cpu', '--out', fifo);
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0802']);
    expect(r.stdout).not.toContain('epoch 1');
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('never writes onto an input: the spec, an import, the --weights file, through a hard or a symbolic link (case 3)', async () => {
    const base = 'model base {\n  input 3x8x8\n  classes 3\n  stem { conv 3x3 4 }\n  block basic\n  shortcut B\n  stage s1 { blocks 1  width 4 }\n}\n';
    const dir = scratch({ 'base.resnet': base, 'tiny.resnet': 'import "base.resnet"\nmodel tiny extends base { classes 4 }\n' });
    const spec = join(dir, 'tiny.resnet');
    expect((await cli('compile', spec, '-t', 'onnx', '-o', join(dir, 'w.onnx'))).code).toBe(0);
    linkSync(spec, join(dir, 'hard.onnx'));
    symlinkSync(spec, join(dir, 'soft.svg'));
    const texts = (): string[] => ['base.resnet', 'tiny.resnet', 'w.onnx'].map((f) => readFileSync(join(dir, f), 'latin1'));
    const before = texts();
    for (const args of [
      ['compile', spec, '-t', 'onnx', '-o', spec],
      ['graph', spec, '-o', spec],
      ['compile', spec, '-t', 'onnx', '-o', join(dir, 'base.resnet')],
      ['compile', spec, '-t', 'onnx', '--weights', join(dir, 'w.onnx'), '-o', join(dir, 'w.onnx')],
      ['compile', spec, '-t', 'onnx', '-o', join(dir, 'hard.onnx')],
      ['graph', spec, '-o', join(dir, 'soft.svg')],
    ]) {
      const r = await cli(...args);
      expect([r.code, codeOf(r.stderr)], args.join(' ')).toEqual([1, 'R0801']);
    }
    expect(texts()).toEqual(before);
  });
});

describe('a full or read-only disk leaves the old output whole', () => {
  const unformatted = `model wide {\n${Array.from({ length: 120 }, (_, i) => `  stage s${i} {blocks 1 width 8}`).join('\n')}\n input 3x8x8 stem {conv 3x3 8} block basic\n}\n`;

  it('`fmt` on a full disk keeps the original text (case 4)', async () => {
    const dir = scratch({ 'wide.resnet': unformatted });
    expect(unformatted.length).toBeGreaterThan(2048);
    const r = await resnetc(['fmt', join(dir, 'wide.resnet')], { fileSizeLimitKiB: 1 });
    expect(readFileSync(join(dir, 'wide.resnet'), 'utf8')).toBe(unformatted);
    expect(readdirSync(dir)).toEqual(['wide.resnet']);
    noCrash(r);
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0805']);
  });

  it('`graph` on a full disk keeps the previous SVG, and leaves none where there was none (case 4)', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec, 'old.svg': '<svg>previous</svg>' });
    const runs = await Promise.all(['old.svg', 'new.svg'].map((name) => resnetc(['graph', join(dir, 'tiny.resnet'), '-o', join(dir, name)], { fileSizeLimitKiB: 2 })));
    expect(readFileSync(join(dir, 'old.svg'), 'utf8')).toBe('<svg>previous</svg>');
    expect(readdirSync(dir).sort()).toEqual(['old.svg', 'tiny.resnet']);
    for (const r of runs) {
      noCrash(r);
      expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0805']);
    }
  });

  it('a tfjs output on a full disk (RLIMIT_FSIZE: EFBIG, as ENOSPC) is a coded error and leaves nothing (case 14: R0000)', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const r = await resnetc(['compile', join(dir, 'tiny.resnet'), '-t', 'tfjs', '-o', join(dir, 'out')], { fileSizeLimitKiB: 1 });
    noCrash(r);
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0805']);
    expect(readdirSync(dir)).toEqual(['tiny.resnet']);
  });

  it('a tfjs output on a read-only disk (or a folder it may not write) is a coded error (case 14: R0000)', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const spec = join(dir, 'tiny.resnet');
    if (canMountTmpfs()) {
      const disk = join(dir, 'disk');
      mkdirSync(disk);
      // A real read-only file system (EROFS), in a mount namespace of its own.
      const readOnly = onTmpfs(disk, 'ro', `$RESNETC compile ${spec} -t tfjs -o ${disk}/out; echo "exit $?"`);
      noCrash(readOnly);
      expect(readOnly.stderr).toMatch(/^error\[R0903\]: cannot write .*read-only/m);
      expect(readOnly.stdout.trim()).toBe('exit 1');
      return;
    }
    // No namespaces here: a folder this user may not write gives the same path through the writer.
    if (process.getuid?.() !== 0) return;
    const r = await resnetc(['compile', spec, '-t', 'tfjs', '-o', join(dir, 'out')], { uid: 65534 });
    noCrash(r);
    expect([r.code, codeOf(r.stderr)]).toEqual([1, 'R0903']);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('a kill leaves a whole output, and its leftovers go at the next write', () => {
  it('the temporary file of an ONNX compile killed mid-write is removed by the next compile (case 5)', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const output = join(dir, 'net.onnx');
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'compile', join(root, 'specs', 'resnet50.resnet'), '-t', 'onnx', '-o', output], { cwd: root, stdio: 'ignore' });
    const started = Date.now();
    const temporary = (): string[] => readdirSync(dir).filter((f) => f.startsWith('.net.onnx.'));
    while (Date.now() - started < 30_000 && temporary().length === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(temporary(), 'the write should have begun').toHaveLength(1);
    expect((await cli('compile', join(dir, 'tiny.resnet'), '-t', 'onnx', '-o', output)).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['net.onnx', 'tiny.resnet']);
  }, 60_000);

  it('a kill between the two renames of a checkpoint write leaves a checkpoint --resume finds (case 5)', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const out = join(dir, 'run');
    const train = (...more: string[]): ReturnType<typeof cli> =>
      cli('train', join(dir, 'tiny.resnet'), '--data', 'synthetic:16', '--batch-size', '8', '--backend', 'cpu', '--schedule', 'constant', '--out', out, ...more);
    expect((await train('--epochs', '1')).code).toBe(0);
    // The state such a kill leaves: the previous checkpoint renamed aside, the new one whole
    // under its temporary name, no `checkpoint/` (the writing process, gone).
    const gone = execFileSync(process.execPath, ['-p', 'process.pid'], { encoding: 'utf8' }).trim();
    renameSync(join(out, 'checkpoint'), join(out, `.checkpoint.resnetc-${gone}-00000000.tmp`));
    const r = await train('--epochs', '2', '--resume');
    expect(r.stderr).not.toMatch(/no checkpoint/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^epoch 2:/m);
    expect(r.stdout).not.toMatch(/^epoch 1:/m);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 60_000);
});
