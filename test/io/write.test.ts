import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trackInputs } from '../../src/io/command-inputs.js';
import { confinedPath, readInputFile } from '../../src/io/read.js';
import { outputMarker, writeAll, writeOutputDir, writeOutputFile, writeOutputFiles } from '../../src/io/write.js';
import { removeScratch, scratch } from '../faults/io-helpers.js';

/** The writer's and reader's rules one at a time (docs/files.md); the command-line cases are in test/faults. */

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

afterAll(removeScratch);

describe('writeOutputFile', () => {
  it('replaces the file a symbolic link leads to, keeping the link, and keeps the file’s permissions', () => {
    const dir = scratch({ 'real.txt': 'old' });
    chmodSync(join(dir, 'real.txt'), 0o640);
    symlinkSync('real.txt', join(dir, 'link.txt'));
    expect(writeOutputFile(join(dir, 'link.txt'), 'new')).toBe(3);
    expect(lstatSync(join(dir, 'link.txt')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'real.txt'), 'utf8')).toBe('new');
    expect(statSync(join(dir, 'real.txt')).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).sort()).toEqual(['link.txt', 'real.txt']);
  });

  it('removes the leftovers of a process that is gone, never those of a live one', () => {
    const dir = scratch({ 'out.svg': 'old' });
    const dead = join(dir, '.out.svg.resnetc-999999999-0badcafe.tmp');
    const legacy = join(dir, '.out.svg.999999998.lmn0p.tmp');
    const live = join(dir, `.out.svg.resnetc-${process.ppid}-0badcafe.tmp`);
    for (const p of [dead, legacy, live]) writeFileSync(p, 'partial');
    writeOutputFile(join(dir, 'out.svg'), 'new');
    expect([existsSync(dead), existsSync(legacy), existsSync(live)]).toEqual([false, false, true]);
  });

  it('refuses a file the running command read, by device and inode too', () => {
    const dir = scratch({ 'spec.resnet': 'model m {}' });
    trackInputs(() => {
      readInputFile(join(dir, 'spec.resnet'), 'spec');
      expect(codeOf(() => writeOutputFile(join(dir, 'spec.resnet'), 'x'))).toBe('R0801');
      expect(codeOf(() => writeOutputFile(join(dir, 'other.txt'), 'x'))).toBeUndefined();
    });
    // Outside a command nothing is tracked.
    expect(codeOf(() => writeOutputFile(join(dir, 'spec.resnet'), 'x', { inputs: [join(dir, 'spec.resnet')] }))).toBe('R0801');
  });
});

describe('writeOutputFiles', () => {
  it('puts back the files earlier renames replaced when a later one fails, and leaves no temporary', () => {
    for (const existed of [true, false]) {
      const dir = scratch(existed ? { 'm.data': 'old data', 'm.txt': 'old model' } : { 'm.txt': 'old model' });
      // The model's target turns into a folder while it is written: its rename fails after the data file's.
      const model = (sink: { write(chunk: Uint8Array): void }): void => {
        rmSync(join(dir, 'm.txt'));
        mkdirSync(join(dir, 'm.txt'));
        writeFileSync(join(dir, 'm.txt', 'x'), '');
        sink.write(new Uint8Array([1]));
      };
      const code = codeOf(() => writeOutputFiles([{ path: join(dir, 'm.data'), content: 'new data' }, { path: join(dir, 'm.txt'), content: model }]));
      expect(code, `existed ${existed}`).toMatch(/^R08|^R09/);
      expect(existsSync(join(dir, 'm.data')) && readFileSync(join(dir, 'm.data'), 'utf8'), `existed ${existed}`).toBe(existed ? 'old data' : false);
      expect(readdirSync(dir).sort()).toEqual(existed ? ['m.data', 'm.txt'] : ['m.txt']);
    }
  });

  it('writes a chunk of over 2 GiB: one weight tensor can be (Node refuses one write of more, ERR_OUT_OF_RANGE)', () => {
    // To /dev/null: the chunking is what is tested, not the disk. Pages never touched are never read from memory.
    const big = new Uint8Array(2 ** 31 + 8);
    const fd = openSync('/dev/null', 'w');
    try {
      expect(() => writeAll(fd, big)).not.toThrow();
    } finally {
      closeSync(fd);
    }
  });
});

describe('writeOutputDir', () => {
  it('replaces a folder it wrote, even with a file it wrote gone, and marks the new one', () => {
    const dir = scratch();
    const out = join(dir, 'model');
    writeOutputDir(out, { 'a.bin': new Uint8Array([1]), 'b.json': '{}' }, { kind: 'test' });
    rmSync(join(out, 'a.bin'));
    writeOutputDir(out, { 'a.bin': new Uint8Array([2]) }, { kind: 'test' });
    expect(readdirSync(out).sort()).toEqual([outputMarker, 'a.bin']);
    expect(JSON.parse(readFileSync(join(out, outputMarker), 'utf8'))).toEqual({ writtenBy: 'resnetc', kind: 'test', files: ['a.bin'] });
    expect(readdirSync(dir)).toEqual(['model']);
  });

  it('refuses a folder whose marker lists a file that someone replaced by a folder', () => {
    const dir = scratch();
    const out = join(dir, 'model');
    writeOutputDir(out, { 'a.bin': new Uint8Array([1]) }, { kind: 'test' });
    rmSync(join(out, 'a.bin'));
    mkdirSync(join(out, 'a.bin'));
    writeFileSync(join(out, 'a.bin', 'mine.txt'), 'mine');
    expect(codeOf(() => writeOutputDir(out, { 'a.bin': new Uint8Array([2]) }, { kind: 'test' }))).toBe('R0804');
    expect(readFileSync(join(out, 'a.bin', 'mine.txt'), 'utf8')).toBe('mine');
  });
});

describe('confinedPath', () => {
  it('takes names inside the folder, `..name` files included, and refuses what leaves it', () => {
    const dir = scratch({ '..weights.bin': '', 'w.bin': '' });
    mkdirSync(join(dir, 'sub'));
    expect(confinedPath(dir, '..weights.bin', 'model.json')).toBe(join(dir, '..weights.bin'));
    expect(confinedPath(dir, 'sub/../w.bin', 'model.json')).toBe(join(dir, 'w.bin'));
    for (const named of ['../w.bin', 'sub/../../w.bin', '/etc/passwd', '.', 'w.bin\0']) expect(codeOf(() => confinedPath(dir, named, 'model.json')), named).toBe('R0813');
  });
});

describe('readInputFile', () => {
  it('reads a regular file that reports size 0 but has content (procfs), up to the limit', () => {
    expect(readInputFile('/proc/self/status', 'json').toString()).toMatch(/^Name:/);
  });
});
