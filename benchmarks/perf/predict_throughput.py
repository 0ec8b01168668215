"""Prediction throughput (molecules/s) and peak memory, SMILES in, predictions out.

Lipophilicity's 4200 SMILES, never seen before by the process (the graph
cache is cleared before every estimator.predict). Variants, interleaved,
medians of the repetitions:

* ``estimator.predict``: the fitted GNNRegressor as is (batch 32);
* ``predict_iter``: molgnba.screening, batch 256 (and 32), no graph cache;
* one against two torch threads; the "default" model (GIN 5 x 300) against a
  small one (GIN 3 x 64), both in the paper's configuration, the defaults when
  the committed results were measured, pinned (``get_preset("paper")`` with
  the attentive loss: "hu2019" features, one linear layer, no descriptors);
  their parameters are in the result (``estimator_params``);
* the parts: featurization alone (``featurize_smiles(cache=None)``) and the
  network alone on featurized graphs (fp32, and bf16 autocast on CPU).

Peak RSS: VmHWM of this process, reset (``/proc/self/clear_refs``) before
each variant; reported as the rise over the RSS at the start of the variant.

Usage: python -m benchmarks.perf.predict_throughput [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from benchmarks.perf.common import (
    Measurement, Ratio, current_rss_mb, estimator_params, load, median, paper_configuration, peak_rss_mb,
    reset_peak_rss, write_result,
)
from molgnba import GNNRegressor, featurize
from molgnba.featurize import featurize_smiles
from molgnba.screening import predict_iter


def fitted(num_layers, hidden_dim):
    smiles, y = load("esol")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GNNRegressor(**paper_configuration(num_layers=num_layers, hidden_dim=hidden_dim, max_epochs=1),
                            random_state=0).fit(smiles, y)


def model_only(reg, graphs, batch_size, dtype=None):
    from torch_geometric.data import Batch

    model = reg.module_.eval()
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        for i in range(0, len(graphs), batch_size):
            model(Batch.from_data_list(graphs[i:i + batch_size]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    smiles, _ = load("lipophilicity")
    if args.quick:
        smiles = smiles[:1000]
    default, small = fitted(5, 300), fitted(3, 64)
    graphs, _ = featurize_smiles(smiles, default.graph_featurizer(), cache=None)

    def cold_predict(reg):
        featurize.graph_cache.clear()
        return reg.predict(smiles)

    def stream(reg, batch_size):
        return np.concatenate(list(predict_iter(reg, smiles, batch_size=batch_size)))

    variants = {
        "estimator.predict, default 5x300, 1 thread": (1, lambda: cold_predict(default)),
        "predict_iter bs256, default 5x300, 1 thread": (1, lambda: stream(default, 256)),
        "predict_iter bs32, default 5x300, 1 thread": (1, lambda: stream(default, 32)),
        "predict_iter bs256, default 5x300, 2 threads": (2, lambda: stream(default, 256)),
        "estimator.predict, default 5x300, 2 threads": (2, lambda: cold_predict(default)),
        "predict_iter bs256, small 3x64, 1 thread": (1, lambda: stream(small, 256)),
        "predict_iter bs256, small 3x64, 2 threads": (2, lambda: stream(small, 256)),
        "featurize only (cache=None)": (1, lambda: featurize_smiles(smiles, default.graph_featurizer(), cache=None)),
        "network only bs256 fp32, default, 1 thread": (1, lambda: model_only(default, graphs, 256)),
        "network only bs256 bf16 autocast, default, 1 thread": (1, lambda: model_only(default, graphs, 256, torch.bfloat16)),
    }
    reps = 2 if args.quick else 3
    seconds = {name: [] for name in variants}
    rss = {name: [] for name in variants}
    can_reset = reset_peak_rss()
    for rep in range(reps):
        names = list(variants) if rep % 2 == 0 else list(variants)[::-1]
        for name in names:
            threads, fn = variants[name]
            torch.set_num_threads(threads)
            before = current_rss_mb()
            reset_peak_rss()
            start = time.perf_counter()
            out = fn()
            seconds[name].append(time.perf_counter() - start)
            rss[name].append(max(0.0, peak_rss_mb() - before) if can_reset else peak_rss_mb())
            del out
    rows = {}
    for name in variants:
        rows[name] = {"molecules_per_s": len(smiles) / median(seconds[name]), "seconds": seconds[name],
                      "peak_rss_rise_mb": max(rss[name])}
        print(f"{name:55s} {rows[name]['molecules_per_s']:8.0f} mol/s  peak RSS +{rows[name]['peak_rss_rise_mb']:.0f} MB")
    details = {"n_smiles": len(smiles), "reps": reps, "peak_rss_is_rise_over_start": can_reset,
               "process_peak_rss_mb": peak_rss_mb(), "rows": rows,
               "estimator_params": {"default 5x300": estimator_params(default), "small 3x64": estimator_params(small)}}
    path = write_result("predict_throughput", *summarize(details), details=details, out_dir=args.out,
                        name="predict_throughput" + ("_quick" if args.quick else ""))
    print("wrote", path)
    return details


def summarize(details: dict) -> tuple[list[Measurement], list[Ratio]]:
    """Molecules per second and peak RSS of each way to predict; reported, no ratio held to a target."""
    rss = "peak RSS rise" if details["peak_rss_is_rise_over_start"] else "peak RSS"
    measurements = []
    for name, row in details["rows"].items():
        measurements += [Measurement(f"{name}: rate", row["molecules_per_s"], "molecules/s"),
                         Measurement(f"{name}: {rss}", row["peak_rss_rise_mb"], "MB")]
    return measurements, []


if __name__ == "__main__":
    main()
