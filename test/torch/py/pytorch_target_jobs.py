"""PyTorch's side of test/torch/pytorch-target.test.ts, all in one process.

Usage: python3 pytorch_target_jobs.py JOBS.json RESULTS.json

For each module resnetc generated: py_compile, flake8 (its default style,
when flake8 is installed), build(), its parameter and buffer counts, its
state_dict keys and shapes against the naming table's, which tensors
zero_init_residual zeroes, and, where asked, the outputs for an input with a
safetensors file loaded with strict=True, or whether its initialisation from
a seed is torchvision's own, tensor for tensor.
"""
import json
import os
import py_compile
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_lite  # noqa: E402
from modules import load_module  # noqa: E402
from no_init import uninitialised  # noqa: E402


def style(paths):
    try:
        from flake8.api import legacy
    except ImportError:
        return None
    found = {}
    for path in paths:
        report = legacy.get_style_guide().check_files([path])
        if report.total_errors:
            found[path] = report.get_statistics('')
    return found


def zeroed(module):
    """Keys of the tensors build(zero_init_residual=True) starts at 0."""
    torch.manual_seed(0)
    sd = module.build(zero_init_residual=True).state_dict()
    return sorted(k for k, v in sd.items()
                  if v.is_floating_point() and not v.any())


def same_init_as_torchvision(module, arch, zero_init_residual):
    torch.manual_seed(0)
    ours = module.build(zero_init_residual).state_dict()
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, arch)(
        zero_init_residual=zero_init_residual).state_dict()
    return list(ours) == list(theirs) and all(
        torch.equal(ours[k], theirs[k]) for k in ours)


def run(job):
    py_compile.compile(job['module'], doraise=True)
    module = load_module(job['module'])
    full = 'weights' in job or 'torchvision' in job
    model = module.build() if full else uninitialised(module.build)
    buffers = dict(model.named_buffers())
    batches = [k for k in buffers if k.endswith('num_batches_tracked')]
    sd = model.state_dict()
    theirs = {k: list(v.shape) for k, v in sd.items()}
    ours = {k: s for k, s in job['entries']}
    result = {
        'params': sum(p.numel() for p in model.parameters()),
        'buffers': sum(v.numel() for k, v in buffers.items()
                       if k not in batches),
        'batch_counters': len(batches),
        'missing': sorted(set(ours) - set(theirs)),
        'extra': sorted(set(theirs) - set(ours)),
        'shapes': sorted(k for k in set(ours) & set(theirs)
                         if ours[k] != theirs[k]),
        'name': module.NAME,
        'input': list(module.INPUT),
        'classes': module.CLASSES,
    }
    if job.get('zeroed'):
        result['zeroed'] = zeroed(module)
    if 'torchvision' in job:
        arch, flags = job['torchvision']
        result['torchvision_init'] = [
            same_init_as_torchvision(module, arch, z) for z in flags]
    if 'weights' in job:
        weights, _ = safetensors_lite.read(job['weights'])
        result['load'] = str(model.load_state_dict(weights, strict=True))
        model.eval()
        x = torch.from_numpy(np.fromfile(job['input'], dtype='float32'))
        with torch.no_grad():
            y = model(x.reshape(job['shape']))
        result['output_shape'] = list(y.shape)
        y.numpy().tofile(job['output'])
    return result


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    results = {
        'style': style([j['module'] for j in jobs]),
        'models': {j['name']: run(j) for j in jobs},
    }
    with open(sys.argv[2], 'w') as f:
        json.dump(results, f)


main()
