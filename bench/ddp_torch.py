#!/usr/bin/python3
"""PyTorch's DistributedDataParallel (gloo) on the MLP step of
bench/distributed_bench.cpp, its baseline: 784-512-512-10, relu, softmax
cross-entropy, weight decay on the weights (lambda * sum(W^2)), SGD; batch B
per rank, one thread per rank, each rank on its own core. Rank 0 prints
"RESULT <median ms per step> <share of the step in the all-reduce: unknown, 0>".
  ddp_torch.py --ranks R [--batch 256] [--steps 40]
Debian's python3-torch (scripts/setup.sh --bench)."""
import os

# One thread per rank, as the issue asks: torch.set_num_threads(1) does not
# reach Debian's OpenBLAS (libblas.so.3 -> openblas-pthread), whose pool takes
# both cores unless told before it is loaded (1 rank: 7.6 ms/step with 2 BLAS
# threads, 10.6 ms with 1; 2026-12-06 21:55 UTC).
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

LR, LAMBDA, WARMUP = 0.01, 1e-4, 5


def rank_run(rank, ranks, batch, steps, port):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    torch.set_num_threads(1)
    os.sched_setaffinity(0, {rank % os.cpu_count()})
    dist.init_process_group("gloo", rank=rank, world_size=ranks)
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    ddp = DistributedDataParallel(model)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    # d/dW lambda * sum(W^2) = 2 lambda W: SGD's weight decay of 2 lambda.
    opt = torch.optim.SGD([{"params": weights, "weight_decay": 2 * LAMBDA},
                           {"params": biases, "weight_decay": 0}], lr=LR)
    gen = torch.Generator().manual_seed(1234 + rank)
    x = torch.rand(batch, 784, generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    dist.barrier()
    for s in range(WARMUP + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(ddp(x), y)
        loss.backward()
        opt.step()
        t = time.perf_counter() - t0
        if s >= WARMUP:
            times.append(t * 1e3)
    if rank == 0:
        print(f"RESULT {statistics.median(times):.4f} 0", flush=True)
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=40)
    a = ap.parse_args()
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(rank_run, args=(a.ranks, a.batch, a.steps, port), nprocs=a.ranks)


if __name__ == "__main__":
    main()
