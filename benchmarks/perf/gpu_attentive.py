"""On CUDA: what the attentive loss costs per epoch, and whether it synchronises with the host.

Usage: python -m benchmarks.perf.gpu_attentive OUT_DIR [DATA_DIR]   (under a minute)

GNBALoss.forward_details once selected the tasks present in the batch with
boolean indexing (``task_losses[present]``, ``entropy[present]``); on CUDA
each such index is a device-to-host synchronisation. ``torch.where`` replaced
them in ad6da1b. The run recorded in
benchmarks/results/perf/gpu_attentive_h200.json compared that old loss with a
patched copy (its ``*_sync_free`` fields); since the library is the patched
version, this script now measures the library's loss alone: the number of
synchronisations per loss call (torch.cuda.set_sync_debug_mode, expected 0)
and seconds per epoch of GNNRegressor (GIN 5 x 300, esol 902 molecules,
batch 32: the paper's configuration, ``get_preset("paper")``, pinned) with the
plain and the attentive loss (``attentive_loss=True``, ``loss="auto"``),
interleaved; the parameters are written to the result.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmarks.perf.common import Measurement, Ratio, estimator_params, paper_configuration, write_result
from benchmarks.perf.gpu_speed import data_dir

from molgnba.losses import GNBALoss


def count_syncs(fn, *args) -> int:
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn(*args)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    return sum("synchroniz" in str(w.message) for w in caught)


def main(argv):
    from skorch.callbacks import Callback

    from molgnba import GNNRegressor
    from molgnba.featurize import featurize_smiles

    out_dir = Path(argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    esol = pd.read_csv(data_dir(argv) / "esol.csv")
    rows = np.random.RandomState(0).permutation(len(esol))[:902]
    smiles, y = esol.smiles.to_numpy()[rows].tolist(), esol.logSolubility.to_numpy()[rows]
    featurize_smiles(smiles)
    result = {"device_name": torch.cuda.get_device_name(0), "torch": torch.__version__}

    criterion = GNBALoss("regression", entropy_weight=1.0).cuda()
    pred = torch.randn(32, 1, device="cuda", requires_grad=True)
    target = torch.randn(32, 1, device="cuda")
    result["loss"] = float(criterion.forward_details(pred, target).loss.detach())
    result["syncs_per_call"] = count_syncs(criterion.forward_details, pred, target)
    print(json.dumps(result), flush=True)

    class Stamps(Callback):
        def initialize(self):
            self.t = []
            return self

        def on_epoch_end(self, net, **kwargs):
            torch.cuda.synchronize()
            self.t.append(time.perf_counter())

    variants = {"plain": False, "attentive": True}
    epochs = {name: [] for name in variants}
    start = time.perf_counter()
    for rep in range(3):
        for name, attentive in variants.items():
            if time.perf_counter() - start > 60:
                break
            stamps = Stamps()
            reg = GNNRegressor(**paper_configuration(attentive_loss=attentive, max_epochs=4), random_state=0,
                               device="cuda", callbacks=[("stamps", stamps)]).fit(smiles, y)
            result.setdefault("estimator_params", {})[name] = estimator_params(reg)
            epochs[name] += np.diff(stamps.t).tolist()
    result["epoch_s"] = {name: float(np.median(v)) for name, v in epochs.items() if v}
    result["epochs_timed"] = {name: len(v) for name, v in epochs.items()}
    result["attentive_over_plain"] = result["epoch_s"]["attentive"] / result["epoch_s"]["plain"]
    print(json.dumps(result, indent=1))
    print("wrote", write_result("gpu_attentive", *summarize(result), details=result, out_dir=out_dir))


def summarize(details: dict) -> tuple[list[Measurement], list[Ratio]]:
    """Seconds per CUDA epoch of each loss, host synchronisations per loss call; attentive / plain."""
    measurements = [Measurement(f"{name} epoch cuda", value, "s") for name, value in details["epoch_s"].items()]
    measurements.append(Measurement("attentive synchronisations per loss call", details["syncs_per_call"], "syncs"))
    ratios = [Ratio("attentive / plain epoch (cuda)", details["attentive_over_plain"], "attentive epoch cuda",
                    "plain epoch cuda")]
    return measurements, ratios


if __name__ == "__main__":
    main(sys.argv)
