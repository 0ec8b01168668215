"""Run every CPU benchmark of benchmarks/perf/, one after the other, and summarise the ratios.

Usage: python benchmarks/perf/run_all.py [--quick] [--only NAME ...] [--out DIR]

Each benchmark runs as its own process (fresh memory, its own peak RSS) and
writes a JSON to benchmarks/results/perf/ (with --quick: ``*_quick.json``
in $TMPDIR/molgnba-perf-quick/, unless --out is given); this script then
prints the summary of every ratio that docs/performance.md reports. The full
run takes 30-40 minutes on 2 cores, --quick about 10. The GPU script (gpu_speed.py) is not
run here; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS_DIR, machine  # noqa: E402

BENCHMARKS = [
    "featurize_speed", "train_epoch", "loss_overhead", "mixed_precision", "predict_throughput", "chemprop_compare",
    "screen_million",
]


def summary(out_dir: Path, quick: bool) -> list[str]:
    suffix = "_quick" if quick else ""
    lines = []

    def read(name):
        path = out_dir / f"{name}{suffix}.json"
        return json.loads(path.read_text()) if path.exists() else None

    if f := read("featurize_speed"):
        sp = f["speed"]
        for name, ratio in sp["ratio_to_parse_floor_wall"].items():
            cpu = sp["ratio_to_parse_floor_cpu"].get(name)
            lines.append(f"featurize {name}: {ratio:.2f}x parse floor (wall)"
                         + (f", {cpu:.2f}x (CPU)" if cpu else "") + " [target <= 2]")
        gs = f["grid_search_cache"]
        lines.append(f"GridSearchCV 5-fold x 3: {gs['calls_per_unique_smiles']:.2f} featurizations per unique SMILES [target 1]")
    if t := read("train_epoch"):
        for row in t["rows"]:
            label = f"{row['task']} {row['backbone']} {'attentive' if row['attentive_loss'] else 'plain'}"
            text = (f"epoch {label}: estimator/loop {row['estimator_over_loop_wall']:.3f} wall, "
                    f"{row['estimator_over_loop_cpu']:.3f} CPU [<= 1.10]")
            if row["attentive_loss"]:
                text += (f"; attentive/plain {row['attentive_over_plain_wall']:.3f} wall, "
                         f"{row['attentive_over_plain_cpu']:.3f} CPU [<= 1.05]")
            lines.append(text)
    if o := read("loss_overhead"):
        for row in o["rows"]:
            if row["loss"] != "plain":
                lines.append(f"step {row['task']} {row['backbone']} {row['loss']} / plain: {row['step_over_plain']:.3f} CPU; "
                             f"its own work {row['loss_alone_cpu_us']:.0f} us = {row['loss_alone_over_plain_step']:.4f} [<= 1.05]")
    if m := read("mixed_precision"):
        ms = m["summary"]
        lines.append(f"bfloat16/float32: epoch {ms['bfloat16_epoch_speedup_wall']:.2f}x faster (wall), "
                     f"{ms['bfloat16_epoch_speedup_cpu']:.2f}x (CPU); prediction {ms['bfloat16_predict_speedup']:.2f}x; "
                     f"esol test RMSE {ms['mean_test_rmse']['float32']:.3f} vs {ms['mean_test_rmse']['bfloat16']:.3f}")
    if p := read("predict_throughput"):
        for name, row in p["rows"].items():
            lines.append(f"predict {name}: {row['molecules_per_s']:.0f} mol/s, "
                         f"peak RSS +{max(0.0, row['peak_rss_rise_mb']):.0f} MB")
    if c := read("chemprop_compare"):
        if "error" in c:
            lines.append(f"chemprop: {c['error']}")
        for name in ("esol", "lipophilicity"):
            if name in c:
                s = c[name]["summary"]
                lines.append(f"chemprop {name}: molgnba/chemprop epoch {s['molgnba_over_chemprop_epoch_wall']:.2f} wall, "
                             f"{s['molgnba_over_chemprop_epoch_cpu']:.2f} CPU; best RMSE molgnba "
                             f"{s['molgnba']['best_valid_rmse']:.3f}, chemprop {s['chemprop']['best_valid_rmse']:.3f}")
    if s := read("screen_million"):
        for label, run in s["runs"].items():
            lines.append(f"screen {label}: {run['molecules_per_s']:.0f} mol/s, peak RSS {run['peak_rss_mb']:.0f} MB"
                         + (f", graph cache {run['graph_cache_size']}" if "graph_cache_size" in run else ""))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    # Quick results are for checking that everything runs: kept out of the repository.
    quick_dir = Path(tempfile.gettempdir()) / "molgnba-perf-quick"
    out_dir = Path(args.out) if args.out else (quick_dir if args.quick else RESULTS_DIR)
    print(json.dumps(machine()), flush=True)
    failed = []
    for name in args.only or BENCHMARKS:
        command = [sys.executable, str(HERE / f"{name}.py"), "--out", str(out_dir)] + (["--quick"] if args.quick else [])
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        code = subprocess.call(command)
        print(f"== {name}: exit {code} in {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            failed.append(name)
    print("\nSummary")
    for line in summary(out_dir, args.quick):
        print(" ", line)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
