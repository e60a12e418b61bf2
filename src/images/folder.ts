import { createHash } from 'node:crypto';
import { readdirSync, statSync, type Stats } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { CodedError } from '../diagnostics/coded-error.js';
import type { Code } from '../diagnostics/codes.js';

/**
 * Image folders as torchvision's ImageFolder reads them (datasets/folder.py of torchvision
 * 0.14), in the ImageNet layout: `DIR/train/CLASS/…/IMAGE` and `DIR/val/CLASS/…/IMAGE`
 * (or `DIR/test/…` where there is no `val`).
 *
 * - Classes are the training split's folders (every entry that is a folder, or a link to
 *   one, hidden ones included), sorted by code point; class index = position, as
 *   ImageFolder's find_classes gives it.
 * - A class's images are the files under its folder at any depth, links followed, whose
 *   name ends (in any case) with an extension ImageFolder takes; in ImageFolder's order:
 *   the folders sorted by path, each folder's files sorted by name.
 * - The validation split is labelled by the training split's classes, by name, never by
 *   its own folder order (ImageFolder on each split apart gives a class missing from `val`
 *   another index in each: silently wrong labels).
 *
 * Only the list is made here: nothing is decoded (decode.ts), so a data set larger than
 * memory costs its list (path, size and label per image).
 */

/** Extensions ImageFolder takes (IMG_EXTENSIONS) that resnetc decodes (libvips, through sharp). */
export const imageExtensions = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff'] as const;
/** Extensions ImageFolder takes that resnetc does not decode: such a file is an error (R0655), never left out silently. */
export const undecodedExtensions = ['.bmp', '.ppm', '.pgm'] as const;
/** Names of the evaluation split, in the order they are looked for. */
export const evalSplitNames = ['val', 'test'] as const;

/** A problem with an image folder or one of its images, naming the path. */
export class ImageDataError extends CodedError {
  constructor(
    code: Extract<Code, 'R0601' | 'R0650' | 'R0652' | 'R0653' | 'R0654' | 'R0655' | 'R0657' | 'R0661'>,
    readonly path: string,
    message: string,
    help?: string,
  ) {
    super(code, message, help);
  }
}

/** One split's images: paths (as found: `DIR/train/cat/1.jpg`), labels (class indices) and sizes in bytes, in ImageFolder's order. */
export interface ImageList {
  files: string[];
  labels: Int32Array;
  sizes: number[];
}

/** A warning about the folder that does not stop the command (R0651, R0656). */
export interface DataWarning {
  code: 'R0651' | 'R0656';
  message: string;
}

/** An image folder, listed. */
export interface ImageFolder {
  root: string;
  /** The class names, sorted by code point: index = label. */
  classes: string[];
  train: ImageList;
  /** The `val` (or `test`) split, labelled by the training split's classes. */
  test: ImageList;
  /** The evaluation split's folder name: `val` or `test`. */
  testName: string;
  /** SHA-256 of the class names and every image's path (relative to the root), size and label, hex. */
  fingerprint: string;
  warnings: DataWarning[];
}

export interface ScanOptions {
  /** Leave out files of an extension resnetc does not decode (R0655) with a warning (R0656) instead of stopping. */
  skipBadImages?: boolean;
}

/** Code-point order (Python's sorted() on str), not JavaScript's UTF-16 order. */
export function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const isDirectory = (path: string): boolean => statOrUndefined(path)?.isDirectory() ?? false;

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The names in a folder; a name that is not UTF-8 (which Node cannot give back as a path) is R0657. */
function namesIn(dir: string): string[] {
  const names = readdirSync(dir);
  const bad = names.find((n) => n.includes('\uFFFD'));
  if (bad !== undefined) throw new ImageDataError('R0657', join(dir, bad), `'${dir}' holds a name that is not valid UTF-8 ('${bad}'); resnetc cannot name that file`, 'rename it');
  return names;
}

/** True when `dir` is laid out as an image folder: it has a `train` folder. */
export function isImageFolder(dir: string): boolean {
  return isDirectory(join(dir, 'train'));
}

/** What a folder holds, for a message: `3 folders (a, b, c) and 2 files (x.txt, y.txt)`. */
export function describeFolder(dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir).sort(byCodePoint);
  } catch {
    return 'nothing resnetc can list';
  }
  const folders = names.filter((n) => isDirectory(join(dir, n)));
  const files = names.filter((n) => !folders.includes(n));
  const some = (list: string[]): string => `${list.slice(0, 5).join(', ')}${list.length > 5 ? ', …' : ''}`;
  const parts = [];
  if (folders.length > 0) parts.push(`${folders.length} folder${folders.length === 1 ? '' : 's'} (${some(folders)})`);
  if (files.length > 0) parts.push(`${files.length} file${files.length === 1 ? '' : 's'} (${some(files)})`);
  return parts.length > 0 ? parts.join(' and ') : 'nothing: it is empty';
}

