import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CodedError } from '../../src/diagnostics/coded-error.js';
import { byCodePoint, scanEvalFolder, scanImageFolder } from '../../src/images/folder.js';
import { openData } from '../../src/train/data.js';
import { tempDir } from '../tfjs/helpers.js';
import { python, reference } from './helpers.js';

/** A file that only needs a name (the listing never decodes). */
function touch(path: string, text = 'x'): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof CodedError) return e.code;
    throw e;
  }
  return undefined;
}

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

/**
 * A tree with what ImageFolder's listing is sensitive to: class names whose code-point
 * order differs from JavaScript's UTF-16 order (U+FF41 'ａ' sorts before U+1D538 '𝔸' by
 * code point, after it by UTF-16) and from case-insensitive order ('Zebra' < 'apple'), a
 * hidden class, nested folders (`sub` and `sub-2`: '-' sorts before '/'), upper-case and
 * every decoded extension, files ImageFolder ignores (README.txt, .json), a link to a file
 * and a link to a folder.
 */
function trickyTree(): string {
  const root = tempDir();
  const train = join(root, 'train');
  const files = [
    'Zebra/z1.png',
    'apple/b.JPG',
    'apple/a.jpeg',
    'apple/sub/x.png',
    'apple/sub-2/y.webp',
    'apple/sub/deeper/w.tif',
    'apple/README.txt',
    'apple/meta.json',
    '\uff41wide/1.png',
    '\u{1d538}stral/1.png',
    '.hidden/h.png',
    'b c/1.TIFF',
    'b c/0.png',
  ];
  for (const f of files) touch(join(train, f));
  mkdirSync(join(root, 'elsewhere'));
  touch(join(root, 'elsewhere', 'linked.png'));
  symlinkSync(join(root, 'elsewhere', 'linked.png'), join(train, 'Zebra', 'z0.png'));
  symlinkSync(join(root, 'elsewhere'), join(train, 'b c', 'linked-folder'));
  for (const c of ['Zebra', 'apple', 'b c']) touch(join(root, 'val', c, 'v.png'));
  return root;
}

describe('image folders are listed as torchvision lists them', () => {
  it.skipIf(!python)("gives ImageFolder's classes, class indices and samples, in its order", () => {
    const root = trickyTree();
    const ours = scanImageFolder(root);
    const [theirs] = reference<{ classes: string[]; samples: [string, number][] }>([{ op: 'folder', root: join(root, 'train') }]);
    expect(ours.classes).toEqual(theirs!.classes);
    const train = join(root, 'train');
    expect(ours.train.files.map((f, i) => [relative(train, f), ours.train.labels[i]])).toEqual(theirs!.samples);
    // The orders that differ from JavaScript's default sort were exercised.
    expect(ours.classes.indexOf('\uff41wide')).toBeLessThan(ours.classes.indexOf('\u{1d538}stral'));
    expect(['\uff41', '\u{1d538}'].sort()).toEqual(['\u{1d538}', '\uff41']);
  });

  it('labels the validation split by the training classes, by name (a class missing from val keeps its index)', () => {
    const root = tempDir();
    for (const f of ['train/a/1.png', 'train/b/1.png', 'train/c/1.png', 'val/a/1.png', 'val/c/1.png', 'val/c/2.png']) touch(join(root, f));
    const folder = scanImageFolder(root);
    expect([...folder.test.labels]).toEqual([0, 2, 2]);
    expect(folder.warnings).toEqual([{ code: 'R0651', message: expect.stringMatching(/the class 'b' of '.*train' has no images in '.*val'/) as string }]);
  });

  it('takes test/ where there is no val/', () => {
    const root = tempDir();
    for (const f of ['train/a/1.png', 'test/a/1.png']) touch(join(root, f));
    expect(scanImageFolder(root).testName).toBe('test');
  });

  it('fingerprints names, sizes and labels: a file that changes size changes it, a moved root does not', () => {
    const root = tempDir();
    for (const f of ['train/a/1.png', 'val/a/1.png']) touch(join(root, f));
    const before = scanImageFolder(root).fingerprint;
    touch(join(root, 'train/a/1.png'), 'xx');
    expect(scanImageFolder(root).fingerprint).not.toBe(before);
  });

  it('sorts by code point', () => {
    expect(['b', 'B', '\u{1d538}', '\uff41', 'a'].sort(byCodePoint)).toEqual(['B', 'a', 'b', '\uff41', '\u{1d538}']);
  });
});

