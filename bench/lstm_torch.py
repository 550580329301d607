#!/usr/bin/python3
"""PyTorch's side of bench/lstm_bench.cpp: the same LSTM language model (L
layers of H units over one-hot letters of a V-letter alphabet, a linear
read-out, the mean cross-entropy against the next letter at every step) and
the gradient of every weight, forward + backward, one thread, in two ways:
torch.nn.LSTM (the whole sequence in one call), and torch.nn.LSTMCell
stepped in a Python loop. Prints, per way, "RESULT <name> <median us per
character>" after a human-readable line.
  lstm_torch.py [--length 4096] [--vocab 32] [--hidden 128] [--layers 2] [--batch 1] [--reps 7]
Debian's python3-torch (scripts/setup.sh --bench)."""
import argparse
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F


def loss_lstm(lstm, out, x, labels):
    h, _ = lstm(x)  # x [N,B,V] -> h [N,B,H]
    logits = out(h)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))


def loss_cells(cells, out, x, labels):
    batch, hidden = x.shape[1], cells[0].hidden_size
    state = [(torch.zeros(batch, hidden), torch.zeros(batch, hidden)) for _ in cells]
    total = 0
    for t in range(x.shape[0]):
        inp = x[t]
        for k, cell in enumerate(cells):
            state[k] = cell(inp, state[k])
            inp = state[k][0]
        total = total + F.cross_entropy(out(inp), labels[t])
    return total / x.shape[0]


def timed(fn, params, reps):
    times = []
    for i in range(reps + 1):  # the first is a warm-up
        for p in params:
            p.grad = None
        t0 = time.perf_counter()
        fn().backward()
        if i:
            times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def main():
    ap = argparse.ArgumentParser()
    for name, default in [("length", 4096), ("vocab", 32), ("hidden", 128), ("layers", 2), ("batch", 1), ("reps", 7)]:
        ap.add_argument("--" + name, type=int, default=default)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(7)
    text = torch.randint(0, a.vocab, (a.length + 1, a.batch))
    x = F.one_hot(text[:-1], a.vocab).float()
    labels = text[1:]
    out = nn.Linear(a.hidden, a.vocab)
    lstm = nn.LSTM(a.vocab, a.hidden, a.layers)
    cells = [nn.LSTMCell(a.vocab if k == 0 else a.hidden, a.hidden) for k in range(a.layers)]
    ways = [("nn.LSTM", lambda: loss_lstm(lstm, out, x, labels), list(lstm.parameters())),
            ("LSTMCell-loop", lambda: loss_cells(cells, out, x, labels), [p for c in cells for p in c.parameters()])]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread, {a.length} chars, batch {a.batch}, "
          f"median of {a.reps}")
    for name, fn, params in ways:
        med, lo, hi = timed(fn, params + list(out.parameters()), a.reps)
        print(f"{name:14s} {1000 * med:9.2f} ms  {1e6 * med / a.length:8.2f} us/char  "
              f"(runs {1000 * lo:.1f}-{1000 * hi:.1f} ms)")
        print(f"RESULT {name} {1e6 * med / a.length:.4f}", flush=True)


if __name__ == "__main__":
    main()
