"""The data sources of `resnetc train --data`, and torchvision's ImageFolder.

Images reach the model as byte / 255 and nothing else (no mean, no std), as
in `resnetc train`, so that the exported model classifies raw [0, 1] images
as the trained one did. Splits read from IDX and CIFAR-10 files are held in
memory as uint8 tensors, NCHW; an ImageFolder tree is read by DataLoader
workers as it goes.
"""
import gzip
import math
import os
import struct

import torch
import torch.nn.functional as F


class DataError(Exception):
    """Data that is missing, damaged or does not fit the model."""


class Split:
    """Labelled images in memory: `images` uint8 [N, C, H, W], `labels` int64
    [N]."""

    def __init__(self, images, labels):
        self.images = images
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    @property
    def shape(self):
        return tuple(self.images.shape[1:])

    def take(self, n):
        return Split(self.images[:n], self.labels[:n])

    def batches(self, index_batches, augment, seeds):
        """(x uint8 [B, C, H, W], y int64 [B]) for each list of indices;
        the augmentation of batch i draws from a generator seeded with
        seeds[i], so that a batch is the same whatever came before."""
        for i, indices in enumerate(index_batches):
            index = torch.tensor(indices, dtype=torch.long)
            x = self.images[index]
            if augment:
                x = shift_and_flip(x, torch.Generator().manual_seed(seeds[i]))
            yield x, self.labels[index]


def shift_and_flip(x, generator, padding=4):
    """resnetc train's --augment: each image flipped left-right with
    probability 1/2, then shifted by up to `padding` pixels each way (zeros
    come in): He et al. 2015's pad-4-and-crop. `x` is [B, C, H, W]."""
    b, _, h, w = x.shape
    flips = torch.rand(b, generator=generator) < 0.5
    shifts = torch.randint(-padding, padding + 1, (b, 2), generator=generator)
    x = torch.where(flips[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (padding, padding, padding, padding))
    out = torch.empty_like(x)
    for i in range(b):
        dy, dx = shifts[i].tolist()
        out[i] = padded[i, :, padding + dy:padding + dy + h,
                        padding + dx:padding + dx + w]
    return out


class Folder:
    """An ImageFolder split (torchvision), resized to the model's input and
    read by `workers` DataLoader processes; images as uint8 [C, H, W].
    `augment`: torchvision's ImageNet training crops (RandomResizedCrop and
    flips) instead of a resize and a centre crop."""

    def __init__(self, root, shape, augment, workers):
        try:
            from torchvision import datasets, transforms
        except ImportError:
            raise DataError(f"'{root}' is an ImageFolder tree, which needs "
                            'torchvision (Debian: python3-torchvision)')
        c, h, w = shape
        if augment:  # torchvision's ImageNet recipe, scaled to the input
            steps = [transforms.RandomResizedCrop((h, w)),
                     transforms.RandomHorizontalFlip()]
        else:
            # The shorter side to 256/224 of the input's, as for ImageNet.
            steps = [transforms.Resize(math.ceil(min(h, w) * 256 / 224)),
                     transforms.CenterCrop((h, w))]
        if c == 1:
            steps.append(transforms.Grayscale())
        steps.append(transforms.PILToTensor())
        self.dataset = datasets.ImageFolder(root, transforms.Compose(steps))
        self.labels = torch.tensor(self.dataset.targets, dtype=torch.long)
        self.workers = workers
        self.shape = shape

    def __len__(self):
        return len(self.dataset)

    def take(self, n):
        self.dataset.samples = self.dataset.samples[:n]
        self.dataset.targets = self.dataset.targets[:n]
        self.labels = self.labels[:n]
        return self

    def batches(self, index_batches, augment, seeds):
        # The transforms draw from each worker's generator, seeded from
        # torch's when the loader starts (augment was settled in __init__).
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=index_batches,
            num_workers=self.workers, pin_memory=torch.cuda.is_available())
        yield from loader


