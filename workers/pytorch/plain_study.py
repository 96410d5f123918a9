"""The study's CNN trained by a plain PyTorch script, without TwinTrain or its worker: the yardstick for the worker's
speed (the worker must add nothing measurable). Random images, as `twintrain bench` uses, the same batch, threads and
steps; prints the median training images/s over the rounds.

    /usr/bin/python3 workers/pytorch/plain_study.py --threads 2 --batch-size 64 --steps 100 --rounds 5
"""

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn


class StudyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 6 * 6, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc2(torch.relu(self.fc1(x)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    count = args.batch_size * args.steps
    images = torch.from_numpy(rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)).float().div_(255).permute(0, 3, 1, 2).contiguous()
    labels = torch.from_numpy(rng.integers(0, 10, size=count).astype(np.int64))
    model = StudyCnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_function = nn.CrossEntropyLoss()

    def epoch(order):
        model.train()
        started = time.perf_counter()
        for start in range(0, count, args.batch_size):
            index = order[start:start + args.batch_size]
            x, y = images.index_select(0, index), labels.index_select(0, index)
            optimizer.zero_grad()
            logits = model(x)
            loss = loss_function(logits, y)
            loss.backward()
            optimizer.step()
            loss.item()
            (logits.argmax(1) == y).sum().item()  # what a loop that reports accuracy does, as the worker's
        return count / (time.perf_counter() - started)

    epoch(torch.randperm(count))  # warm-up
    rates = []
    for r in range(args.rounds):
        rates.append(epoch(torch.randperm(count)))
        print(f"  round {r + 1}/{args.rounds} plain pytorch: train {rates[-1]:7.0f} img/s", flush=True)
    print(f"plain pytorch (torch {torch.__version__}, {args.threads} threads, batch {args.batch_size}): median train {statistics.median(rates):.0f} img/s")


if __name__ == "__main__":
    main()
