"""GPU checks of the default estimators (issue 25's recipe), run on a lent GPU machine only.

The paper-sized GIN was checked on CUDA before (benchmarks/gpu_smoke.py); this
covers what the new default adds: the D-MPNN backbone, descriptors joined to
the readout, the noam schedule, ``n_ensemble`` members trained in parallel
worker processes, and ``mixed_precision`` through the option.

1. ``GNNClassifier()`` on bbbp (600 molecules, 5 epochs) on CUDA: every
   parameter and the descriptor statistics' use stay on the GPU, the
   probabilities are finite and sum to one (moving a fitted GPU model to the
   CPU is the ``gpu``-marked tests' part).
2. ``GNNRegressor(n_ensemble=3, n_jobs=3)`` on CUDA: three members trained in
   joblib worker processes come back with their networks on the GPU and give
   a finite ensemble mean and spread.
3. Seconds per epoch of ``GNNRegressor()`` on esol: CPU (all cores) against
   CUDA in fp32 and under ``mixed_precision="bfloat16"``, one fit each (indicative).

Usage: python benchmarks/gpu_default_check.py DATA_DIR OUT_DIR; writes OUT_DIR/gpu_default_check.json.
"""

import json
import sys
import time

import numpy as np
import pandas as pd
import torch

from molgnba import GNNClassifier, GNNRegressor

data_dir, out_dir = sys.argv[1], sys.argv[2]
result = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "cpu_threads": torch.get_num_threads()}

bbbp = pd.read_csv(f"{data_dir}/bbbp.csv")
smiles, y = bbbp.smiles.tolist(), bbbp.p_np.to_numpy()
clf = GNNClassifier(max_epochs=5, random_state=0, device="cuda").fit(smiles[:600], y[:600])
on_gpu = [p.is_cuda for p in clf.module_.parameters()]
proba = clf.predict_proba(smiles[600:800])
result["classifier"] = {
    "all_parameters_on_cuda": all(on_gpu),
    "proba_finite": bool(np.isfinite(proba).all()),
    "proba_rows_sum_to_one": bool(np.allclose(proba.sum(1), 1, atol=1e-5)),
    "best_epoch": clf.best_epoch_,
}
print("classifier:", result["classifier"], flush=True)

esol = pd.read_csv(f"{data_dir}/esol.csv")
smiles, y = esol.smiles.tolist(), esol.logSolubility.to_numpy()
ensemble = GNNRegressor(n_ensemble=3, n_jobs=3, uncertainty="ensemble", max_epochs=3, random_state=0, device="cuda").fit(smiles[:800], y[:800])
mean, std = ensemble.predict(smiles[800:], return_std=True)
result["ensemble"] = {
    "members_on_cuda": [next(m.module_.parameters()).is_cuda for m in ensemble.estimators_],
    "finite": bool(np.isfinite(mean).all() and np.isfinite(std).all()),
    "spread_positive": bool((std > 0).all()),
}
print("ensemble:", result["ensemble"], flush=True)

timings = {}
for label, params in [("cpu", {"device": "cpu"}), ("cuda fp32", {"device": "cuda"}),
                      ("cuda bfloat16", {"device": "cuda", "mixed_precision": "bfloat16"})]:
    start = time.perf_counter()
    reg = GNNRegressor(max_epochs=4, random_state=0, **params).fit(smiles, y)
    durations = [epoch["dur"] for epoch in reg.history_]
    timings[label] = {"median_epoch_s": float(np.median(durations[1:])), "fit_s": time.perf_counter() - start,
                      "valid_rmse_epoch4": float(reg.history_[-1]["valid_rmse"])}
    print(label, timings[label], flush=True)
result["default_regressor_esol_4_epochs"] = timings
with open(f"{out_dir}/gpu_default_check.json", "w") as f:
    json.dump(result, f, indent=1)
