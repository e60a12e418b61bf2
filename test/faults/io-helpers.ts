import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../helpers/cli.js';

/** Helpers of the file fault tests (outputs.test.ts, inputs.test.ts): special files, a full or read-only disk, resnetc in its own process. */

/** A small spec that compiles in milliseconds. */
export const tinySpec = `model tiny {
  input 3x8x8
  classes 3
  stem { conv 3x3 4 }
  block basic
  stage s1 { blocks 1  width 4 }
}
`;

const made: string[] = [];

/** A fresh folder (readable by every user, so a child run as another user can enter it); removeScratch removes them all. */
export function scratch(files: Record<string, string | Uint8Array> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'resnetc-faults-'));
  made.push(dir);
  chmodSync(dir, 0o755);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return dir;
}

/** Removes every folder `scratch` made (for afterAll). */
export function removeScratch(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Makes a FIFO (named pipe) at `path`. */
export function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr?.toString() ?? r.error}`);
}

/** Makes a character device like /dev/null (1, 3) at `path`; false where the system does not allow it. */
export function mknodNull(path: string): boolean {
  return spawnSync('mknod', [path, 'c', '1', '3']).status === 0;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time, milliseconds. */
  ms: number;
}

const tsx = import.meta.resolve('tsx');
const main = join(root, 'src', 'cli', 'main.ts');

export interface RunOptions {
  cwd?: string;
  /** RLIMIT_FSIZE in KiB (`ulimit -f`): a write past it fails with EFBIG, as on a full disk. */
  fileSizeLimitKiB?: number;
  /** Killed (SIGKILL) after this many milliseconds; 60 s unless set. */
  timeoutMs?: number;
  uid?: number;
  gid?: number;
}

/** Runs `resnetc ARGS` in its own process, under the conditions asked for. */
export function resnetc(args: string[], options: RunOptions = {}): Promise<Run> {
  const node = [process.execPath, '--import', tsx, main, ...args];
  const [command, argv] =
    options.fileSizeLimitKiB === undefined ? [node[0]!, node.slice(1)] : ['bash', ['-c', `ulimit -f ${options.fileSizeLimitKiB}; exec "$@"`, 'bash', ...node]];
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(command, argv as string[], {
      cwd: options.cwd ?? root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** True when this process may make a user and mount namespace with a tmpfs in it (`unshare -rm`). */
export function canMountTmpfs(): boolean {
  const dir = scratch();
  return spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs '${dir}'`]).status === 0;
}

/**
 * Runs a shell script inside a user and mount namespace where `dir` is a fresh tmpfs mounted
 * with `options` (`ro`, `size=…`); `$RESNETC` in the script runs resnetc (paths without spaces). What the script
 * prints is all that is seen of the tmpfs: it is gone when the script ends.
 */
export function onTmpfs(dir: string, options: string, script: string): Run {
  const started = Date.now();
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o '${options}' tmpfs '${dir}' && ${script}`], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', RESNETC: `${process.execPath} --import ${tsx} ${main}` },
    timeout: 60_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

/** No internal error, no stack trace. */
export function noCrash(r: { stderr: string; code: number | null }): void {
  if (r.code === 70 || /R0000/.test(r.stderr) || /\n\s+at /.test(r.stderr)) throw new Error(`resnetc crashed (exit ${r.code}):\n${r.stderr}`);
}
