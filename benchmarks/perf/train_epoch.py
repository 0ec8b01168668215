"""Seconds per training epoch: the estimators against a minimal hand-written PyG loop.

Both sides train the same network (molgnba.nn.MolecularGNN, 5 layers, 300
hidden, the paper's size) with Adam (lr 1e-3), batch size 32, on the same
training molecules, and score the same 10 % validation split after every
epoch (the estimator needs it to pick its best epoch; the loop computes the
same metric). One torch thread on both sides. An epoch is the time between
two consecutive ends of epoch, so everything the estimator does per epoch
(callbacks, best-epoch snapshot, history) is counted; the first epoch of
every fit is dropped (warm-up). Repetitions interleave the configurations.

Configurations: {GNNRegressor on esol, GNNClassifier on bbbp} x {gin, gat} x
{attentive loss, plain loss}, the estimators pinned to the paper's configuration
(``get_preset("paper")``: "hu2019" features, one linear layer, constant rate),
which is what the loop trains; the hand loop uses GNBALoss with the estimator's
default settings (adversarial attention) or the plain loss to match. Ratios
reported: estimator / loop (target <= 1.10) and attentive / plain for the
estimator (target <= 1.05).

Usage: python -m benchmarks.perf.train_epoch [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from benchmarks.perf.common import (
    Measurement, Ratio, default_attentive_loss, load, median, paper_configuration, write_result,
)
from molgnba import GNNClassifier, GNNRegressor
from molgnba.data import ValidationSplit
from molgnba.featurize import featurize_smiles, get_featurizer
from molgnba.nn import MolecularGNN

NUM_LAYERS, HIDDEN_DIM, BATCH_SIZE, LR = 5, 300, 32, 1e-3
N_TRAIN = 902  # 80 % of esol; bbbp is subsampled to the same size


class EpochStamps(Callback):
    """Records time.perf_counter() at the end of each epoch."""

    def initialize(self):
        self.stamps = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.stamps.append((time.perf_counter(), time.process_time()))


def dataset(task: str, seed: int = 0):
    name = "esol" if task == "regression" else "bbbp"
    smiles, y = load(name)
    graphs, invalid = featurize_smiles(smiles)  # warms the process-wide cache for the estimators
    keep = np.array([g is not None for g in graphs])
    smiles, y = [s for s, k in zip(smiles, keep) if k], y[keep]
    rows = np.random.RandomState(seed).permutation(len(smiles))[:N_TRAIN]
    return [smiles[i] for i in rows], y[rows].astype(float)


def estimator_configuration(backbone, attentive, epochs) -> dict:
    """The estimators' parameters: the paper's configuration, the network and recipe of the loop below."""
    return paper_configuration(backbone=backbone, attentive_loss=attentive, num_layers=NUM_LAYERS,
                               hidden_dim=HIDDEN_DIM, batch_size=BATCH_SIZE, lr=LR, max_epochs=epochs)


def estimator_epochs(task, backbone, attentive, smiles, y, epochs, seed):
    cls = GNNRegressor if task == "regression" else GNNClassifier
    stamps = EpochStamps()
    est = cls(**estimator_configuration(backbone, attentive, epochs), random_state=seed, callbacks=[("stamps", stamps)])
    est.fit(smiles, y if task == "regression" else y.astype(int))
    return _intervals(stamps.stamps)


def _intervals(stamps):
    """(wall, cpu) seconds between consecutive epoch ends."""
    stamps = np.array(stamps)
    return [tuple(row) for row in np.diff(stamps, axis=0)]


def loop_epochs(task, backbone, attentive, smiles, y, epochs, seed):
    """The minimal PyG training loop the estimator is compared with."""
    featurizer = get_featurizer("hu2019")
    graphs, _ = featurize_smiles(smiles, featurizer)
    train_idx, valid_idx = ValidationSplit(0.1, stratified=task != "regression", random_state=seed).split_indices(
        len(graphs), y if task != "regression" else None
    )
    target = y.astype(np.float32)
    if task == "regression":
        target = (target - target[train_idx].mean()) / target[train_idx].std()
    data = [
        Data(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr, y=torch.tensor([[t]], dtype=torch.float32))
        for g, t in zip(graphs, target)
    ]
    torch.manual_seed(seed)
    model = MolecularGNN(featurizer.atom_feature_dims, featurizer.bond_feature_dims, n_outputs=1,
                         backbone=backbone, num_layers=NUM_LAYERS, hidden_dim=HIDDEN_DIM)
    task_name = "regression" if task == "regression" else "binary"
    groups = [{"params": list(model.parameters())}]
    criterion = None
    if attentive:
        criterion = default_attentive_loss(task_name)
        groups.append({"params": list(criterion.parameters())})
    optimizer = torch.optim.Adam(groups, lr=LR)
    train_loader = DataLoader([data[i] for i in train_idx], batch_size=BATCH_SIZE, shuffle=True)
    valid_loader = DataLoader([data[i] for i in valid_idx], batch_size=BATCH_SIZE)
    stamps = []
    for _ in range(epochs):
        model.train()
        for batch in train_loader:
            optimizer.zero_grad()
            out = model(batch)
            if criterion is not None:
                loss = criterion(out, batch.y)
            elif task == "regression":
                loss = F.mse_loss(out, batch.y)
            else:
                loss = F.binary_cross_entropy_with_logits(out, batch.y)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(batch) for batch in valid_loader])
            true = torch.cat([batch.y for batch in valid_loader])
            float(((pred - true) ** 2).mean().sqrt())  # the validation metric
        stamps.append((time.perf_counter(), time.process_time()))
    return _intervals(stamps)


def _med(times, key, k):
    return median([interval[k] for interval in times[key]])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and configurations")
    parser.add_argument("--out", default=None)
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None, help="epochs per fit (the first is dropped)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    reps = args.reps or (1 if args.quick else 3)
    epochs = args.epochs or (3 if args.quick else 4)
    tasks = ["regression"] if args.quick else ["regression", "classification"]
    backbones = ["gin"] if args.quick else ["gin", "gat"]
    data = {task: dataset(task) for task in tasks}
    configs = [(t, b, a) for t in tasks for b in backbones for a in (True, False)]
    times = {(t, b, a, side): [] for t, b, a in configs for side in ("estimator", "loop")}
    for rep in range(reps):
        for t, b, a in configs:
            smiles, y = data[t]
            # Alternate which side goes first so that drift in machine load cancels.
            sides = [("estimator", estimator_epochs), ("loop", loop_epochs)]
            for side, run in sides if rep % 2 == 0 else sides[::-1]:
                times[(t, b, a, side)] += run(t, b, a, smiles, y, epochs, seed=rep)
            print(f"rep {rep} {t} {b} attentive={a}: estimator {_med(times, (t, b, a, 'estimator'), 0):.3f} s, "
                  f"loop {_med(times, (t, b, a, 'loop'), 0):.3f} s (wall)", flush=True)
    rows = []
    for t, b, a in configs:
        row = {"task": t, "backbone": b, "attentive_loss": a, "n_epochs_timed": len(times[(t, b, a, "estimator")])}
        for k, clock in enumerate(("wall", "cpu")):
            est, loop = _med(times, (t, b, a, "estimator"), k), _med(times, (t, b, a, "loop"), k)
            plain = _med(times, (t, b, False, "estimator"), k)
            row.update({
                f"estimator_epoch_{clock}_s": est, f"loop_epoch_{clock}_s": loop,
                f"estimator_over_loop_{clock}": est / loop,
                f"attentive_over_plain_{clock}": est / plain if a else None,
            })
        row["estimator_epochs_s"] = times[(t, b, a, "estimator")]
        row["loop_epochs_s"] = times[(t, b, a, "loop")]
        rows.append(row)
        print(f"{t:14s} {b} attentive={a!s:5s} " + "  ".join(
            f"[{clock}] estimator {row[f'estimator_epoch_{clock}_s']:.3f} s loop {row[f'loop_epoch_{clock}_s']:.3f} s "
            f"ratio {row[f'estimator_over_loop_{clock}']:.3f}"
            + (f" attentive/plain {row[f'attentive_over_plain_{clock}']:.3f}" if a else "")
            for clock in ("wall", "cpu")))
    details = {"threads": 1, "reps": reps, "epochs_per_fit": epochs, "n_train": N_TRAIN,
               "model": f"{NUM_LAYERS}x{HIDDEN_DIM}",
               "estimator_params": {**estimator_configuration("per row", "per row", epochs), "random_state": "rep"},
               "targets": {"estimator_over_loop": 1.10, "attentive_over_plain": 1.05}, "rows": rows}
    path = write_result("train_epoch", *summarize(details), details=details, out_dir=args.out,
                        name="train_epoch" + ("_quick" if args.quick else ""))
    print("wrote", path)
    return details


def summarize(details: dict) -> tuple[list[Measurement], list[Ratio]]:
    """Seconds per epoch of each configuration, and its ratios to the loop and to the plain loss."""
    measurements, ratios = [], []
    targets = details["targets"]
    for row in details["rows"]:
        label = f"{row['task']} {row['backbone']} {'attentive' if row['attentive_loss'] else 'plain'}"
        plain = f"{row['task']} {row['backbone']} plain"
        for clock in ("wall", "cpu"):
            estimator, loop = f"{label} estimator epoch {clock}", f"{label} loop epoch {clock}"
            measurements += [Measurement(estimator, row[f"estimator_epoch_{clock}_s"], "s"),
                             Measurement(loop, row[f"loop_epoch_{clock}_s"], "s")]
            ratios.append(Ratio(f"{label} estimator / loop ({clock})", row[f"estimator_over_loop_{clock}"],
                                estimator, loop, f"<= {targets['estimator_over_loop']:g}"))
            if row["attentive_loss"]:
                ratios.append(Ratio(f"{row['task']} {row['backbone']} attentive / plain ({clock})",
                                    row[f"attentive_over_plain_{clock}"], estimator, f"{plain} estimator epoch {clock}",
                                    f"<= {targets['attentive_over_plain']:g}"))
    return measurements, ratios


if __name__ == "__main__":
    main()
