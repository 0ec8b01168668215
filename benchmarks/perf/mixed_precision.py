"""What ``mixed_precision="bfloat16"`` buys on a CPU: epoch time, prediction speed, accuracy.

Side by side in one process, one torch thread, repetitions interleaved so
that drift in machine load cancels:

- seconds per training epoch of GNNRegressor in the paper's configuration,
  the defaults when the committed results were measured, pinned
  (``get_preset("paper")`` with the attentive loss: GIN 5 x 300, "hu2019",
  batch 32, no descriptors) on 902 esol molecules, float32 against bfloat16
  (the first epoch of each fit dropped);
- prediction throughput (molecules per second) of one fitted model on the
  4,200 lipophilicity SMILES, graphs cached, float32 against bfloat16;
- accuracy: test RMSE on esol's random 8:1:1 split after ``--accuracy-epochs``
  epochs (best validation epoch kept), float32 against bfloat16, same seeds.

Usage: python -m benchmarks.perf.mixed_precision [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.perf.common import (
    Measurement, Ratio, estimator_params, load, median, paper_configuration, write_result,
)
from benchmarks.perf.train_epoch import EpochStamps, _intervals, dataset

from molgnba import GNNRegressor
from molgnba.featurize import featurize_smiles
from molgnba.model_selection import train_valid_test_split

PRECISIONS = {"float32": None, "bfloat16": "bfloat16"}


def epoch_seconds(precision, smiles, y, epochs, seed):
    stamps = EpochStamps()
    GNNRegressor(**paper_configuration(mixed_precision=precision, max_epochs=epochs), random_state=seed,
                 callbacks=[("stamps", stamps)]).fit(smiles, y)
    return _intervals(stamps.stamps)


def prediction_rate(model, smiles, reps):
    rates = []
    for _ in range(reps):
        start = time.perf_counter()
        model.predict(smiles)
        rates.append(len(smiles) / (time.perf_counter() - start))
    return rates


def test_rmse(precision, smiles, y, epochs, seed):
    train, valid, test = train_valid_test_split(len(smiles), fractions=(0.8, 0.1, 0.1), random_state=seed)
    pick = lambda rows: ([smiles[i] for i in rows], y[rows])  # noqa: E731
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = pick(train), pick(valid), pick(test)
    from molgnba.data import FixedValidationSplit

    valid_rows = np.arange(len(x_train), len(x_train) + len(x_valid))
    reg = GNNRegressor(**paper_configuration(mixed_precision=precision, max_epochs=epochs), random_state=seed,
                       train_split=FixedValidationSplit(valid_rows))
    reg.fit(x_train + x_valid, np.concatenate([y_train, y_valid]))
    return float(np.sqrt(np.mean((reg.predict(x_test) - y_test) ** 2))), reg.best_epoch_


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and epochs")
    parser.add_argument("--out", default=None)
    parser.add_argument("--accuracy-epochs", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    reps, epochs = (1, 3) if args.quick else (3, 4)
    accuracy_epochs = args.accuracy_epochs or (3 if args.quick else 30)
    seeds = args.seeds or ([0] if args.quick else [0, 1])

    smiles, y = dataset("regression")
    epochs_by = {name: [] for name in PRECISIONS}
    for rep in range(reps):
        order = list(PRECISIONS) if rep % 2 == 0 else list(PRECISIONS)[::-1]
        for name in order:
            epochs_by[name] += epoch_seconds(PRECISIONS[name], smiles, y, epochs, seed=rep)
        print(f"rep {rep}: " + ", ".join(f"{n} {median([e[0] for e in v]):.3f} s/epoch" for n, v in epochs_by.items()),
              flush=True)

    lipo_smiles, _ = load("lipophilicity")
    featurize_smiles(lipo_smiles)  # cached: the rate measures the network, as in a repeated screen
    model = GNNRegressor(**paper_configuration(max_epochs=1), random_state=0).fit(smiles, y)
    rates = {name: [] for name in PRECISIONS}
    for rep in range(reps + 1):
        order = list(PRECISIONS) if rep % 2 == 0 else list(PRECISIONS)[::-1]
        for name in order:
            model.set_params(mixed_precision=PRECISIONS[name])
            rates[name] += prediction_rate(model, lipo_smiles, 1)
    print("predict: " + ", ".join(f"{n} {median(v):.0f} mol/s" for n, v in rates.items()), flush=True)

    esol_smiles, esol_y = load("esol")
    esol_y = esol_y.astype(float)
    accuracy = {name: [] for name in PRECISIONS}
    for seed in seeds:
        for name in PRECISIONS:
            rmse, best = test_rmse(PRECISIONS[name], esol_smiles, esol_y, accuracy_epochs, seed)
            accuracy[name].append({"seed": seed, "test_rmse": rmse, "best_epoch": best})
            print(f"seed {seed} {name}: test RMSE {rmse:.3f} (best epoch {best})", flush=True)

    summary = {
        "epoch_wall_s": {n: median([e[0] for e in v]) for n, v in epochs_by.items()},
        "epoch_cpu_s": {n: median([e[1] for e in v]) for n, v in epochs_by.items()},
        "predict_molecules_per_s": {n: median(v) for n, v in rates.items()},
        "mean_test_rmse": {n: float(np.mean([r["test_rmse"] for r in v])) for n, v in accuracy.items()},
    }
    summary["bfloat16_epoch_speedup_wall"] = summary["epoch_wall_s"]["float32"] / summary["epoch_wall_s"]["bfloat16"]
    summary["bfloat16_epoch_speedup_cpu"] = summary["epoch_cpu_s"]["float32"] / summary["epoch_cpu_s"]["bfloat16"]
    summary["bfloat16_predict_speedup"] = (summary["predict_molecules_per_s"]["bfloat16"]
                                           / summary["predict_molecules_per_s"]["float32"])
    print({k: v for k, v in summary.items()}, flush=True)
    details = {"threads": 1, "reps": reps, "epochs_per_fit": epochs, "accuracy_epochs": accuracy_epochs,
               "seeds": seeds, "model": "GNNRegressor, the paper's configuration (gin, 5x300, attentive loss)",
               "estimator_params": estimator_params(model), "summary": summary,
               "epochs_s": epochs_by, "predict_rates": rates, "accuracy": accuracy}
    path = write_result("mixed_precision", *summarize(details), details=details, out_dir=args.out,
                        name="mixed_precision" + ("_quick" if args.quick else ""))
    print("wrote", path)
    return details


def summarize(details: dict) -> tuple[list[Measurement], list[Ratio]]:
    """Epoch time, prediction rate and test RMSE in each precision; bfloat16's speed-ups."""
    summary = details["summary"]
    measurements = []
    for precision in ("float32", "bfloat16"):
        measurements += [
            Measurement(f"{precision} epoch wall", summary["epoch_wall_s"][precision], "s"),
            Measurement(f"{precision} epoch cpu", summary["epoch_cpu_s"][precision], "s"),
            Measurement(f"{precision} predict", summary["predict_molecules_per_s"][precision], "molecules/s"),
            Measurement(f"{precision} mean test RMSE", summary["mean_test_rmse"][precision], "logS"),
        ]
    ratios = [
        Ratio("float32 / bfloat16 epoch (wall)", summary["bfloat16_epoch_speedup_wall"], "float32 epoch wall",
              "bfloat16 epoch wall"),
        Ratio("float32 / bfloat16 epoch (cpu)", summary["bfloat16_epoch_speedup_cpu"], "float32 epoch cpu",
              "bfloat16 epoch cpu"),
        Ratio("bfloat16 / float32 predict rate", summary["bfloat16_predict_speedup"], "bfloat16 predict",
              "float32 predict"),
    ]
    return measurements, ratios


if __name__ == "__main__":
    main()
