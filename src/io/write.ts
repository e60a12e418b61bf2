import { closeSync, fchmodSync, fchownSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { commandInputs, inputInside, sameFileAs } from './command-inputs.js';
import { errnoCode, FileError } from './file-error.js';
import { leftoversOf, removeLeftovers, temporaryPath } from './leftovers.js';
import { fileKind, readInputText } from './read.js';

/**
 * The one writer of every output resnetc makes: ONNX files, tfjs model folders, checkpoints,
 * SVG diagrams, metrics, formatted specs. Its rules (docs/files.md):
 *
 * - A file is written beside its target under a temporary name (leftovers.ts), flushed to
 *   the disk (fsync) and renamed into place: a reader, a crash or a full disk sees the old
 *   content or the new, never a part. On any failure the temporary is removed and the
 *   target is untouched.
 * - A folder is written whole the same way, with a marker file (`.resnetc-output.json`,
 *   written last) that lists its files; it replaces an existing folder only when that one
 *   is empty or carries resnetc's marker and holds nothing else than the marker lists.
 * - Nothing is written onto an input of the command (same real path, or same device and
 *   inode: a symbolic or hard link), onto anything but a regular file (a device, a FIFO, a
 *   socket), onto a folder when a file is asked for, or onto a file when a folder is.
 * - A symbolic link as the target is followed: the file it leads to is replaced, the link kept.
 * - Leftovers of earlier writes to the same target by processes that are gone are removed.
 *
 * Failures are FileError: R0801 onto an input, R0802 not a regular file, R0803 a file where a
 * folder goes or the reverse, R0804 a folder resnetc did not write, R0805 no space left
 * (ENOSPC, EDQUOT, EFBIG), R0903 any other (read-only file system, permission, missing folder).
 */

/** Where a streaming writer puts its bytes. */
export interface ByteSink {
  write(chunk: Uint8Array): void;
}

/** A file's content: text (UTF-8), bytes, or a function that streams it to a sink. */
export type FileContent = string | Uint8Array | ((sink: ByteSink) => void);

export interface WriteOptions {
  /** Inputs besides those the running command read through src/io/read.ts (a library caller names its own). */
  inputs?: readonly string[];
  /** The output replaces an input by design: `fmt` rewriting a spec, a checkpoint replacing the one training resumed from. */
  replacesInput?: boolean;
}

export interface FolderOptions extends WriteOptions {
  /** What the folder is (`tfjs-model`, `checkpoint`), recorded in its marker. */
  kind: string;
  /** More fields for the marker (a checkpoint's sequence number). */
  note?: Record<string, unknown>;
}

/** The file that marks a folder resnetc wrote. */
export const outputMarker = '.resnetc-output.json';

/** The content of a folder's marker. */
export interface OutputMarker {
  writtenBy: 'resnetc';
  kind: string;
  /** The files resnetc put in the folder, the marker aside. */
  files: string[];
  [field: string]: unknown;
}

/** The error for a failed system call while writing `path`; any other error is returned as it is. */
export function writeError(path: string, e: unknown): unknown {
  const code = errnoCode(e);
  if (code === undefined) return e;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return new FileError('R0805', path, `no space left to write '${path}' (${code}); nothing was changed`, 'free some space, or write elsewhere');
    case 'EROFS':
      return new FileError('R0903', path, `cannot write '${path}': the file system is read-only (EROFS); nothing was changed`);
    case 'EACCES':
    case 'EPERM':
      return new FileError('R0903', path, `cannot write '${path}': permission denied (${code}); nothing was changed`);
    case 'ENOENT':
      return new FileError('R0903', path, `cannot write '${path}': its folder does not exist`);
    case 'EISDIR':
      return new FileError('R0803', path, `cannot write '${path}': it is a folder`);
    default:
      return new FileError('R0903', path, `cannot write '${path}': ${code}`);
  }
}

interface Target {
  /** The path to replace: `path` resolved, a symbolic link followed. */
  target: string;
  /** What is there now (undefined: nothing). */
  stats: Stats | undefined;
}

function resolveTarget(path: string): Target {
  const abs = resolve(path);
  let link: Stats;
  try {
    link = lstatSync(abs);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return { target: abs, stats: undefined };
    throw writeError(path, e);
  }
  if (!link.isSymbolicLink()) return { target: abs, stats: link };
  try {
    const real = realpathSync(abs);
    return { target: real, stats: statSync(real) };
  } catch {
    throw new FileError('R0802', path, `'${path}' is a symbolic link that leads nowhere; resnetc does not write through it`);
  }
}

