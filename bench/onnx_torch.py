"""Times torch.onnx.export of torchvision's ResNets for bench/onnx.bench.ts.

Usage: python3 bench/onnx_torch.py OUT_DIR MODEL...
Prints one JSON document: per model, the seconds to build it (torchvision's initialisation)
and to export it (opset 17, eval mode, constant folding on, so the norms are folded as in
resnetc's --inference form), and the path of the exported file.
"""
import json
import os
import sys
import time

import torch
import torchvision


def main() -> None:
    out_dir = sys.argv[1]
    torch.set_num_threads(2)
    results = {}
    for name in sys.argv[2:]:
        start = time.perf_counter()
        model = getattr(torchvision.models, name)()
        model.eval()
        built = time.perf_counter()
        path = os.path.join(out_dir, f"torch_{name}.onnx")
        torch.onnx.export(
            model,
            torch.randn(1, 3, 224, 224),
            path,
            opset_version=17,
            do_constant_folding=True,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
        )
        exported = time.perf_counter()
        results[name] = {
            "build_s": built - start,
            "export_s": exported - built,
            "path": path,
            "bytes": os.path.getsize(path),
        }
    print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "models": results}))


if __name__ == "__main__":
    main()
