"""Shared by the performance scripts: data, timing, machine facts, and the one result schema.

Every script of ``benchmarks/perf`` writes its result with :func:`write_result`
as a :class:`PerfResult`: what was run (``benchmark``, ``command``), where and
when (``machine``, ``date``, ``git_commit``), the headline ``measurements``
(each a :class:`Measurement` with its unit), the ``ratios`` of variants measured
side by side in the same process (each a :class:`Ratio` naming its two
measurements and the target, if any), and the script's own ``details``
(settings, every repetition). A reader compares runs by ``measurements`` and
``ratios`` without knowing the script.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
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
    """CPU model, cores, torch and Python versions, torch threads, load average at the start."""
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
        "cpu": model,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "load_average_at_start": load_avg,
    }


@dataclass
class Measurement:
    """One measured quantity, e.g. ``Measurement("featurize_serial wall", 1.84, "s")``."""

    name: str
    value: float
    unit: str


@dataclass
class Ratio:
    """``numerator / denominator`` of two measurements taken side by side (same process, interleaved).

    ``target`` is the bound the ratio is held to, as text (``"<= 2"``), or None.
    """

    name: str
    value: float
    numerator: str
    denominator: str
    target: str | None = None


@dataclass
class PerfResult:
    """The schema of every JSON under ``benchmarks/results/perf``."""

    benchmark: str
    command: str
    machine: dict
    date: str
    git_commit: str | None
    measurements: list[Measurement] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    schema: int = 1

    @classmethod
    def from_json(cls, text: str) -> "PerfResult":
        data = json.loads(text)
        data["measurements"] = [Measurement(**m) for m in data.get("measurements", [])]
        data["ratios"] = [Ratio(**r) for r in data.get("ratios", [])]
        return cls(**data)


def git_commit() -> str | None:
    """The checked-out commit, with ``+dirty`` when tracked files differ from it; None outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def command_line() -> str:
    """How this process was started, as ``python -m benchmarks.perf.<name> ARGS``."""
    module = getattr(sys.modules.get("__main__"), "__spec__", None)
    head = ["python", "-m", module.name] if module is not None else ["python", sys.argv[0]]
    return shlex.join(head + sys.argv[1:])


def write_result(benchmark: str, measurements, ratios=(), details=None, out_dir=None, name=None) -> Path:
    """Write ``OUT_DIR/<name>.json`` as a :class:`PerfResult` and return its path.

    Parameters
    ----------
    benchmark : str
        The script's name, e.g. ``"featurize_speed"``.
    measurements : list of Measurement
    ratios : list of Ratio
    details : dict or None
        Everything else the script recorded (settings, repetitions).
    out_dir : path or None
        Default :data:`RESULTS_DIR`.
    name : str or None
        File name without ``.json``; default ``benchmark``.
    """
    result = PerfResult(
        benchmark=benchmark, command=command_line(), machine=machine(),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"), git_commit=git_commit(),
        measurements=list(measurements), ratios=list(ratios), details=details or {},
    )
    out_dir = Path(out_dir or RESULTS_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name or benchmark}.json"
    path.write_text(json.dumps(dataclasses.asdict(result), indent=2, default=float) + "\n")
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


def paper_configuration(**overrides) -> dict:
    """Estimator parameters of "the default" that docs/performance.md measured: the GNBA paper's.

    The estimators' defaults until 0.2, ``get_preset("paper")`` with ``attentive_loss=True``
    (GIN 5 x 300, "hu2019" features, one linear layer, constant rate, batch 32, no
    descriptors); pinned, so that a re-run measures what the committed results were measured
    with whatever the defaults are now. ``overrides`` replace or add parameters.
    """
    from molgnba.presets import get_preset

    return {**get_preset("paper"), "attentive_loss": True, **overrides}


def estimator_params(estimator) -> dict:
    """The estimator's parameters that JSON can hold (class name included), for a result's details."""
    params = {"estimator": type(estimator).__name__}
    for name, value in sorted(estimator.get_params(deep=False).items()):
        if value is None or isinstance(value, (bool, int, float, str)):
            params[name] = value
    return params


def default_attentive_loss(task: str):
    """The GNBALoss that ``attentive_loss=True`` trains with, for ``task`` "regression" or "binary".

    Read from the estimators (``loss="auto"`` with ``attentive_loss=True``, which the defaults
    no longer set), so that a hand-written loop measured against them cannot drift from them.
    """
    from molgnba import GNNClassifier, GNNRegressor

    estimator = GNNRegressor(attentive_loss=True) if task == "regression" else GNNClassifier(attentive_loss=True)
    return estimator._build_criterion(task)
