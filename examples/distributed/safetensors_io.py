"""safetensors files with torch alone: Debian ships no `safetensors` package.

The format, as Hugging Face's safetensors defines it: 8 bytes, the header's
length N (unsigned, little-endian); N bytes of UTF-8 JSON,
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{str: str}}; then the tensors' bytes, little-endian, in C order, `begin` and
`end` counted from the end of the header. Files written here are read by
`safetensors.torch.load_file` and by `resnetc compile --weights`, and this
reader reads theirs.
"""
import ctypes
import json
import os
import struct
import sys

import torch

DTYPES = {
    'F64': torch.float64,
    'F32': torch.float32,
    'F16': torch.float16,
    'BF16': torch.bfloat16,
    'I64': torch.int64,
    'I32': torch.int32,
    'I16': torch.int16,
    'I8': torch.int8,
    'U8': torch.uint8,
    'BOOL': torch.bool,
}
NAMES = {dtype: name for name, dtype in DTYPES.items()}
# Hugging Face's reader refuses larger headers.
MAX_HEADER = 100_000_000


class SafetensorsError(Exception):
    """A file that is not a well-formed safetensors file."""


def _raw(t):
    """A contiguous CPU tensor's bytes, as they lie in memory (not copied,
    and without numpy, which torch 2 does not require)."""
    size = t.numel() * t.element_size()
    return (ctypes.c_char * size).from_address(t.data_ptr())


def save(tensors, path, metadata=None):
    """Writes `tensors` (name -> tensor, e.g. a state_dict; any device) and
    `metadata` (str -> str) to `path`, through a temporary file renamed into
    place: a failed write leaves the old file or none. As Hugging Face's
    writer does, the header is padded with spaces to a multiple of 8 bytes
    and the tensors go by element size, largest first (in their order
    otherwise), so that every tensor is aligned in the file."""
    if sys.byteorder != 'little':
        raise SafetensorsError('this writer needs a little-endian machine')
    header = {}
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    cpu = []
    offset = 0
    ordered = sorted(tensors.items(), key=lambda kv: -kv[1].element_size())
    for name, t in ordered:
        if t.dtype not in NAMES:
            raise SafetensorsError(f'{name}: {t.dtype} has no safetensors '
                                   'dtype')
        t = t.detach().to('cpu').contiguous()
        size = t.numel() * t.element_size()
        header[name] = {'dtype': NAMES[t.dtype], 'shape': list(t.shape),
                        'data_offsets': [offset, offset + size]}
        offset += size
        cpu.append(t)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    tmp = f'{path}.tmp-{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            f.write(struct.pack('<Q', len(text)))
            f.write(text)
            for t in cpu:
                if t.numel():
                    f.write(_raw(t))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load(path):
    """(tensors, metadata) of a safetensors file: name -> CPU tensor in the
    file's order, and the `__metadata__` strings. Everything is checked
    before it is used (header length, JSON, each entry's dtype, shape and
    offsets, offsets that cover the data without gaps or overlaps);
    SafetensorsError says what is wrong."""
    with open(path, 'rb') as f:
        data = bytearray(f.read())

    def fail(message):
        raise SafetensorsError(
            f"'{path}' is not a safetensors file: {message}")

    if len(data) < 8:
        fail(f'{len(data)} bytes, fewer than the 8 of its header length')
    (n,) = struct.unpack('<Q', data[:8])
    if n > MAX_HEADER:
        fail(f'its header length says {n} bytes, over the {MAX_HEADER} '
             'allowed')
    if 8 + n > len(data):
        fail(f'its header length says {n} bytes, but the file has '
             f'{len(data) - 8} after it')
    try:
        header = json.loads(data[8:8 + n].decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as e:
        fail(f'its header is not UTF-8 JSON ({e})')
    if not isinstance(header, dict):
        fail('its header is not a JSON object')
    metadata = header.pop('__metadata__', None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        fail('__metadata__ is not an object of strings')
    start = 8 + n
    entries = []
    for name, entry in header.items():
        if not isinstance(entry, dict):
            fail(f'{name}: not an object')
        dtype = DTYPES.get(entry.get('dtype'))
        shape = entry.get('shape')
        offsets = entry.get('data_offsets')
        if dtype is None:
            fail(f"{name}: unknown dtype {entry.get('dtype')!r}")
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and d >= 0 for d in shape):
            fail(f'{name}: shape {shape!r} is not a list of sizes')
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(
                isinstance(o, int) for o in offsets):
            fail(f'{name}: data_offsets {offsets!r} is not [begin, end]')
        count = 1
        for d in shape:
            count *= d
        size = count * torch.empty(0, dtype=dtype).element_size()
        if offsets[1] - offsets[0] != size:
            fail(f'{name}: {shape} of {entry["dtype"]} is {size} bytes, '
                 f'its offsets span {offsets[1] - offsets[0]}')
        entries.append((offsets[0], offsets[1], name, dtype, shape))
    end = 0
    for begin, stop, name, _, _ in sorted(entries, key=lambda e: e[:2]):
        if begin != end:
            fail(f'{name} starts at byte {begin} of the data, not {end}')
        end = stop
    if start + end != len(data):
        fail(f'the tensors end at byte {start + end}, the file at {len(data)}')
    tensors = {}
    for begin, stop, name, dtype, shape in entries:
        if begin == stop:
            tensors[name] = torch.empty(shape, dtype=dtype)
            continue
        raw = data[start + begin:start + stop]
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=dtype)
        tensors[name] = t.reshape(shape)
    return tensors, metadata
