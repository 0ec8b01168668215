"""molgnba against chemprop and a random forest, on the same splits.

    python -m benchmarks.accuracy run --models molgnba:default-gin rf chemprop \\
        --datasets esol lipophilicity bbbp bace --splits random scaffold --seeds 0 1 2 3 4
    python -m benchmarks.accuracy report [--page docs/comparison.md]
    python -m benchmarks.accuracy compare molgnba:readme-gin molgnba:default-gin
    python -m benchmarks.accuracy --results benchmarks/results/accuracy-fit-time run \
        --models molgnba:default-gin-mlp1 chemprop --seeds 1 --jobs 1   # beside another fit
    python -m benchmarks.accuracy --results benchmarks/results/accuracy-fit-time \
        time-to-accuracy --seed 1 --output docs/_static/time-to-accuracy.png

Each finished (model, dataset, split, seed) run is written at once as one small
JSON file under ``benchmarks/results/accuracy/`` (scores, fit wall time, machine,
date, versions; no per-molecule arrays), and a rerun skips the files already
there, so a long benchmark resumes where it stopped. ``--jobs 2`` runs two fits
side by side, each on ``--threads`` torch threads. ``--device cuda`` trains the
molgnba models on a GPU (validation evidence from a lent GPU machine); each run
file says its device, and the fit-time tables and the time to accuracy read the
CPU runs only, since a GPU fit's time does not compare with chemprop's on the CPU.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks.accuracy.splits import DATASETS, SPLITS, make_split

RESULTS = Path(__file__).resolve().parents[1] / "results" / "accuracy"
METRIC = {"regression": "RMSE", "classification": "ROC-AUC"}


def run_path(results: Path, model: str, dataset: str, split: str, seed: int) -> Path:
    return results / dataset / split / model.replace(":", "-") / f"seed{seed}.json"


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return "unknown"


def _device_name(device: str) -> str:
    if device == "cpu":
        return "cpu"
    import torch

    return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"


def run_one(model: str, dataset: str, split_kind: str, seed: int, data_dir: str, threads: int, results: str,
            device: str = "cpu") -> str:
    from benchmarks.accuracy.models import fit_model

    path = run_path(Path(results), model, dataset, split_kind, seed)
    if path.exists():  # finished meanwhile by another run of this command
        return f"{path.relative_to(results)}: already there, skipped"
    split = make_split(dataset, split_kind, seed, data_dir)
    started = time.time()
    record = fit_model(model, split, threads, device)
    record.update(
        model=model, dataset=dataset, split=split_kind, seed=seed, task=split.task,
        metric=METRIC[split.task], n_train=len(split.train), n_valid=len(split.valid), n_test=len(split.test),
        threads=threads, device=_device_name(device),
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d"), commit=_git_commit(),
        wall_seconds=time.time() - started,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=1, default=float) + "\n")
    temporary.replace(path)
    return f"{path.relative_to(results)}: test {record['test_score']:.3f}, fit {record['fit_seconds']:.0f} s"


def command_run(args) -> None:
    plan = [
        (model, dataset, split, seed)
        for seed in args.seeds for dataset in args.datasets for split in args.splits for model in args.models
        if not run_path(args.results, model, dataset, split, seed).exists()
    ]
    print(f"{len(plan)} runs to go", flush=True)
    # Fresh worker processes ("spawn"): a forked one cannot use CUDA once the parent's torch has touched it.
    # They find run_one by its module's name, which "python -m" would otherwise hide as __main__.
    from benchmarks.accuracy.__main__ import run_one as importable_run_one

    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(importable_run_one, *cell, args.data, args.threads, str(args.results), args.device): cell
                   for cell in plan}
        for future in as_completed(futures):
            try:
                print(future.result(), flush=True)
            except Exception:  # one failed run must not stop the others
                print(f"FAILED {futures[future]}:\n{traceback.format_exc()}", flush=True)


#: How many final epochs ``valid_final`` averages.
FINAL_EPOCHS = 10


def load_runs(results: Path) -> list[dict]:
    """Every run file under ``results``, each with ``valid_final`` where it has an epoch clock.

    ``valid_final`` is the mean validation score of the last :data:`FINAL_EPOCHS` epochs: a
    check on ``valid_score``, the best epoch's, which favours a noisier validation curve.
    """
    from benchmarks.accuracy.time_to_accuracy import MONITOR

    runs = [json.loads(path.read_text()) for path in sorted(results.rglob("seed*.json"))]
    for run in runs:
        clock = run.get("epoch_clock") or []
        monitor = MONITOR[run["task"]]
        if clock and monitor in clock[-1]:
            run["valid_final"] = float(np.mean([epoch[monitor] for epoch in clock[-FINAL_EPOCHS:]]))
    return runs


def cpu_runs(runs: list[dict]) -> list[dict]:
    """The runs fitted on the CPU: the only ones whose fit times compare (files before --device were all CPU)."""
    return [run for run in runs if run.get("device", "cpu") == "cpu"]


def summary_table(runs: list[dict], field: str = "test_score") -> str:
    """Mean ± std (seeds) of ``field`` per model (rows) and dataset/split (columns)."""
    cells, models, columns = {}, [], []
    for run in runs:
        column = (run["dataset"], run["split"])
        cells.setdefault((run["model"], column), []).append((run["seed"], run[field]))
        if run["model"] not in models:
            models.append(run["model"])
        if column not in columns:
            columns.append(column)
    order = {name: k for k, name in enumerate(DATASETS)}
    columns.sort(key=lambda c: (SPLITS.index(c[1]), order[c[0]]))
    header = "| model | " + " | ".join(f"{d} {s} ({METRIC[DATASETS[d][3]]})" for d, s in columns) + " |"
    lines = [header, "|" + " --- |" * (len(columns) + 1)]
    for model in models:
        row = []
        for column in columns:
            values = sorted(cells.get((model, column), []))
            if not values:
                row.append("")
                continue
            scores = np.array([v for _, v in values])
            seeds = ",".join(str(s) for s, _ in values)
            digits = 0 if field == "fit_seconds" else 3
            spread = f" ± {scores.std(ddof=1):.{digits}f}" if len(scores) > 1 else ""
            row.append(f"{scores.mean():.{digits}f}{spread} ({seeds})")
        lines.append(f"| {model} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _paired_cells(values: dict, model: str, baseline: str):
    """Per dataset and split of ``model`` (in page order): the seeds both finished and their values.

    ``values`` maps ``(model, dataset, split, seed)`` to a number; yields
    ``(dataset, split, seeds, model_values, baseline_values)``, cells without a shared seed left out.
    """
    order = {name: k for k, name in enumerate(DATASETS)}
    cells = sorted({(d, s) for (m, d, s, _) in values if m == model}, key=lambda c: (SPLITS.index(c[1]), order[c[0]]))
    for dataset, split in cells:
        seeds = sorted(seed for (m, d, s, seed) in values if (m, d, s) == (model, dataset, split)
                       and (baseline, dataset, split, seed) in values)
        if seeds:
            yield (dataset, split, seeds, np.array([values[model, dataset, split, seed] for seed in seeds]),
                   np.array([values[baseline, dataset, split, seed] for seed in seeds]))


def paired_comparison(runs: list[dict], model: str, baseline: str, field: str = "test_score") -> str:
    """Markdown: ``model`` against ``baseline`` on the seeds both finished, per dataset and split.

    The gain is positive where ``model`` is better (lower RMSE, higher ROC-AUC);
    p is a paired t-test over the seeds (two-sided), blank with fewer than 3 pairs.
    """
    from scipy import stats

    scores = {(r["model"], r["dataset"], r["split"], r["seed"]): r[field] for r in runs if field in r}
    tasks = {(r["dataset"]): r["task"] for r in runs}
    lines = [f"| dataset | split | seeds | {baseline} | {model} | gain | {model} better | p |", "|" + " --- |" * 8]
    for dataset, split, seeds, a, b in _paired_cells(scores, model, baseline):
        sign = -1.0 if tasks[dataset] == "regression" else 1.0
        gain = sign * (a - b)
        p = f"{stats.ttest_rel(a, b).pvalue:.2f}" if len(seeds) >= 3 else ""
        lines.append(f"| {dataset} | {split} | {','.join(map(str, seeds))} | {b.mean():.3f} | {a.mean():.3f} | "
                     f"{gain.mean():+.3f} | {(gain > 0).sum()}/{len(seeds)} | {p} |")
    return "\n".join(lines)


def relative_shortfall(runs: list[dict], model: str, baseline: str, tolerance: float = 0.05) -> str:
    """Markdown: how far ``model``'s mean test score falls short of ``baseline``'s, per dataset and split.

    On the seeds both finished; the shortfall is relative to the baseline's mean and
    positive where ``model`` is worse (higher RMSE, lower ROC-AUC), so a target "within
    5 % of the baseline" holds where it is at most ``tolerance``.
    """
    scores = {(r["model"], r["dataset"], r["split"], r["seed"]): r["test_score"] for r in runs}
    tasks = {r["dataset"]: r["task"] for r in runs}
    lines = [f"| dataset | split | seeds | {baseline} | {model} | shortfall | within {tolerance:.0%} |",
             "|" + " --- |" * 7]
    for dataset, split, seeds, a, b in _paired_cells(scores, model, baseline):
        a, b = a.mean(), b.mean()
        shortfall = (a - b) / b if tasks[dataset] == "regression" else (b - a) / b
        lines.append(f"| {dataset} | {split} | {','.join(map(str, seeds))} | {b:.3f} | {a:.3f} | "
                     f"{shortfall:+.1%} | {'yes' if shortfall <= tolerance else 'no'} |")
    return "\n".join(lines)


def paired_fit_times(runs: list[dict], model: str, baseline: str) -> str:
    """Markdown: fit wall time of ``model`` and ``baseline`` on the seeds both finished, and their ratio.

    chemprop's Python start-up and imports are left out where the run measured them
    (``import_seconds``), since molgnba's fit is timed inside a running Python.
    """
    from benchmarks.accuracy.time_to_accuracy import fit_seconds

    seconds = {(r["model"], r["dataset"], r["split"], r["seed"]): fit_seconds(r) for r in runs}
    lines = [f"| dataset | split | seeds | {baseline} (s) | {model} (s) | ratio, median over seeds |", "|" + " --- |" * 6]
    for dataset, split, seeds, a, b in _paired_cells(seconds, model, baseline):
        lines.append(f"| {dataset} | {split} | {','.join(map(str, seeds))} | {b.mean():.0f} | {a.mean():.0f} | "
                     f"{np.median(a / b):.2f} |")
    return "\n".join(lines)


def command_compare(args) -> None:
    runs = load_runs(args.results)
    fields = [("test_score", "Test score")]
    if args.model.startswith("molgnba:") and args.baseline.startswith("molgnba:"):
        # Two molgnba configurations hold out the same validation rows (random_state = seed);
        # chemprop and the forest validate on other rows, so only test scores compare with them.
        fields.append(("valid_score", "Validation score"))
    for field, title in fields:
        print(f"{title}: {args.model} against {args.baseline}, paired by seed\n")
        print(paired_comparison(runs, args.model, args.baseline, field) + "\n")
    print(f"Mean test score of {args.model} relative to {args.baseline}\n")
    print(relative_shortfall(runs, args.model, args.baseline) + "\n")
    print(f"Fit wall time: {args.model} against {args.baseline}, paired by seed (CPU runs)\n")
    print(paired_fit_times(cpu_runs(runs), args.model, args.baseline))


#: The default estimators' candidate in the result files: GNNRegressor() / GNNClassifier()
#: parameter for parameter (tests/test_presets.py pins the defaults to it).
DEFAULT = "molgnba:default-gin-mlp1"
#: The call in the README, ``GNNRegressor(backbone="gin", attentive_loss=True)``: DEFAULT with
#: the attentive loss.
README = "molgnba:readme-gin-mlp1"
#: The GIN default before its MLP was narrowed (mlp_ratio=2), which DEFAULT replaced.
GIN_MLP2 = "molgnba:default-gin"
#: The D-MPNN default of 0.2.0.dev0, which validation scores replaced with GIN_MLP2.
PREVIOUS_DEFAULT = "molgnba:chemprop-like-descriptors"
#: Side-by-side timing runs: chemprop and the default fitted in one session on one machine, each
#: fit beside one other fit. The fit-time comparisons of DEFAULT with chemprop read these, since
#: the runs under RESULTS were fitted on machines of different speed on different days.
FIT_TIME_RESULTS = RESULTS.parent / "accuracy-fit-time"


def page_blocks(runs: list[dict], timing_runs: list[dict] = ()) -> dict[str, str]:
    """The generated tables of docs/comparison.md, by block name.

    ``timing_runs`` are the runs under :data:`FIT_TIME_RESULTS`, for the default's fit time.
    """
    from benchmarks.accuracy.time_to_accuracy import time_to_accuracy_table

    timed, side_by_side = cpu_runs(runs), cpu_runs(list(timing_runs))
    return {
        "test": summary_table(runs, "test_score"),
        "valid": summary_table(runs, "valid_score"),
        "fit": summary_table(timed, "fit_seconds"),
        "default-vs-chemprop": paired_comparison(runs, DEFAULT, "chemprop"),
        "default-vs-rf": paired_comparison(runs, DEFAULT, "rf"),
        "mlp1-vs-mlp2-valid": paired_comparison(runs, DEFAULT, GIN_MLP2, "valid_score"),
        "mlp1-vs-mlp2-final": paired_comparison(runs, DEFAULT, GIN_MLP2, "valid_final"),
        "mlp1-vs-mlp2-test": paired_comparison(runs, DEFAULT, GIN_MLP2),
        "gin-vs-dmpnn-valid": paired_comparison(runs, GIN_MLP2, PREVIOUS_DEFAULT, "valid_score"),
        "gin-vs-dmpnn-final": paired_comparison(runs, GIN_MLP2, PREVIOUS_DEFAULT, "valid_final"),
        "gin-vs-dmpnn-test": paired_comparison(runs, GIN_MLP2, PREVIOUS_DEFAULT),
        "attentive-mlp1-test": paired_comparison(runs, README, DEFAULT),
        "attentive-mlp1-valid": paired_comparison(runs, README, DEFAULT, "valid_score"),
        "readme-mlp1-vs-chemprop": relative_shortfall(runs, README, "chemprop"),
        "guarded-mlp1-valid": paired_comparison(runs, "molgnba:default-gin-mlp1-guarded", DEFAULT, "valid_score"),
        "paper-mlp1-valid": paired_comparison(runs, "molgnba:default-gin-mlp1-paper", DEFAULT, "valid_score"),
        "guarded-mlp1-test": paired_comparison(runs, "molgnba:default-gin-mlp1-guarded", DEFAULT),
        "paper-mlp1-test": paired_comparison(runs, "molgnba:default-gin-mlp1-paper", DEFAULT),
        # A diagnostic, so test scores: its validation rows are not the default's.
        "split-valid-test": paired_comparison(runs, "molgnba:default-gin-mlp1-split-valid", DEFAULT),
        "split-valid-vs-chemprop": paired_comparison(runs, "molgnba:default-gin-mlp1-split-valid", "chemprop"),
        "scaffold-valid-test": paired_comparison(runs, "molgnba:default-gin-mlp1-scaffold-valid", DEFAULT),
        "scaffold-valid-vs-chemprop": paired_comparison(runs, "molgnba:default-gin-mlp1-scaffold-valid", "chemprop"),
        "dropout-valid": paired_comparison(runs, "molgnba:default-gin-mlp1-dropout", DEFAULT, "valid_score"),
        "dropout-test": paired_comparison(runs, "molgnba:default-gin-mlp1-dropout", DEFAULT),
        "attentive-test": paired_comparison(runs, "molgnba:readme-gin", GIN_MLP2),
        "attentive-valid": paired_comparison(runs, "molgnba:readme-gin", GIN_MLP2, "valid_score"),
        "dmpnn-attentive-test": paired_comparison(runs, "molgnba:default-gnba", PREVIOUS_DEFAULT),
        "dmpnn-attentive-valid": paired_comparison(runs, "molgnba:default-gnba", PREVIOUS_DEFAULT, "valid_score"),
        "fit-vs-chemprop": paired_fit_times(side_by_side, DEFAULT, "chemprop"),
        "gin-mlp2-fit-vs-chemprop": paired_fit_times(timed, GIN_MLP2, "chemprop"),
        "dmpnn-fit-vs-chemprop": paired_fit_times(timed, PREVIOUS_DEFAULT, "chemprop"),
        "readme-vs-chemprop": relative_shortfall(runs, "molgnba:readme-gin", "chemprop"),
        "preact-valid": paired_comparison(runs, "molgnba:default-preact", PREVIOUS_DEFAULT, "valid_score"),
        "norm-valid": paired_comparison(runs, "molgnba:default-norm", PREVIOUS_DEFAULT, "valid_score"),
        "time-to-accuracy": time_to_accuracy_table(side_by_side, DEFAULT),
        "gin-mlp2-time-to-accuracy": time_to_accuracy_table(timed, GIN_MLP2),
        "dmpnn-time-to-accuracy": time_to_accuracy_table(timed, PREVIOUS_DEFAULT),
    }


def write_page(page: Path, blocks: dict[str, str]) -> None:
    """Replace each ``<!-- accuracy:NAME -->`` ... ``<!-- /accuracy:NAME -->`` block of ``page``."""
    text = page.read_text()
    for name, table in blocks.items():
        start, end = f"<!-- accuracy:{name} -->", f"<!-- /accuracy:{name} -->"
        if start in text:
            head, rest = text.split(start, 1)
            text = f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}"
    page.write_text(text)


def command_report(args) -> None:
    runs = load_runs(args.results)
    if args.page:
        write_page(args.page, page_blocks(runs, load_runs(args.fit_time_results)))
        print(f"tables written into {args.page}")
        return
    print("Test score, mean ± std over seeds (seeds in brackets)\n")
    print(summary_table(runs, "test_score"))
    print("\nValidation score (what defaults are chosen on)\n")
    print(summary_table(runs, "valid_score"))
    print("\nFit wall time, seconds (CPU runs)\n")
    print(summary_table(cpu_runs(runs), "fit_seconds"))


def command_time_to_accuracy(args) -> None:
    from benchmarks.accuracy.time_to_accuracy import plot_time_to_accuracy, time_to_accuracy_table

    runs = cpu_runs(load_runs(args.results))
    print(time_to_accuracy_table(runs, args.model))
    if args.output:
        plot_time_to_accuracy(runs, args.model, args.seed, args.output,
                              labels={args.model: f"{args.model} (the default)" if args.model == DEFAULT
                                      else args.model, "chemprop": "chemprop 2.3.1"})
        print(f"figure: {args.output}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="fit and score the models (resumable)")
    run.add_argument("--models", nargs="+", default=[DEFAULT, "rf", "chemprop"])
    run.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    run.add_argument("--splits", nargs="+", default=list(SPLITS), choices=list(SPLITS))
    run.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    run.add_argument("--data", default=os.environ.get("MOLGNBA_DATA", "../shared/data"))
    run.add_argument("--jobs", type=int, default=2)
    run.add_argument("--threads", type=int, default=1)
    run.add_argument("--device", default="cpu", help="where molgnba models train (cpu, cuda, cuda:1)")
    run.set_defaults(handler=command_run)
    report = commands.add_parser("report", help="print the tables")
    report.add_argument("--page", type=Path, help="write the tables into the marked blocks of this page "
                        "(docs/comparison.md) instead of printing them")
    report.add_argument("--fit-time-results", type=Path, default=FIT_TIME_RESULTS,
                        help="the side-by-side timing runs the page's fit-time tables of the default read")
    report.set_defaults(handler=command_report)
    compare = commands.add_parser("compare", help="one model against another, paired by seed")
    compare.add_argument("model")
    compare.add_argument("baseline")
    compare.set_defaults(handler=command_compare)
    clock = commands.add_parser("time-to-accuracy", help="seconds to chemprop's final validation score; figure")
    clock.add_argument("--model", default=DEFAULT)
    clock.add_argument("--seed", type=int, help="the seed whose runs the figure shows (default: per dataset "
                       "and split, the first seed with a clock on both sides)")
    clock.add_argument("--output", help="where to save the figure (PNG); the table is always printed")
    clock.set_defaults(handler=command_time_to_accuracy)
    args = parser.parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main()
