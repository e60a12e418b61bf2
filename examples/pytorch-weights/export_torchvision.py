"""Exports a torchvision ResNet the way a user brings PyTorch weights to resnetc.

Usage: python3 export_torchvision.py OUT_DIR [MODEL]   (MODEL: resnet18 unless given; any
torchvision name the zoo has a spec for, e.g. resnet50, resnext50_32x4d, wide_resnet50_2)

Writes OUT_DIR/torchvision_MODEL.onnx (norms kept with their running statistics, the way
docs/onnx.md recommends), OUT_DIR/torchvision_MODEL_default.onnx (torch.onnx.export's
defaults: eval mode, norms folded into the convolutions), and beside them an input batch
(input.bin) and PyTorch's output for it (output.bin), both raw little-endian float32, for
compare.ts to hold resnetc's graphs to.

The weights are torchvision's initialisation with seed 0 rather than the ImageNet ones,
because this machine cannot download them; with the download reachable, pass
weights="IMAGENET1K_V1" and nothing else changes. A few forward passes in training mode
first give the norms running statistics that are not their initial 0 and 1, as training
would.
"""
import os
import sys

import torch
import torchvision


def main() -> None:
    out_dir = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "resnet18"
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)()
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 224, 224) * 2 + 0.5)
    model.eval()

    torch.onnx.export(
        model,
        torch.randn(1, 3, 224, 224),
        os.path.join(out_dir, f"torchvision_{name}.onnx"),
        opset_version=17,
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
    )
    torch.onnx.export(
        model,
        torch.randn(1, 3, 224, 224),
        os.path.join(out_dir, f"torchvision_{name}_default.onnx"),
        opset_version=17,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
    )
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    x.numpy().astype("<f4").tofile(os.path.join(out_dir, "input.bin"))
    y.numpy().astype("<f4").tofile(os.path.join(out_dir, "output.bin"))


if __name__ == "__main__":
    main()
