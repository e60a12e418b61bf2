"""torchvision's and PIL's side of the image tests (test/images/*.test.ts).

Reads a JSON list of requests on stdin and prints a JSON list of answers, one per
request, computed by torchvision 0.14 and Pillow as a PyTorch user's data pipeline runs
them (never by resnetc's code):

- folder: ImageFolder(root)'s classes, class_to_idx and samples (paths relative to root)
- crops: n boxes (top, left, height, width) from RandomResizedCrop.get_params on an
  image of height x width, torch seeded
- geometry: for each (height, width, size, crop_h, crop_w), the size Resize(size) gives
  and where CenterCrop((crop_h, crop_w)) cuts the resized image (top, left: negative
  where it pads), read off a tensor of distinct values
- decode: an image opened by PIL, converted to `mode` (RGB or L), optionally resized
  (BILINEAR) to [height, width]; its bytes written to `out`
- samples: writes a test image of each kind PIL makes (8-bit RGB, L, RGBA, LA, palette,
  16-bit grayscale as PNG; RGB as JPEG, WebP, TIFF, GIF) under `dir`; returns the names
- eval_inputs: ImageFolder(root) with Resize(resize), CenterCrop(crop), ToTensor(),
  Normalize(mean, std) (Grayscale() first when `gray`): every sample's tensor (NCHW
  float32) written to `out`, the labels returned
"""
import json
import sys

import numpy as np
from PIL import Image

# torch and torchvision take seconds to import: only the requests that use them do.
torch = T = F = ImageFolder = None


def need_torch():
    global torch, T, F, ImageFolder
    import torch
    import torchvision.transforms as T
    import torchvision.transforms.functional as F
    from torchvision.datasets import ImageFolder


def folder(r):
    need_torch()
    ds = ImageFolder(r['root'], loader=lambda p: p)
    root = r['root'].rstrip('/') + '/'
    return {'classes': ds.classes, 'class_to_idx': ds.class_to_idx,
            'samples': [[p[len(root):], i] for p, i in ds.samples]}


def crops(r):
    need_torch()
    torch.manual_seed(r['seed'])
    img = torch.empty(1, r['height'], r['width'])
    crop = T.RandomResizedCrop(1)
    return [list(crop.get_params(img, crop.scale, crop.ratio)) for _ in range(r['n'])]


def geometry(r):
    need_torch()
    out = []
    for h, w, size, ch, cw in r['cases']:
        rh, rw = F.resize(torch.zeros(1, h, w), size).shape[1:]
        values = torch.arange(1, rh * rw + 1, dtype=torch.float64).reshape(1, rh, rw)
        cut = F.center_crop(values, [ch, cw])[0]
        rows, cols = torch.nonzero(cut, as_tuple=True)
        v = int(cut[rows[0], cols[0]]) - 1
        out.append({'resized': [int(rh), int(rw)],
                    'top': v // rw - int(rows[0]), 'left': v % rw - int(cols[0])})
    return out


def decode(r):
    img = Image.open(r['path']).convert(r['mode'])
    if r.get('size'):
        img = img.resize((r['size'][1], r['size'][0]), Image.BILINEAR)
    a = np.asarray(img, dtype=np.uint8)
    open(r['out'], 'wb').write(a.tobytes())
    return {'shape': list(a.shape)}


def eval_inputs(r):
    need_torch()
    steps = [T.Grayscale()] if r.get('gray') else []
    steps += [T.Resize(r['resize']), T.CenterCrop(r['crop']), T.ToTensor(),
              T.Normalize(r['mean'], r['std'])]
    ds = ImageFolder(r['root'], transform=T.Compose(steps))
    xs, ys = zip(*[ds[i] for i in range(len(ds))])
    open(r['out'], 'wb').write(torch.stack(xs).numpy().astype('<f4').tobytes())
    return {'labels': list(ys), 'classes': ds.classes}


def samples(r):
    rng = np.random.default_rng(r['seed'])
    h, w = r['height'], r['width']
    y, x = np.mgrid[0:h, 0:w]
    smooth = [120 + 100 * np.sin(x / 3.0 + c) * np.cos(y / 4.0 - c) for c in range(4)]
    rgba = np.clip(np.stack(smooth, -1) + rng.normal(0, 25, (h, w, 4)), 0, 255).astype(np.uint8)
    images = {
        'rgb.png': Image.fromarray(rgba[:, :, :3]),
        'l.png': Image.fromarray(rgba[:, :, 0]),
        'rgba.png': Image.fromarray(rgba, 'RGBA'),
        'la.png': Image.fromarray(rgba[:, :, :2], 'LA'),
        'p.png': Image.fromarray(rgba[:, :, :3]).convert('P', palette=Image.ADAPTIVE, colors=64),
        'i16.png': Image.fromarray((rgba[:, :, 0].astype(np.uint16) * 257 + rng.integers(0, 257, (h, w))).astype(np.uint16)),
        'rgb.jpg': Image.fromarray(rgba[:, :, :3]),
        'rgb.webp': Image.fromarray(rgba[:, :, :3]),
        'rgb.tif': Image.fromarray(rgba[:, :, :3]),
        'rgb.gif': Image.fromarray(rgba[:, :, :3]).convert('P', palette=Image.ADAPTIVE, colors=64),
    }
    for name, img in images.items():
        kwargs = {'quality': 90} if name.endswith('.jpg') else {'lossless': True} if name.endswith('.webp') else {}
        img.save(r['dir'] + '/' + name, **kwargs)
    open(r['dir'] + '/i16.bin', 'wb').write(np.asarray(Image.open(r['dir'] + '/i16.png'), dtype='<u2').tobytes())
    return sorted(images)


ops = {'folder': folder, 'crops': crops, 'geometry': geometry, 'decode': decode,
       'eval_inputs': eval_inputs, 'samples': samples}
print(json.dumps([ops[r['op']](r) for r in json.load(sys.stdin)]))