function notRegular(path: string, stats: Stats): FileError {
  return new FileError('R0802', path, `'${path}' is ${fileKind(stats)}; resnetc writes only regular files and folders, and replaces nothing else`);
}

function ontoInput(path: string, input: string): FileError {
  const same = resolve(path) === input ? '' : ` ('${input}')`;
  return new FileError('R0801', path, `'${path}' is an input of this command${same}; writing there would destroy it`, 'write the output somewhere else');
}

/** The checks before writing a file; returns where to write. Throws as writeOutputFile. */
export function checkOutputFile(path: string, options: WriteOptions = {}): Target {
  const t = resolveTarget(path);
  if (!t.stats) {
    let folder: Stats | undefined;
    try {
      folder = statSync(dirname(t.target));
    } catch (e) {
      throw writeError(path, e);
    }
    if (!folder.isDirectory()) throw new FileError('R0903', path, `cannot write '${path}': '${dirname(path)}' is not a folder`);
    return t;
  }
  if (t.stats.isDirectory()) throw new FileError('R0803', path, `'${path}' is a folder; resnetc writes a file there, and does not replace a folder with one`, 'give the path of the file to write');
  if (!t.stats.isFile()) throw notRegular(path, t.stats);
  if (!options.replacesInput) {
    const input = sameFileAs(commandInputs(options.inputs), t.target, t.stats);
    if (input) throw ontoInput(path, input.realPath);
  }
  return t;
}

/**
 * Writes a file atomically (see the module's rules); returns the bytes written. An existing
 * file keeps its permissions (and owner, where allowed). Throws FileError before anything
 * is touched, or after a failed write with the target as it was.
 */
export function writeOutputFile(path: string, content: FileContent, options: WriteOptions = {}): number {
  return writeOutputFiles([{ path, content }], options)[0]!;
}

/** One file of an output made of several (writeOutputFiles). */
export interface OutputFile {
  path: string;
  content: FileContent;
  /** Refuse a symbolic link at `path` (R0802) instead of following it: for a file the user did not name. */
  noLink?: boolean;
}

export interface FilesOptions extends WriteOptions {
  /**
   * Files the new output makes obsolete (an earlier model's external data that the new one
   * does not name), removed once the output is in place; one that is an input of the
   * command, or not a regular file, is left as it is.
   */
  obsolete?: readonly string[];
}

/**
 * Writes several files as one output, an ONNX model and its external data: every target
 * is checked first (as writeOutputFile), then each file is written under a temporary name
 * and flushed; only when all are whole are they renamed into place, in the order given, so
 * that the last one (the file that names the others) is the commit point. A failed rename
 * puts back what the earlier ones replaced (kept meanwhile under a hard link), so a failure
 * leaves every target as it was. Returns the bytes written to each file. Throws FileError
 * as writeOutputFile, naming the file concerned.
 */
export function writeOutputFiles(files: readonly OutputFile[], options: FilesOptions = {}): number[] {
  const targets = files.map((f) => {
    if (f.noLink) refuseLink(f.path);
    return checkOutputFile(f.path, options);
  });
  for (const t of targets) removeLeftovers(leftoversOf(t.target));
  const temps: string[] = [];
  const written: number[] = [];
  try {
    for (const [i, f] of files.entries()) {
      const temp = temporaryPath(targets[i]!.target, 'tmp');
      written.push(writeTemporary(f.path, temp, targets[i]!.stats, f.content, temps));
    }
  } catch (e) {
    for (const temp of temps) rmSync(temp, { force: true });
    throw e;
  }
  commit(files, targets, temps);
  for (const folder of new Set(targets.map((t) => dirname(t.target)))) syncFolder(folder);
  for (const path of options.obsolete ?? []) removeObsolete(path, options);
  return written;
}

function refuseLink(path: string): void {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch {
    return;
  }
  if (stats.isSymbolicLink()) throw new FileError('R0802', path, `'${path}' is a symbolic link; resnetc writes this file only as a regular file beside the one you named, and does not write through a link`, 'remove the link');
}

/** Writes `content` to the new file `temp` (noted in `temps` once made) and flushes it; returns its size. */
function writeTemporary(path: string, temp: string, stats: Stats | undefined, content: FileContent, temps: string[]): number {
  let fd: number;
  try {
    fd = openSync(temp, 'wx', 0o666);
  } catch (e) {
    throw writeError(path, e);
  }
  temps.push(temp);
  try {
    if (stats) keepModeAndOwner(fd, stats);
    const written = writeContent(fd, content);
    fsyncSync(fd);
    return written;
  } catch (e) {
    throw writeError(path, e);
  } finally {
    closeSync(fd);
  }
}

