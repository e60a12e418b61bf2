"""Writes a small image folder from Fashion-MNIST, laid out as torchvision's ImageFolder
and the ImageNet layout expect: DIR/train/CLASS/NNNNN.png, DIR/val/CLASS/NNNNN.png, and
DIR/held/NNNNN-CLASS.png (test images held out of both, for `resnetc predict`).

Usage: python3 make_folder.py DIR [TRAIN_PER_CLASS [VAL_PER_CLASS [HELD]]]
(defaults 100, 30, 5). The images are Fashion-MNIST's 28x28 grayscale ones as PNG files:
the first TRAIN_PER_CLASS of each class from its training set, the first VAL_PER_CLASS of
each class from its test set, and HELD more test images after those. The data is read
from $FASHION_MNIST or /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist),
the four *-ubyte.gz files of the original release.
"""
import gzip
import os
import sys

from PIL import Image

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def idx(path):
    """An IDX file's items as bytes objects (images: 784 bytes each; labels: 1 byte each)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    size = 1
    for d in shape[1:]:
        size *= d
    body = data[4 + 4 * dims:]
    return [body[i * size:(i + 1) * size] for i in range(shape[0])]


def split(root, prefix):
    images = idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))
    labels = [b[0] for b in idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"))]
    return images, labels


def write(image, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.frombytes("L", (28, 28), image).save(path)


def main():
    out = sys.argv[1]
    train_n, val_n, held_n = [int(a) for a in sys.argv[2:5]] + [100, 30, 5][len(sys.argv[2:5]):]
    root = os.environ.get("FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
    for name, images, labels, per_class in [("train", *split(root, "train"), train_n), ("val", *split(root, "t10k"), val_n)]:
        count = [0] * 10
        used = 0
        for i, (image, label) in enumerate(zip(images, labels)):
            if count[label] < per_class:
                write(image, os.path.join(out, name, CLASSES[label], f"{i:05d}.png"))
                count[label] += 1
                used = i + 1
            if min(count) == per_class:
                break
        if name == "val":
            for i in range(used, used + held_n):
                write(images[i], os.path.join(out, "held", f"{i:05d}-{CLASSES[labels[i]]}.png"))
    print(f"wrote {out}: {10 * train_n} training and {10 * val_n} validation images of 10 classes, {held_n} held out")


if __name__ == "__main__":
    main()
