"""What descriptors="rdkit2d" costs: fit time on esol with and without the RDKit descriptors.

One random 80/10/10 split of esol (seed 0), GNNRegressor with the
"chemprop-like" preset and the plain loss (``attentive_loss=False``), one
torch thread, validating on the split's tenth through FixedValidationSplit.
The process-wide graph cache is cleared before every fit, so each fit
featurizes (and computes the descriptors) from scratch, as a first fit in a
fresh process does. The two variants alternate, ``--repeats`` times each.
Reported: fit wall and CPU seconds, the featurization alone (graphs, and
graphs with descriptors), and test RMSE for information.

Usage: python -m benchmarks.perf.descriptor_cost [--epochs 50] [--repeats 1] [--out DIR]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks.perf.common import Measurement, Ratio, Stopwatch, load, median, write_result
from molgnba import GNNRegressor
from molgnba.data import FixedValidationSplit
from molgnba.featurize import featurize_smiles, graph_cache
from molgnba.featurize._descriptors import DescriptorGraphFeaturizer
from molgnba.model_selection import train_valid_test_split
from molgnba.presets import get_preset


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    smiles, y = load("esol")
    train, valid, test = train_valid_test_split(len(smiles), fractions=(0.8, 0.1, 0.1), random_state=0)
    fit_rows = np.concatenate([train, valid])
    fit_smiles, fit_y = [smiles[k] for k in fit_rows], y[fit_rows]
    test_smiles = [smiles[k] for k in test]

    featurization = {}
    for name, featurizer in (("graphs", "extended"), ("graphs+rdkit2d", DescriptorGraphFeaturizer("extended"))):
        with Stopwatch() as watch:
            featurize_smiles(fit_smiles, featurizer, cache=None)
        featurization[name] = {"wall": watch.wall, "cpu": watch.cpu}

    runs = {None: [], "rdkit2d": []}
    for repeat in range(args.repeats):
        order = [None, "rdkit2d"] if repeat % 2 == 0 else ["rdkit2d", None]
        for descriptors in order:
            graph_cache.clear()
            reg = GNNRegressor(
                **{**get_preset("chemprop-like"), "max_epochs": args.epochs, "descriptors": descriptors},
                attentive_loss=False, random_state=0,
                train_split=FixedValidationSplit(np.arange(len(train), len(fit_rows))),
            )
            with Stopwatch() as watch:
                reg.fit(fit_smiles, fit_y)
            rmse = float(np.sqrt(np.mean((reg.predict(test_smiles) - y[test]) ** 2)))
            runs[descriptors].append({"wall": watch.wall, "cpu": watch.cpu, "test_rmse": rmse,
                                      "best_epoch": reg.best_epoch_})
            print(descriptors, runs[descriptors][-1], flush=True)

    def med(descriptors, key):
        return median([run[key] for run in runs[descriptors]])

    measurements = [
        Measurement("fit_wall_without", med(None, "wall"), "s"),
        Measurement("fit_wall_rdkit2d", med("rdkit2d", "wall"), "s"),
        Measurement("fit_cpu_without", med(None, "cpu"), "s"),
        Measurement("fit_cpu_rdkit2d", med("rdkit2d", "cpu"), "s"),
        Measurement("featurize_cpu_graphs", featurization["graphs"]["cpu"], "s"),
        Measurement("featurize_cpu_graphs_rdkit2d", featurization["graphs+rdkit2d"]["cpu"], "s"),
        Measurement("test_rmse_without", med(None, "test_rmse"), "logS"),
        Measurement("test_rmse_rdkit2d", med("rdkit2d", "test_rmse"), "logS"),
    ]
    ratios = [
        Ratio("fit_cpu_rdkit2d_over_without", med("rdkit2d", "cpu") / med(None, "cpu"),
              "fit_cpu_rdkit2d", "fit_cpu_without"),
        Ratio("fit_wall_rdkit2d_over_without", med("rdkit2d", "wall") / med(None, "wall"),
              "fit_wall_rdkit2d", "fit_wall_without"),
    ]
    details = {"epochs": args.epochs, "repeats": args.repeats, "n_fit": len(fit_rows), "n_test": len(test),
               "featurization": featurization, "runs": {str(k): v for k, v in runs.items()}}
    print(write_result("descriptor_cost", measurements, ratios, details, out_dir=args.out))


if __name__ == "__main__":
    main()
