"""PyTorch's side of the training-parity harness (test/train/torch-parity.test.ts).

The network is built here from the .resnet spec's TEXT, read by a small parser of its own
and assembled from torch.nn modules as LANGUAGE.md and docs/reference.md define each
statement: nothing of resnetc's checker or graph is used. Modules are nested so that
PyTorch's state_dict names are resnetc's layer names (`stem.conv1.weight`,
`s1.block0.se.reduce.bias`, `final.norm.running_var`, `head.fc.weight`), which is how the
starting weights resnetc wrote are loaded (every tensor, both ways: a name missing on either
side is an error).

Usage: torch_train.py JOBS.json. Each job trains one network from the given weights on the
given batches with torch.optim.SGD (Nesterov or not) or torch.optim.AdamW and torch's own
schedulers (with LinearLR warmup by SequentialLR), F.cross_entropy with label smoothing,
frozen parts (requires_grad=False) and frozen norms (eval mode), in float64 (float32 where a
job says `"dtype": "float32"`: PyTorch's own float32 rounding, to measure drift), and writes the
loss, every parameter's gradient, and the parameters and running statistics after each step
listed in `record`, as `<out>/<id>.json` (names, shapes, offsets) + `<out>/<id>.bin` (float32).
"""

import json
import math
import re
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- the spec's text ----


def tokens(text):
    text = re.sub(r"#[^\n]*", "", text)
    return re.findall(r"[{}]|[^\s{}]+", text)


def number(tok):
    tok = tok.replace("_", "")
    return float(tok) if re.search(r"[.eE]", tok) else int(tok)


def size(tok):
    return [int(p) for p in tok.split("x")]


class Reader:
    def __init__(self, toks):
        self.t = toks
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def next(self):
        self.i += 1
        return self.t[self.i - 1]

    def expect(self, tok):
        got = self.next()
        if got != tok:
            raise ValueError(f"expected {tok!r}, got {got!r}")

    def options(self, words):
        """`{ word value ... }` after a statement, when present: a dict."""
        out = {}
        if self.peek() != "{":
            return out
        self.next()
        while self.peek() != "}":
            word = self.next()
            if word not in words:
                raise ValueError(f"unexpected {word!r}")
            out[word] = self.next()
        self.next()
        return out


BLOCK_OPTIONS = {"expansion", "groups", "width_per_group", "stride_on", "se"}


def read_block(r):
    kind = r.next()
    opts = r.options(BLOCK_OPTIONS)
    return {
        "kind": kind,
        "expansion": int(opts["expansion"]) if "expansion" in opts else (4 if kind.endswith("bottleneck") else 1),
        "groups": int(opts.get("groups", 1)),
        "width_per_group": int(opts.get("width_per_group", 64)),
        "stride_on": opts.get("stride_on", "3x3"),
        "se": int(opts["se"]) if "se" in opts else None,
    }


STATEMENTS = {"input", "classes", "dropout", "shortcut", "block", "norm", "activation", "stem", "stage", "expect", "output_stride", "outputs", "pool", "drop_path", "}"}


def is_number(tok):
    return tok is not None and re.fullmatch(r"[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?", tok) is not None


def parse(text):
    """The one model of a spec: a dict of what its statements say (defaults filled in)."""
    r = Reader(tokens(text))
    r.expect("model")
    m = {
        "name": r.next(), "classes": None, "dropout": None, "shortcut": "B", "norm": "batch", "eps": 1e-5, "momentum": 0.1, "groups": 32,
        "act": "relu", "slope": 0.01, "output_stride": None, "pool": "avg", "stem": [], "stages": [],
    }
    r.expect("{")
    while r.peek() != "}":
        word = r.next()
        if word == "input":
            m["input"] = size(r.next())
        elif word == "classes":
            m["classes"] = int(r.next())
        elif word == "dropout":
            m["dropout"] = float(r.next())
        elif word == "shortcut":
            m["shortcut"] = r.next()
        elif word == "block":
            m["block"] = read_block(r)
        elif word == "norm":
            m["norm"] = r.next()
            opts = r.options({"eps", "momentum"} if m["norm"] == "batch" else {"eps", "groups"})
            m["eps"] = float(opts.get("eps", 1e-5))
            m["momentum"] = float(opts.get("momentum", 0.1))
            m["groups"] = int(opts.get("groups", 32))
        elif word == "activation":
            m["act"] = r.next()
            if m["act"] == "leaky_relu" and is_number(r.peek()):
                m["slope"] = number(r.next())
        elif word == "output_stride":
            m["output_stride"] = int(r.next())
        elif word == "pool":
            m["pool"] = r.next()
        elif word == "drop_path":
            if number(r.next()) != 0:
                raise ValueError("drop_path above 0 draws masks: not compared step by step")
        elif word == "outputs":
            # Feature maps returned beside the logits (listed last): no part in the loss.
            names = []
            while r.peek() not in STATEMENTS:
                names.append(r.next())
            if names[-1] != "logits":
                raise ValueError("training needs logits last")
        elif word == "stem":
            r.expect("{")
            while r.peek() != "}":
                op = r.next()
                k = size(r.next())
                layer = {"op": op, "kernel": k, "stride": 1, "groups": 1}
                if op == "conv":
                    layer["out"] = int(r.next())
                while r.peek() in ("stride", "groups", "pad"):
                    key = r.next()
                    layer[key] = int(r.next())
                m["stem"].append(layer)
            r.next()
        elif word == "stage":
            stage = {"name": r.next(), "stride": 1}
            r.expect("{")
            while r.peek() != "}":
                w = r.next()
                if w == "block":
                    stage["block"] = read_block(r)
                elif w == "shortcut":
                    stage["shortcut"] = r.next()
                else:
                    stage[w] = int(r.next())
            r.next()
            m["stages"].append(stage)
        elif word == "expect":
            r.next()
            r.next()
        else:
            raise ValueError(f"unknown statement {word!r}")
    return m