def load(source, input_shape, limit=None, workers=4, augment=False):
    """(train, test, description) from a directory: IDX files (MNIST
    layout, gzipped or not), CIFAR-10 binary batches (there or in
    cifar-10-batches-bin/), or an ImageFolder tree (train/ and val/ or test/,
    one folder of images per class; read by `workers` processes, resized to
    `input_shape` (C, H, W), with torchvision's training crops where
    `augment`). `limit` keeps the first N of each split. DataError when it
    is none of these or a file is damaged."""
    if not os.path.isdir(source):
        raise DataError(f"cannot find the data directory '{source}'"
                        if not os.path.exists(source) else
                        f"the data source '{source}' is a file; give the "
                        'directory that holds it')
    cifar = [d for d in (source, os.path.join(source, 'cifar-10-batches-bin'))
             if os.path.exists(os.path.join(d, 'data_batch_1.bin'))]
    folders = [os.path.join(source, s) for s in ('train', 'val', 'test')]
    if cifar:
        train, test = cifar_splits(cifar[0])
        what = f"the CIFAR-10 data in '{cifar[0]}'"
    elif find_idx(source, 'train-images-idx3-ubyte'):
        train, test = idx_split(source, 'train'), idx_split(source, 't10k')
        what = f"the IDX data in '{source}'"
    elif os.path.isdir(folders[0]) and any(map(os.path.isdir, folders[1:])):
        test_dir = folders[1] if os.path.isdir(folders[1]) else folders[2]
        train = Folder(folders[0], input_shape, augment, workers)
        test = Folder(test_dir, input_shape, False, workers)
        if test.dataset.classes != train.dataset.classes:
            raise DataError(f"'{test_dir}' and '{folders[0]}' have other "
                            'class folders: the labels would not agree')
        what = f"the ImageFolder tree in '{source}'"
    else:
        raise DataError(
            f"'{source}' holds neither IDX files, CIFAR-10 batches nor an "
            'ImageFolder tree: expected train-images-idx3-ubyte[.gz] … '
            '(MNIST layout), data_batch_1.bin … test_batch.bin (CIFAR-10), '
            'or train/ and val/ with a folder per class')
    if limit is not None:
        train, test = train.take(limit), test.take(limit)
    return train, test, what


def classes_of(*splits):
    """The number of classes the labels use (max label + 1)."""
    return max(int(s.labels.max()) + 1 if len(s) else 0 for s in splits)


# ---- IDX (MNIST layout) ----

def find_idx(directory, stem):
    for name in (stem, stem.replace('-idx', '.idx')):
        for ext in ('', '.gz'):
            path = os.path.join(directory, name + ext)
            if os.path.exists(path):
                return path
    return None


def read_idx(path):
    """An IDX file of unsigned bytes: its dimensions and its data as a
    uint8 tensor of that shape."""
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == b'\x1f\x8b':
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"'{path}' is not a readable gzip file ({e})")
    if len(raw) < 4 or raw[:3] != b'\x00\x00\x08':
        raise DataError(f"'{path}' is not an IDX file of unsigned bytes (IDX "
                        'files start with 00 00 08 and the number of '
                        'dimensions)')
    rank = raw[3]
    dims = list(struct.unpack(f'>{rank}I', raw[4:4 + 4 * rank]))
    size = math.prod(dims)
    data = raw[4 + 4 * rank:]
    if len(data) < size:
        raise DataError(f"'{path}' is cut short: {len(data)} bytes of data, "
                        f'{size} expected')
    return torch.frombuffer(bytearray(data[:size]), dtype=torch.uint8) \
        .reshape(dims)


def idx_split(directory, prefix):
    images_path = find_idx(directory, f'{prefix}-images-idx3-ubyte')
    labels_path = find_idx(directory, f'{prefix}-labels-idx1-ubyte')
    if not images_path or not labels_path:
        raise DataError(f"'{directory}' lacks the {prefix}-images-idx3-ubyte /"
                        f' {prefix}-labels-idx1-ubyte files (gzipped or not)')
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dim() == 3:  # N, H, W: one channel
        images = images.unsqueeze(1)
    elif images.dim() == 4:  # N, H, W, C
        images = images.permute(0, 3, 1, 2).contiguous()
    else:
        raise DataError(f"'{images_path}' has {images.dim()} dimensions; "
                        'images need 3 (N, H, W) or 4 (N, H, W, C)')
    if labels.dim() != 1 or len(labels) != len(images):
        raise DataError(f"'{images_path}' has {len(images)} images but "
                        f"'{labels_path}' holds {list(labels.shape)} labels")
    return Split(images, labels.long())


# ---- CIFAR-10 binary ----

RECORD = 1 + 3 * 32 * 32


def cifar_file(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) % RECORD:
        raise DataError(f"'{path}' is not a CIFAR-10 binary batch: "
                        f'{len(raw)} bytes is not a whole number of '
                        f'{RECORD}-byte records')
    records = torch.frombuffer(bytearray(raw), dtype=torch.uint8) \
        .reshape(-1, RECORD)
    # Each record is a label byte, then the image in C, H, W order.
    return Split(records[:, 1:].reshape(-1, 3, 32, 32).contiguous(),
                 records[:, 0].long())


def cifar_splits(directory):
    names = [f'data_batch_{k}.bin' for k in range(1, 6)]
    parts = [cifar_file(os.path.join(directory, n)) for n in names
             if os.path.exists(os.path.join(directory, n))]
    test_path = os.path.join(directory, 'test_batch.bin')
    if not os.path.exists(test_path):
        raise DataError(f"'{directory}' lacks the CIFAR-10 batch "
                        "'test_batch.bin'")
    train = Split(torch.cat([p.images for p in parts]),
                  torch.cat([p.labels for p in parts]))
    return train, cifar_file(test_path)
