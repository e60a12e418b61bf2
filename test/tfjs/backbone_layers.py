"""PyTorch's side of test/tfjs/backbone-layers.test.ts: each case's function computed by
torch.nn / torch.nn.functional in float64, its output and the gradients of sum(y * R).

Usage: backbone_layers.py CASES.json IN_STEM OUT_STEM. Tensors come NHWC (kernels HWIO) as
tfjs holds them and go back in the same layouts; the format is test/train/helpers.ts's
writeTensors (STEM.json: {name: [shape, offset]}, STEM.bin: float32).
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The tensor files' one reader and writer: the training harness's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from torch_train import read_tensors, write_tensors  # noqa: E402


def nchw(t):
    return t.permute(0, 3, 1, 2)


def nhwc(t):
    return t.permute(0, 2, 3, 1)


ACTIVATIONS = {
    "silu": lambda c: nn.SiLU(),
    "gelu": lambda c: nn.GELU(),  # approximate='none': x * Phi(x), with erf
    "mish": lambda c: nn.Mish(),
    "leaky_relu": lambda c: nn.LeakyReLU(c["slope"]),
}


def run(case, t):
    name = case["name"]
    x = torch.from_numpy(t[f"{name}/x"].astype(np.float64)).requires_grad_()
    r = torch.from_numpy(t[f"{name}/R"].astype(np.float64))
    params = {}
    kind = case["kind"]
    if kind in ACTIVATIONS:
        y = ACTIVATIONS[kind](case)(x)
    elif kind == "group_norm":
        gn = nn.GroupNorm(case["groups"], x.shape[3], eps=case["eps"]).double()
        with torch.no_grad():
            gn.weight.copy_(torch.from_numpy(t[f"{name}/gamma"].astype(np.float64)))
            gn.bias.copy_(torch.from_numpy(t[f"{name}/beta"].astype(np.float64)))
        params = {"gamma": gn.weight, "beta": gn.bias}
        y = nhwc(gn(nchw(x)))
    elif kind == "conv":
        k = torch.from_numpy(t[f"{name}/kernel"].astype(np.float64)).requires_grad_()
        top, left, bottom, right = case["padding"]
        xp = F.pad(nchw(x), (left, right, top, bottom))
        y = nhwc(F.conv2d(xp, k.permute(3, 2, 0, 1), stride=case["stride"], dilation=case["dilation"], groups=case["groups"]))
        params = {"kernel": k}
    else:
        raise ValueError(kind)
    (y * r).sum().backward()
    out = {f"{name}/y": y.detach().numpy(), f"{name}/dx": x.grad.numpy()}
    for p, v in params.items():
        out[f"{name}/d{p}"] = v.grad.numpy()
    return out


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    t = read_tensors(sys.argv[2])
    out = {}
    for case in cases:
        out.update(run(case, t))
    write_tensors(sys.argv[3], out)


if __name__ == "__main__":
    main()
