import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { findCheckpointDir } from '../../src/train/checkpoint-store.js';
import { removeScratch, scratch } from '../faults/io-helpers.js';
import { versionOf } from './writer-versions.js';

/**
 * The property of src/io's writer: a process killed (SIGKILL) at any instant of a write leaves
 * the target at the version before or the version being written, each whole; a checkpoint
 * stays findable; and the next write to the same place removes what the killed one left.
 * A child (writer-child.ts, bundled so it starts in milliseconds) writes versions in a loop;
 * it is killed after a random delay, many times, within a bounded time.
 */

/** A small seeded generator (Park–Miller), so a failing run's delays can be replayed. */
function delays(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

function folderVersion(dir: string): number | undefined {
  const data = versionOf(readFileSync(join(dir, 'data.bin')));
  return data !== undefined && Number(readFileSync(join(dir, 'version.txt'), 'utf8')) === data ? data : undefined;
}

afterAll(removeScratch);

describe('the writer, killed at random instants', () => {
  it('leaves every target whole at the last or the next version, and its leftovers go at the next write', async () => {
    const dir = scratch();
    const bundle = join(dir, 'child.mjs');
    buildSync({ entryPoints: [join(import.meta.dirname, 'writer-child.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
    const work = join(dir, 'work');
    mkdirSync(work);
    const seed = 20_261_130;
    const random = delays(seed);
    const dead: number[] = [];
    const leftoversOfDead = (): string[] =>
      [work, join(work, 'run')].flatMap((d) => (existsSync(d) ? readdirSync(d) : [])).filter((name) => dead.some((pid) => name.includes(`.resnetc-${pid}-`)));
    let next = 1;
    let kills = 0;
    const deadline = Date.now() + 8_000;
    while (kills < 30 && Date.now() < deadline) {
      const child = spawn(process.execPath, [bundle, work, String(next)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const printed: number[] = [];
      const exited = new Promise((r) => child.on('exit', r));
      await new Promise<void>((ready) => {
        child.stdout.on('data', (d: Buffer) => {
          printed.push(...d.toString().trim().split('\n').map(Number));
          ready();
        });
        void exited.then(() => ready());
      });
      // One whole round written: every leftover of the killed processes is gone.
      expect(leftoversOfDead(), `seed ${seed}, kill ${kills}`).toEqual([]);
      await new Promise((r) => setTimeout(r, random() * 60));
      child.kill('SIGKILL');
      await exited;
      dead.push(child.pid!);
      kills++;
      const done = Math.max(...printed);
      const whole = (v: number | undefined): boolean => v !== undefined && v >= done && v <= done + 1;
      expect(whole(versionOf(readFileSync(join(work, 'file.bin')))), `file, seed ${seed}, kill ${kills}`).toBe(true);
      // A folder may be caught between its two renames: then its whole versions sit under temporary names.
      const folders = existsSync(join(work, 'folder')) ? [join(work, 'folder')] : readdirSync(work).filter((n) => n.startsWith('.folder.resnetc-')).map((n) => join(work, n));
      expect(folders.some((f) => whole(folderVersion(f))), `folder, seed ${seed}, kill ${kills}`).toBe(true);
      const checkpoint = findCheckpointDir(join(work, 'run'));
      expect(checkpoint !== undefined && whole(folderVersion(checkpoint)), `checkpoint, seed ${seed}, kill ${kills}`).toBe(true);
      next = done + 2;
    }
    expect(kills).toBeGreaterThanOrEqual(8);
  }, 30_000);
});