/** Whether a file name is one ImageFolder would take (its lower-cased name ends with an extension it knows). */
const imageExtension = (name: string): 'decoded' | 'undecoded' | undefined => {
  const ext = extname(name).toLowerCase();
  if ((imageExtensions as readonly string[]).includes(ext)) return 'decoded';
  if ((undecodedExtensions as readonly string[]).includes(ext)) return 'undecoded';
  return undefined;
};

/**
 * Every folder under `dir` (itself included), links to folders followed as os.walk(…,
 * followlinks=True) does, sorted by path as ImageFolder sorts os.walk's output. A folder
 * reached twice (a link cycle, which would make os.walk run forever) is R0657.
 */
function foldersUnder(dir: string): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const folder = stack.pop()!;
    const stats = statSync(folder);
    const id = `${stats.dev}:${stats.ino}`;
    const before = seen.get(id);
    if (before !== undefined) {
      throw new ImageDataError('R0657', folder, `'${folder}' is the folder '${before}' again (a link leads back to it): the image folder would never end`, 'remove the link that makes the cycle');
    }
    seen.set(id, folder);
    out.push(folder);
    for (const name of namesIn(folder)) {
      const path = join(folder, name);
      if (isDirectory(path)) stack.push(path);
    }
  }
  return out.sort(byCodePoint);
}

/**
 * The images of one split: under `splitDir/CLASS/` for each class of `classes`, labelled
 * by its index there. `classes` undefined: the split's own folders are the classes (the
 * training split). Folders of the split not among `classes` are returned in `unknown`.
 */
function listSplit(splitDir: string, classes: string[] | undefined, options: ScanOptions, warnings: DataWarning[]): { classes: string[]; list: ImageList; unknown: string[]; counts: number[] } {
  const own = namesIn(splitDir)
    .filter((n) => isDirectory(join(splitDir, n)))
    .sort(byCodePoint);
  const names = classes ?? own;
  const unknown = classes ? own.filter((n) => !classes.includes(n)) : [];
  const files: string[] = [];
  const labels: number[] = [];
  const sizes: number[] = [];
  const counts = names.map(() => 0);
  names.forEach((name, label) => {
    const classDir = join(splitDir, name);
    if (!isDirectory(classDir)) return;
    for (const folder of foldersUnder(classDir)) {
      for (const file of namesIn(folder).sort(byCodePoint)) {
        const path = join(folder, file);
        const kind = imageExtension(file);
        if (kind === undefined) continue;
        const stats = statOrUndefined(path);
        if (stats?.isDirectory()) continue; // a folder named like an image: os.walk lists it as a folder
        if (kind === 'undecoded') {
          const what = `'${path}' is a ${extname(file).slice(1).toUpperCase()} image, a format torchvision's ImageFolder reads but resnetc does not`;
          if (!options.skipBadImages) throw new ImageDataError('R0655', path, what, `convert it to PNG or JPEG, or pass --skip-bad-images to leave such files out (torchvision would train on them)`);
          warnings.push({ code: 'R0656', message: `${what}: left out (--skip-bad-images)` });
          continue;
        }
        files.push(path);
        labels.push(label);
        // A broken link keeps its place: reading it is an error naming it (or a skip), as in ImageFolder.
        sizes.push(stats?.size ?? -1);
        counts[label]!++;
      }
    }
  });
  return { classes: names, list: { files, labels: Int32Array.from(labels), sizes }, unknown, counts };
}

/**
 * Lists the image folder at `root` (see the module's comment). Throws ImageDataError:
 * R0601 (no `train/` with class folders, or no `val/` or `test/` beside it; the message
 * says what the folder holds), R0650 (a training class with no images, as ImageFolder
 * refuses), R0652 (a validation class the training split lacks), R0655 (a BMP, PPM or
 * PGM image, unless skipped), R0657 (a name that is not UTF-8, a link cycle). A training
 * class without validation images is a warning (R0651).
 */