/** Renames each temporary over its target, in order; on a failure, puts every target back as it was. */
function commit(files: readonly OutputFile[], targets: readonly Target[], temps: readonly string[]): void {
  // For each target an earlier rename replaces, a hard link to what it held: the way back.
  const backups = targets.map(({ target, stats }, i) => {
    if (!stats || i === targets.length - 1) return undefined;
    const backup = temporaryPath(target, 'old');
    try {
      linkSync(target, backup);
      return backup;
    } catch {
      return undefined;
    }
  });
  let i = 0;
  try {
    for (; i < files.length; i++) renameSync(temps[i]!, targets[i]!.target);
  } catch (e) {
    for (let j = i - 1; j >= 0; j--) {
      try {
        if (backups[j]) renameSync(backups[j]!, targets[j]!.target);
        else if (!targets[j]!.stats) rmSync(targets[j]!.target, { force: true });
      } catch {
        // The backup stays under its temporary name; the next write removes it.
      }
    }
    for (const temp of temps.slice(i)) rmSync(temp, { force: true });
    throw writeError(files[i]!.path, e);
  } finally {
    for (const backup of backups) if (backup) rmSync(backup, { force: true });
  }
}

function removeObsolete(path: string, options: WriteOptions): void {
  try {
    const stats = lstatSync(path);
    if (!stats.isFile()) return;
    if (!options.replacesInput && sameFileAs(commandInputs(options.inputs), realpathSync(path), stats)) return;
    rmSync(path);
  } catch {
    // Left for the user: the output itself is whole.
  }
}

function keepModeAndOwner(fd: number, stats: Stats): void {
  fchmodSync(fd, stats.mode & 0o7777);
  if (process.getuid?.() === 0 && (stats.uid !== 0 || stats.gid !== 0)) {
    try {
      fchownSync(fd, stats.uid, stats.gid);
    } catch {
      // Some file systems do not keep owners; the content matters more.
    }
  }
}

/** The most one write(2) is given: Node refuses more than 2 GiB - 1 at once (ERR_OUT_OF_RANGE), Linux writes at most 2 GiB - 4 KiB. */
const maxWrite = 1 << 30;

/** Writes all of `bytes` to the open file `fd`, however large (a weight of over 2 GiB), in writes of at most 1 GiB. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, maxWrite));
}

/** Small chunks are gathered into a buffer; large ones (weight tensors) go to the file directly. */
function writeContent(fd: number, content: FileContent): number {
  if (typeof content === 'string') content = Buffer.from(content, 'utf8');
  if (content instanceof Uint8Array) {
    writeAll(fd, content);
    return content.length;
  }
  const buffer = new Uint8Array(1 << 16);
  let used = 0;
  let total = 0;
  const flush = (): void => {
    writeAll(fd, buffer.subarray(0, used));
    used = 0;
  };
  content({
    write(chunk) {
      total += chunk.length;
      if (chunk.length <= buffer.length - used) {
        buffer.set(chunk, used);
        used += chunk.length;
        return;
      }
      flush();
      if (chunk.length < buffer.length) {
        buffer.set(chunk, 0);
        used = chunk.length;
      } else writeAll(fd, chunk);
    },
  });
  flush();
  return total;
}

/** Makes a rename in `folder` durable; a file system that cannot sync folders is let be. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch {
    // EINVAL on some file systems: the rename is done, only its durability is the system's.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The marker of a folder, when it has one that parses as resnetc's; undefined otherwise. */
function markerOf(folder: string): OutputMarker | undefined {
  let marker: OutputMarker;
  try {
    marker = JSON.parse(readInputText(join(folder, outputMarker), 'json', { track: false })) as OutputMarker;
  } catch {
    return undefined;
  }
  if (marker?.writtenBy !== 'resnetc' || typeof marker.kind !== 'string' || !Array.isArray(marker.files)) return undefined;
  return marker.files.every((name) => typeof name === 'string' && plainName(name)) ? marker : undefined;
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The marker of a folder resnetc wrote, when the folder is whole: the marker parses and
 * every file it lists is there, a regular file. Undefined otherwise.
 */
export function readOutputMarker(folder: string): OutputMarker | undefined {
  const marker = markerOf(folder);
  return marker && marker.files.every((name) => isRegularFile(join(folder, name))) ? marker : undefined;
}

function plainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && name !== outputMarker && !/[/\\\0]/.test(name);
}

