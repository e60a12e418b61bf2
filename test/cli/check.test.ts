import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/cli/check.js';
import { tempFiles } from '../helpers/check.js';
import { cli, root, spawnCli } from '../helpers/cli.js';

const spec = (name: string): string => join(root, 'specs', name);

describe('resnetc check', () => {
  it('exits 0 on clean files and prints each model with its counts', async () => {
    const r = await cli('check', spec('resnet50.resnet'), spec('cifar_resnet.resnet'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('resnet50: 25,557,032 (25.56M) params, 4,089,184,256 (4.09G) MACs, output 2048x7x7');
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(6);
  });

  it('exits 1 on errors and prints them rustc-style with file:line:col, the line, a caret and help', async () => {
    const dir = tempFiles({ 'bad.resnet': 'model m {\n  input 3x32x32\n  stem { conv 3x3 16 }\n  block bottlenek\n  stage s { blocks 1  width 16 }\n}\n' });
    const r = await cli('check', join(dir, 'bad.resnet'));
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe("error[R0203]: unknown block kind 'bottlenek'");
    expect(lines[1]).toMatch(/^ {2}--> .*bad\.resnet:4:9$/);
    expect(lines[2]).toBe('> 4 |   block bottlenek');
    expect(lines[3]).toBe('    |         ^^^^^^^^^');
    expect(lines[4]).toBe("  = help: did you mean 'bottleneck'?");
    expect(r.stderr).toContain('1 error, 0 warnings in 1 file');
  });

  it('exits 0 with warnings only', async () => {
    const dir = tempFiles({ 'w.resnet': 'model m { input 3x8x8 stem { } block basic stage s { blocks 1 width 8 } dropout 0.1 }' });
    const r = await cli('check', join(dir, 'w.resnet'));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning[R0213]');
  });

  it('reports a missing file with a code and goes on with the others', async () => {
    const r = await cli('check', 'no-such.resnet', spec('resnet18.resnet'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[R0101]: cannot find 'no-such.resnet'");
    expect(r.stdout).toContain('resnet18');
  });

  it('--json prints the documented document', async () => {
    const dir = tempFiles({ 'two.resnet': 'model m {\n  input 3x8x8 stem { } block basic stage s { blocks 1 width 8 }\n  classes 0\n}\n' });
    const r = await cli('check', '--json', spec('resnet18.resnet'), join(dir, 'two.resnet'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as CheckReport;
    expect(report).toEqual({
      files: [
        {
          file: spec('resnet18.resnet'),
          diagnostics: [],
          models: [
            {
              name: 'resnet18',
              params: 11_689_512,
              buffers: 9_600,
              macs: 1_814_073_344,
              input: [3, 224, 224],
              output: [512, 7, 7],
              outputs: [{ name: 'output', shape: [1000, 1, 1] }],
            },
          ],
        },
        {
          file: join(dir, 'two.resnet'),
          diagnostics: [{ code: 'R0208', severity: 'error', message: 'classes must be at least 1, not 0', line: 3, column: 11, endLine: 3, endColumn: 12 }],
          models: [],
        },
      ],
    });
  });

  it('--json reports a missing file as a diagnostic of that file', async () => {
    const r = await cli('check', '--json', 'gone.resnet');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      files: [{ file: 'gone.resnet', diagnostics: [{ code: 'R0101', severity: 'error', message: "cannot find 'gone.resnet'", line: 1, column: 1, endLine: 1, endColumn: 1 }], models: [] }],
    });
  });

  it('checks every .resnet file in a folder, recursively, in sorted order', async () => {
    const dir = tempFiles({ 'b.resnet': 'model b { input 3x8x8 stem { } block basic stage s { blocks 1 width 8 } }', 'notes.txt': 'not a spec' });
    mkdirSync(join(dir, 'a', '.hidden'), { recursive: true });
    writeFileSync(join(dir, 'a', 'm.resnet'), 'model m { input 3x8x8 stem { } block basic stage s { blocks 1 width 8 } classes 0 }');
    writeFileSync(join(dir, 'a', '.hidden', 'h.resnet'), 'not even a spec');
    const r = await cli('check', '--json', dir);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as CheckReport).files.map((f) => [f.file, f.diagnostics.map((d) => d.code)])).toEqual([
      [join(dir, 'a', 'm.resnet'), ['R0208']],
      [join(dir, 'b.resnet'), []],
    ]);
    const zoo = await cli('check', join(root, 'specs'), join(root, 'examples'));
    expect(zoo.code).toBe(0);
    expect(zoo.stderr).toBe('');
    expect(zoo.stdout).toContain('specs/resnet152.resnet: resnet152');
    expect(zoo.stdout).toContain('examples/fashion-mnist/fashion.resnet: fashion_resnet8');
  });

  it('rejects a folder without .resnet files with R0902', async () => {
    const r = await cli('check', tempFiles({ 'notes.txt': '' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[R0902\]: '.*' is a folder with no \.resnet file in it\n/);
  });
});

describe('usage', () => {
  it('exits 2 on an unknown option, with one error line and a did-you-mean', async () => {
    const r = await cli('check', '--jsno', spec('resnet18.resnet'));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error[R0901]: unknown option '--jsno'\n  = help: did you mean '--json'? (`resnetc check --help` lists the options)\n");
    expect(r.stdout).toBe('');
  });

  it('names a misspelt option before a required one it leaves missing', async () => {
    const r = await cli('compile', spec('resnet18.resnet'), '--taget', 'onnx', '-o', 'x.onnx');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error[R0901]: unknown option '--taget'\n  = help: did you mean '--target'? (`resnetc compile --help` lists the options)\n");
    const joined = await cli('compile', spec('resnet18.resnet'), '--taget=onnx', '-o', 'x.onnx');
    expect(joined.stderr.split('\n')[0]).toBe("error[R0901]: unknown option '--taget'");
  });

  it('exits 2 on an unknown command, with a did-you-mean', async () => {
    const r = await cli('chekc', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error[R0901]: unknown command 'chekc'\n  = help: did you mean 'check'? (`resnetc --help` lists the commands)\n");
  });

  it('prints exactly one error line for each usage error', async () => {
    const usage: [string[], string][] = [
      [['check'], "missing required argument 'files'"],
      [['summary', 'a', 'b'], "too many arguments for 'summary'. Expected 1 argument but got 2."],
      [['compile', 'x.resnet', '-t'], "option '-t, --target <target>' argument missing"],
      [['compile', 'x.resnet', '-t', 'onnx'], "required option '-o, --output <path>' not specified"],
      [['--frobnicate'], "unknown option '--frobnicate'"],
      [[], 'no command given'],
    ];
    for (const [argv, message] of usage) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr.split('\n').filter((l) => /error/i.test(l)), argv.join(' ')).toEqual([`error[R0901]: ${message}`]);
    }
  });

  it('--help for every command, and --version', async () => {
    const main = await cli('--help');
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('check');
    expect(main.stdout).toContain('summary');
    for (const command of ['check', 'summary']) {
      const r = await cli(command, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: resnetc ${command}`);
    }
    const v = await cli('--version');
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('the resnetc process', () => {
  it('exits 0, 1 and 2 as documented, with no stack trace', () => {
    expect(spawnCli(['check', 'specs/resnet18.resnet']).code).toBe(0);
    const bad = spawnCli(['check', 'specs/nothing.resnet']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error[R0101]');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const usage = spawnCli(['summary']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).not.toMatch(/\n\s+at /);
  });
});
