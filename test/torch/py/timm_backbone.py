"""Stand-ins for timm's ResNet and ResNetV2 with the backbone options, written
for the tests from timm's definitions (timm is not installed here): the same
module names, and the same functions. Read in
huggingface/pytorch-image-models: timm/models/resnet.py (BasicBlock and
Bottleneck with dilation, first_dilation and drop_path; make_blocks: the
output_stride rule and the linear drop path rule), timm/layers/drop.py
(drop_path, DropPath), timm/layers/adaptive_avgmax_pool.py
(SelectAdaptivePool2d: avg, max, avgmax, catavgmax), timm/models/resnetv2.py
(PreActBottleneck, DownsampleConv, ResNetStage, ResNetV2 with GroupNormAct).

Each model's forward() returns a dict of every feature a backbone user may
take: 'stem', 'layer1'... (ResNetV2: the last stage's after the closing
norm), and 'logits'.
"""
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

from timm_like import DownsampleConv
from timm_like import PreActBottleneck as PlainPreActBottleneck

ACTS = {
    'relu': lambda slope: nn.ReLU(),
    'silu': lambda slope: nn.SiLU(),
    'gelu': lambda slope: nn.GELU(),
    'leaky_relu': lambda slope: nn.LeakyReLU(slope),
    'mish': lambda slope: nn.Mish(),
}


def make_act(spec):
    return ACTS[spec[0]](spec[1])


def make_norm(spec, channels):
    """('batch',) or ('group', groups): timm's GroupNorm(channels, groups)."""
    if spec[0] == 'group':
        return nn.GroupNorm(spec[1], channels)
    return nn.BatchNorm2d(channels)


def drop_path(x, drop_prob, training):
    """timm.layers.drop.drop_path, scale_by_keep=True."""
    if drop_prob == 0. or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0:
        random_tensor.div_(keep_prob)
    return x * random_tensor


class DropPath(nn.Module):
    def __init__(self, drop_prob):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)


class SelectAdaptivePool2d(nn.Module):
    def __init__(self, pool_type):
        super().__init__()
        self.pool_type = pool_type

    def forward(self, x):
        avg = F.adaptive_avg_pool2d(x, 1)
        mx = F.adaptive_max_pool2d(x, 1)
        out = {'avg': avg, 'max': mx, 'avgmax': 0.5 * (avg + mx),
               'catavgmax': torch.cat((avg, mx), 1)}[self.pool_type]
        return torch.flatten(out, 1)

    def feat_mult(self):
        return 2 if self.pool_type == 'catavgmax' else 1


