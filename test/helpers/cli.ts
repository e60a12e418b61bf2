import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { run } from '../../src/cli/program.js';
import type { Output } from '../../src/cli/output.js';

export const root = join(import.meta.dirname, '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command line in this process, capturing what it prints. */
export async function cli(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out: Output = {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    color: false,
    paint: (_s, t) => t,
    exitCode: 0,
  };
  const code = await run(argv, out);
  return { code, stdout, stderr };
}

/** Runs `resnetc` as a user would, in its own process. */
export function spawnCli(args: string[], cwd = root): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
