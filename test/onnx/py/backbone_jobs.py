"""PyTorch's side of test/onnx/backbone.test.ts, all in one process.

Usage: python3 backbone_jobs.py JOBS.json RESULTS.json

Each job describes a network (written by hand in the test, not derived from
resnetc's checked model). It is built either from torchvision's own classes
(ResNet with replace_stride_with_dilation, wrapped in IntermediateLayerGetter)
or from the small modules below, written from timm's definitions
(timm/models/resnet.py: BasicBlock, Bottleneck with first_dilation, dilation,
drop_path, downsample_conv, downsample_avg, make_blocks' dilation rule;
timm/models/resnetv2.py: PreActBottleneck, DownsampleConv with preact, the
closing norm; timm/layers/adaptive_avgmax_pool.py: SelectAdaptivePool2d's
avg, max, avgmax = 0.5 * (avg + max), catavgmax = cat([avg, max], 1);
timm/layers/squeeze_excite.py: SEModule). Weights are random (norms with
non-trivial statistics), the module is put in eval mode, exported with
torch.onnx.export, and run at each input size asked for.

Results: per job, the parameter count, the ONNX file, and per size the input
and each output as raw float32 files.
"""
import json
import math
import os
import sys

import torch
from torch import nn
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.resnet import Bottleneck as TvBottleneck
from torchvision.models.resnet import ResNet as TvResNet


def act_layer(spec):
    fn = spec[0]
    if fn == 'relu':
        return nn.ReLU()
    if fn == 'silu':
        return nn.SiLU()
    if fn == 'gelu':
        return nn.GELU()
    if fn == 'leaky_relu':
        return nn.LeakyReLU(spec[1])
    if fn == 'mish':
        return nn.Mish()
    raise ValueError(fn)


def norm_layer(spec, c):
    if spec[0] == 'batch':
        return nn.BatchNorm2d(c, eps=spec[1])
    return nn.GroupNorm(spec[1], c, eps=spec[2])


class NormAct(nn.Sequential):
    """timm's BatchNormAct2d / GroupNormAct: the norm, then the activation."""

    def __init__(self, norm, act, c):
        super().__init__(norm_layer(norm, c), act_layer(act))


class SEModule(nn.Module):
    def __init__(self, c, rd, act):
        super().__init__()
        self.fc1 = nn.Conv2d(c, rd, 1, bias=True)
        self.act = act_layer(act)
        self.fc2 = nn.Conv2d(rd, c, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(self.act(self.fc1(s))))


