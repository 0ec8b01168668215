"""CPU against CUDA on a lent GPU machine: epoch time, prediction throughput, mixed precision.

Usage: python -m benchmarks.perf.gpu_speed OUT_DIR [DATA_DIR]

DATA_DIR (or $MOLGNBA_DATA) holds esol.csv and lipo.csv; by default
.benchdata/ then ../shared/data/. Writes OUT_DIR/gpu_speed.json. Meant to
finish within two minutes; each part is skipped once 100 s have passed.

The model is the paper's configuration, the estimators' defaults when the
committed results were measured (``get_preset("paper")``: "hu2019" features,
one linear layer, constant rate, batch 32, no descriptors), pinned; its
parameters are written to the result (``estimator_params``).

1. Seconds per epoch of GNNRegressor (GIN or GAT 5 x 300, batch 32, esol 902 molecules,
   10 % validation), with and without the attentive loss, on
   CPU (all cores) and on CUDA; medians of epochs 2-3 of a 3-epoch fit.
2. Prediction throughput on CUDA (lipophilicity, 4200 molecules): the
   network alone on featurized graphs, fp32 against bf16/fp16 autocast
   (with the largest deviation from fp32), and end to end (SMILES in,
   predictions out; featurization included) with molgnba.screening.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmarks.perf.common import Measurement, Ratio, estimator_params, paper_configuration, write_result

START = time.perf_counter()
BUDGET_S = 100


def data_dir(argv) -> Path:
    candidates = [argv[2]] if len(argv) > 2 else []
    candidates += [os.environ.get("MOLGNBA_DATA"), ".benchdata", "../shared/data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "esol.csv").exists():
            return Path(candidate)
    raise SystemExit("esol.csv not found: pass DATA_DIR or set MOLGNBA_DATA")


def left() -> bool:
    return time.perf_counter() - START < BUDGET_S


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def main(argv):
    from skorch.callbacks import Callback
    from torch_geometric.data import Batch

    from molgnba import GNNRegressor
    from molgnba.featurize import featurize_smiles
    from molgnba.screening import predict_iter

    out_dir = Path(argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    data = data_dir(argv)
    esol = pd.read_csv(data / "esol.csv")
    rows = np.random.RandomState(0).permutation(len(esol))[:902]
    smiles, y = esol.smiles.to_numpy()[rows].tolist(), esol.logSolubility.to_numpy()[rows]
    lipo = pd.read_csv(data / "lipo.csv").smiles.tolist()
    cuda = torch.cuda.is_available()
    result = {
        "cuda": cuda, "device_name": torch.cuda.get_device_name(0) if cuda else None,
        "torch": torch.__version__, "cpu_threads": torch.get_num_threads(), "nproc": os.cpu_count(),
        "epochs": [], "predict": {},
    }
    print(json.dumps({k: result[k] for k in ("cuda", "device_name", "torch", "cpu_threads", "nproc")}), flush=True)

    class Stamps(Callback):
        def initialize(self):
            self.t = []
            return self

        def on_epoch_end(self, net, **kwargs):
            sync(net.device_)
            self.t.append(time.perf_counter())

    featurize_smiles(smiles)  # the graph cache is warm for every fit
    devices = ["cpu", "cuda"] if cuda else ["cpu"]
    for backbone in ("gin", "gat"):
        for attentive in (True, False):
            for device in devices:
                if not left():
                    break
                stamps = Stamps()
                reg = GNNRegressor(**paper_configuration(backbone=backbone, attentive_loss=attentive, max_epochs=3),
                                   random_state=0, device=device, callbacks=[("stamps", stamps)]).fit(smiles, y)
                result.setdefault("estimator_params", estimator_params(reg))  # backbone, loss: per row
                epoch = float(np.median(np.diff(stamps.t)))
                result["epochs"].append({"backbone": backbone, "attentive_loss": attentive, "device": device,
                                         "epoch_s": epoch})
                print(f"epoch {backbone} attentive={attentive} {device}: {epoch:.3f} s", flush=True)
    by = {(r["backbone"], r["attentive_loss"], r["device"]): r["epoch_s"] for r in result["epochs"]}
    result["cpu_over_cuda"] = {
        f"{b}_{'attentive' if a else 'plain'}": by[(b, a, "cpu")] / by[(b, a, "cuda")]
        for (b, a, d) in by if d == "cuda" and (b, a, "cpu") in by
    }
    result["attentive_over_plain"] = {
        f"{b}_{d}": by[(b, True, d)] / by[(b, False, d)] for (b, a, d) in by if a and (b, False, d) in by
    }

    if cuda and left():
        reg = GNNRegressor(**paper_configuration(max_epochs=1), random_state=0, device="cuda").fit(smiles, y)
        result["predict_estimator_params"] = estimator_params(reg)
        graphs, _ = featurize_smiles(lipo, reg.graph_featurizer(), cache=None)
        model = reg.module_.eval()
        predict = {}
        reference = None
        for batch_size in (256, 1024, 4096):
            for precision in ("fp32", "bf16", "fp16"):
                if not left():
                    break
                dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
                times, outputs = [], None
                key = f"model_only_bs{batch_size}_{precision}"
                try:
                    for rep in range(3):
                        sync("cuda")
                        t = time.perf_counter()
                        chunks = []
                        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype or torch.float32,
                                                                     enabled=dtype is not None):
                            for i in range(0, len(graphs), batch_size):
                                batch = Batch.from_data_list(graphs[i:i + batch_size]).to("cuda", non_blocking=True)
                                chunks.append(model(batch).float())
                        outputs = torch.cat(chunks).cpu().numpy()
                        times.append(time.perf_counter() - t)
                except Exception as error:  # an op without a kernel for the dtype, say
                    predict[key] = {"error": f"{type(error).__name__}: {error}"[:300]}
                    print(key, predict[key], flush=True)
                    continue
                if precision == "fp32" and reference is None:
                    reference = outputs
                predict[key] = {"molecules_per_s": len(graphs) / float(np.median(times[1:])),
                                "max_abs_diff_vs_fp32": float(np.abs(outputs - reference).max())}
                print(key, predict[key], flush=True)
        for batch_size in (256, 1024):
            if not left():
                break
            t = time.perf_counter()
            n = sum(len(chunk) for chunk in predict_iter(reg, lipo, chunk_size=10_000, batch_size=batch_size))
            predict[f"end_to_end_bs{batch_size}"] = {"molecules_per_s": n / (time.perf_counter() - t)}
            print(f"end_to_end_bs{batch_size}", predict[f"end_to_end_bs{batch_size}"], flush=True)
        result["predict"] = predict
        result["cuda_peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    result["seconds"] = time.perf_counter() - START
    path = write_result("gpu_speed", *summarize(result), details=result, out_dir=out_dir)
    print("wrote", path, f"in {result['seconds']:.0f} s")


def summarize(details: dict) -> tuple[list[Measurement], list[Ratio]]:
    """Seconds per epoch on each device, prediction rates; CPU / CUDA epoch and low / full precision rate."""
    measurements, ratios = [], []
    for row in details["epochs"]:
        label = f"{row['backbone']} {'attentive' if row['attentive_loss'] else 'plain'} epoch {row['device']}"
        measurements.append(Measurement(label, row["epoch_s"], "s"))
    names = {m.name for m in measurements}
    for m in list(measurements):
        if m.name.endswith(" cpu") and m.name[:-3] + "cuda" in names:
            cuda = next(x for x in measurements if x.name == m.name[:-3] + "cuda")
            ratios.append(Ratio(f"{m.name[:-10]} cpu / cuda epoch", m.value / cuda.value, m.name, cuda.name))
    for key, row in details.get("predict", {}).items():
        measurements.append(Measurement(f"predict {key}", row["molecules_per_s"], "molecules/s"))
    for key in details.get("predict", {}):
        if key.endswith(("_bf16", "_fp16")) and key[:-5] + "_fp32" in details["predict"]:
            full = key[:-5] + "_fp32"
            ratios.append(Ratio(f"predict {key} / {full}", details["predict"][key]["molecules_per_s"]
                                / details["predict"][full]["molecules_per_s"], f"predict {key}", f"predict {full}"))
    if "cuda_peak_memory_mb" in details:
        measurements.append(Measurement("CUDA peak memory", details["cuda_peak_memory_mb"], "MB"))
    return measurements, ratios


if __name__ == "__main__":
    main(sys.argv)
