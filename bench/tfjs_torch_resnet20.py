# PyTorch reference for bench/tfjs.bench.ts: He et al. ResNet-20 (option A shortcuts), one
# SGD step (momentum 0.9, weight decay 5e-4) per batch of random images. Args: threads batch.
# Prints images per second of wall-clock time and of the process's CPU time.
import time, torch, torch.nn as nn, torch.nn.functional as F, sys
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
B = int(sys.argv[2]) if len(sys.argv) > 2 else 64
class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(cout)
        s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(cout)
        s.stride, s.pad = stride, cout - cin
    def forward(s, x):
        o = F.relu(s.b1(s.c1(x))); o = s.b2(s.c2(o))
        sc = x
        if s.stride != 1 or s.pad: sc = F.pad(x[:, :, ::s.stride, ::s.stride], (0, 0, 0, 0, 0, s.pad))
        return F.relu(o + sc)
class R20(nn.Module):
    def __init__(s):
        super().__init__()
        s.c = nn.Conv2d(3, 16, 3, 1, 1, bias=False); s.b = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for w, st in [(16, 1), (32, 2), (64, 2)]:
            for i in range(3): layers.append(Block(cin, w, st if i == 0 else 1)); cin = w
        s.layers = nn.Sequential(*layers); s.fc = nn.Linear(64, 10)
    def forward(s, x):
        x = F.relu(s.b(s.c(x))); x = s.layers(x)
        return s.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
m = R20(); m.train(); opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
x = torch.rand(B, 3, 32, 32); y = torch.randint(0, 10, (B,))
def step():
    opt.zero_grad(); loss = F.cross_entropy(m(x), y); loss.backward(); opt.step()
for _ in range(3): step()
n = 10; t = time.perf_counter(); c = time.process_time()
for _ in range(n): step()
dt, dc = time.perf_counter() - t, time.process_time() - c
print(f"{n * B / dt:.1f} images/s, {n * B / dc:.1f} per CPU-second, threads={torch.get_num_threads()}")