# ---- the network, from torch.nn ----


def conv(cin, cout, k, stride=1, groups=1, bias=False, dilation=1, pad=None):
    """`conv KxK`: padding K/2 (rounded down) times the dilation on each side (or `pad`), no bias."""
    padding = (pad, pad) if pad is not None else (k[0] // 2 * dilation, k[1] // 2 * dilation)
    return nn.Conv2d(cin, cout, tuple(k), stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)


def activation(m):
    """The model's activation, as LANGUAGE.md names PyTorch's modules."""
    fn = m["act"]
    if fn == "relu":
        return nn.ReLU()
    if fn == "silu":
        return nn.SiLU()
    if fn == "gelu":
        return nn.GELU()
    if fn == "mish":
        return nn.Mish()
    if fn == "leaky_relu":
        return nn.LeakyReLU(m["slope"])
    raise ValueError(fn)


class SqueezeExcitation(nn.Module):
    def __init__(self, c, ratio, act):
        super().__init__()
        self.reduce = nn.Conv2d(c, c // ratio, 1, bias=True)
        self.act = act()
        self.expand = nn.Conv2d(c // ratio, c, 1, bias=True)

    def forward(self, x):
        g = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.expand(self.act(self.reduce(g))))


class ZeroPad(nn.Module):
    """Shortcut A: rows and columns 0, s, 2s, ...; the new channels zeros after the input's."""

    def __init__(self, stride, extra):
        super().__init__()
        self.stride = stride
        self.extra = extra

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))


