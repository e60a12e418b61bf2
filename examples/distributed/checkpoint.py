"""A run's checkpoint: a directory (OUT/checkpoint unless named) of

  model.safetensors      the model's state_dict under the generated module's
                         names, which are resnetc's naming table's:
                         `resnetc compile --weights` reads it
  optimizer.safetensors  SGD's momentum buffers, each under the name of the
                         parameter it belongs to
  state.json             where the run stands: epochs and steps done, the
                         recipe, the metrics so far, each process's sums of
                         the epoch under way, the GradScaler's state

No pickle: loading a checkpoint runs no code. Rank 0 writes the files into
DIR.tmp and swaps the directory in whole (the previous one is DIR.old until
the swap ends), so a run killed while writing leaves a complete checkpoint.
"""
import json
import os
import shutil

import safetensors_io

FORMAT = 'resnetc-distributed-checkpoint'
MODEL = 'model.safetensors'
OPTIMIZER = 'optimizer.safetensors'
STATE = 'state.json'
# What state.json holds besides its format and version.
KEYS = ['model', 'epoch', 'step', 'steps_per_epoch', 'recipe', 'metrics',
        'partial', 'seconds', 'scaler', 'momentum']


class CheckpointError(Exception):
    """A checkpoint that is missing, damaged or of another run."""


def save(directory, model_state, momentum, state, metadata):
    """Writes a checkpoint: `model_state` and `momentum` (name -> tensor),
    `state` (JSON-able), `metadata` (str -> str) for model.safetensors."""
    tmp, old = directory + '.tmp', directory + '.old'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    safetensors_io.save(model_state, os.path.join(tmp, MODEL), metadata)
    safetensors_io.save(momentum, os.path.join(tmp, OPTIMIZER),
                        {'format': 'pt', 'content': 'SGD momentum buffers'})
    with open(os.path.join(tmp, STATE), 'w') as f:
        json.dump({'format': FORMAT, 'version': 1, **state}, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    if os.path.isdir(directory):
        shutil.rmtree(old, ignore_errors=True)
        os.rename(directory, old)
    os.rename(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def find(directory):
    """The complete checkpoint at `directory`: itself, or DIR.old where a
    swap was cut short; None when there is none."""
    for d in (directory, directory + '.old'):
        if os.path.isfile(os.path.join(d, STATE)):
            return d
    return None


def load(directory):
    """(model_state, momentum, state) of a checkpoint; CheckpointError when
    it is missing or damaged."""
    found = find(directory)
    if found is None:
        raise CheckpointError(f"there is no checkpoint to resume in "
                              f"'{directory}' (no {STATE}): train without "
                              '--resume first, or name the checkpoint '
                              'directory')
    try:
        with open(os.path.join(found, STATE)) as f:
            state = json.load(f)
        if not isinstance(state, dict) or state.get('format') != FORMAT:
            raise CheckpointError(f"'{found}' is not a checkpoint of this "
                                  f'script ({STATE} has no format {FORMAT})')
        lacking = [k for k in KEYS if k not in state]
        if lacking:
            raise CheckpointError(f"the checkpoint in '{found}' is damaged: "
                                  f'{STATE} lacks {", ".join(lacking)}')
        model_state, _ = safetensors_io.load(os.path.join(found, MODEL))
        momentum, _ = safetensors_io.load(os.path.join(found, OPTIMIZER))
    except (OSError, ValueError, safetensors_io.SafetensorsError) as e:
        raise CheckpointError(f"the checkpoint in '{found}' is damaged: {e}")
    return model_state, momentum, state