export function scanImageFolder(root: string, options: ScanOptions = {}): ImageFolder {
  const trainDir = join(root, 'train');
  if (!isDirectory(trainDir)) throw new ImageDataError('R0601', root, `'${root}' has no train/ folder; it holds ${describeFolder(root)}`, layoutHelp);
  const testName = evalSplitNames.find((n) => isDirectory(join(root, n)));
  if (testName === undefined) {
    throw new ImageDataError('R0601', root, `'${root}' has train/ but neither val/ nor test/ beside it; it holds ${describeFolder(root)}`, 'put a held-out part of the images, in the same class folders, under val/');
  }
  const warnings: DataWarning[] = [];
  const train = listSplit(trainDir, undefined, options, warnings);
  if (train.classes.length === 0) {
    throw new ImageDataError('R0601', trainDir, `'${trainDir}' has no class folders; it holds ${describeFolder(trainDir)}`, 'ImageFolder takes one folder per class: train/CLASS/IMAGE');
  }
  const empty = train.classes.filter((_, i) => train.counts[i] === 0);
  if (empty.length > 0) {
    throw new ImageDataError(
      'R0650',
      join(trainDir, empty[0]!),
      `the class folder${empty.length === 1 ? '' : 's'} ${quoteList(empty)} of '${trainDir}' hold${empty.length === 1 ? 's' : ''} no image (${imageExtensions.join(', ')}); torchvision's ImageFolder refuses such a class too`,
      'add images to it, or remove the folder (a hidden folder such as .ipynb_checkpoints is a class to ImageFolder)',
    );
  }
  const testDir = join(root, testName);
  const test = listSplit(testDir, train.classes, options, warnings);
  if (test.unknown.length > 0) {
    throw new ImageDataError(
      'R0652',
      join(testDir, test.unknown[0]!),
      `'${testDir}' has the class folder${test.unknown.length === 1 ? '' : 's'} ${quoteList(test.unknown)}, which '${trainDir}' lacks: the model cannot learn ${test.unknown.length === 1 ? 'it' : 'them'}`,
      'add the class to train/ (with images), or remove it from the evaluation split',
    );
  }
  const unseen = train.classes.filter((_, i) => test.counts[i] === 0);
  if (unseen.length > 0) {
    warnings.push({ code: 'R0651', message: `the class${unseen.length === 1 ? '' : 'es'} ${quoteList(unseen)} of '${trainDir}' ha${unseen.length === 1 ? 's' : 've'} no images in '${testDir}': ${unseen.length === 1 ? 'its' : 'their'} accuracy is not measured` });
  }
  if (test.list.files.length === 0) throw new ImageDataError('R0601', testDir, `'${testDir}' holds no images in class folders; it holds ${describeFolder(testDir)}`, 'ImageFolder takes one folder per class: val/CLASS/IMAGE (ImageNet\'s val tarball needs its images moved into class folders first)');
  return { root, classes: train.classes, train: train.list, test: test.list, testName, fingerprint: fingerprint(root, train.classes, [train.list, test.list]), warnings };
}

/**
 * The images of an evaluation folder for a model that knows its classes: `dir/CLASS/…`
 * labelled by `classes` (the model's names), or `dir` laid out as for training (its
 * `val/` or `test/` split). A folder whose name is not a class of the model is R0661.
 */
export function scanEvalFolder(dir: string, classes: string[] | undefined, options: ScanOptions = {}): { list: ImageList; classes: string[]; splitDir: string; warnings: DataWarning[] } {
  let splitDir = dir;
  if (isImageFolder(dir)) {
    const name = evalSplitNames.find((n) => isDirectory(join(dir, n)));
    if (name === undefined) throw new ImageDataError('R0601', dir, `'${dir}' has train/ but neither val/ nor test/ to evaluate on; it holds ${describeFolder(dir)}`, layoutHelp);
    splitDir = join(dir, name);
  }
  const warnings: DataWarning[] = [];
  const split = listSplit(splitDir, classes, options, warnings);
  if (split.unknown.length > 0) {
    throw new ImageDataError(
      'R0661',
      join(splitDir, split.unknown[0]!),
      `'${splitDir}' has the class folder${split.unknown.length === 1 ? '' : 's'} ${quoteList(split.unknown)}, which the model does not name (its classes: ${quoteList(classes ?? [])})`,
      'evaluate on the classes the model was trained on',
    );
  }
  if (split.list.files.length === 0) throw new ImageDataError('R0601', splitDir, `'${splitDir}' holds no images in class folders; it holds ${describeFolder(splitDir)}`, layoutHelp);
  return { list: split.list, classes: split.classes, splitDir, warnings };
}

const layoutHelp = 'an image folder is DIR/train/CLASS/IMAGE and DIR/val/CLASS/IMAGE (torchvision\'s ImageFolder, the ImageNet layout); IDX and CIFAR-10 folders are read too';

function quoteList(names: string[]): string {
  const shown = names.slice(0, 5).map((n) => `'${n}'`);
  return `${shown.join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
}

function fingerprint(root: string, classes: string[], lists: ImageList[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(classes));
  for (const list of lists) {
    hash.update(`\n${list.files.length}\n`);
    list.files.forEach((file, i) => hash.update(`${relative(root, file)}\0${list.sizes[i]}\0${list.labels[i]}\n`));
  }
  return hash.digest('hex');
}