class DropPath(nn.Module):
    """timm's DropPath: the identity in eval mode."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = x.new_empty((x.shape[0], 1, 1, 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


def conv(cin, cout, k, stride=1, dilation=1, groups=1, pad=None):
    p = dilation * (k // 2) if pad is None else pad
    return nn.Conv2d(cin, cout, k, stride, p, dilation=dilation,
                     groups=groups, bias=False)


def downsample(j, cin, cout, stride, preact):
    if j['shortcut'] == 'D':
        pool = nn.Identity() if stride == 1 else nn.AvgPool2d(
            2, stride, ceil_mode=True, count_include_pad=False)
        return nn.Sequential(pool, conv(cin, cout, 1),
                             norm_layer(j['norm'], cout))
    if preact:
        return conv(cin, cout, 1, stride)
    return nn.Sequential(conv(cin, cout, 1, stride),
                         norm_layer(j['norm'], cout))


class Block(nn.Module):
    """timm's BasicBlock, Bottleneck and PreActBottleneck in one: the
    branch's layers as timm orders them; conv1 (basic) or conv2
    (bottleneck) takes first_dilation, the others the stage's dilation."""

    def __init__(self, j, cin, width, stride, dilation, first_dilation, dp):
        super().__init__()
        kind, act, norm = j['block'], j['act'], j['norm']
        self.kind = kind
        e = 1 if kind == 'basic' else 4
        cout = width * e
        inner = math.floor(width * j.get('width_per_group', 64) / 64) * \
            j.get('groups', 1)
        g = j.get('groups', 1)
        change = stride != 1 or cin != cout
        self.preact = kind.startswith('preact')
        self.downsample = downsample(j, cin, cout, stride, self.preact) \
            if change else None
        if kind == 'basic':
            self.body = nn.Sequential(
                conv(cin, inner, 3, stride, first_dilation),
                NormAct(norm, act, inner),
                conv(inner, cout, 3, 1, dilation), norm_layer(norm, cout))
        elif kind == 'bottleneck':
            self.body = nn.Sequential(
                conv(cin, inner, 1), NormAct(norm, act, inner),
                conv(inner, inner, 3, stride, first_dilation, g),
                NormAct(norm, act, inner),
                conv(inner, cout, 1), norm_layer(norm, cout))
        else:
            self.norm1 = NormAct(norm, act, cin)
            self.body = nn.Sequential(
                conv(cin, inner, 1), NormAct(norm, act, inner),
                conv(inner, inner, 3, stride, first_dilation, g),
                NormAct(norm, act, inner), conv(inner, cout, 1))
        self.se = SEModule(cout, cout // j['se'], act) if j.get('se') else None
        self.drop_path = DropPath(dp)
        self.act = None if self.preact else act_layer(act)

    def forward(self, x):
        if self.preact:
            pre = self.norm1(x)
            shortcut = self.downsample(pre) if self.downsample else x
            return self.drop_path(self.body(pre)) + shortcut
        y = self.body(x)
        if self.se is not None:
            y = self.se(y)
        shortcut = self.downsample(x) if self.downsample else x
        return self.act(self.drop_path(y) + shortcut)


class Pool(nn.Module):
    """timm's SelectAdaptivePool2d(output_size=1) with flatten."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        a = nn.functional.adaptive_avg_pool2d(x, 1)
        m = nn.functional.adaptive_max_pool2d(x, 1)
        y = {'avg': a, 'max': m, 'avgmax': 0.5 * (a + m),
             'catavgmax': torch.cat((a, m), 1)}[self.kind]
        return torch.flatten(y, 1)


class TimmLike(nn.Module):
    def __init__(self, j):
        super().__init__()
        act, norm = j['act'], j['norm']
        preact = j['block'].startswith('preact')
        stem, c = [], j['input'][0]
        for layer in j['stem']:
            if layer[0] == 'conv':
                _, k, out, stride, pad = layer
                stem.append(conv(c, out, k, stride, pad=pad))
                if not preact:
                    stem.append(NormAct(norm, act, out))
                c = out
            else:
                _, k, stride, pad = layer
                cls = nn.MaxPool2d if layer[0] == 'maxpool' else nn.AvgPool2d
                stem.append(cls(k, stride, pad))
        self.stem = nn.Sequential(*stem)
        total = sum(s['blocks'] for s in j['stages'])
        self.stages = nn.ModuleList()
        prev_dilation, n = 1, 0
        for s in j['stages']:
            blocks = []
            for b in range(s['blocks']):
                dp = j.get('drop_path', 0) * n / max(1, total - 1)
                blocks.append(Block(j, c, s['width'], s['stride'] if b == 0 else 1,
                                    s['dilation'], prev_dilation, dp))
                prev_dilation = s['dilation']
                c = s['width'] * (1 if j['block'] == 'basic' else 4)
                n += 1
            self.stages.append(nn.Sequential(*blocks))
        self.names = [s['name'] for s in j['stages']]
        self.final = NormAct(norm, act, c) if preact else nn.Identity()
        self.outputs = j['outputs']
        if j.get('classes'):
            self.pool = Pool(j['pool'])
            self.fc = nn.Linear(2 * c if j['pool'] == 'catavgmax' else c,
                                j['classes'])

    def forward(self, x):
        found = {}
        x = self.stem(x)
        found['stem'] = x
        for i, (name, stage) in enumerate(zip(self.names, self.stages)):
            x = stage(x)
            if i == len(self.stages) - 1:
                x = self.final(x)
            found[name] = x
        if 'logits' in self.outputs or 'output' in self.outputs:
            found['logits'] = found['output'] = self.fc(self.pool(x))
        return tuple(found[o] for o in self.outputs)


class Torchvision(nn.Module):
    """torchvision's ResNet (Bottleneck) with replace_stride_with_dilation,
    its layers returned by IntermediateLayerGetter."""

    def __init__(self, j):
        super().__init__()
        net = TvResNet(TvBottleneck, j['layers'],
                       width_per_group=j['width_per_group'],
                       replace_stride_with_dilation=j['dilate'])
        self.body = IntermediateLayerGetter(net, j['return_layers'])

    def forward(self, x):
        return tuple(self.body(x).values())


def randomise(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 1.5)


def save(path, t):
    t.detach().contiguous().numpy().astype('<f4').tofile(path)


def run(job, out_dir):
    torch.manual_seed(job.get('seed', 0))
    model = Torchvision(job) if 'layers' in job else TimmLike(job)
    randomise(model)
    model.eval()
    name = job['name']
    result = {'params': sum(p.numel() for p in model.parameters()),
              'sizes': []}
    c = job['input'][0]
    x = torch.rand(2, c, *job['input'][1:]) * 2 - 1
    onnx_path = os.path.join(out_dir, f'{name}.onnx')
    folded = job.get('folded', False)
    torch.onnx.export(
        model, x, onnx_path, opset_version=job['export_opset'],
        input_names=['input'], output_names=list(job['outputs']),
        training=torch.onnx.TrainingMode.EVAL if folded
        else torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=folded)
    result['onnx'] = onnx_path
    for h, w in job['sizes']:
        x = torch.rand(2, c, h, w) * 2 - 1
        with torch.no_grad():
            ys = model(x)
        entry = {'input': os.path.join(out_dir, f'{name}_{h}x{w}_in.f32'),
                 'dims': list(x.shape), 'outputs': []}
        save(entry['input'], x)
        for o, y in zip(job['outputs'], ys):
            path = os.path.join(out_dir, f'{name}_{h}x{w}_{o}.f32')
            save(path, y)
            entry['outputs'].append({'name': o, 'path': path,
                                     'dims': list(y.shape)})
        result['sizes'].append(entry)
    return result


def main():
    jobs_path, results_path = sys.argv[1], sys.argv[2]
    with open(jobs_path) as f:
        jobs = json.load(f)
    out_dir = os.path.dirname(os.path.abspath(results_path))
    results = {j['name']: run(j, out_dir) for j in jobs}
    with open(results_path, 'w') as f:
        json.dump(results, f)


if __name__ == '__main__':
    main()