def conv(cin, cout, k, stride=1, dilation=1):
    return nn.Conv2d(cin, cout, k, stride, dilation * (k // 2),
                     dilation=dilation, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride, downsample, act, norm,
                 dilation=1, first_dilation=None, drop_path=None):
        super().__init__()
        first_dilation = first_dilation or dilation
        self.conv1 = conv(inplanes, planes, 3, stride, first_dilation)
        self.bn1 = make_norm(norm, planes)
        self.act1 = make_act(act)
        self.conv2 = conv(planes, planes, 3, 1, dilation)
        self.bn2 = make_norm(norm, planes)
        self.act2 = make_act(act)
        self.downsample = downsample
        self.drop_path = drop_path

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        if self.drop_path is not None:
            x = self.drop_path(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act2(x + shortcut)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, downsample, act, norm,
                 dilation=1, first_dilation=None, drop_path=None):
        super().__init__()
        first_dilation = first_dilation or dilation
        out = planes * self.expansion
        self.conv1 = conv(inplanes, planes, 1)
        self.bn1 = make_norm(norm, planes)
        self.act1 = make_act(act)
        self.conv2 = conv(planes, planes, 3, stride, first_dilation)
        self.bn2 = make_norm(norm, planes)
        self.act2 = make_act(act)
        self.conv3 = conv(planes, out, 1)
        self.bn3 = make_norm(norm, out)
        self.act3 = make_act(act)
        self.downsample = downsample
        self.drop_path = drop_path

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        if self.drop_path is not None:
            x = self.drop_path(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act3(x + shortcut)


def stage_plan(layers, stem_stride, output_stride, dilations):
    """make_blocks' strides and dilations: (stride, dilation, first dilation
    of the stage's first block) per stage. `dilations` (the language's
    stage `dilation`) sets them instead of output_stride."""
    plan = []
    net_stride = stem_stride
    dilation = prev = 1
    for i in range(len(layers)):
        stride = 1 if i == 0 else 2
        if dilations:
            dilation = dilations[i]
        elif net_stride >= output_stride:
            dilation *= stride
            stride = 1
        else:
            net_stride *= stride
        plan.append((stride, dilation, prev))
        prev = dilation
    return plan


class ResNet(nn.Module):
    """timm's ResNet: one stem convolution (kernel, stride, padding) and
    an optional 3x3 max pool, `layerN` stages of BasicBlock or Bottleneck,
    SelectAdaptivePool2d and `fc`."""

    def __init__(self, block, layers, channels, classes, stem, act, norm,
                 drop_path_rate=0., output_stride=32, pool='avg',
                 dilations=None):
        super().__init__()
        block = {'basic': BasicBlock, 'bottleneck': Bottleneck}[block]
        width, k, s, p, maxpool = stem
        self.conv1 = nn.Conv2d(3, width, k, s, p, bias=False)
        self.bn1 = make_norm(norm, width)
        self.act1 = make_act(act)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if maxpool else nn.Identity()
        total = sum(layers)
        index = 0
        inplanes = width
        plan = stage_plan(layers, s * (2 if maxpool else 1), output_stride,
                          dilations)
        for i, (planes, n) in enumerate(zip(channels, layers)):
            stride, dilation, first = plan[i]
            out = planes * block.expansion
            down = None
            if stride != 1 or inplanes != out:
                down = nn.Sequential(conv(inplanes, out, 1, stride),
                                     make_norm(norm, out))
            blocks = []
            for j in range(n):
                dpr = drop_path_rate * index / max(total - 1, 1)
                blocks.append(block(
                    inplanes, planes, stride if j == 0 else 1,
                    down if j == 0 else None, act, norm, dilation,
                    first if j == 0 else dilation,
                    DropPath(dpr) if dpr > 0. else None))
                inplanes = out
                index += 1
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
        self.global_pool = SelectAdaptivePool2d(pool)
        self.fc = nn.Linear(inplanes * self.global_pool.feat_mult(), classes)

    def forward(self, x):
        out = OrderedDict()
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        out['stem'] = x
        for name, m in self.named_children():
            if name.startswith('layer'):
                x = out[name] = m(x)
        out['logits'] = self.fc(self.global_pool(x))
        return out


class BatchNormAct2d(nn.BatchNorm2d):
    def __init__(self, channels, act):
        super().__init__(channels)
        self.act = make_act(act)

    def forward(self, x):
        return self.act(super().forward(x))


class GroupNormAct(nn.GroupNorm):
    def __init__(self, groups, channels, act):
        super().__init__(groups, channels)
        self.act = make_act(act)

    def forward(self, x):
        return self.act(super().forward(x))


def NormAct(norm, channels, act):
    """timm's BatchNormAct2d / GroupNormAct: the norm's own state_dict, its
    activation after it."""
    if norm[0] == 'group':
        return GroupNormAct(norm[1], channels, act)
    return BatchNormAct2d(channels, act)


class ResNetStage(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential()

    def forward(self, x):
        return self.blocks(x)


class ClassifierHead(nn.Module):
    def __init__(self, cin, classes, pool):
        super().__init__()
        self.global_pool = SelectAdaptivePool2d(pool)
        self.fc = nn.Conv2d(cin * self.global_pool.feat_mult(), classes, 1)

    def forward(self, x):
        x = self.global_pool(x)[:, :, None, None]
        return torch.flatten(self.fc(x), 1)


class PreActBottleneck(PlainPreActBottleneck):
    """timm_like's, with the activation, norm, dilation and drop path."""

    def __init__(self, cin, cout, stride, act, norm, dilation, first_dilation,
                 proj, drop_path_rate):
        nn.Module.__init__(self)
        mid = cout // 4
        self.downsample = DownsampleConv(cin, cout, stride) if proj else None
        self.norm1 = NormAct(norm, cin, act)
        self.conv1 = conv(cin, mid, 1)
        self.norm2 = NormAct(norm, mid, act)
        self.conv2 = conv(mid, mid, 3, stride, first_dilation)
        self.norm3 = NormAct(norm, mid, act)
        self.conv3 = conv(mid, cout, 1)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 \
            else nn.Identity()


class ResNetV2(nn.Module):
    """timm's pre-activation ResNetV2 of bottlenecks (the BiT layout, with
    plain convolutions): stem conv and max pool, stages, the closing norm
    with its activation, a 1x1-convolution head."""

    def __init__(self, layers, channels, classes, stem_chs, act, norm,
                 drop_path_rate=0., pool='avg'):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict([
            ('conv', conv(3, stem_chs, 7, 2)),
            ('pool', nn.MaxPool2d(3, 2, 1)),
        ]))
        self.stages = nn.Sequential()
        cin = stem_chs
        total = sum(layers)
        index = 0
        for i, (depth, cout) in enumerate(zip(layers, channels)):
            stage = ResNetStage()
            for j in range(depth):
                dpr = drop_path_rate * index / max(total - 1, 1)
                stage.blocks.add_module(str(j), PreActBottleneck(
                    cin, cout, 2 if i > 0 and j == 0 else 1, act, norm, 1, 1,
                    j == 0, dpr))
                cin = cout
                index += 1
            self.stages.add_module(str(i), stage)
        self.norm = NormAct(norm, cin, act)
        self.head = ClassifierHead(cin, classes, pool)

    def forward(self, x):
        out = OrderedDict()
        x = out['stem'] = self.stem(x)
        last = len(self.stages) - 1
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i == last:
                x = self.norm(x)
            out[f'layer{i + 1}'] = x
        out['logits'] = self.head(x)
        return out
