"""An ONNX model with external data, read by onnx's own code: the independent reference of
test/onnx/external-data*.test.ts.

    external_data.py MODEL [--input INPUT.f32] [--same-as OTHER.onnx]

- `onnx.checker.check_model(MODEL)` (by path: the form onnx asks for models over 2 GiB);
- every external tensor's entries, parsed by onnx's ExternalDataInfo: a relative location
  in the model's folder, an offset on a page (4 KiB; 64 KiB for tensors of 1 MiB or more),
  a length equal to the shape times 4 bytes, ranges apart and inside the file;
- with --input, the model run on INPUT.f32 (float32, NCHW, batch 1) by a small numpy
  evaluator of the operators of plain ResNets (Conv, BatchNormalization, Relu, Add,
  GlobalAveragePool, Flatten, Gemm), external tensors mapped from the data file
  (np.memmap: a model over 2 GiB is never read whole into memory);
- with --same-as, `onnx.load(MODEL)` with its external data, each tensor equal to OTHER's.

Prints JSON: {"output": [...] (with --input), "external": N, "inside": N, "data_bytes": N}.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.external_data_helper import ExternalDataInfo, uses_external_data


def tensors(model, folder):
    """Each initialiser as a numpy array (external ones mapped, never read whole)."""
    out, external, data_bytes = {}, 0, 0
    ranges = {}
    for t in model.graph.initializer:
        if not uses_external_data(t):
            out[t.name] = numpy_helper.to_array(t)
            continue
        external += 1
        info = ExternalDataInfo(t)
        loc = info.location
        assert loc and not os.path.isabs(loc) and os.sep not in loc and loc not in ('.', '..'), loc
        path = os.path.join(folder, loc)
        assert os.path.isfile(path), path
        size = os.path.getsize(path)
        data_bytes = size
        assert t.data_type == onnx.TensorProto.FLOAT, t.data_type
        n = int(np.prod(t.dims)) * 4
        assert info.length == n, (t.name, info.length, n)
        page = 65536 if n >= 1 << 20 else 4096
        assert info.offset % page == 0, (t.name, info.offset, page)
        assert info.offset + n <= size, (t.name, info.offset, n, size)
        ranges.setdefault(path, []).append((info.offset, info.offset + n, t.name))
        out[t.name] = np.memmap(path, dtype='<f4', mode='r', offset=info.offset, shape=tuple(t.dims))
    for spans in ranges.values():
        spans.sort()
        for a, b in zip(spans, spans[1:]):
            assert a[1] <= b[0], (a, b)
    return out, external, len(model.graph.initializer) - external, data_bytes


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, a):
    assert a.get('group', 1) == 1, 'group'
    kh, kw = w.shape[2], w.shape[3]
    t, l, bo, r = a.get('pads', [0, 0, 0, 0])
    s = a.get('strides', [1, 1])
    xp = np.pad(x, ((0, 0), (t, bo), (l, r)))
    ho = (xp.shape[1] - kh) // s[0] + 1
    wo = (xp.shape[2] - kw) // s[1] + 1
    y = np.zeros((w.shape[0], ho, wo), dtype=np.float64)
    # In slices of output channels, each made float64 on its own: never a copy of a 2 GiB weight.
    step = max(1, (1 << 24) // max(1, w.shape[1]))
    for i in range(kh):
        for j in range(kw):
            window = xp[:, i:i + s[0] * (ho - 1) + 1:s[0], j:j + s[1] * (wo - 1) + 1:s[1]]
            for o in range(0, w.shape[0], step):
                y[o:o + step] += np.tensordot(np.asarray(w[o:o + step, :, i, j], dtype=np.float64), window, axes=(1, 0))
    if b is not None:
        y += b[:, None, None]
    return y


def run(model, weights, x):
    """The graph on one image x [C,H,W], node by node (resnetc writes them in execution order)."""
    v = dict(weights)
    v[model.graph.input[0].name] = x.astype(np.float64)
    for n in model.graph.node:
        i = [v[name] for name in n.input]
        a = attrs(n)
        op = n.op_type
        if op == 'Conv':
            y = conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == 'BatchNormalization':
            scale, shift, mean, var = (np.asarray(t, dtype=np.float64)[:, None, None] for t in i[1:5])
            y = (i[0] - mean) / np.sqrt(var + a.get('epsilon', 1e-5)) * scale + shift
        elif op == 'Relu':
            y = np.maximum(i[0], 0)
        elif op == 'Add':
            y = i[0] + i[1]
        elif op == 'GlobalAveragePool':
            y = i[0].mean(axis=(1, 2), keepdims=True)
        elif op == 'Flatten':
            y = i[0].reshape(-1)
        elif op == 'Gemm':
            assert a.get('transB') == 1
            y = np.asarray(i[1], dtype=np.float64) @ i[0] + i[2]
        else:
            raise SystemExit(f'external_data.py: no evaluator for {op}')
        v[n.output[0]] = y
    return v[model.graph.output[0].name]


def option(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def main():
    path = sys.argv[1]
    onnx.checker.check_model(path)
    model = onnx.load(path, load_external_data=False)
    weights, external, inside, data_bytes = tensors(model, os.path.dirname(os.path.abspath(path)))
    result = {'external': external, 'inside': inside, 'data_bytes': data_bytes}
    if option('--input'):
        c, h, w = (d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:])
        x = np.fromfile(option('--input'), dtype='<f4').reshape(c, h, w)
        result['output'] = [float(o) for o in np.ravel(run(model, weights, x))]
    if option('--same-as'):
        other = onnx.load(option('--same-as'))
        full = onnx.load(path)
        theirs = {t.name: numpy_helper.to_array(t) for t in other.graph.initializer}
        assert [t.name for t in full.graph.initializer] == list(theirs), 'names'
        for t in full.graph.initializer:
            assert np.array_equal(numpy_helper.to_array(t), theirs[t.name]), t.name
    print(json.dumps(result))


main()
