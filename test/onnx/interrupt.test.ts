import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../helpers/check.js';
import { root } from '../helpers/cli.js';

describe('Ctrl-C during resnetc compile', () => {
  it('leaves no temporary file, and any output it leaves is whole', async () => {
    const dir = tempFiles({});
    const output = join(dir, 'r152.onnx');
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'compile', join(root, 'specs', 'resnet152.resnet'), '-t', 'onnx', '-o', output], { stdio: 'ignore' });
    // Interrupt once the write has begun: the temporary file appears in the output's folder.
    const started = Date.now();
    while (Date.now() - started < 30_000 && !readdirSync(dir).some((f) => f.endsWith('.tmp'))) await new Promise((r) => setTimeout(r, 5));
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp')), 'the write should have started').toBe(true);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    expect(code).toBe(130);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The write was allowed to finish: the file is complete (resnet152 with weights, 241.5 MB).
    expect(statSync(output).size).toBeGreaterThan(241_000_000);
  });
});
