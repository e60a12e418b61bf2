import { close, closeSync, constants, fstatSync, openSync, read, readSync, realpathSync, type Stats } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { noteInput } from './command-inputs.js';
import { errnoCode, FileError } from './file-error.js';

/**
 * Every file resnetc reads is opened here: without blocking (a FIFO or a device never
 * stalls the process), checked to be a regular file, and read up to a limit of its kind.
 * docs/files.md lists the rules and limits with their codes.
 */

const MiB = 1024 * 1024;

/** The largest file of each kind resnetc reads, in bytes (R0812 beyond). */
export const inputLimits = {
  /** A `.resnet` spec (the largest of the model zoo is 1.4 KB; the editor benches use 1 MB). */
  spec: 16 * MiB,
  /** A JSON file: a tfjs `model.json`, a checkpoint's state. */
  json: 64 * MiB,
  /** An ONNX weights file, a tfjs model's shards together, a momentum file (protobuf's limit is 2 GiB). */
  weights: 2048 * MiB,
  /** One data file (IDX or CIFAR-10 batch), compressed or not, and what it decompresses to. */
  data: 2048 * MiB,
  /** One image of an image folder, or an image given to `predict` (encoded: JPEG, PNG, …). */
  image: 256 * MiB,
  /**
   * An ONNX model's external data file: any size (it exists to pass protobuf's 2 GiB). Only
   * the ranges the model's tensors name are read, each checked against the file's size and
   * the tensor's shape first (src/onnx/external-data.ts).
   */
  externalData: Number.MAX_SAFE_INTEGER,
} as const;

export type InputKind = keyof typeof inputLimits;

const kindNames: Record<InputKind, string> = { spec: 'spec', json: 'JSON file', weights: 'weights file', data: 'data file', image: 'image file', externalData: 'external data file' };

