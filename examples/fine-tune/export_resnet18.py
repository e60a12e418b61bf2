"""torchvision's resnet18 as a safetensors file, the way a user brings pretrained weights
to resnetc (safetensors: the format the Hugging Face hub and timm publish; it cannot run
code, unlike a pickled .pth).

Usage: python3 export_resnet18.py OUT.safetensors

With the ImageNet weights reachable (in torch's hub cache, or downloadable), these are
torchvision's IMAGENET1K_V1 weights. This machine cannot download them: then the weights
are torchvision's initialisation with seed 0, its norms given running statistics by three
batches in training mode, and the script says so. Either way the file is a 1000-class
model's state_dict with torchvision's names, written as safetensors (the `safetensors`
package when installed, else ../distributed/safetensors_io.py, torch alone).
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "distributed"))
import safetensors_io  # noqa: E402


def pretrained():
    try:
        return torchvision.models.resnet18(weights="IMAGENET1K_V1"), "torchvision's IMAGENET1K_V1 weights"
    except Exception as e:  # no network and nothing cached
        reason = str(e).splitlines()[0][:80]
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 224, 224) * 2 + 0.5)
    return model, f"torchvision's initialisation with seed 0 (the ImageNet weights could not be had: {reason})"


def main():
    out = sys.argv[1]
    model, what = pretrained()
    state = model.state_dict()
    try:
        from safetensors.torch import save_file
        save_file(state, out)
    except ImportError:
        safetensors_io.save(state, out)
    print(f"wrote {out}: resnet18, 1000 classes, {len(state)} tensors; {what}")


if __name__ == "__main__":
    main()
