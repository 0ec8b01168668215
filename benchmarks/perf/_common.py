"""Helpers shared by the benchmark scripts: data, timing, machine facts, JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("MOLGNBA_DATA", ROOT.parent / "shared" / "data"))
RESULTS_DIR = ROOT / "benchmarks" / "results" / "perf"

DATASETS = {"esol": ("esol.csv", "logSolubility"), "lipophilicity": ("lipo.csv", "lipo"), "bbbp": ("bbbp.csv", "p_np")}


def load(name: str):
    """(smiles list, target array) of a shared MoleculeNet CSV; read in place, never copied."""
    import pandas as pd

    filename, column = DATASETS[name]
    frame = pd.read_csv(DATA_DIR / filename)
    return frame["smiles"].tolist(), frame[column].to_numpy()


def median(values):
    return float(statistics.median(values))


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM from /proc), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def machine() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load_avg = os.getloadavg()
    except OSError:
        load_avg = None
    import torch

    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "date": subprocess.run(["date"], capture_output=True, text=True).stdout.strip(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average_at_start": load_avg,
    }


def write_json(name: str, payload: dict, out_dir: Path | None = None) -> Path:
    out_dir = Path(out_dir or RESULTS_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return path


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.wall`` and ``sw.cpu`` (this thread's CPU seconds)."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.thread_time() - self._cpu
        return False


def default_attentive_loss(task: str):
    """The GNBALoss the estimators train with by default, for ``task`` "regression" or "binary".

    Read from the estimators, so that a hand-written loop measured against them cannot drift
    from their defaults.
    """
    from molgnba import GNNClassifier, GNNRegressor

    estimator = GNNRegressor() if task == "regression" else GNNClassifier()
    return estimator._build_criterion(task)
