"""PyTorch's side of examples/fashion-mnist/compare.ts: the same network and recipe, in torch.

The network of fashion.resnet, written here with torch.nn as He et al. 2015 describe their
CIFAR ResNets (3x3 stem of 16 channels, one basic block per stage of widths 16, 32, 64,
option-A shortcuts: every other pixel, zero channels appended), initialised as torchvision
initialises ResNets (Kaiming normal, fan-out, for convolutions; norms 1 and 0; PyTorch's
default for the linear layer), trained with torch.optim.SGD and CosineAnnealingLR stepped
per batch, on the first N training images in batches a seeded DataLoader shuffles; pixels
value/255. Nothing is shared with resnetc but the data files and the recipe.

Usage: torch_fashion.py DATA_DIR N EPOCHS BATCH LR MOMENTUM WEIGHT_DECAY SEED [INIT.onnx ORDER.bin]
Prints one JSON line: test accuracy after each epoch, and seconds.

With INIT.onnx and ORDER.bin the run is paired with resnetc's instead: the starting weights
are read from resnetc's ONNX export of the same seed (by tensor name, see `names`) and the
images come in resnetc's order (ORDER.bin: int32, each epoch's permutation of 0..N-1), so
the two runs differ only in their arithmetic.
"""

import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def find(directory, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    raise FileNotFoundError(stem)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride = stride
        self.extra = cout - cin

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x
        if self.stride != 1 or self.extra:
            s = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.extra))
        return F.relu(y + s)


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.stages = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2))
        self.fc = nn.Linear(64, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.stages(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def names():
    """resnetc's tensor names (docs/reference.md's layer names) for this network's parameters and buffers."""
    out = {"stem.conv1": "conv", "stem.norm1": "bn", "head.fc": "fc"}
    for i, stage in enumerate(["conv2", "conv3", "conv4"]):
        for layer, mine in [("conv1", "conv1"), ("norm1", "bn1"), ("conv2", "conv2"), ("norm2", "bn2")]:
            out[f"{stage}.block0.{layer}"] = f"stages.{i}.{mine}"
    return out


def load_onnx_weights(net, path):
    import onnx
    from onnx import numpy_helper

    tensors = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    state = net.state_dict()
    for theirs, mine in names().items():
        for suffix in ("weight", "bias", "running_mean", "running_var"):
            if f"{mine}.{suffix}" in state:
                state[f"{mine}.{suffix}"].copy_(torch.from_numpy(tensors.pop(f"{theirs}.{suffix}").copy()))
    left = sorted(k for k in tensors if k.endswith((".weight", ".bias", ".running_mean", ".running_var")))
    if left:
        raise ValueError(f"unused weights: {left}")


def main():
    directory, n, epochs, batch, lr, momentum, wd, seed = sys.argv[1:9]
    paired = sys.argv[9:11]
    n, epochs, batch, seed = int(n), int(epochs), int(batch), int(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x_train = torch.from_numpy(idx(find(directory, "train-images-idx3-ubyte"))[:n].astype(np.float32) / 255).unsqueeze(1)
    y_train = torch.from_numpy(idx(find(directory, "train-labels-idx1-ubyte"))[:n].astype(np.int64))
    x_test = torch.from_numpy(idx(find(directory, "t10k-images-idx3-ubyte")).astype(np.float32) / 255).unsqueeze(1)
    y_test = torch.from_numpy(idx(find(directory, "t10k-labels-idx1-ubyte")).astype(np.int64))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train), batch_size=batch, shuffle=True, generator=torch.Generator().manual_seed(seed))
    net = ResNet8()
    order = None
    if paired:
        with torch.no_grad():
            load_onnx_weights(net, paired[0])
        order = torch.from_numpy(np.fromfile(paired[1], dtype="<i4").astype(np.int64)).reshape(epochs, n)
        loader = [[(x_train[idx], y_train[idx]) for idx in order[e].split(batch)] for e in range(epochs)]
    opt = torch.optim.SGD(net.parameters(), lr=float(lr), momentum=float(momentum), weight_decay=float(wd))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * -(-n // batch))
    accuracies = []
    start = time.time()
    for epoch in range(epochs):
        net.train()
        for xb, yb in loader[epoch] if order is not None else loader:
            opt.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            correct = sum(int((net(x_test[i : i + 1000]).argmax(1) == y_test[i : i + 1000]).sum()) for i in range(0, len(y_test), 1000))
        accuracies.append(correct / len(y_test))
    print(json.dumps({"test_accuracy": accuracies, "seconds": time.time() - start, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