/** The checks before writing a folder; returns where to write. Throws as writeOutputDir. */
export function checkOutputDir(path: string, options: WriteOptions = {}): Target {
  const t = resolveTarget(path);
  if (!t.stats) return t;
  if (t.stats.isFile()) throw new FileError('R0803', path, `'${path}' is a file; resnetc writes a folder there, and does not replace a file with one`, 'give the path of a new or empty folder');
  if (!t.stats.isDirectory()) throw notRegular(path, t.stats);
  let entries: string[];
  try {
    entries = readdirSync(t.target);
  } catch (e) {
    throw writeError(path, e);
  }
  if (entries.length === 0) return t;
  // A folder resnetc did not write is refused for that first; one it wrote, if it holds an input.
  // (A file it listed may be missing: nothing of anyone else's is lost then.)
  const marker = markerOf(t.target);
  const listed = new Set(marker?.files ?? []);
  const foreign = entries.filter((e) => e !== outputMarker && !(listed.has(e) && isRegularFile(join(t.target, e))));
  if (!marker || foreign.length > 0) {
    const example = foreign.slice(0, 3).map((e) => `'${e}'`).join(', ');
    throw new FileError(
      'R0804',
      path,
      `'${path}' is a folder resnetc did not write (it holds ${example || 'files'}); resnetc replaces only a folder it wrote, and would delete what is there`,
      'give a new or empty folder',
    );
  }
  const inputs = options.replacesInput ? [] : commandInputs(options.inputs);
  const inside = inputInside(inputs, t.target) ?? entries.filter((e) => e !== outputMarker).map((e) => sameFileAs(inputs, realpathSync(join(t.target, e)), statSync(join(t.target, e)))).find((i) => i);
  if (inside) throw new FileError('R0801', path, `'${path}' holds '${inside.realPath}', an input of this command; replacing the folder would destroy it`, 'write the output somewhere else');
  return t;
}

/**
 * Writes a folder of files (name → content) whole and atomically, replacing the folder at
 * `path` (see the module's rules); parent folders are made as needed. Between two renames
 * a kill leaves no folder at `path` but the old and the new one, each whole, under their
 * temporary names (leftovers.ts): a caller that must always find one (checkpoints) looks
 * there. Throws FileError.
 */
export function writeOutputDir(path: string, files: Record<string, FileContent>, options: FolderOptions): void {
  const names = Object.keys(files);
  for (const name of names) if (!plainName(name)) throw new Error(`'${name}' is not a plain file name`);
  const { target, stats } = checkOutputDir(path, options);
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (e) {
    throw writeError(path, e);
  }
  // Unfinished folders are worthless; whole ones are removed only once a newer one is in place.
  removeLeftovers(leftoversOf(target).filter((l) => l.kind === 'tmp' && !readOutputMarker(l.path)));
  const temp = temporaryPath(target, 'tmp');
  try {
    mkdirSync(temp);
    for (const name of names) writeSynced(join(temp, name), files[name]!);
    const marker: OutputMarker = { writtenBy: 'resnetc', kind: options.kind, files: [...names].sort(), ...options.note };
    writeSynced(join(temp, outputMarker), JSON.stringify(marker, null, 2) + '\n');
    syncFolder(temp);
  } catch (e) {
    rmSync(temp, { recursive: true, force: true });
    throw writeError(path, e);
  }
  const old = stats ? temporaryPath(target, 'old') : undefined;
  try {
    if (old) renameSync(target, old);
    renameSync(temp, target);
  } catch (e) {
    if (old) {
      try {
        renameSync(old, target);
      } catch {
        // The old folder stays whole under its temporary name.
      }
    }
    rmSync(temp, { recursive: true, force: true });
    throw writeError(path, e);
  }
  syncFolder(dirname(target));
  if (old) rmSync(old, { recursive: true, force: true });
  removeLeftovers(leftoversOf(target));
}

function writeSynced(path: string, content: FileContent): void {
  const fd = openSync(path, 'wx', 0o666);
  try {
    writeContent(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes `path` a folder to write outputs into (training's `--out`), creating it and its
 * parents as needed. Unlike writeOutputDir, it does not replace the folder: it may hold
 * other files. Throws FileError R0803 (a file), R0802 (a device, FIFO, socket), R0903.
 */
export function prepareOutputFolder(path: string): string {
  const { target, stats } = resolveTarget(path);
  if (stats?.isFile()) throw new FileError('R0803', path, `'${path}' is a file; resnetc writes its outputs into a folder there`, 'give a new folder, or an existing one');
  if (stats && !stats.isDirectory()) throw notRegular(path, stats);
  try {
    mkdirSync(target, { recursive: true });
  } catch (e) {
    throw writeError(path, e);
  }
  return target;
}
