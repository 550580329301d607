#!/usr/bin/python3
"""PyTorch's side of bench/cnn_bench.cpp: the LeNet-5 training step of
bench/lenet.h (28x28 inputs, conv 5x5x6 pad 2 -> relu -> max-pool 2 -> conv
5x5x16 -> relu -> max-pool 2 -> 400-120 -> relu -> 84 -> relu -> 10, mean
cross-entropy, SGD p -= lr * grad), timed in two ways: eager, and the model
compiled by TorchScript (torch.jit.script; autograd and the update as in
eager). Prints per way a readable line and "RESULT <way> <median ms>".
  lenet_torch.py [--batch 64] [--threads 1] [--reps 200] [--blocks 1]
Debian's python3-torch 1.13 (scripts/setup.sh --bench)."""
import argparse
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = torch.flatten(h, 1)
        h = F.relu(self.fc1(h))
        h = F.relu(self.fc2(h))
        return self.fc3(h)


def step(model, params, x, y, lr):
    for p in params:
        p.grad = None
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.add_(p.grad, alpha=-lr)
    return loss


def main():
    ap = argparse.ArgumentParser()
    for name, default in [("batch", 64), ("threads", 1), ("reps", 200), ("blocks", 1)]:
        ap.add_argument("--" + name, type=int, default=default)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(7)
    x = torch.rand(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))
    model = LeNet()
    ways = [("eager", model), ("torchscript", torch.jit.script(model))]
    params = list(model.parameters())
    times = {name: [] for name, _ in ways}
    for name, m in ways:  # warm-up (TorchScript profiles and optimizes its first runs)
        for _ in range(20):
            step(m, params, x, y, 0.01)
    for _ in range(a.blocks):  # the ways alternate in blocks
        for name, m in ways:
            for _ in range(a.reps // a.blocks):
                t0 = time.perf_counter()
                step(m, params, x, y, 0.01)
                times[name].append(1000 * (time.perf_counter() - t0))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {a.batch}, "
          f"median of {a.reps}")
    for name, _ in ways:
        t = times[name]
        print(f"{name:12s} {statistics.median(t):8.3f} ms  (runs {min(t):.3f}-{max(t):.3f} ms)")
        print(f"RESULT {name} {statistics.median(t):.4f}", flush=True)


if __name__ == "__main__":
    main()
