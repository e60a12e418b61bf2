"""PyTorch's side of test/torch/backbones.test.ts, all in one process.

Usage: python3 backbone_jobs.py JOBS.json RESULTS.json

For each backbone model: the module resnetc generated and a reference built
from torchvision's classes (resnet50 with replace_stride_with_dilation,
wrapped in IntermediateLayerGetter) or from timm's definitions
(timm_backbone.py) both load resnetc's safetensors with strict=True; their
parameter counts, every listed output (eval mode), and with drop path the
outputs in training mode under the same seed, compared; the drop path rates
of both; and the reference's own state_dict written as safetensors for
resnetc to read back.
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision.models._utils import IntermediateLayerGetter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_lite  # noqa: E402
from modules import load_module  # noqa: E402
import timm_backbone  # noqa: E402


def reference(ref):
    kind, args = ref['kind'], ref['args']
    if kind == 'torchvision':
        net = torchvision.models.resnet50(
            replace_stride_with_dilation=args['replace_stride_with_dilation'])
        return IntermediateLayerGetter(net, args['return_layers'])
    if kind == 'timm_resnet':
        return timm_backbone.ResNet(**args)
    return timm_backbone.ResNetV2(**args)


def as_dict(y, names):
    """The generated module's outputs by name: a dict, or the one tensor."""
    return y if isinstance(y, dict) else {names[0]: y}


def compare(ours, theirs, pairs):
    """Per output: [shape, max |ours - theirs| / max |theirs|]."""
    out = {}
    for name, ref_name in pairs:
        a, b = ours[name], theirs[ref_name]
        out[name] = [list(a.shape), float((a - b).abs().max() /
                                          b.abs().max())]
    return out


def rates(model):
    return [float(m.drop_prob) for m in model.modules()
            if type(m).__name__ == 'DropPath']


def run(job):
    module = load_module(job['module'])
    ours = module.build()
    theirs = reference(job['reference'])
    weights, _ = safetensors_lite.read(job['weights'])
    result = {
        'params': sum(p.numel() for p in ours.parameters()),
        'reference_params': sum(p.numel() for p in theirs.parameters()),
        'load': str(ours.load_state_dict(weights, strict=True)),
        'reference_load': str(theirs.load_state_dict(weights, strict=True)),
        'rates': rates(ours),
        'reference_rates': rates(theirs),
    }
    safetensors_lite.write(job['reference_state'], theirs.state_dict())
    pairs = job['outputs']
    names = [p[0] for p in pairs]
    x = torch.from_numpy(np.fromfile(job['input'], dtype='float32'))
    x = x.reshape(job['shape'])
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        y = as_dict(ours(x), names)
        result['order'] = list(y)
        result['eval'] = compare(y, theirs(x), pairs)
        if job.get('train'):
            ours.train()
            theirs.train()
            torch.manual_seed(7)
            y_train = as_dict(ours(x), names)
            torch.manual_seed(7)
            result['train'] = compare(y_train, theirs(x), pairs)
            last = names[-1]
            result['train_vs_eval'] = float(
                (y_train[last] - y[last]).abs().max())
    return result


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    results = {j['name']: run(j) for j in jobs}
    with open(sys.argv[2], 'w') as f:
        json.dump(results, f)


main()
