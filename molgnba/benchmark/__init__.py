"""The GNBA paper's paired benchmark protocol (``python -m molgnba.benchmark``)."""

from molgnba.benchmark.report import load_runs, paired_differences, results_table, write_report
from molgnba.benchmark.runner import LOSS_VARIANTS, RunConfig, plan_runs, run_benchmark, run_one

__all__ = [
    "LOSS_VARIANTS", "RunConfig", "load_runs", "paired_differences", "plan_runs", "results_table",
    "run_benchmark", "run_one", "write_report",
]
