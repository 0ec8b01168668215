"""Streaming a million SMILES: peak memory and molecules/s of molgnba.screening.predict_file.

The SMILES are lipophilicity's 4200 molecules written out as distinct
random SMILES (``Chem.MolToSmiles(mol, doRandom=True)``), so that no two
rows share a string (and no cache can help), into a CSV under
$TMPDIR/molgnba-screen/ (made once, reused; never inside the repository).

Every measurement runs in a fresh child process, whose VmHWM (peak RSS,
from /proc) is the number reported, next to its RSS before screening
(torch, RDKit and the model loaded). Both models are the paper's
configuration, the defaults when the committed results were measured, pinned
(``get_preset("paper")`` with the attentive loss: "hu2019" features, one
linear layer, no descriptors), with their parameters in the result
(``estimator_params``); today's defaults would add RDKit descriptors, which
cost more per molecule than these networks (see docs/performance.md):

* ``predict_file``, small model (GIN 3 x 64), all N rows, chunk 10,000,
  one torch thread:
  the memory bound over a million molecules (target: peak < 2 GB);
* ``predict_file``, the default model (GIN 5 x 300), the first rows
  (molecules/s of the default model);
* the same small model through ``estimator.predict`` chunk by chunk (what a
  user would write without molgnba.screening): the process-wide graph
  cache grows with every distinct SMILES, up to its 200,000 graphs.

Usage: python -m benchmarks.perf.screen_million [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.perf.common import (
    ROOT, Measurement, Ratio, current_rss_mb, estimator_params, load, paper_configuration, peak_rss_mb, write_result,
)

WORK = Path(tempfile.gettempdir()) / "molgnba-screen"


def make_smiles_csv(n: int) -> Path:
    import numpy as np
    from rdkit import Chem, rdBase

    path = WORK / f"random_smiles_{n}.csv"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    smiles, _ = load("lipophilicity")
    with rdBase.BlockLogs():
        mols = [m for m in map(Chem.MolFromSmiles, smiles) if m is not None]
    per_mol = -(-n // len(mols))
    rng = np.random.RandomState(0)
    written, seen = 0, set()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as out:
        out.write("id,smiles\n")
        for round_ in range(4 * per_mol):
            for k, mol in enumerate(mols):
                s = Chem.MolToSmiles(mol, doRandom=True, canonical=False)
                if s in seen:
                    continue
                seen.add(s)
                out.write(f"{written},{s}\n")
                written += 1
                if written == n:
                    break
            if written == n:
                break
    del seen
    if written < n:
        raise RuntimeError(f"only {written} distinct random SMILES")
    # Shuffle lines in chunks is not needed: rounds already interleave molecules.
    tmp.rename(path)
    return path


def child(mode: str, model_path: str, csv_path: str, n_rows: int, out_csv: str) -> dict:
    import warnings

    import pandas as pd
    import torch

    torch.set_num_threads(int(os.environ.get("SCREEN_THREADS", "2")))
    with open(model_path, "rb") as f:
        reg = pickle.load(f)
    from molgnba import featurize
    from molgnba.screening import predict_file

    rss_before = current_rss_mb()
    start = time.perf_counter()
    if mode == "predict_file":
        stats = predict_file(reg, csv_path, out_csv, chunk_size=10_000)
        n = stats["n_rows"]
    else:  # estimator.predict chunk by chunk, the global cache filling up
        n = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for frame in pd.read_csv(csv_path, chunksize=10_000, nrows=n_rows):
                reg.predict(frame["smiles"].tolist())
                n += len(frame)
        stats = {"graph_cache_size": len(featurize.graph_cache)}
    elapsed = time.perf_counter() - start
    return {"mode": mode, "rows": n, "seconds": elapsed, "molecules_per_s": n / elapsed,
            "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb(), "torch_threads": torch.get_num_threads(),
            **{k: v for k, v in stats.items() if k != "columns"}}


def run_child(mode, model_path, csv_path, n_rows, threads):
    out_csv = WORK / f"predictions_{mode}.csv"
    if mode == "predict_file" and n_rows is not None:
        head = WORK / f"head_{n_rows}.csv"
        with open(csv_path) as src, open(head, "w") as dst:
            for k, line in enumerate(src):
                if k > n_rows:
                    break
                dst.write(line)
        csv_path = head
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf.screen_million", "--child", mode, str(model_path), str(csv_path),
         str(n_rows or 0), str(out_csv)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "SCREEN_THREADS": str(threads)},
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if out_csv.exists():
        out_csv.unlink()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--child", nargs=5, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, model_path, csv_path, n_rows, out_csv = args.child
        print(json.dumps(child(mode, model_path, csv_path, int(n_rows) or None, out_csv)))
        return None

    import warnings

    from molgnba import GNNRegressor

    n = args.n or (50_000 if args.quick else 1_000_000)
    start = time.perf_counter()
    csv_path = make_smiles_csv(n)
    made_s = time.perf_counter() - start
    smiles, y = load("esol")
    models, params = {}, {}
    for name, (layers, hidden) in {"small_3x64": (3, 64), "default_5x300": (5, 300)}.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reg = GNNRegressor(**paper_configuration(num_layers=layers, hidden_dim=hidden, max_epochs=1),
                               random_state=0).fit(smiles, y)
        models[name], params[name] = WORK / f"model_{name}.pkl", estimator_params(reg)
        with open(models[name], "wb") as f:
            pickle.dump(reg, f)
    runs = {}
    default_rows = 4_000 if args.quick else 20_000
    cache_rows = 20_000 if args.quick else 100_000
    plan = [
        ("small_3x64 predict_file all rows, 1 thread", "predict_file", "small_3x64", None, 1),
        (f"default_5x300 predict_file {default_rows} rows, 2 threads", "predict_file", "default_5x300", default_rows, 2),
        (f"default_5x300 predict_file {default_rows} rows, 1 thread", "predict_file", "default_5x300", default_rows, 1),
        (f"small_3x64 estimator.predict by chunks {cache_rows} rows (global cache)", "estimator_predict",
         "small_3x64", cache_rows, 1),
    ]
    for label, mode, model, rows, threads in plan:
        runs[label] = run_child(mode, models[model], csv_path, rows, threads)
        print(f"{label}: {json.dumps(runs[label])}", flush=True)
    details = {"n_smiles_file": n, "make_csv_s": made_s, "csv_bytes": csv_path.stat().st_size,
               "target_peak_rss_mb": 2048, "target_molecules_per_s": 2000, "runs": runs,
               "estimator_params": params}
    path = write_result("screen_million", *summarize(details), details=details, out_dir=args.out,
                        name="screen_million" + ("_quick" if args.quick else ""))
    print("wrote", path)
    return details


def summarize(details: dict) -> tuple[list[Measurement], list[Ratio]]:
    """Rate and peak RSS of each screening run (targets: < 2 GB, >= 2000 molecules/s)."""
    measurements = []
    for label, run in details["runs"].items():
        measurements += [Measurement(f"{label}: rate", run["molecules_per_s"], "molecules/s"),
                         Measurement(f"{label}: peak RSS", run["peak_rss_mb"], "MB")]
        if "graph_cache_size" in run:
            measurements.append(Measurement(f"{label}: graph cache", run["graph_cache_size"], "graphs"))
    return measurements, []


if __name__ == "__main__":
    main()
