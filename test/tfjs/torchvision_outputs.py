"""PyTorch's side of test/tfjs/outputs.test.ts: torchvision's ResNet built with its own
classes (Bottleneck, replace_stride_with_dilation, a GroupNorm norm_layer) and
IntermediateLayerGetter for the feature maps; seeded weights (group norms' scales and
shifts randomised), a seeded input, and each returned map.

Usage: torchvision_outputs.py OUT_STEM. Writes `param/<i>` (the state_dict's tensors in its
order, torchvision's OIHW and [out, in] layouts), `x` (NCHW) and `out/<name>` (NCHW).
"""

import json
import sys

import numpy as np
import torch
import torch.nn as nn
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.resnet import Bottleneck, ResNet

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/train")
from torch_train import write_tensors  # noqa: E402

torch.manual_seed(0)
net = ResNet(Bottleneck, [1, 1, 2, 1], replace_stride_with_dilation=[False, True, True], norm_layer=lambda c: nn.GroupNorm(32, c)).double().eval()
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, nn.GroupNorm):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
body = IntermediateLayerGetter(net, {"maxpool": "stem", "layer2": "conv3", "layer3": "conv4", "layer4": "conv5"})
x = torch.rand(2, 3, 40, 48, dtype=torch.float64)
with torch.no_grad():
    outs = body(x)
tensors = {f"param/{i}": v.numpy() for i, (k, v) in enumerate(body.state_dict().items())}
tensors["x"] = x.numpy()
for k, v in outs.items():
    tensors[f"out/{k}"] = v.numpy()
write_tensors(sys.argv[1], tensors)
print(json.dumps(list(outs)))
