"""molgnba against chemprop: seconds per epoch and time to a validation RMSE, same split, same machine.

Datasets esol and lipophilicity, one random 80/10/10 split (seed 0; the test
tenth is not used). molgnba: GNNRegressor with the defaults of the time of
measurement, pinned (``get_preset("paper")`` with the guarded attentive loss:
GIN 5 x 300, batch 32, Adam 1e-3), validating on the same 10 % through
FixedValidationSplit. chemprop: its defaults (D-MPNN, d_h 300, depth 3,
Noam schedule) with batch 32, run by chemprop_side.py in chemprop's own
virtual environment (benchmarks/perf/setup_chemprop.sh; $CHEMPROP_PYTHON,
default /tmp/chemprop-venv/bin/python). One torch thread on both sides.

An epoch is training plus the validation pass; data preparation before the
first epoch is reported apart (molgnba featurizes once, chemprop builds its
graphs in the data loader every epoch, so for chemprop it is inside the
epoch). "Time to RMSE r" is the cumulative epoch time at the first epoch
whose validation RMSE is at most r.

Usage: python -m benchmarks.perf.chemprop_compare [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback

from benchmarks.perf.common import Measurement, Ratio, estimator_params, load, median, paper_configuration, write_result
from molgnba import GNNRegressor
from molgnba.data import FixedValidationSplit
from molgnba.featurize import featurize_smiles

CHEMPROP_PYTHON = os.environ.get("CHEMPROP_PYTHON", "/tmp/chemprop-venv/bin/python")
THRESHOLDS = {"esol": [1.2, 1.0, 0.8], "lipophilicity": [1.1, 1.0, 0.9]}
BATCH_SIZE = 32


def split(name, seed=0):
    smiles, y = load(name)
    graphs, _ = featurize_smiles(smiles, cache=None)
    keep = [k for k, g in enumerate(graphs) if g is not None]
    rows = np.random.RandomState(seed).permutation(keep)
    n_train, n_valid = int(0.8 * len(rows)), int(0.1 * len(rows))
    train, valid = rows[:n_train], rows[n_train:n_train + n_valid]
    return [smiles[k] for k in train], y[train].astype(float), [smiles[k] for k in valid], y[valid].astype(float)


class Spans(Callback):
    def initialize(self):
        self.spans = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, net, **kwargs):
        self.spans.append((time.perf_counter() - self.start[0], time.process_time() - self.start[1]))


def run_molgnba(train_smiles, train_y, valid_smiles, valid_y, epochs):
    from molgnba import featurize

    featurize.graph_cache.clear()
    spans = Spans()
    start = time.perf_counter()
    # The regressor's defaults when the comparison was measured (2026-11): the paper's
    # configuration with the guarded attention.
    reg = GNNRegressor(**paper_configuration(max_epochs=epochs, batch_size=BATCH_SIZE, loss="gnba-guarded"),
                       random_state=0,
                       train_split=FixedValidationSplit(np.arange(len(train_smiles), len(train_smiles) + len(valid_smiles))),
                       callbacks=[("spans", spans)])
    reg.fit(train_smiles + valid_smiles, np.concatenate([train_y, valid_y]))
    total = time.perf_counter() - start
    return {
        "epoch_wall_s": [w for w, c in spans.spans], "epoch_cpu_s": [c for w, c in spans.spans],
        "valid_rmse": [row["valid_rmse"] for row in reg.history_],
        "prep_s": total - sum(w for w, c in spans.spans),  # featurization, checks, set-up
        "n_parameters": sum(p.numel() for p in reg.module_.parameters()) + sum(p.numel() for p in reg.criterion_.parameters()),
        "estimator_params": estimator_params(reg),
    }


def run_chemprop(train_smiles, train_y, valid_smiles, valid_y, epochs, workdir):
    train_csv, valid_csv = Path(workdir) / "train.csv", Path(workdir) / "valid.csv"
    pd.DataFrame({"smiles": train_smiles, "y": train_y}).to_csv(train_csv, index=False)
    pd.DataFrame({"smiles": valid_smiles, "y": valid_y}).to_csv(valid_csv, index=False)
    proc = subprocess.run(
        [CHEMPROP_PYTHON, str(Path(__file__).with_name("chemprop_side.py")), str(train_csv), str(valid_csv),
         str(epochs), str(BATCH_SIZE), "1"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"chemprop failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_summary(run, thresholds):
    wall, cpu, rmse = np.array(run["epoch_wall_s"]), np.array(run["epoch_cpu_s"]), np.array(run["valid_rmse"])
    out = {
        "median_epoch_wall_s": median(wall[1:] if len(wall) > 1 else wall),
        "median_epoch_cpu_s": median(cpu[1:] if len(cpu) > 1 else cpu),
        "best_valid_rmse": float(np.nanmin(rmse)), "epochs": len(rmse), "prep_s": run["prep_s"],
        "time_to_rmse": {},
    }
    for r in thresholds:
        hit = np.flatnonzero(rmse <= r)
        out["time_to_rmse"][str(r)] = None if not len(hit) else {
            "epoch": int(hit[0]) + 1, "wall_s": float(wall[: hit[0] + 1].sum()), "cpu_s": float(cpu[: hit[0] + 1].sum())}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    details = {"threads": 1, "batch_size": BATCH_SIZE}
    name = "chemprop_compare" + ("_quick" if args.quick else "")
    if not Path(CHEMPROP_PYTHON).exists():
        details["error"] = (f"{CHEMPROP_PYTHON} not found: run benchmarks/perf/setup_chemprop.sh "
                            "(or set CHEMPROP_PYTHON)")
        print(details["error"])
        print("wrote", write_result("chemprop_compare", [], details=details, out_dir=args.out, name=name))
        return details
    epochs = {"esol": 3, "lipophilicity": 2} if args.quick else {"esol": 30, "lipophilicity": 12}
    with tempfile.TemporaryDirectory() as workdir:
        for dataset in ("esol", "lipophilicity"):
            data = split(dataset)
            runs = {}
            # chemprop first for esol, molgnba first for lipophilicity: load drift falls on both.
            order = ["chemprop", "molgnba"] if dataset == "esol" else ["molgnba", "chemprop"]
            for side in order:
                if side == "molgnba":
                    runs[side] = run_molgnba(*data, epochs[dataset])
                else:
                    runs[side] = run_chemprop(*data, epochs[dataset], workdir)
            summary = {side: run_summary(run, THRESHOLDS[dataset]) for side, run in runs.items()}
            summary["molgnba_over_chemprop_epoch_wall"] = (
                summary["molgnba"]["median_epoch_wall_s"] / summary["chemprop"]["median_epoch_wall_s"])
            summary["molgnba_over_chemprop_epoch_cpu"] = (
                summary["molgnba"]["median_epoch_cpu_s"] / summary["chemprop"]["median_epoch_cpu_s"])
            details[dataset] = {"n_train": len(data[0]), "n_valid": len(data[2]), "summary": summary, "runs": runs}
            print(dataset, json.dumps(summary, indent=1), flush=True)
    print("wrote", write_result("chemprop_compare", *summarize(details), details=details, out_dir=args.out, name=name))
    return details


def summarize(details: dict) -> tuple[list[Measurement], list[Ratio]]:
    """Per dataset and side: epoch time and best validation RMSE; molgnba / chemprop epoch time."""
    measurements, ratios = [], []
    for dataset in ("esol", "lipophilicity"):
        if dataset not in details:
            continue
        summary = details[dataset]["summary"]
        for side in ("molgnba", "chemprop"):
            measurements += [
                Measurement(f"{dataset} {side} epoch wall", summary[side]["median_epoch_wall_s"], "s"),
                Measurement(f"{dataset} {side} epoch cpu", summary[side]["median_epoch_cpu_s"], "s"),
                Measurement(f"{dataset} {side} best valid RMSE", summary[side]["best_valid_rmse"], "target units"),
            ]
        for clock in ("wall", "cpu"):
            ratios.append(Ratio(f"{dataset} molgnba / chemprop epoch ({clock})",
                                summary[f"molgnba_over_chemprop_epoch_{clock}"], f"{dataset} molgnba epoch {clock}",
                                f"{dataset} chemprop epoch {clock}"))
    return measurements, ratios


if __name__ == "__main__":
    main()
