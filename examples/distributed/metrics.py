"""metrics.csv, metrics.jsonl and plot.svg, as `resnetc train` writes them
(src/train/metrics.ts: the same columns, keys and meaning).

One row per epoch: epoch (from 1), lr (the last step's), train_loss and
train_accuracy (the mean over the epoch's training examples, as the model
stood at each step, over all processes), test_loss and test_accuracy (the
test split at the end of the epoch, inference mode), seconds (the epoch's
wall time) and images_per_second (training examples of all processes per
second of it). The plot is drawn by resnetc's own code (plot.ts, with Node).
"""
import json
import math
import os
import shutil
import subprocess

# JSONL keys (EpochMetrics) and CSV columns, in resnetc's order.
KEYS = ['epoch', 'lr', 'trainLoss', 'trainAccuracy', 'testLoss',
        'testAccuracy', 'seconds', 'imagesPerSecond']
COLUMNS = ['epoch', 'lr', 'train_loss', 'train_accuracy', 'test_loss',
           'test_accuracy', 'seconds', 'images_per_second']
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _write(path, text):
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def _csv(x):
    """A number as JavaScript's String() spells what is not finite."""
    if isinstance(x, float) and not math.isfinite(x):
        if math.isnan(x):
            return 'NaN'
        return 'Infinity' if x > 0 else '-Infinity'
    return repr(x)


def _json(x):
    """A number as JSON.stringify writes it: null when not finite."""
    return None if isinstance(x, float) and not math.isfinite(x) else x


def write(out, rows):
    """OUT/metrics.csv and OUT/metrics.jsonl of `rows` (dicts of KEYS)."""
    csv = [','.join(COLUMNS)]
    csv += [','.join(_csv(row[k]) for k in KEYS) for row in rows]
    _write(os.path.join(out, 'metrics.csv'), '\n'.join(csv) + '\n')
    jsonl = ''.join(json.dumps({k: _json(row[k]) for k in KEYS},
                               separators=(',', ':')) + '\n' for row in rows)
    _write(os.path.join(out, 'metrics.jsonl'), jsonl)


def plot_command(out, name):
    """The command that draws OUT/plot.svg from OUT/metrics.jsonl."""
    return ['npx', 'tsx', os.path.relpath(os.path.join(HERE, 'plot.ts'),
                                          ROOT), out, name]


def plot(out, name):
    """Draws OUT/plot.svg with resnetc's plot (plot.ts) where Node and this
    checkout's node_modules are here; returns None, or why it did not."""
    node = shutil.which('node')
    if node is None or not os.path.isdir(os.path.join(ROOT, 'node_modules',
                                                      'tsx')):
        return "needs Node and resnetc's checkout with `npm ci` run"
    r = subprocess.run([node, '--import', 'tsx', os.path.join(HERE, 'plot.ts'),
                        os.path.abspath(out), name],
                       cwd=ROOT, capture_output=True, text=True)
    return None if r.returncode == 0 else r.stderr.strip()
