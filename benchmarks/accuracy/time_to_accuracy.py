"""Time to accuracy: validation score against seconds of fit, molgnba's default beside chemprop.

    python -m benchmarks.accuracy time-to-accuracy --output docs/_static/time-to-accuracy.png

Reads the ``epoch_clock`` of the finished runs (seconds from the start of the
fit to the end of each epoch, with that epoch's validation score; featurization
and descriptors count before the first epoch; chemprop's Python start-up and
imports do not, where the run measured them as ``import_seconds``) and draws, per dataset and split,
the best validation score so far, which is what a fit stopped at that moment
would keep. The dashed line is chemprop's final validation score; the table
gives the seconds each model took to reach it.

Each model is scored on its own validation rows (molgnba holds out 10 % of the
train + validation rows, chemprop uses the split's validation rows), so the two
curves measure the same thing on different molecules: the figure says how fast
each gets there, the test table says who is more accurate.
"""

from __future__ import annotations

import numpy as np

from benchmarks.accuracy.splits import DATASETS, SPLITS

MONITOR = {"regression": "valid_rmse", "classification": "valid_roc_auc"}


def best_so_far(run: dict) -> tuple[np.ndarray, np.ndarray]:
    """Seconds and the best validation score up to each epoch of ``run``'s clock."""
    monitor = MONITOR[run["task"]]
    # chemprop's clock starts with its interpreter; molgnba's inside a running Python.
    seconds = np.array([epoch["seconds"] for epoch in run["epoch_clock"]]) - run.get("import_seconds", 0.0)
    scores = np.array([epoch[monitor] for epoch in run["epoch_clock"]])
    best = np.minimum.accumulate(scores) if run["task"] == "regression" else np.maximum.accumulate(scores)
    return seconds, best


def fit_seconds(run: dict) -> float:
    """The fit's wall time without the Python start-up and imports where the run measured them."""
    return run["fit_seconds"] - run.get("import_seconds", 0.0)


def seconds_to_reach(run: dict, target: float) -> float | None:
    """Seconds from the start of the fit until the validation score first reaches ``target``."""
    seconds, best = best_so_far(run)
    reached = best <= target if run["task"] == "regression" else best >= target
    return float(seconds[reached.argmax()]) if reached.any() else None


def paired_runs(runs: list[dict], model: str, reference: str = "chemprop", seed: int | None = None):
    """(model's run, reference's run) per (dataset, split, seed) where both have a clock."""
    clocked = {(r["model"], r["dataset"], r["split"], r["seed"]): r for r in runs if r.get("epoch_clock")}
    pairs = []
    for (name, dataset, split, run_seed), run in clocked.items():
        if name == model and (seed is None or run_seed == seed):
            other = clocked.get((reference, dataset, split, run_seed))
            if other is not None:
                pairs.append((run, other))
    order = {name: k for k, name in enumerate(DATASETS)}
    pairs.sort(key=lambda p: (p[0]["seed"], SPLITS.index(p[0]["split"]), order[p[0]["dataset"]]))
    return pairs


def time_to_accuracy_table(runs: list[dict], model: str, reference: str = "chemprop") -> str:
    """Markdown: seconds each needs to reach the reference's final validation score, per run pair."""
    lines = [f"| dataset | split | seed | {reference} final validation | seconds to it: {reference} | "
             f"seconds to it: {model} | fit seconds: {reference} | fit seconds: {model} |",
             "|" + " --- |" * 8]
    for run, other in paired_runs(runs, model, reference):
        target = best_so_far(other)[1][-1]
        own = seconds_to_reach(run, target)
        lines.append(
            f"| {run['dataset']} | {run['split']} | {run['seed']} | {target:.3f} | "
            f"{seconds_to_reach(other, target):.0f} | {'not reached' if own is None else f'{own:.0f}'} | "
            f"{fit_seconds(other):.0f} | {fit_seconds(run):.0f} |"
        )
    return "\n".join(lines)


def plot_time_to_accuracy(runs: list[dict], model: str, seed: int | None, output, reference: str = "chemprop",
                          labels: dict | None = None):
    """One panel per (split, dataset) with a clock on both sides, saved to ``output``.

    ``seed=None`` takes, per dataset and split, the first seed with a clock on both sides.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = paired_runs(runs, model, reference, seed)
    if seed is None:  # per dataset and split, the first seed with a clock on both sides
        first = {}
        for pair in pairs:
            first.setdefault((pair[0]["dataset"], pair[0]["split"]), pair)
        pairs = sorted(first.values(), key=lambda p: (SPLITS.index(p[0]["split"]), list(DATASETS).index(p[0]["dataset"])))
    if not pairs:
        raise SystemExit(f"no run of {model} and {reference} with an epoch clock (seed {seed})")
    labels = labels or {}
    columns = min(len(pairs), 4)
    rows = -(-len(pairs) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.0 * rows), squeeze=False)
    for ax, (run, other) in zip(axes.flat, pairs):
        target = best_so_far(other)[1][-1]
        for each, colour in ((other, "tab:orange"), (run, "tab:blue")):
            seconds, best = best_so_far(each)
            ax.step(seconds, best, where="post", color=colour, label=labels.get(each["model"], each["model"]))
            reached = seconds_to_reach(each, target)
            if reached is not None:
                ax.plot([reached], [target], "o", color=colour)
        ax.axhline(target, color="grey", linestyle="--", linewidth=0.8)
        metric = "RMSE" if run["task"] == "regression" else "ROC-AUC"
        ax.set_title(f"{run['dataset']}, {run['split']} split, seed {run['seed']}", fontsize=10)
        ax.set_xlabel("seconds since the start of fit")
        ax.set_ylabel(f"best validation {metric} so far")
        # Zoom on the last stretch, where the two are told apart: the best quarter of the curves.
        values = np.concatenate([best_so_far(r)[1] for r in (run, other)])
        low, high = np.percentile(values, [0, 75] if run["task"] == "regression" else [25, 100])
        margin = 0.1 * (high - low) or 0.05
        ax.set_ylim(low - margin, high + margin)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    figure.suptitle(f"Time to accuracy (dashed: {reference}'s final validation score; dots: first reached)",
                    fontsize=11)
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    return figure