/** What a file that is not regular is, for messages. */
export function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** Bytes in a human unit, for messages. */
export function describeBytes(n: number): string {
  if (n >= 1024 * MiB) return `${(n / (1024 * MiB)).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** The refusal of a file over its kind's limit. */
export function tooLarge(path: string, kind: InputKind, size: number | undefined): FileError {
  const what = size === undefined ? 'more than' : `${describeBytes(size)}, more than`;
  return new FileError('R0812', path, `'${path}' is ${what} the ${describeBytes(inputLimits[kind])} resnetc reads of a ${kindNames[kind]}`);
}

export interface ReadOptions {
  /** False for a file resnetc reads about its own output (a folder's marker), not as an input of the command. */
  track?: boolean;
}

/** A readable regular file, open: its descriptor and stats. Close it with closeSync. */
export interface OpenInput {
  fd: number;
  stats: Stats;
}

/**
 * Opens `path` for reading without blocking and checks it is a regular file within the
 * limit of its kind; notes it as an input of the running command (command-inputs.ts).
 *
 * Throws FileError: R0101 (no such file), R0811 (a folder, FIFO, device or socket),
 * R0812 (over the limit), R0902 (any other reason it cannot be opened, e.g. EACCES).
 */
export function openInput(path: string, kind: InputKind, options: ReadOptions = {}): OpenInput {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileError('R0101', path, `cannot find the ${kindNames[kind]} '${path}'`);
    // A socket cannot be opened at all.
    if (code === 'ENXIO' || code === 'EOPNOTSUPP') throw new FileError('R0811', path, `'${path}' is not a regular file (a socket or device); resnetc reads only regular files`);
    if (code) throw new FileError('R0902', path, `cannot read '${path}': ${code}`);
    throw e;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new FileError('R0811', path, `'${path}' is ${fileKind(stats)}, not a regular file; resnetc reads only regular files`);
    if (stats.size > inputLimits[kind]) throw tooLarge(path, kind, stats.size);
    if (options.track !== false) noteInput(path, stats);
    return { fd, stats };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * A whole regular file, at most the limit of its kind (a file that grows past it while
 * read, or reports size 0 as /proc does, is cut off there and refused).
 * Throws FileError as openInput does, and R0902 for a failed read.
 */
export function readInputFile(path: string, kind: InputKind, options: ReadOptions = {}): Buffer {
  const { fd, stats } = openInput(path, kind, options);
  try {
    return readAll(fd, path, kind, stats.size);
  } finally {
    closeSync(fd);
  }
}

/** The text of a regular file (UTF-8), as readInputFile. */
export function readInputText(path: string, kind: InputKind, options: ReadOptions = {}): string {
  return readInputFile(path, kind, options).toString('utf8');
}

/**
 * readInputFile without blocking the event loop: the file is opened and examined as
 * openInput does (at once: no FIFO or device is ever read), then read on libuv's threads.
 * For the many files of an image folder, read while training runs.
 */
export async function readInputFileAsync(path: string, kind: InputKind, options: ReadOptions = {}): Promise<Buffer> {
  const { fd, stats } = openInput(path, kind, options);
  const readAt = (buffer: Buffer, offset: number): Promise<number> =>
    new Promise((done, fail) => read(fd, buffer, offset, buffer.length - offset, null, (e, n) => (e ? fail(readFailed(e, path)) : done(n))));
  try {
    let buffer: Buffer = Buffer.allocUnsafe(stats.size + 1);
    let used = 0;
    for (;;) {
      buffer = room(buffer, used, path, kind);
      const n = await readAt(buffer, used);
      if (n === 0) return buffer.subarray(0, used);
      used += n;
      if (used > inputLimits[kind]) throw tooLarge(path, kind, undefined);
    }
  } finally {
    await new Promise<void>((done) => close(fd, () => done()));
  }
}

function readAll(fd: number, path: string, kind: InputKind, size: number): Buffer {
  let buffer: Buffer = Buffer.allocUnsafeSlow(Math.max(size, 0) + 1);
  let used = 0;
  for (;;) {
    buffer = room(buffer, used, path, kind);
    let n: number;
    try {
      n = readSync(fd, buffer, used, buffer.length - used, null);
    } catch (e) {
      throw readFailed(e, path);
    }
    if (n === 0) break;
    used += n;
    if (used > inputLimits[kind]) throw tooLarge(path, kind, undefined);
  }
  return buffer.subarray(0, used);
}

/** `buffer` with room after its first `used` bytes: grown (up to the kind's limit + 1) when full. */
function room(buffer: Buffer, used: number, path: string, kind: InputKind): Buffer {
  if (used < buffer.length) return buffer;
  const limit = inputLimits[kind];
  if (used > limit) throw tooLarge(path, kind, undefined);
  const grown = Buffer.allocUnsafeSlow(Math.min(limit + 1, Math.max(2 * buffer.length, 64 * 1024)));
  buffer.copy(grown, 0, 0, used);
  return grown;
}

/** A failed read as R0902 (with its errno code); anything else as it is. */
function readFailed(e: unknown, path: string): unknown {
  const code = errnoCode(e);
  return code ? new FileError('R0902', path, `cannot read '${path}': ${code}`) : e;
}

/**
 * The path a file of a model names (a tfjs shard, ONNX external data) resolved
 * against the model's folder, refused unless it stays inside it: no absolute path, no
 * `..` out of it, no symbolic link leading out of it.
 * Throws FileError R0813; R0101 when the file does not exist.
 */
export function confinedPath(folder: string, named: string, namedIn: string): string {
  const refuse = (): FileError =>
    new FileError('R0813', named, `'${namedIn}' names '${named}', outside its folder '${folder}'`, 'a model may name only files in its own folder (or below it)');
  if (named.includes('\0') || isAbsolute(named)) throw refuse();
  const base = resolve(folder);
  const path = resolve(base, named);
  if (!inside(base, path)) throw refuse();
  let real: string;
  let realBase: string;
  try {
    realBase = realpathSync(base);
    real = realpathSync(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') throw new FileError('R0101', path, `cannot find '${named}', which '${namedIn}' names`);
    throw new FileError('R0902', path, `cannot read '${path}': ${errnoCode(e) ?? String(e)}`);
  }
  if (!inside(realBase, real)) throw refuse();
  return path;
}

function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
