"""How good are molgnba's uncertainties? Against chemprop's ensemble, on the same splits.

    python -m benchmarks.accuracy.uncertainty run --datasets esol --splits random scaffold --seeds 0
    python -m benchmarks.accuracy.uncertainty report

For each regression split every method predicts the test molecules with a standard
deviation, and three numbers say how useful it is:

- Spearman correlation between |error| and std (do larger stds mark worse predictions?);
- miscalibration area: the area between the observed fraction of test molecules inside
  the central p-interval of N(mean, std) and p itself, over p in [0, 1] (0 is perfect,
  0.5 the worst; as in chemprop's ``miscalibration_area``);
- Gaussian negative log-likelihood, mean over the test molecules (lower is better).

Methods: molgnba's ``uncertainty="ensemble"`` (``n_ensemble`` members), ``"mve"`` and
``"dropout"``, each on the ``chemprop-like`` preset with the plain loss, and chemprop's own
ensemble (``chemprop train --ensemble-size``, std across the members). Each finished run is
one JSON under ``benchmarks/results/uncertainty/`` (with its test means, stds and targets:
about a hundred values each, what the calibration plot needs), and reruns skip it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy import stats

from benchmarks.accuracy.splits import make_split

RESULTS = Path(__file__).resolve().parents[1] / "results" / "uncertainty"
ENSEMBLE_SIZE = 3
METHODS = {
    "molgnba-ensemble": {"n_ensemble": ENSEMBLE_SIZE, "uncertainty": "ensemble"},
    "molgnba-mve": {"uncertainty": "mve"},
    "molgnba-dropout": {"dropout": 0.1, "uncertainty": "dropout"},
    "chemprop-ensemble": None,
}


def observed_fractions(y, mean, std, levels):
    """Fraction of ``y`` inside the central interval of probability ``p`` of N(mean, std), per level."""
    z = np.abs(y - mean) / std
    return np.array([np.mean(z <= stats.norm.ppf(0.5 + p / 2)) for p in levels])


def uncertainty_scores(y, mean, std) -> dict:
    y, mean, std = (np.asarray(v, dtype=float) for v in (y, mean, std))
    std = np.maximum(std, 1e-12)
    levels = np.linspace(0, 1, 101)
    gap = np.abs(observed_fractions(y, mean, std, levels) - levels)
    return {
        "rmse": float(np.sqrt(np.mean((y - mean) ** 2))),
        "spearman_error_std": float(stats.spearmanr(np.abs(y - mean), std).statistic),
        "miscalibration_area": float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(levels))),
        "nll": float(np.mean(0.5 * np.log(2 * np.pi * std**2) + (y - mean) ** 2 / (2 * std**2))),
    }


def fit_method(method: str, split, threads: int = 1) -> dict:
    test_smiles, test_y = split.part("test")
    start = time.perf_counter()
    if method == "chemprop-ensemble":
        from benchmarks.accuracy.models import run_chemprop

        result = run_chemprop(split, threads, ensemble_size=ENSEMBLE_SIZE)
        members = np.asarray(result["test_member_predictions"], dtype=float)
        mean, std = members.mean(0), members.std(0)
    else:
        import torch

        from molgnba import GNNRegressor
        from molgnba.presets import get_preset

        torch.set_num_threads(threads)
        params = {**get_preset("chemprop-like"), "attentive_loss": False, "random_state": split.seed,
                  **METHODS[method]}
        rows = np.concatenate([split.train, split.valid])
        model = GNNRegressor(**params).fit([split.smiles[k] for k in rows], split.y[rows])
        mean, std = model.predict(test_smiles, return_std=True)
    fit_seconds = time.perf_counter() - start
    return {
        **uncertainty_scores(test_y, mean, std), "fit_and_predict_seconds": fit_seconds,
        "test_y": np.asarray(test_y).round(4).tolist(), "test_mean": np.round(mean, 4).tolist(),
        "test_std": np.round(std, 4).tolist(),
    }


def run_one(method, dataset, kind, seed, data_dir, threads, results) -> str:
    path = Path(results) / dataset / kind / f"{method}-seed{seed}.json"
    if path.exists():  # finished meanwhile by another run of this command
        return f"{path.name}: already there, skipped"
    record = fit_method(method, make_split(dataset, kind, seed, data_dir), threads)
    record.update(method=method, dataset=dataset, split=kind, seed=seed, ensemble_size=ENSEMBLE_SIZE,
                  threads=threads, date=datetime.now(timezone.utc).strftime("%Y-%m-%d"),
                  machine=f"{os.cpu_count()} cores")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(record, indent=1) + "\n")
    path.with_suffix(".tmp").replace(path)
    return f"{path.name}: spearman {record['spearman_error_std']:.2f}, area {record['miscalibration_area']:.3f}"


def command_run(args) -> None:
    plan = [(method, dataset, kind, seed) for seed in args.seeds for dataset in args.datasets
            for kind in args.splits for method in args.methods
            if not (args.results / dataset / kind / f"{method}-seed{seed}.json").exists()]
    print(f"{len(plan)} runs to go", flush=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, *cell, args.data, args.threads, str(args.results)) for cell in plan]
        for future in as_completed(futures):
            print(future.result(), flush=True)


def command_report(args) -> None:
    runs = [json.loads(p.read_text()) for p in sorted(args.results.rglob("*-seed*.json"))]
    fields = ["rmse", "spearman_error_std", "miscalibration_area", "nll", "fit_and_predict_seconds"]
    print("| dataset | split | seed | method | RMSE | Spearman of abs. error and std | miscalibration area | NLL | seconds |")
    print("|" + " --- |" * 9)
    for run in runs:
        values = " | ".join(f"{run[f]:.0f}" if f.endswith("seconds") else f"{run[f]:.3f}" for f in fields)
        print(f"| {run['dataset']} | {run['split']} | {run['seed']} | {run['method']} | {values} |")
    if args.figure:
        plot_calibration(runs, args.figure)


def plot_calibration(runs, filename) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(run["dataset"], run["split"], run["seed"]) for run in runs})
    columns = min(2, len(panels))  # a grid two panels wide stays readable on a page
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 4.2 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    levels = np.linspace(0, 1, 101)
    colours = {method: f"C{k}" for k, method in enumerate(sorted({run["method"] for run in runs}))}
    for ax, (dataset, kind, seed) in zip(axes.flat, panels):
        for run in runs:
            if (run["dataset"], run["split"], run["seed"]) == (dataset, kind, seed):
                observed = observed_fractions(np.array(run["test_y"]), np.array(run["test_mean"]),
                                              np.maximum(np.array(run["test_std"]), 1e-12), levels)
                ax.plot(levels, observed, color=colours[run["method"]],
                        label=f"{run['method']} ({run['miscalibration_area']:.2f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
        ax.set(title=f"{dataset}, {kind} split, seed {seed}", xlabel="expected fraction in interval",
               ylabel="observed fraction")
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(filename, dpi=110)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy.uncertainty")
    parser.add_argument("--results", type=Path, default=RESULTS)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    run.add_argument("--datasets", nargs="+", default=["esol", "lipophilicity"])
    run.add_argument("--splits", nargs="+", default=["random", "scaffold"])
    run.add_argument("--seeds", nargs="+", type=int, default=[0])
    run.add_argument("--data", default=os.environ.get("MOLGNBA_DATA", "../shared/data"))
    run.add_argument("--jobs", type=int, default=2)
    run.add_argument("--threads", type=int, default=1)
    run.set_defaults(handler=command_run)
    report = commands.add_parser("report")
    report.add_argument("--figure", default=None, help="write the calibration plot here (PNG)")
    report.set_defaults(handler=command_report)
    args = parser.parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main()
