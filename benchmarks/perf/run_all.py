"""Run every CPU benchmark of benchmarks/perf/, one after the other, and summarise the ratios.

Usage: python -m benchmarks.perf.run_all [--quick] [--only NAME ...] [--out DIR]   (from the repository root)

Each benchmark runs as its own process (fresh memory, its own peak RSS) and
writes a JSON to benchmarks/results/perf/ (with --quick: ``*_quick.json``
in $TMPDIR/molgnba-perf-quick/, unless --out is given); this script then
prints every ratio of those results (and the measurements of the benchmarks
without a ratio), read through the shared schema of
:class:`benchmarks.perf.common.PerfResult`. The full run takes 30-40 minutes
on 2 cores, --quick about 10. The GPU scripts (gpu_speed, gpu_attentive) are
not run here; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.perf.common import RESULTS_DIR, ROOT, PerfResult, machine

BENCHMARKS = [
    "featurize_speed", "train_epoch", "loss_overhead", "mixed_precision", "predict_throughput", "chemprop_compare",
    "screen_million",
]


def summary(out_dir: Path, quick: bool) -> list[str]:
    """One line per ratio of each result (per measurement where a benchmark has no ratio)."""
    suffix = "_quick" if quick else ""
    lines = []
    for name in BENCHMARKS:
        path = out_dir / f"{name}{suffix}.json"
        if not path.exists():
            continue
        result = PerfResult.from_json(path.read_text())
        if "error" in result.details:
            lines.append(f"{name}: {result.details['error']}")
        for ratio in result.ratios:
            lines.append(f"{name}: {ratio.name} = {ratio.value:.3f}" + (f" [{ratio.target}]" if ratio.target else ""))
        if not result.ratios:
            lines += [f"{name}: {m.name} = {m.value:.4g} {m.unit}" for m in result.measurements]
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
        command = [sys.executable, "-m", f"benchmarks.perf.{name}", "--out", str(out_dir.resolve())]
        command += ["--quick"] if args.quick else []
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        code = subprocess.call(command, cwd=ROOT)
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
