"""Seconds per training epoch of each backbone under the default recipe, side by side.

The accuracy benchmark's fit times come from fits that shared a loaded machine
with other fits on other days; this measures the backbones' training cost
alone, interleaved in one process on one torch thread, so that their ratio is
not the machine's mood. Every fit is ``GNNRegressor(backbone=B, max_epochs=4)``
(everything else the estimator's defaults, descriptors included) on the same
lipophilicity molecules; the graphs come from molgnba's graph cache after the
first fit, so featurization is counted once, in ``featurize``. An epoch is
skorch's ``dur`` (training and validation); the first epoch of each fit is
dropped. Reported: the median epoch per backbone and each one's ratio to
``"dmpnn"``, the median of the per-repetition ratios.

A backbone may carry options of its network, ``name:key=value[,key=value]``
(``gin:mlp_ratio=1`` is ``GNNRegressor(backbone="gin", mlp_ratio=1)``).

Usage: python -m benchmarks.perf.backbone_epoch [--backbones dmpnn gin gin:mlp_ratio=2] [--repeats 3] [--n 2000] [--out DIR]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.perf.common import Measurement, Ratio, load, median, write_result
from molgnba import GNNRegressor


def estimator_params(spec: str) -> dict:
    """``"gin:mlp_ratio=1.5"`` -> ``{"backbone": "gin", "mlp_ratio": 1.5}``.

    An option that is an estimator parameter is set as one; any other goes to the network
    (``"gatv2:heads=4"`` -> ``module__heads=4``).
    """
    backbone, _, options = spec.partition(":")
    params = {"backbone": backbone}
    top_level = GNNRegressor().get_params(deep=False)
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        number = float(value)
        params[key if key in top_level else f"module__{key}"] = int(number) if number.is_integer() else number
    return params


def epoch_seconds(backbone: str, smiles, y) -> tuple[list[float], float]:
    """Durations of epochs 2-4 of one fit, and the fit's wall seconds."""
    start = time.perf_counter()
    estimator = GNNRegressor(**estimator_params(backbone), max_epochs=4, random_state=0).fit(smiles, y)
    return [epoch["dur"] for epoch in estimator.history_[1:]], time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbones", nargs="+", default=["dmpnn", "gin"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=2000, help="lipophilicity molecules fitted (the first n)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    smiles, y = load("lipophilicity")
    smiles, y = smiles[: args.n], y[: args.n]

    start = time.perf_counter()
    epoch_seconds(args.backbones[0], smiles[:64], y[:64])  # warm-up: imports, first allocations
    first = time.perf_counter()
    epoch_seconds(args.backbones[0], smiles, y)
    featurize_and_first_fit = time.perf_counter() - first

    epochs = {backbone: [] for backbone in args.backbones}
    fits = {backbone: [] for backbone in args.backbones}
    for repeat in range(args.repeats):
        order = args.backbones if repeat % 2 == 0 else args.backbones[::-1]
        for backbone in order:
            durations, wall = epoch_seconds(backbone, smiles, y)
            epochs[backbone].append(median(durations))
            fits[backbone].append(wall)
            print(f"repeat {repeat} {backbone}: epoch {median(durations):.2f} s, fit {wall:.1f} s", flush=True)

    reference = args.backbones[0]
    measurements = [Measurement(f"{b} epoch", median(epochs[b]), "s") for b in args.backbones]
    ratios = [Ratio(f"{b} / {reference} epoch", median(np.divide(epochs[b], epochs[reference])),
                    f"{b} epoch", f"{reference} epoch") for b in args.backbones[1:]]
    path = write_result(
        "backbone_epoch", measurements, ratios, out_dir=args.out,
        details={"molecules": args.n, "repeats": args.repeats, "epochs": epochs, "fits": fits,
                 "first_fit_with_featurization_s": featurize_and_first_fit,
                 "total_s": time.perf_counter() - start},
    )
    for ratio in ratios:
        print(f"{ratio.name}: {ratio.value:.2f}")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
