import { spawnSync } from 'node:child_process';

/**
 * The one place that finds a Python for the PyTorch comparisons (tests, benches,
 * examples): `$PYTHON` when set (CI sets PYTHON=/usr/bin/python3), else Debian's
 * `/usr/bin/python3` (where python3-torch and python3-torchvision install, and which a
 * pyenv or venv `python3` earlier on the PATH hides), else `python3` on the PATH.
 * The first candidate that can import every module in `modules` wins.
 *
 * Returns the interpreter's path (as given), or undefined when none can: callers skip,
 * saying why (`missingPython`).
 */
export function pythonWith(modules: readonly string[] = ['torch']): string | undefined {
  const key = modules.join(',');
  if (found.has(key)) return found.get(key);
  const candidates = process.env['PYTHON'] ? [process.env['PYTHON']] : ['/usr/bin/python3', 'python3'];
  const python = candidates.find((p) => spawnSync(p, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0);
  found.set(key, python);
  return python;
}

const found = new Map<string, string | undefined>();

/** A line saying why a PyTorch comparison cannot run here and what would make it run. */
export function missingPython(modules: readonly string[] = ['torch']): string {
  const where = process.env['PYTHON'] ? `PYTHON=${process.env['PYTHON']}` : 'neither /usr/bin/python3 nor python3 on the PATH';
  return `${where} cannot import ${modules.join(', ')} (Debian: apt install python3-torch python3-torchvision; or set PYTHON to a Python that has them)`;
}
