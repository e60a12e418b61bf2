"""The Python half of test/examples/distributed.test.ts, in one process:

    python3 distributed_check.py JOB.json RESULT.json

1. the trained model's outputs: the module resnetc wrote, with the weights
   of the run's model.safetensors read by test/torch/py/safetensors_lite.py
   (not by the example's reader), in inference mode, on the images of
   input.bin (float32 NCHW, written by the test from resnetc's own loader);
2. what examples/distributed/data.py reads from the IDX and CIFAR-10
   directories the test wrote, as uint8 files the test compares with
   resnetc's loaders, and from an ImageFolder tree of PNGs;
3. the state_dict keys of the module with SyncBatchNorm, which must be its
   own (a checkpoint of a --sync-bn run loads anywhere);
4. what the example's safetensors reader says of damaged files, and what
   train.py says of command lines it cannot run on this machine.
"""
import contextlib
import importlib.util
import io
import json
import os
import sys

import numpy
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'torch', 'py'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'examples', 'distributed'))
import data  # noqa: E402
import safetensors_io  # noqa: E402
import safetensors_lite  # noqa: E402
import train  # noqa: E402


def module_at(path):
    spec = importlib.util.spec_from_file_location('model', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_folder(root):
    """Two classes of two grey PNGs each, in train/ and val/."""
    from PIL import Image
    for split in ('train', 'val'):
        for k, cls in enumerate(('boot', 'shirt')):
            os.makedirs(os.path.join(root, split, cls))
            for i in range(2):
                Image.new('L', (40, 30), 60 * k + i).save(
                    os.path.join(root, split, cls, f'{i}.png'))
    train, test, what = data.load(root, (1, 28, 28), workers=0)
    x, y = next(train.batches([[0, 1, 2, 3]], False, None))
    return {'what': what, 'shape': list(x.shape), 'dtype': str(x.dtype),
            'labels': y.tolist(), 'test': len(test)}


def damaged(out):
    """The reader's message for each kind of damage (None: accepted)."""
    path = os.path.join(out, 'good.safetensors')
    safetensors_io.save({'a': torch.ones(2, 3), 'b': torch.arange(4)}, path)
    with open(path, 'rb') as f:
        good = f.read()
    cases = {
        'short': good[:5],
        'header past the end': (len(good)).to_bytes(8, 'little') + good[8:],
        'not JSON': good[:8] + b'[' + good[9:],
        'shape and offsets disagree': good.replace(b'[2,3]', b'[3,3]'),
        'a byte too many': good + b'\0',
        # b (int64) lies first, at [0, 32]; a follows at [32, 56].
        'a gap': good.replace(b'[32,56]', b'[40,64]') + bytes(8),
        'unknown dtype': good.replace(b'"F32"', b'"F99"'),
    }
    messages = {}
    for case, data_ in cases.items():
        bad = os.path.join(out, 'bad.safetensors')
        with open(bad, 'wb') as f:
            f.write(data_)
        try:
            safetensors_io.load(bad)
            messages[case] = None
        except safetensors_io.SafetensorsError as e:
            messages[case] = str(e).replace(bad, 'FILE')
    return messages


def refusals(job):
    """train.py's exit status and stderr for command lines it must refuse,
    run in this process (one process, no torchrun)."""
    base = [job['module'], '--data', job['idx'], '--out',
            os.path.join(job['dir'], 'refused')]
    cases = {'sync-bn': ['--sync-bn'], 'fp16': ['--amp', 'fp16'],
             'resume': ['--resume']}
    out = {}
    for case, extra in cases.items():
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = train.main(base + extra)
        out[case] = [code, err.getvalue()]
    return out


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    out = job['dir']
    module = module_at(job['module'])
    model = module.build()
    weights, metadata = safetensors_lite.read(job['weights'])
    model.load_state_dict(weights, strict=True)
    model.eval()
    x = torch.from_numpy(numpy.fromfile(job['input'], dtype='<f4')).reshape(
        -1, *module.INPUT)
    with torch.no_grad():
        y = model(x)
    y.numpy().tofile(os.path.join(out, 'torch-output.bin'))

    idx, _, _ = data.load(job['idx'], module.INPUT)
    idx.images.numpy().tofile(os.path.join(out, 'idx-images.bin'))
    idx.labels.to(torch.uint8).numpy().tofile(
        os.path.join(out, 'idx-labels.bin'))
    cifar, _, _ = data.load(job['cifar'], (3, 32, 32))
    cifar.images.numpy().tofile(os.path.join(out, 'cifar-images.bin'))
    cifar.labels.to(torch.uint8).numpy().tofile(
        os.path.join(out, 'cifar-labels.bin'))

    plain = module.build().state_dict()
    synced = torch.nn.SyncBatchNorm.convert_sync_batchnorm(
        module.build()).state_dict()
    result = {
        'name': module.NAME,
        'metadata': metadata,
        'folder': image_folder(os.path.join(out, 'folder')),
        'syncBnKeys': [k for k in synced] == [k for k in plain] and all(
            synced[k].shape == plain[k].shape for k in plain),
        'damaged': damaged(out),
        'refusals': refusals(job),
    }
    with open(sys.argv[2], 'w') as f:
        json.dump(result, f)


if __name__ == '__main__':
    main()
