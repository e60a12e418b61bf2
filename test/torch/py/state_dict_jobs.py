"""PyTorch's side of test/torch/state-dict.test.ts, all in one process.

Usage: python3 state_dict_jobs.py JOBS.json RESULTS.json

- "zoo": for each torchvision architecture, the state_dict keys and shapes
  resnetc's naming table gives; answers which keys are missing, extra, or of
  another shape than torchvision's own state_dict().
- "export": torchvision models with random weights and running statistics,
  written as safetensors by safetensors_lite (optionally each tensor in
  another dtype, the model then holding the values that dtype keeps), with an
  input batch and PyTorch's output for it (raw float32).
- "load": resnetc's safetensors files loaded with load_state_dict(strict=True)
  into torchvision's or the timm-like modules, and their outputs for an input.
- "convert": docs/pytorch.md's .pth to safetensors script, run on a
  torch.save'd state_dict; answers whether it wrote the same tensors.
- "finetune": a 1000-class torchvision model seeded in torch, as safetensors,
  and what a fine-tune of it computes: with its fc replaced by a new head
  (the weights resnetc initialised, given in a file), and with its first
  convolution adapted to other input channels by timm's adapt_input_conv
  (written below from timm's source); the outputs, and the adapted weights.
"""
import copy
import json
import math
import os
import runpy
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_lite  # noqa: E402
from no_init import uninitialised  # noqa: E402
import timm_like  # noqa: E402


def zoo(job):
    sd = uninitialised(getattr(torchvision.models, job['arch'])).state_dict()
    theirs = {k: list(v.shape) for k, v in sd.items()}
    ours = {k: s for k, s in job['entries']}
    return {
        'missing': sorted(set(theirs) - set(ours)),
        'extra': sorted(set(ours) - set(theirs)),
        'shapes': sorted(k for k in set(ours) & set(theirs)
                         if ours[k] != theirs[k]),
        'order': list(ours) == list(theirs),
    }


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('num_batches_tracked'):
                t.fill_(7)
            elif name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith('running_mean') or name.endswith('.bias'):
                t.copy_(torch.rand(t.shape, generator=g) * 0.4 - 0.2)
            elif t.dim() == 1:
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)


