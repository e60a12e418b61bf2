"""Small stand-ins for timm's ResNet and ResNetV2 modules, written for the
tests from timm's definitions (timm is not installed here): the same module
tree and names, so that a state_dict that loads into these with strict=True
loads into timm's. Read in huggingface/pytorch-image-models:
timm/models/resnet.py (commit 00c5be76: BasicBlock, Bottleneck,
downsample_conv, downsample_avg, make_blocks, the deep stem of ResNet),
timm/layers/squeeze_excite.py (0d4c04f3: SEModule) and
timm/models/resnetv2.py (00851493: PreActBasic, PreActBottleneck,
DownsampleConv, DownsampleAvg, ResNetStage, create_resnetv2_stem, ResNetV2
with BatchNormAct2d norms and its 1x1-convolution head).
"""
from collections import OrderedDict

import torch
from torch import nn


def conv(cin, cout, k, stride=1, groups=1):
    return nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)


class SEModule(nn.Module):
    def __init__(self, channels, rd_channels):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.bn = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd_channels, channels, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = self.fc2(self.act(self.bn(self.fc1(x.mean((2, 3), keepdim=True)))))
        return x * self.gate(s)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride, downsample, se):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = conv(inplanes, planes, 3, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.drop_block = nn.Identity()
        self.act1 = nn.ReLU(inplace=True)
        self.aa = nn.Identity()
        self.conv2 = conv(planes, out, 3)
        self.bn2 = nn.BatchNorm2d(out)
        self.se = SEModule(out, se) if se else None
        self.act2 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        x = self.act1(self.drop_block(self.bn1(self.conv1(x))))
        x = self.bn2(self.conv2(self.aa(x)))
        if self.se is not None:
            x = self.se(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act2(x + shortcut)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, downsample, se):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = conv(inplanes, planes, 1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = conv(planes, planes, 3, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.drop_block = nn.Identity()
        self.act2 = nn.ReLU(inplace=True)
        self.aa = nn.Identity()
        self.conv3 = conv(planes, out, 1)
        self.bn3 = nn.BatchNorm2d(out)
        self.se = SEModule(out, se) if se else None
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.aa(self.act2(self.drop_block(self.bn2(self.conv2(x)))))
        x = self.bn3(self.conv3(x))
        if self.se is not None:
            x = self.se(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act3(x + shortcut)


def downsample_conv(cin, cout, stride):
    return nn.Sequential(conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))


def downsample_avg(cin, cout, stride):
    pool = nn.Identity() if stride == 1 else nn.AvgPool2d(
        2, stride, ceil_mode=True, count_include_pad=False)
    return nn.Sequential(pool, conv(cin, cout, 1), nn.BatchNorm2d(cout))


class ResNet(nn.Module):
    """timm's ResNet: a 7x7 stem or the deep stem (conv1 a Sequential),
    `layerN` stages, projection or average-pool shortcuts, SE (with the
    squeezed channels given per stage), global average pool and `fc`."""

    def __init__(self, block, layers, channels, classes, stem_width=64,
                 deep_stem=False, avg_down=False, se_ratio=0):
        super().__init__()
        inplanes = stem_width * 2 if deep_stem else 64
        if deep_stem:
            self.conv1 = nn.Sequential(
                conv(3, stem_width, 3, 2), nn.BatchNorm2d(stem_width),
                nn.ReLU(inplace=True),
                conv(stem_width, stem_width, 3), nn.BatchNorm2d(stem_width),
                nn.ReLU(inplace=True),
                conv(stem_width, inplanes, 3))
        else:
            self.conv1 = conv(3, inplanes, 7, 2)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        for i, (planes, n) in enumerate(zip(channels, layers)):
            stride = 1 if i == 0 else 2
            out = planes * block.expansion
            down = None
            if stride != 1 or inplanes != out:
                make = downsample_avg if avg_down else downsample_conv
                down = make(inplanes, out, stride)
            se = out // se_ratio if se_ratio else 0
            blocks = []
            for j in range(n):
                blocks.append(block(inplanes, planes, stride if j == 0 else 1,
                                    down if j == 0 else None, se))
                inplanes = out
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, classes)

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        for name, m in self.named_children():
            if name.startswith('layer'):
                x = m(x)
        return self.fc(torch.flatten(self.global_pool(x), 1))


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d: batch norm then the activation, in one module
    (the state_dict of a BatchNorm2d)."""

    def forward(self, x):
        return torch.relu(super().forward(x))


class DownsampleConv(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = conv(cin, cout, 1, stride)
        self.norm = nn.Identity()

    def forward(self, x):
        return self.norm(self.conv(x))


class DownsampleAvg(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.pool = nn.Identity() if stride == 1 else nn.AvgPool2d(
            2, stride, ceil_mode=True, count_include_pad=False)
        self.conv = conv(cin, cout, 1)
        self.norm = nn.Identity()

    def forward(self, x):
        return self.norm(self.conv(self.pool(x)))


class PreActBasic(nn.Module):
    def __init__(self, cin, cout, stride, proj):
        super().__init__()
        change = stride != 1 or cin != cout
        self.downsample = proj(cin, cout, stride) if proj and change else None
        self.norm1 = BatchNormAct2d(cin)
        self.conv1 = conv(cin, cout, 3, stride)
        self.norm2 = BatchNormAct2d(cout)
        self.conv2 = conv(cout, cout, 3)
        self.drop_path = nn.Identity()

    def forward(self, x):
        x_preact = self.norm1(x)
        shortcut = x
        if self.downsample is not None:
            shortcut = self.downsample(x_preact)
        x = self.conv2(self.norm2(self.conv1(x_preact)))
        return self.drop_path(x) + shortcut


class PreActBottleneck(nn.Module):
    def __init__(self, cin, cout, stride, proj):
        super().__init__()
        mid = cout // 4
        self.downsample = proj(cin, cout, stride) if proj else None
        self.norm1 = BatchNormAct2d(cin)
        self.conv1 = conv(cin, mid, 1)
        self.norm2 = BatchNormAct2d(mid)
        self.conv2 = conv(mid, mid, 3, stride)
        self.norm3 = BatchNormAct2d(mid)
        self.conv3 = conv(mid, cout, 1)
        self.drop_path = nn.Identity()

    def forward(self, x):
        x_preact = self.norm1(x)
        shortcut = x
        if self.downsample is not None:
            shortcut = self.downsample(x_preact)
        x = self.conv1(x_preact)
        x = self.conv2(self.norm2(x))
        x = self.conv3(self.norm3(x))
        return self.drop_path(x) + shortcut


class ResNetStage(nn.Module):
    def __init__(self, cin, cout, stride, depth, block, proj):
        super().__init__()
        self.blocks = nn.Sequential()
        for i in range(depth):
            self.blocks.add_module(str(i), block(
                cin, cout, stride if i == 0 else 1, proj if i == 0 else None))
            cin = cout

    def forward(self, x):
        return self.blocks(x)


class ClassifierHead(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.0)
        self.fc = nn.Conv2d(cin, classes, 1, bias=True)
        self.flatten = nn.Flatten(1)

    def forward(self, x):
        return self.flatten(self.fc(self.drop(self.global_pool(x))))


class ResNetV2(nn.Module):
    """timm's pre-activation ResNetV2 with plain convolutions and
    BatchNormAct2d (resnetv2_18/34/50 and their 'd' shortcuts)."""

    def __init__(self, layers, channels, classes, stem_chs=64, basic=False,
                 avg_down=False):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict([
            ('conv', conv(3, stem_chs, 7, 2)),
            ('pool', nn.MaxPool2d(3, 2, 1)),
        ]))
        block = PreActBasic if basic else PreActBottleneck
        proj = DownsampleAvg if avg_down else DownsampleConv
        self.stages = nn.Sequential()
        cin = stem_chs
        for i, (depth, cout) in enumerate(zip(layers, channels)):
            self.stages.add_module(str(i), ResNetStage(
                cin, cout, 1 if i == 0 else 2, depth, block, proj))
            cin = cout
        self.norm = BatchNormAct2d(cin)
        self.head = ClassifierHead(cin, classes)

    def forward(self, x):
        return self.head(self.norm(self.stages(self.stem(x))))
