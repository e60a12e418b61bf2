/**
 * The writing process of writer.property.test.ts, bundled by esbuild so that it starts in
 * milliseconds: it writes versions 1, 2, 3… of a file, a folder and a checkpoint in turn,
 * printing each version once all three are written, until it is killed.
 */
import { join } from 'node:path';
import { writeOutputDir, writeOutputFile } from '../../src/io/write.js';
import { writeCheckpointDir } from '../../src/train/checkpoint-store.js';
import { versionBytes } from './writer-versions.js';

const [dir, first] = process.argv.slice(2) as [string, string];
for (let version = Number(first); ; version++) {
  const bytes = versionBytes(version);
  writeOutputFile(join(dir, 'file.bin'), bytes);
  writeOutputDir(join(dir, 'folder'), { 'data.bin': bytes, 'version.txt': String(version) }, { kind: 'test' });
  writeCheckpointDir(join(dir, 'run'), { 'data.bin': bytes, 'version.txt': String(version) });
  process.stdout.write(`${version}\n`);
}