describe('image folders that cannot be used are refused, each with its code', () => {
  const tree = (files: string[]): string => {
    const root = tempDir();
    for (const f of files) touch(join(root, f));
    return root;
  };

  it('R0601: a folder of no known layout says what it holds', () => {
    const root = tree(['images/1.png', 'labels.csv']);
    expect(codeOf(() => openData(root, { input: { c: 3, h: 8, w: 8 }, classes: 2 }))).toBe('R0601');
    expect(messageOf(() => openData(root, { input: { c: 3, h: 8, w: 8 }, classes: 2 }))).toContain('it holds 1 folder (images) and 1 file (labels.csv)');
  });

  it('R0601: train/ without val/ or test/, train/ without class folders, a flat val/ (ImageNet\'s tarball)', () => {
    expect(messageOf(() => scanImageFolder(tree(['train/a/1.png'])))).toMatch(/has train\/ but neither val\/ nor test\/ beside it; it holds 1 folder \(train\)/);
    expect(messageOf(() => scanImageFolder(tree(['train/1.png', 'val/a/1.png'])))).toMatch(/train' has no class folders; it holds 1 file \(1\.png\)/);
    expect(messageOf(() => scanImageFolder(tree(['train/a/1.png', 'val/ILSVRC_1.JPEG'])))).toMatch(/val' holds no images in class folders; it holds 1 file/);
  });

  it('R0650: a training class without images (ImageFolder refuses it too), e.g. a hidden .ipynb_checkpoints', () => {
    const root = tree(['train/a/1.png', 'train/.ipynb_checkpoints/x.txt', 'val/a/1.png']);
    expect(codeOf(() => scanImageFolder(root))).toBe('R0650');
    expect(messageOf(() => scanImageFolder(root))).toContain("'.ipynb_checkpoints'");
  });

  it('R0652: a validation class the training split lacks', () => {
    const root = tree(['train/a/1.png', 'val/a/1.png', 'val/b/1.png']);
    expect(codeOf(() => scanImageFolder(root))).toBe('R0652');
  });

  it('R0655: a BMP (ImageFolder would train on it) is never left out silently; --skip-bad-images leaves it out with R0656', () => {
    const root = tree(['train/a/1.png', 'train/a/2.bmp', 'val/a/1.png']);
    expect(codeOf(() => scanImageFolder(root))).toBe('R0655');
    const skipped = scanImageFolder(root, { skipBadImages: true });
    expect(skipped.train.files.map((f) => relative(root, f))).toEqual(['train/a/1.png']);
    expect(skipped.warnings.map((w) => w.code)).toEqual(['R0656']);
  });

  it('R0657: a link cycle (os.walk would never end)', () => {
    const root = tree(['train/a/1.png', 'val/a/1.png']);
    symlinkSync(join(root, 'train', 'a'), join(root, 'train', 'a', 'loop'));
    expect(codeOf(() => scanImageFolder(root))).toBe('R0657');
  });

  it('R0657: a name that is not UTF-8', () => {
    const root = tree(['train/a/1.png', 'val/a/1.png']);
    writeFileSync(Buffer.concat([Buffer.from(join(root, 'train', 'a') + '/'), Buffer.from([0xff, 0x2e, 0x70, 0x6e, 0x67])]), 'x');
    expect(codeOf(() => scanImageFolder(root))).toBe('R0657');
  });

  it('R0661: evaluation on a class folder the model does not name', () => {
    const root = tree(['cat/1.png', 'emu/1.png']);
    expect(codeOf(() => scanEvalFolder(root, ['cat', 'dog']))).toBe('R0661');
    expect(scanEvalFolder(root, ['cat', 'dog', 'emu']).list.labels).toEqual(Int32Array.from([0, 2]));
  });
});