def export(job):
    torch.manual_seed(job['seed'])
    model = getattr(torchvision.models, job['arch'])()
    randomise(model, job['seed'])
    kinds = [torch.float32, torch.float16, torch.bfloat16, torch.float64]
    sd = {}
    with torch.no_grad():
        for i, (name, t) in enumerate(model.state_dict().items()):
            if job.get('dtypes') and t.is_floating_point():
                t.copy_(t.to(kinds[i % 4]).float())
                sd[name] = t.to(kinds[i % 4])
            else:
                sd[name] = t
    safetensors_lite.write(job['weights'], sd, {'format': 'pt'})
    model.eval()
    x = torch.randn(job['shape'], generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        y = model(x)
    x.numpy().tofile(job['input'])
    y.numpy().tofile(job['output'])
    return {'outputs': list(y.shape)}


def convert(job):
    """The docs' conversion script, run on a torch.save'd state_dict."""
    torch.manual_seed(4)
    sd = torchvision.models.resnet18().state_dict()
    sd['bn1.running_mean'].uniform_(-1, 1)
    torch.save(sd, job['pth'])
    saved = sys.argv
    sys.argv = ['pth_to_safetensors.py', job['pth'], job['weights']]
    try:
        runpy.run_path(job['script'], run_name='__main__')
    finally:
        sys.argv = saved
    back, _ = safetensors_lite.read(job['weights'])
    return {'equal': list(back) == list(sd) and all(
        torch.equal(back[k], sd[k]) for k in sd)}


def adapt_input_conv(in_chans, conv_weight):
    """timm's adapt_input_conv (timm/models/_manipulate.py), as it reads."""
    conv_type = conv_weight.dtype
    conv_weight = conv_weight.float()
    O, I, J, K = conv_weight.shape
    if in_chans == 1:
        if I > 3:
            assert conv_weight.shape[1] % 3 == 0
            conv_weight = conv_weight.reshape(O, I // 3, 3, J, K)
            conv_weight = conv_weight.sum(dim=2, keepdim=False)
        else:
            conv_weight = conv_weight.sum(dim=1, keepdim=True)
    elif in_chans != 3:
        if I != 3:
            raise NotImplementedError('Weight format not supported by conversion.')
        else:
            repeat = int(math.ceil(in_chans / 3))
            conv_weight = conv_weight.repeat(1, repeat, 1, 1)[:, :in_chans, :, :]
            conv_weight *= (3 / float(in_chans))
    conv_weight = conv_weight.to(conv_type)
    return conv_weight


def finetune(job):
    torch.manual_seed(job['seed'])
    model = getattr(torchvision.models, job['arch'])()
    randomise(model, job['seed'])
    safetensors_lite.write(job['weights'], model.state_dict(), {'format': 'pt'})
    model.eval()
    g = torch.Generator().manual_seed(5)
    out = {}
    with torch.no_grad():
        head = job['head']
        fc = torch.from_numpy(np.fromfile(head['weights'], dtype='float32'))
        classes = head['classes']
        w, b = fc[:classes * model.fc.in_features], fc[classes * model.fc.in_features:]
        x = torch.randn([2, 3, 64, 64], generator=g)
        x.numpy().tofile(head['input'])
        new = torch.nn.Linear(model.fc.in_features, classes)
        new.weight.copy_(w.reshape(classes, -1))
        new.bias.copy_(b)
        tuned = copy.deepcopy(model)
        tuned.fc = new
        tuned(x).numpy().tofile(head['output'])
        for c in job['channels']:
            weight = adapt_input_conv(c['in_chans'], model.conv1.weight.detach().clone())
            weight.numpy().tofile(c['weight'])
            adapted = copy.deepcopy(model)
            adapted.conv1 = torch.nn.Conv2d(c['in_chans'], 64, 7, 2, 3, bias=False)
            adapted.conv1.weight.copy_(weight)
            x = torch.randn([2, c['in_chans'], 64, 64], generator=g)
            x.numpy().tofile(c['input'])
            adapted(x).numpy().tofile(c['output'])
            out[c['in_chans']] = list(weight.shape)
    return out


def module(spec):
    kind = spec['kind']
    if kind == 'torchvision':
        arch = getattr(torchvision.models, spec['arch'])
        return arch(**spec.get('args', {}))
    if kind == 'timm_resnet':
        args = dict(spec['args'])
        args['block'] = getattr(timm_like, args['block'])
        return timm_like.ResNet(**args)
    if kind == 'timm_resnetv2':
        return timm_like.ResNetV2(**spec['args'])
    raise ValueError(kind)


def load(job):
    model = module(job['module'])
    sd, metadata = safetensors_lite.read(job['weights'])
    message = str(model.load_state_dict(sd, strict=True))
    model.eval()
    shape = job['shape']
    x = torch.from_numpy(np.fromfile(job['input'], dtype='float32'))
    x = x.reshape(shape)
    with torch.no_grad():
        model(x).numpy().tofile(job['output'])
    counts = {k: v.numel() for k, v in sd.items()
              if k.endswith('num_batches_tracked')}
    return {'message': message, 'metadata': metadata,
            'batch_counts': sorted(set(int(sd[k]) for k in counts)),
            'scalar_counts': all(sd[k].shape == () for k in counts)}


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    results = {
        'zoo': {j['arch']: zoo(j) for j in jobs.get('zoo', [])},
        'export': [export(j) for j in jobs.get('export', [])],
        'load': [load(j) for j in jobs.get('load', [])],
        'convert': [convert(j) for j in jobs.get('convert', [])],
        'finetune': [finetune(j) for j in jobs.get('finetune', [])],
    }
    with open(sys.argv[2], 'w') as f:
        json.dump(results, f)


main()
