import { spawnSync } from 'node:child_process';

/**
 * A Python that has torch and torchvision: $PYTHON if set, else `python3` on the PATH, else
 * Debian's /usr/bin/python3 (where python3-torchvision installs, which a pyenv or venv
 * `python3` earlier on the PATH hides). Undefined when none has them.
 */
export function pythonWithTorch(): string | undefined {
  const candidates = process.env['PYTHON'] ? [process.env['PYTHON']] : ['python3', '/usr/bin/python3'];
  return candidates.find((p) => spawnSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0);
}
