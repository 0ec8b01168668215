"""What descriptors="rdkit2d" costs: fit time on esol with and without the RDKit descriptors.

One random 80/10/10 split of esol (seed 0), GNNRegressor with the
"chemprop-like" preset and the plain loss (``attentive_loss=False``), one
torch thread, validating on the split's tenth through FixedValidationSplit.
The process-wide graph cache is cleared before every fit, so each fit
featurizes (and computes the descriptors) from scratch, as a first fit in a
fresh process does. The two variants alternate, ``--repeats`` times each.
Reported: fit wall and CPU seconds, the featurization alone (graphs, and
graphs with descriptors), and test RMSE for information.

``--featurize-only N``: no fits; the featurization of the first N SMILES of
esol and of lipophilicity (small and drug-sized molecules), "extended" graphs
alone against the same graphs with the RDKit descriptors (what the default
estimators compute per new molecule), best of 3, one thread; a few seconds
per 100 molecules. Written as ``descriptor_featurize.json``.

Usage: python -m benchmarks.perf.descriptor_cost [--epochs 50] [--repeats 1] [--featurize-only N] [--out DIR]
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
    parser.add_argument("--featurize-only", type=int, default=None, metavar="N",
                        help="time the featurization of N molecules of esol and lipophilicity, no fits")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.featurize_only is not None:
        return featurize_only(args.featurize_only, args.out)

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


def featurize_only(n_molecules: int, out_dir) -> dict:
    """CPU seconds per molecule of the graphs alone and of the graphs with descriptors."""
    variants = {"graphs": "extended", "graphs+rdkit2d": DescriptorGraphFeaturizer("extended")}
    details = {"n_molecules": n_molecules, "featurizer": "extended", "repeats": 3, "datasets": {}}
    measurements, ratios = [], []
    for dataset in ("esol", "lipophilicity"):
        smiles = load(dataset)[0][:n_molecules]
        times = {}
        for name, featurizer in variants.items():
            runs = []
            for _ in range(3):
                with Stopwatch() as watch:
                    featurize_smiles(smiles, featurizer, cache=None)
                runs.append({"wall": watch.wall, "cpu": watch.cpu})
            times[name] = {"cpu": min(run["cpu"] for run in runs), "wall": min(run["wall"] for run in runs), "runs": runs}
            measurements.append(Measurement(f"{dataset} {name} CPU per molecule", 1e3 * times[name]["cpu"] / len(smiles),
                                            "ms"))
        ratios.append(Ratio(f"{dataset} graphs+rdkit2d / graphs (CPU)", times["graphs+rdkit2d"]["cpu"]
                            / times["graphs"]["cpu"], measurements[-1].name, measurements[-2].name))
        details["datasets"][dataset] = times
        print(dataset, {name: round(1e3 * t["cpu"] / len(smiles), 2) for name, t in times.items()}, "ms CPU per molecule",
              flush=True)
    print(write_result("descriptor_cost", measurements, ratios, details, out_dir=out_dir, name="descriptor_featurize"))
    return details


if __name__ == "__main__":
    main()