class Block(nn.Module):
    def __init__(self, cin, width, stride, block, shortcut, norm, act, first_dilation=1, dilation=1):
        super().__init__()
        kind = block["kind"]
        self.pre = kind.startswith("preact-")
        bottleneck = kind.endswith("bottleneck")
        cout = width * block["expansion"]
        inner = (width * block["width_per_group"] // 64) * block["groups"]
        self.names = []

        def add(name, module):
            self.add_module(name, module)
            self.names.append(name)

        if self.pre:
            self.norm1 = norm(cin)
            self.act1 = act()
        # Dilation: a bottleneck's 3x3 takes first_dilation (the previous stage's, in a stage's
        # first block; else the stage's); a basic block's first 3x3 too, its second the stage's.
        if bottleneck:
            s1, s3 = (stride, 1) if block["stride_on"] == "1x1" else (1, stride)
            convs = [(cin, inner, [1, 1], s1, 1, 1), (inner, inner, [3, 3], s3, block["groups"], first_dilation), (inner, cout, [1, 1], 1, 1, 1)]
        else:
            convs = [(cin, inner, [3, 3], stride, 1, first_dilation), (inner, cout, [3, 3], 1, 1, dilation)]
        # Post-activation: conv_i, norm_i, act_i (no act after the last norm). Pre-activation:
        # norm1, act1 open the block; then conv_i, and norm_{i+1}, act_{i+1} between convolutions.
        for i, (a, b, k, s, g, d) in enumerate(convs, start=1):
            add(f"conv{i}", conv(a, b, k, s, g, dilation=d))
            last = i == len(convs)
            if not self.pre:
                add(f"norm{i}", norm(b))
                if not last:
                    add(f"act{i}", act())
            elif not last:
                add(f"norm{i + 1}", norm(b))
                add(f"act{i + 1}", act())
        if block["se"] is not None:
            add("se", SqueezeExcitation(cout, block["se"], act))

        changes = stride != 1 or cin != cout
        self.shortcut = None
        self.from_pre = False
        if shortcut == "A" and changes:
            self.shortcut = nn.Sequential(OrderedDict(pad=ZeroPad(stride, cout - cin)))
        elif (shortcut in ("B", "D") and changes) or shortcut == "C":
            parts = OrderedDict()
            if shortcut == "D" and stride != 1:
                parts["pool"] = nn.AvgPool2d(2, stride=stride, ceil_mode=True, count_include_pad=False)
            parts["conv"] = conv(cin, cout, [1, 1], 1 if shortcut == "D" else stride)
            if not self.pre:
                parts["norm"] = norm(cout)
            self.shortcut = nn.Sequential(parts)
            self.from_pre = self.pre
        if not self.pre:
            self.act = act()
        self.out_channels = cout

    def forward(self, x):
        pre = self.act1(self.norm1(x)) if self.pre else x
        y = pre
        for name in self.names:
            y = getattr(self, name)(y)
        s = x if self.shortcut is None else self.shortcut(pre if self.from_pre else x)
        y = y + s
        return y if self.pre else self.act(y)


class Head(nn.Module):
    def __init__(self, c, classes, dropout, pool):
        super().__init__()
        # timm's SelectAdaptivePool2d: avg, max, their mean, or cat([avg, max], 1).
        self.pool_kind = pool
        self.dropout = nn.Dropout(dropout or 0.0)
        self.fc = nn.Linear(2 * c if pool == "catavgmax" else c, classes)
        self.mask = None

    def pool(self, x):
        avg = F.adaptive_avg_pool2d(x, 1)
        mx = F.adaptive_max_pool2d(x, 1)
        return {"avg": avg, "max": mx, "avgmax": 0.5 * (avg + mx), "catavgmax": torch.cat([avg, mx], 1)}[self.pool_kind]

    def forward(self, x):
        x = torch.flatten(self.pool(x), 1)
        if self.training and self.mask is not None:
            # The mask tfjs drew for this step (read back by the test), with dropout's 1/(1-p).
            x = x * self.mask / (1 - self.dropout.p)
        else:
            x = self.dropout(x)
        return self.fc(x)


class Net(nn.Module):
    def __init__(self, m):
        super().__init__()
        c = m["input"][0]
        pre = m["block"]["kind"].startswith("preact-")

        def norm(ch):
            if m["norm"] == "group":
                return nn.GroupNorm(m["groups"], ch, eps=m["eps"])
            return nn.BatchNorm2d(ch, eps=m["eps"], momentum=m["momentum"])

        def act():
            return activation(m)

        stem = OrderedDict()
        convs = pools = 0
        reached = 1
        for layer in m["stem"]:
            k = layer["kernel"]
            reached *= layer["stride"]
            if layer["op"] == "conv":
                convs += 1
                stem[f"conv{convs}"] = conv(c, layer["out"], k, layer["stride"], layer["groups"], pad=layer.get("pad"))
                c = layer["out"]
                if not pre:
                    stem[f"norm{convs}"] = norm(c)
                    stem[f"act{convs}"] = act()
            else:
                pools += 1
                pad = (layer["pad"], layer["pad"]) if "pad" in layer else (k[0] // 2, k[1] // 2)
                if layer["op"] == "maxpool":
                    stem[f"pool{pools}"] = nn.MaxPool2d(tuple(k), layer["stride"], pad)
                else:
                    stem[f"pool{pools}"] = nn.AvgPool2d(tuple(k), layer["stride"], pad, count_include_pad=False)
        self.stem = nn.Sequential(stem)
        self.stage_names = []
        dilation = 1
        for st in m["stages"]:
            block = st.get("block", m["block"])
            shortcut = st.get("shortcut", m["shortcut"])
            stride = st["stride"]
            previous = dilation
            # output_stride (torchvision's replace_stride_with_dilation): a stride that would
            # pass it becomes dilation; else a stage's own `dilation`.
            if m["output_stride"] is not None and reached * stride > m["output_stride"]:
                dilation *= stride
                stride = 1
            else:
                reached *= stride
                if m["output_stride"] is None:
                    dilation = st.get("dilation", 1)
            blocks = OrderedDict()
            for i in range(st["blocks"]):
                b = Block(c, st["width"], stride if i == 0 else 1, block, shortcut, norm, act, previous if i == 0 else dilation, dilation)
                blocks[f"block{i}"] = b
                c = b.out_channels
            self.add_module(st["name"], nn.Sequential(blocks))
            self.stage_names.append(st["name"])
        self.final = nn.Sequential(OrderedDict(norm=norm(c), act=act())) if pre else None
        self.head = Head(c, m["classes"], m["dropout"], m["pool"]) if m["classes"] else None

    def forward(self, x):
        x = self.stem(x)
        for name in self.stage_names:
            x = getattr(self, name)(x)
        if self.final is not None:
            x = self.final(x)
        return self.head(x) if self.head is not None else x


# ---- tensors in and out ----


def read_tensors(stem):
    with open(stem + ".json") as f:
        header = json.load(f)
    data = np.fromfile(stem + ".bin", dtype="<f4")
    return {name: data[o : o + int(np.prod(shape))].reshape(shape) for name, (shape, o) in header.items()}


def write_tensors(stem, tensors):
    header = {}
    chunks = []
    offset = 0
    for name, t in tensors.items():
        a = np.asarray(t, dtype="<f4").reshape(-1)
        header[name] = [list(np.shape(t)), offset]
        chunks.append(a)
        offset += a.size
    with open(stem + ".json", "w") as f:
        json.dump(header, f)
    np.concatenate(chunks).tofile(stem + ".bin")


def run(job):
    torch.manual_seed(0)
    # float64 unless the job asks for float32 (to measure PyTorch's own float32 rounding).
    dtype = torch.float32 if job.get("dtype") == "float32" else torch.float64
    npdt = np.float32 if dtype == torch.float32 else np.float64
    net = Net(parse(job["spec"])).to(dtype)
    weights = read_tensors(job["weights"])
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(state) - set(weights))
    unused = sorted(set(weights) - set(state))
    if missing or unused:
        raise ValueError(f"{job['id']}: names differ: torch has {missing} that resnetc lacks, resnetc has {unused} that torch lacks")
    with torch.no_grad():
        for k, v in state.items():
            if tuple(v.shape) != weights[k].shape:
                raise ValueError(f"{job['id']}: {k} is {tuple(v.shape)} in torch, {weights[k].shape} from resnetc")
            v.copy_(torch.from_numpy(weights[k].astype(npdt)))
    data = read_tensors(job["batches"])
    # --freeze: the parts' parameters as requires_grad=False, and so left out of the optimizer.
    frozen = set(job["freeze"])
    for k, p in net.named_parameters():
        if k.split(".")[0] in frozen:
            p.requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    if job["optimizer"] == "adamw":
        opt = torch.optim.AdamW(params, lr=job["lr"], betas=tuple(job["betas"]), eps=job["eps"], weight_decay=job["weight_decay"])
    else:
        opt = torch.optim.SGD(params, lr=job["lr"], momentum=job["momentum"], weight_decay=job["weight_decay"], nesterov=job["nesterov"])
    total = job["total_steps"]
    warmup = job["warmup"]
    rest = total - warmup
    if job["schedule"] == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=rest)
    elif job["schedule"] == "step":
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[math.ceil(0.5 * rest), math.ceil(0.75 * rest)], gamma=0.1)
    else:
        sched = None
    if warmup > 0:
        # torchvision's reference recipe: LinearLR, then the schedule over the steps left, by
        # SequentialLR; the start factor as near 0 as LinearLR takes (it refuses 0).
        start = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1e-15, end_factor=1.0, total_iters=warmup)
        main = sched if sched is not None else torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [start, main], milestones=[warmup])
    net.train()
    if job["freeze_norms"]:
        # --freeze-norms: every norm in eval mode inside a training model (mmpretrain's norm_eval).
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
    out = {}
    for step in range(job["steps"]):
        x = torch.from_numpy(data[f"x{step}"].astype(npdt))
        if net.head is not None and f"mask{step}" in data:
            net.head.mask = torch.from_numpy(data[f"mask{step}"].astype(npdt))
        y = net(x)
        if job["loss"] == "ce":
            loss = F.cross_entropy(y, torch.from_numpy(data[f"y{step}"].astype(np.int64)), label_smoothing=job["label_smoothing"])
        else:
            # A fixed linear loss of the feature map (a model without a head): sum(y * R) / N.
            loss = (y * torch.from_numpy(data["R"].astype(npdt))).sum() / y.shape[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        n = step + 1
        if n in job["record"]:
            out[f"{n}/loss"] = [loss.item()]
            # Copies: the optimizer and later steps change these tensors in place.
            for k, p in net.named_parameters():
                if p.grad is not None:
                    out[f"{n}/grad/{k}"] = p.grad.detach().numpy().copy()
            for k, v in net.state_dict().items():
                if not k.endswith("num_batches_tracked"):
                    out[f"{n}/value/{k}"] = v.detach().numpy().copy()
    write_tensors(job["out"], out)


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    torch.set_num_threads(1)
    for job in jobs:
        run(job)
    print(json.dumps({"torch": torch.__version__, "jobs": len(jobs)}))


if __name__ == "__main__":
    main()
