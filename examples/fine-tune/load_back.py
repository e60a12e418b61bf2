"""Loads resnetc's safetensors export into torchvision's resnet18 and runs it.

Usage: python3 load_back.py WEIGHTS.safetensors CLASSES SIZE INPUT.bin OUTPUT.bin [VAL_DIR RESIZE]

`torchvision.models.resnet18(num_classes=CLASSES).load_state_dict(..., strict=True)`:
every tensor resnetc wrote has torchvision's name and shape, and none is missing. Then, in
eval mode, the logits for INPUT.bin (raw little-endian float32, N x 3 x SIZE x SIZE) go to
OUTPUT.bin. With VAL_DIR, also the top-1 accuracy of the model on that image folder with
torchvision's own evaluation transforms (Resize(RESIZE), CenterCrop(SIZE), ToTensor,
ImageNet's Normalize) and ImageFolder, printed as `pytorch top-1 A (C of N)`.
"""
import os
import sys

import torch
import torchvision
from torchvision import transforms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "distributed"))
import safetensors_io  # noqa: E402


def main():
    weights, classes, size, input_path, output_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    model = torchvision.models.resnet18(num_classes=classes)
    state, _ = safetensors_io.load(weights)
    model.load_state_dict(state, strict=True)
    model.eval()
    with open(input_path, "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(-1, 3, size, size)
    with torch.no_grad():
        y = model(x)
    with open(output_path, "wb") as f:
        f.write(y.contiguous().numpy().astype("<f4").tobytes())
    print(f"torchvision resnet18(num_classes={classes}) loaded {len(state)} tensors with strict=True")
    if len(sys.argv) > 6:
        val_dir, resize = sys.argv[6], int(sys.argv[7])
        crop = size
        t = transforms.Compose([
            transforms.Resize(resize),
            transforms.CenterCrop(crop),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ])
        data = torchvision.datasets.ImageFolder(val_dir, transform=t)
        correct = 0
        with torch.no_grad():
            for images, labels in torch.utils.data.DataLoader(data, batch_size=64):
                correct += int((model(images).argmax(1) == labels).sum())
        print(f"pytorch top-1 {correct / len(data):.4f} ({correct} of {len(data)})")


if __name__ == "__main__":
    main()
