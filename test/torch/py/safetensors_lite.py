"""The safetensors format in a few lines of Python, for the tests: Debian has
no safetensors package. Written from the format's description (an 8-byte
little-endian header length, a JSON header of name -> dtype, shape,
data_offsets, then the bytes), independently of resnetc's TypeScript codec.
"""
import json
import struct

import torch

DTYPES = {
    'F64': torch.float64,
    'F32': torch.float32,
    'F16': torch.float16,
    'BF16': torch.bfloat16,
    'I64': torch.int64,
    'I32': torch.int32,
}
NAMES = {v: k for k, v in DTYPES.items()}


def read(path):
    """A file's tensors and metadata; checks what the format requires of it:
    a header padded to 8 bytes, and tensors that follow each other without
    gaps and end where the file ends."""
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    assert n % 8 == 0, f'header length {n} is not a multiple of 8'
    header = json.loads(data[8:8 + n].decode('utf-8'))
    start = 8 + n
    metadata = header.pop('__metadata__', {})
    tensors = {}
    end = 0
    spans = sorted((v['data_offsets'], k) for k, v in header.items())
    for (begin, stop), name in spans:
        assert begin == end, f'{name} starts at {begin}, not {end}'
        end = stop
    assert start + end == len(data), 'the tensors do not end with the file'
    for name, v in header.items():
        begin, stop = v['data_offsets']
        raw = bytearray(data[start + begin:start + stop])
        dtype = DTYPES[v['dtype']]
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(
            0, dtype=dtype)
        tensors[name] = t.reshape(v['shape'])
    return tensors, metadata


def write(path, tensors, metadata=None):
    """Tensors (a state_dict) as a safetensors file, in the given order."""
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.bfloat16:
            blob = t.view(torch.int16).numpy().tobytes()
        else:
            blob = t.numpy().tobytes()
        header[name] = {
            'dtype': NAMES[t.dtype],
            'shape': list(t.shape),
            'data_offsets': [offset, offset + len(blob)],
        }
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
