"""Batches shared by the loss tests: every task, with missing labels."""

from __future__ import annotations

import torch

NAN = float("nan")


def make_batch(task: str, batch_size: int = 8, tasks: int = 2, seed: int = 0):
    """``(input, target)`` for ``task``, with a missing label in every column (multi-task)."""
    generator = torch.Generator().manual_seed(seed)
    if task == "multiclass":
        input = torch.randn(batch_size, 3, generator=generator)
        target = torch.randint(0, 3, (batch_size,), generator=generator).float()
        target[1] = NAN
        return input, target
    input = torch.randn(batch_size, tasks, generator=generator) * 2
    if task == "binary":
        target = torch.randint(0, 2, (batch_size, tasks), generator=generator).float()
    else:
        target = torch.randn(batch_size, tasks, generator=generator)
    target[1, 0] = NAN
    target[4, tasks - 1] = NAN
    return input, target

