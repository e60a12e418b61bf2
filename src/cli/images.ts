import { realpathSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Code } from '../diagnostics/codes.js';
import { findPreprocess, preprocessFile } from '../images/preprocess.js';
import { readInputFile } from '../io/read.js';
import { writeOutputFile } from '../io/write.js';
import { CliError } from './errors.js';

/**
 * Command-line pieces the image commands share (train on an image folder, eval, predict).
 */

/**
 * `--mean 0.5,0.5,0.5`: one finite number per channel (positive for `--std`); undefined
 * when the option is absent. A wrong count or value is `code` (usage, exit 2).
 */
export function channelValues(flag: string, text: string | undefined, channels: number, positive: boolean, code: Code = 'R0607'): number[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
  if (values.length !== channels || values.some((v) => !Number.isFinite(v) || (positive && v <= 0))) {
    throw new CliError(code, `${flag} must be ${channels} ${positive ? 'positive' : ''}${positive ? ' ' : ''}number${channels === 1 ? '' : 's'} separated by commas (one per input channel), not '${text}'`, 2);
  }
  return values;
}

/** The real path of `path`, or its absolute path when it does not exist yet. */
function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * Refuses (R0658) an output folder at or inside the image folder being read: `--out
 * data/train/run` would add class folders (`checkpoint`, `model`) to the data.
 */
export function checkOutsideData(outDir: string, dataDir: string): void {
  const rel = relative(realOrResolved(dataDir), realOrResolved(outDir));
  if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) {
    throw new CliError('R0658', `the output folder '${outDir}' is inside the image folder '${dataDir}': its folders would become classes (or images) of the data`, 1, 'write the run somewhere else, e.g. runs/NAME');
  }
}

/**
 * After `compile --weights SOURCE -o FILE.onnx` (or `.safetensors`): the
 * preprocessing kept with SOURCE (findPreprocess), copied beside FILE as
 * `NAME.preprocess.json`, where eval and predict look for it. Returns the line that says
 * so, or undefined when SOURCE has none.
 */
export function keepPreprocessBeside(weights: string | undefined, output: string): string | undefined {
  if (weights === undefined || !['.onnx', '.safetensors'].includes(extname(output).toLowerCase())) return undefined;
  const kept = findPreprocess(weights);
  if (kept === undefined) return undefined;
  const target = join(dirname(output), `${basename(output, extname(output))}.${preprocessFile}`);
  writeOutputFile(target, readInputFile(kept, 'json'));
  return `wrote ${target}: the normalisation and class names kept with ${weights}`;
}
