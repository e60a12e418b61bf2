"""Parameter and buffer counts, output shapes and convolution dilations of the
backbone models of issue 13, built in PyTorch: from torchvision's classes
(resnet50 with replace_stride_with_dilation, IntermediateLayerGetter for the
outputs, a ResNet of Bottleneck blocks with GroupNorm) and from the timm-like
modules of timm_like.py (ResNet-D's deep stem and average-pool shortcuts, SE,
ResNetV2). Prints one JSON object: name -> {params, buffers, convs, outputs}.

`buffers` counts the norms' running mean and variance (not BatchNorm's
num_batches_tracked counter, which resnetc does not count); `convs` lists every
Conv2d's (kernel, stride, padding, dilation) in module order; `outputs` the
shape of each output for one image of the given size.
"""
import json
import os
import sys
from collections import OrderedDict
from functools import partial

import torch
from torch import nn
from torchvision.models import resnet50
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.resnet import Bottleneck, ResNet

sys.path.insert(0, os.path.dirname(__file__))
import timm_like  # noqa: E402


def macs_of(model, size):
    """Multiply-accumulates of Conv2d and Linear layers for one image, from the
    shapes PyTorch computes: out elements x in-channels / groups x kernel area."""
    total = [0]

    def hook(m, _inputs, out):
        if isinstance(m, nn.Conv2d):
            total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            total[0] += out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, *size))
    for h in handles:
        h.remove()
    return total[0]


def counts(model, size=None, outputs=None):
    if os.environ.get('MACS'):
        return {'macs': macs_of(model, size or (3, 224, 224))}
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers() if n.endswith(('running_mean', 'running_var')))
    convs = [[m.kernel_size[0], m.stride[0], m.padding[0], m.dilation[0]] for m in model.modules() if isinstance(m, nn.Conv2d)]
    result = {'params': params, 'buffers': buffers, 'convs': convs}
    if size is not None:
        model.eval()
        with torch.no_grad():
            y = model(torch.zeros(1, *size))
        ys = list(y.values()) if isinstance(y, (dict, OrderedDict)) else [y]
        result['outputs'] = [list(t.shape[1:]) if t.dim() == 4 else [t.shape[1], 1, 1] for t in ys]
        if outputs is not None:
            result['names'] = list(y.keys())
    return result


def getter(model, layers):
    return IntermediateLayerGetter(model, return_layers=OrderedDict(layers))


def group_norm(model, groups=32):
    """Every BatchNorm2d of a module tree replaced by GroupNorm(groups, C): counts only."""
    for name, child in model.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(model, name, nn.GroupNorm(groups, child.num_features))
        else:
            group_norm(child, groups)
    return model


class CatAvgMax(nn.Module):
    """timm's SelectAdaptivePool2d('catavgmax'): cat([avg, max], 1) over height and width."""

    def forward(self, x):
        return torch.cat([x.mean((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)], 1)


def resnet26_gn():
    """The language's example resnet26_silu_gn: torchvision's ResNet of Bottleneck
    blocks [2, 2, 2, 2] with GroupNorm(32), the stem Conv2d(3, 64, 4, 4) (pad 0),
    no stem pool, a catavgmax head (so the fc takes 2 x 2048) to 100 classes."""
    m = ResNet(Bottleneck, [2, 2, 2, 2], num_classes=100, norm_layer=partial(nn.GroupNorm, 32))
    m.conv1 = nn.Conv2d(3, 64, 4, 4, 0, bias=False)
    m.maxpool = nn.Identity()
    m.avgpool = CatAvgMax()
    m.fc = nn.Linear(2 * 2048, 100)
    return m


def resnet26t():
    """timm's resnet26t: Bottleneck [2, 2, 2, 2], the deep tiered stem (24, 32, 64),
    average-pool shortcuts."""
    m = timm_like.ResNet(timm_like.Bottleneck, [2, 2, 2, 2], [64, 128, 256, 512], 1000, stem_width=32, deep_stem=True, avg_down=True)
    m.conv1 = nn.Sequential(
        timm_like.conv(3, 24, 3, 2), nn.BatchNorm2d(24), nn.ReLU(inplace=True),
        timm_like.conv(24, 32, 3), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        timm_like.conv(32, 64, 3))
    return m


def main():
    jobs = {
        # torchvision: resnet50(replace_stride_with_dilation=[False, False, True]), layer2-4 returned.
        'resnet50_os16': lambda: counts(getter(resnet50(replace_stride_with_dilation=[False, False, True]), [('layer2', 'conv3'), ('layer3', 'conv4'), ('layer4', 'conv5')]), (3, 224, 224), True),
        'resnet50_os8': lambda: counts(getter(resnet50(replace_stride_with_dilation=[False, True, True]), [('layer3', 'conv4'), ('layer4', 'conv5')])),
        'resnet26_silu_gn': lambda: counts(resnet26_gn(), (3, 160, 256)),
        'resnet50d': lambda: counts(timm_like.ResNet(timm_like.Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], 1000, stem_width=32, deep_stem=True, avg_down=True)),
        'resnet26t': lambda: counts(resnet26t()),
        'seresnext50_32x4d': lambda: counts(seresnext50()),
        'resnetv2_50_gn': lambda: counts(group_norm(timm_like.ResNetV2([3, 4, 6, 3], [256, 512, 1024, 2048], 1000))),
    }
    wanted = sys.argv[1:] or list(jobs)
    print(json.dumps({name: jobs[name]() for name in wanted}))


class ResNeXtBottleneck(timm_like.Bottleneck):
    """timm's Bottleneck with cardinality 32 and base width 4: inner width
    floor(planes x 4 / 64) x 32, the 3x3 convolution in 32 groups."""

    def __init__(self, inplanes, planes, stride, downsample, se):
        super().__init__(inplanes, planes, stride, downsample, se)
        width = (planes * 4 // 64) * 32
        self.conv1 = timm_like.conv(inplanes, width, 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = timm_like.conv(width, width, 3, stride, groups=32)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = timm_like.conv(width, planes * 4, 1)


def seresnext50():
    """timm's seresnext50_32x4d: that Bottleneck, SE with C / 16 channels
    (SEModule's rd_ratio 1/16; make_divisible by 8 changes none of ResNet-50's
    widths)."""
    return timm_like.ResNet(ResNeXtBottleneck, [3, 4, 6, 3], [64, 128, 256, 512], 1000, se_ratio=16)


if __name__ == '__main__':
    main()
