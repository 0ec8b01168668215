"""What each loss costs per training batch, next to the paper-sized network.

The epoch timings of train_epoch.py carry +-10 % of noise on a shared 2-core
machine, more than the 5 % target they check. This script measures the same
question at a finer grain, so that the noise cancels: one training step
(forward, loss, backward, Adam step) of molgnba.nn.MolecularGNN (5 x 300,
batch 32 esol or bbbp molecules) with each loss, the losses interleaved in
blocks of a few steps over many rounds, median per step of this thread's CPU
time. Reported: each loss's step time over the plain loss's; the loss alone
(forward and backward on 32 outputs, no network) in microseconds; and
``1 + (loss alone - plain loss alone) / plain step``, the step ratio that the
loss's own extra work accounts for, which the network's timing noise does not
touch.

Losses: plain (molgnba.losses.MaskedLoss), the attentive loss with the
estimators' default settings (adversarial attention), the guarded attentive
loss (entropy_weight=1), the paper's (entropy_weight=0), focal (classification
only) and GHM.

Usage: python -m benchmarks.perf.loss_overhead [--quick] [--out DIR]   (2-4 minutes; --quick well under 1)
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from benchmarks.perf.common import (
    Measurement, Ratio, Stopwatch, default_attentive_loss, load, median, write_result,
)
from molgnba.featurize import featurize_smiles, get_featurizer
from molgnba.losses import FocalLoss, GHMLoss, GNBALoss, MaskedLoss
from molgnba.nn import MolecularGNN

NUM_LAYERS, HIDDEN_DIM, BATCH_SIZE, LR = 5, 300, 32, 1e-3


def criteria(task: str) -> dict:
    """Every loss the estimators offer for ``task`` ("regression" or "binary"), by name."""
    losses = {
        "plain": MaskedLoss(task),
        "gnba (default)": default_attentive_loss(task),
        "gnba guarded": GNBALoss(task, entropy_weight=1.0),
        "gnba paper": GNBALoss(task, entropy_weight=0.0),
    }
    if task == "binary":
        losses["focal"] = FocalLoss(task)
    losses["ghm"] = GHMLoss(task)
    return losses


def batches(task: str, n_batches: int, seed: int = 0) -> list[Batch]:
    name = "esol" if task == "regression" else "bbbp"
    smiles, y = load(name)
    rows = np.random.RandomState(seed).permutation(len(smiles))
    graphs, _ = featurize_smiles([smiles[i] for i in rows[: 2 * n_batches * BATCH_SIZE]], get_featurizer("hu2019"))
    target = y[rows].astype(np.float32)
    if task == "regression":
        target = (target - target.mean()) / target.std()
    data = [
        Data(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr, y=torch.tensor([[t]]))
        for g, t in zip(graphs, target) if g is not None
    ]
    return [Batch.from_data_list(data[k * BATCH_SIZE:(k + 1) * BATCH_SIZE]) for k in range(n_batches)]


def step_seconds(model, criterion, optimizer, data: list[Batch]) -> list[float]:
    """CPU seconds of each training step over ``data``."""
    seconds = []
    for batch in data:
        with Stopwatch() as watch:
            optimizer.zero_grad()
            criterion(model(batch), batch.y).backward()
            optimizer.step()
        seconds.append(watch.cpu)
    return seconds


def loss_alone_seconds(criterion, task: str, calls: int) -> float:
    """Mean CPU seconds of one forward and backward of ``criterion`` on 32 outputs."""
    generator = torch.Generator().manual_seed(0)
    output = torch.randn(BATCH_SIZE, 1, generator=generator, requires_grad=True)
    target = torch.randn(BATCH_SIZE, 1, generator=generator)
    if task == "binary":
        target = (target > 0).float()
    with Stopwatch() as watch:
        for _ in range(calls):
            criterion(output, target).backward()
    return watch.cpu / calls


def measure(task: str, backbone: str, rounds: int, block: int) -> list[dict]:
    featurizer = get_featurizer("hu2019")
    losses = criteria(task)
    data = batches(task, block)
    torch.manual_seed(0)
    model = MolecularGNN(featurizer.atom_feature_dims, featurizer.bond_feature_dims, n_outputs=1,
                         backbone=backbone, num_layers=NUM_LAYERS, hidden_dim=HIDDEN_DIM)
    optimizers = {
        name: torch.optim.Adam(list(model.parameters()) + list(loss.parameters()), lr=LR)
        for name, loss in losses.items()
    }
    steps = {name: [] for name in losses}
    step_seconds(model, losses["plain"], optimizers["plain"], data)  # warm-up
    for round_ in range(rounds):
        # Rotate the order every round so that drift in machine load falls on every loss alike.
        names = list(losses)
        names = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in names:
            steps[name] += step_seconds(model, losses[name], optimizers[name], data)
    plain = median(steps["plain"])
    alone = {name: loss_alone_seconds(loss, task, calls=200) for name, loss in losses.items()}
    rows = []
    for name in losses:
        step = median(steps[name])
        rows.append({
            "task": task, "backbone": backbone, "loss": name, "n_steps": len(steps[name]),
            "step_cpu_s": step, "step_over_plain": step / plain, "loss_alone_cpu_us": 1e6 * alone[name],
            # The step ratio the loss alone accounts for; free of the network's timing noise.
            "loss_alone_over_plain_step": 1 + (alone[name] - alone["plain"]) / plain,
        })
        print(f"{task:10s} {backbone} {name:15s} step {1e3 * step:7.1f} ms  /plain {step / plain:.3f}  "
              f"loss alone {1e6 * alone[name]:6.0f} us (1 + extra/step = "
              f"{rows[-1]['loss_alone_over_plain_step']:.4f})", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="GIN on esol only, fewer rounds")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rounds, block = (4, 3) if args.quick else (12, 4)
    configs = [("regression", "gin")] if args.quick else [
        (task, backbone) for task in ("regression", "binary") for backbone in ("gin", "gat")
    ]
    rows = [row for task, backbone in configs for row in measure(task, backbone, rounds, block)]
    details = {"threads": 1, "rounds": rounds, "steps_per_block": block, "batch_size": BATCH_SIZE,
               "model": f"{NUM_LAYERS}x{HIDDEN_DIM}", "target": {"attentive_over_plain": 1.05}, "rows": rows}
    path = write_result("loss_overhead", *summarize(details), details=details, out_dir=args.out,
                        name="loss_overhead" + ("_quick" if args.quick else ""))
    print("wrote", path)
    return details


def summarize(details: dict) -> tuple[list[Measurement], list[Ratio]]:
    """CPU seconds per step and the loss's own time for each loss; their ratios to the plain loss."""
    measurements, ratios = [], []
    target = f"<= {details['target']['attentive_over_plain']:g}"
    for row in details["rows"]:
        label = f"{row['task']} {row['backbone']} {row['loss']}"
        plain = f"{row['task']} {row['backbone']} plain"
        measurements += [Measurement(f"{label} step cpu", row["step_cpu_s"], "s"),
                         Measurement(f"{label} loss alone cpu", row["loss_alone_cpu_us"], "us")]
        if row["loss"] != "plain":
            ratios += [
                Ratio(f"{label} / plain step (cpu)", row["step_over_plain"], f"{label} step cpu",
                      f"{plain} step cpu"),
                # The step ratio the loss's own work accounts for: (plain step + extra loss time) / plain step.
                Ratio(f"{label} / plain step, loss's own work (cpu)", row["loss_alone_over_plain_step"],
                      f"{label} loss alone cpu", f"{plain} step cpu", target),
            ]
    return measurements, ratios


if __name__ == "__main__":
    main()
