"""GPU checks run on a lent GPU machine (never in the test suite).

1. A fit with device="cuda" keeps the network, the batches and the attentive
   loss on the GPU, and its predictions match the same model evaluated on CPU.
2. The fitted GPU estimator is pickled to OUT/gpu_fitted.pkl, so that loading
   it on a CPU-only machine can be checked there.
3. Seconds per epoch of the paper-sized GIN on esol, CPU and GPU side by side.

Usage: python benchmarks/gpu_smoke.py DATA_DIR OUT_DIR
"""

import pickle
import sys
import time

import numpy as np
import pandas as pd
import torch

from molgnba import GNNRegressor

data_dir, out_dir = sys.argv[1], sys.argv[2]
frame = pd.read_csv(f"{data_dir}/esol.csv")
smiles, y = frame.smiles.tolist(), frame.logSolubility.to_numpy()
print("cuda available:", torch.cuda.is_available(), torch.cuda.get_device_name(0))

reg = GNNRegressor(num_layers=3, hidden_dim=64, max_epochs=3, random_state=0, device="cuda").fit(smiles[:800], y[:800])
assert next(reg.module_.parameters()).is_cuda and next(reg.criterion_.parameters()).is_cuda
pred_gpu = reg.predict(smiles[800:])
with open(f"{out_dir}/gpu_fitted.pkl", "wb") as f:
    pickle.dump(reg, f)
np.save(f"{out_dir}/gpu_fitted_predictions.npy", pred_gpu)
print("gpu fit ok; predictions finite:", np.isfinite(pred_gpu).all())

auto = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=1, device="auto").fit(smiles[:200], y[:200])
print("device='auto' resolved to", auto.device_, "; param device", next(auto.module_.parameters()).device)

for device in ("cpu", "cuda"):
    for backbone in ("gin", "gat"):
        est = GNNRegressor(backbone=backbone, max_epochs=3, random_state=0, device=device)
        start = time.perf_counter()
        est.fit(smiles[:1000], y[:1000])
        durations = [row["dur"] for row in est.history_]
        print(f"epoch seconds {device} {backbone}: {np.round(durations, 3).tolist()} (threads {torch.get_num_threads()})")
