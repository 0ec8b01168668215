"""Tables, paired tests and figures from the benchmark's run files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["PAPER_TABLE", "load_runs", "results_table", "paired_differences", "loss_ranking", "hard_samples",
           "write_report"]

#: Table I of the GNBA paper (mean, std): random 8:1:1 split, 3 seeds.
PAPER_TABLE = {
    ("gin", "plain"): {"bbbp": (0.920, 0.011), "bace": (0.898, 0.003), "lipophilicity": (0.669, 0.010), "esol": (1.074, 0.112)},
    ("gin", "gnba"): {"bbbp": (0.937, 0.002), "bace": (0.911, 0.001), "lipophilicity": (0.591, 0.010), "esol": (0.956, 0.027)},
    ("gat", "plain"): {"bbbp": (0.928, 0.001), "bace": (0.905, 0.003), "lipophilicity": (0.558, 0.043), "esol": (0.958, 0.017)},
    ("gat", "gnba"): {"bbbp": (0.938, 0.003), "bace": (0.912, 0.0003), "lipophilicity": (0.527, 0.005), "esol": (0.891, 0.014)},
}
LOSS_LABELS = {
    "plain": "",
    "gnba": " + attentive loss (guarded)",
    "gnba-paper": " + attentive loss (as in paper)",
    "gnba-adversarial": " + attentive loss (adversarial)",
    "focal": " + focal loss",
    "ghm": " + GHM loss (10 bins)",
    "ghm-30bins": " + GHM loss (30 bins)",
}


def load_runs(out_dir) -> list[dict]:
    """Every finished run record under ``out_dir/runs``.

    Parameters
    ----------
    out_dir : str or path
        The ``out_dir`` of :func:`~molgnba.benchmark.runner.run_benchmark`.

    Returns
    -------
    list of dict
        The records of :func:`~molgnba.benchmark.runner.run_one`, sorted by
        file name; empty if there are none yet. A run's per-molecule arrays
        (``train_gradient_norm``, ``train_attention``) are read from its
        ``<key>.arrays.npz`` where that file exists, and are absent otherwise
        (committed results keep only the JSON).

    Examples
    --------
    >>> import json, os, tempfile
    >>> from molgnba.benchmark.report import load_runs
    >>> import dataclasses
    >>> from molgnba.benchmark.runner import RunConfig
    >>> def record(loss, seed, rmse):  # a run's record, trimmed to what the report reads
    ...     config = RunConfig("esol", "gin", loss, seed)
    ...     return {"config": dataclasses.asdict(config), "key": config.key, "metric": "rmse",
    ...             "test_score": rmse, "best_epoch": 80, "wall_seconds": 900.0}
    >>> runs = [record("plain", 0, 1.10), record("gnba", 0, 0.98),
    ...         record("plain", 1, 1.04), record("gnba", 1, 1.00)]
    >>> out_dir = tempfile.TemporaryDirectory()
    >>> os.mkdir(os.path.join(out_dir.name, "runs"))
    >>> for run in runs:
    ...     with open(os.path.join(out_dir.name, "runs", run["key"] + ".json"), "w") as file:
    ...         json.dump(run, file)
    >>> [run["key"] for run in load_runs(out_dir.name)]
    ['esol-random-gin-gnba-seed0-ep100', 'esol-random-gin-gnba-seed1-ep100',
     'esol-random-gin-plain-seed0-ep100', 'esol-random-gin-plain-seed1-ep100']
    >>> out_dir.cleanup()
    """
    from molgnba.benchmark.runner import load_run_arrays

    runs = []
    for path in sorted(Path(out_dir, "runs").glob("*.json")):
        run = json.loads(path.read_text())
        # Older run files hold the arrays themselves; a separate arrays file takes precedence.
        run.update(load_run_arrays(path))
        runs.append(run)
    return runs


def _frame(runs) -> pd.DataFrame:
    rows = []
    for run in runs:
        config = run["config"]
        rows.append({
            "dataset": config["dataset"], "split": config["split"], "backbone": config["backbone"],
            "loss": config["loss"], "seed": config["seed"], "epochs": config["epochs"],
            "metric": run["metric"], "test_score": run["test_score"], "best_epoch": run["best_epoch"],
            "wall_seconds": run["wall_seconds"],
        })
    # The columns exist even without runs, so that every table of an empty report is empty.
    columns = ["dataset", "split", "backbone", "loss", "seed", "epochs", "metric", "test_score", "best_epoch",
               "wall_seconds"]
    return pd.DataFrame(rows, columns=columns)


def _better(metric: str) -> int:
    """+1 where higher is better (ROC-AUC), -1 where lower is (RMSE)."""
    return 1 if metric == "roc_auc" else -1


def results_table(runs, split="random") -> str:
    """Table I-style markdown: mean ± std over seeds, with the paper's value beside ours.

    Parameters
    ----------
    runs : list of dict
        Run records, e.g. from :func:`load_runs`.
    split : {"random", "scaffold"}, default="random"
        Only runs of this split are tabulated. The paper's values are
        shown for the random split, the one it used.

    Returns
    -------
    str
        A markdown table: one row per backbone and loss, one column per
        dataset; each cell holds the mean ± population std of the test
        score and the number of seeds.

    Examples
    --------
    >>> from molgnba.benchmark.report import results_table
    >>> import dataclasses
    >>> from molgnba.benchmark.runner import RunConfig
    >>> def record(loss, seed, rmse):  # a run's record, trimmed to what the report reads
    ...     config = RunConfig("esol", "gin", loss, seed)
    ...     return {"config": dataclasses.asdict(config), "key": config.key, "metric": "rmse",
    ...             "test_score": rmse, "best_epoch": 80, "wall_seconds": 900.0}
    >>> runs = [record("plain", 0, 1.10), record("gnba", 0, 0.98),
    ...         record("plain", 1, 1.04), record("gnba", 1, 1.00)]
    >>> print(results_table(runs))
    | model | esol RMSE |
    |---|---|
    | GIN | 1.070 ± 0.030 (n=2)<br>paper 1.074 ± 0.112 |
    | GIN + attentive loss (guarded) | 0.990 ± 0.010 (n=2)<br>paper 0.956 ± 0.027 |
    <BLANKLINE>
    """
    frame = _frame(runs)
    frame = frame[frame.split == split]
    if frame.empty:
        return "_no finished runs_\n"
    datasets = [d for d in ("bbbp", "bace", "lipophilicity", "esol") if d in set(frame.dataset)]
    datasets += sorted(set(frame.dataset) - set(datasets))
    header = ["model"] + [
        f"{d} {'ROC-AUC' if frame[frame.dataset == d].metric.iloc[0] == 'roc_auc' else 'RMSE'}" for d in datasets
    ]
    rows = []
    for backbone in sorted(set(frame.backbone), key=lambda b: ("gin", "gat").index(b) if b in ("gin", "gat") else 9):
        for loss in [loss for loss in LOSS_LABELS if loss in set(frame.loss)]:
            cells = []
            for dataset in datasets:
                scores = frame[(frame.backbone == backbone) & (frame.loss == loss) & (frame.dataset == dataset)].test_score
                if scores.empty:
                    cells.append("")
                    continue
                cell = f"{scores.mean():.3f} ± {scores.std(ddof=0):.3f} (n={len(scores)})"
                paper = PAPER_TABLE.get((backbone, loss), {}).get(dataset) if split == "random" else None
                if paper is not None:
                    cell += f"<br>paper {paper[0]:.3f} ± {paper[1]:.3f}"
                cells.append(cell)
            if any(cells):  # a loss run with one backbone only gets no empty row for the other
                rows.append([f"{backbone.upper()}{LOSS_LABELS[loss]}", *cells])
    return _markdown_table(header, rows)


def _markdown_table(header, rows) -> str:
    """A markdown table from the header's and each row's cells (strings)."""
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def paired_differences(runs, baseline="plain") -> pd.DataFrame:
    """Per dataset, split, backbone and loss: the paired difference to ``baseline``.

    ``improvement`` is signed so that positive always means better than the
    baseline (higher ROC-AUC, lower RMSE). ``wins`` counts seeds where the loss
    beat its paired baseline run; ``p_value`` is a two-sided paired t-test over
    seeds (NaN with fewer than two pairs).

    Parameters
    ----------
    runs : list of dict
        Run records, e.g. from :func:`load_runs`.
    baseline : str, default="plain"
        The loss variant every other one is compared with.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset``, ``split``, ``backbone``, ``loss``, ``pairs``,
        ``improvement``, ``wins`` and ``p_value``; one row per comparison
        with at least one pair.

    Examples
    --------
    >>> from molgnba.benchmark.report import paired_differences
    >>> import dataclasses
    >>> from molgnba.benchmark.runner import RunConfig
    >>> def record(loss, seed, rmse):  # a run's record, trimmed to what the report reads
    ...     config = RunConfig("esol", "gin", loss, seed)
    ...     return {"config": dataclasses.asdict(config), "key": config.key, "metric": "rmse",
    ...             "test_score": rmse, "best_epoch": 80, "wall_seconds": 900.0}
    >>> runs = [record("plain", 0, 1.10), record("gnba", 0, 0.98),
    ...         record("plain", 1, 1.04), record("gnba", 1, 1.00)]
    >>> diffs = paired_differences(runs)
    >>> diffs[["dataset", "loss", "pairs", "improvement", "wins"]].round(3)  # RMSE 0.12 and 0.04 lower
      dataset  loss  pairs  improvement  wins
    0    esol  gnba      2         0.08     2
    """
    from scipy import stats

    frame = _frame(runs)
    rows = []
    for (dataset, split, backbone), group in frame.groupby(["dataset", "split", "backbone"]):
        base = group[group.loss == baseline].set_index("seed").test_score
        for loss in sorted(set(group.loss) - {baseline}):
            other = group[group.loss == loss].set_index("seed").test_score
            seeds = sorted(set(base.index) & set(other.index))
            if not seeds:
                continue
            sign = _better(group.metric.iloc[0])
            diff = sign * (other.loc[seeds].to_numpy() - base.loc[seeds].to_numpy())
            p = stats.ttest_rel(other.loc[seeds], base.loc[seeds]).pvalue if len(seeds) > 1 else float("nan")
            rows.append({
                "dataset": dataset, "split": split, "backbone": backbone, "loss": loss, "pairs": len(seeds),
                "improvement": diff.mean(), "wins": int((diff > 0).sum()), "p_value": p,
            })
    return pd.DataFrame(rows)


def loss_ranking(runs, baseline="plain") -> pd.DataFrame:
    """Per dataset, split and backbone: which loss wins, on the same seeds.

    Losses are ranked by their mean test score over the seeds the
    ``baseline`` was run with. A loss is ranked only if it was run with every
    one of those seeds, so that all ranked means come from identical splits;
    the others are named in ``left_out`` rather than silently compared on
    fewer seeds.

    Parameters
    ----------
    runs : list of dict
        Run records, e.g. from :func:`load_runs`.
    baseline : str, default="plain"
        The loss whose seeds define the comparison.

    Returns
    -------
    pandas.DataFrame
        One row per dataset, split and backbone that has ``baseline`` runs:
        ``seeds`` (how many), ``ranking`` (list of ``(loss, mean score)``,
        best first), ``best`` (the first loss of ``ranking``) and
        ``left_out`` (losses with fewer seeds).

    Examples
    --------
    >>> from molgnba.benchmark.report import loss_ranking
    >>> def record(loss, seed, auc):  # a run's record, trimmed to what the report reads
    ...     config = {"dataset": "bbbp", "split": "random", "backbone": "gin", "loss": loss,
    ...               "seed": seed, "epochs": 100}
    ...     return {"config": config, "metric": "roc_auc", "test_score": auc,
    ...             "best_epoch": 50, "wall_seconds": 60.0}
    >>> runs = [record("plain", 0, 0.90), record("plain", 1, 0.92),
    ...         record("focal", 0, 0.93), record("focal", 1, 0.93),
    ...         record("ghm", 0, 0.99)]  # one seed only: not ranked
    >>> row = loss_ranking(runs).iloc[0]
    >>> row["best"], row["ranking"], row["left_out"]
    ('focal', [('focal', 0.93), ('plain', 0.91)], ['ghm'])
    """
    frame = _frame(runs)
    rows = []
    for (dataset, split, backbone), group in frame.groupby(["dataset", "split", "backbone"]):
        seeds = set(group[group.loss == baseline].seed)
        if not seeds:
            continue
        sign = _better(group.metric.iloc[0])
        ranking, left_out = [], []
        run_losses = set(group.loss)
        for loss in [loss for loss in LOSS_LABELS if loss in run_losses] + sorted(run_losses - set(LOSS_LABELS)):
            scores = group[(group.loss == loss) & group.seed.isin(seeds)]
            if set(scores.seed) == seeds:
                ranking.append((loss, round(float(scores.test_score.mean()), 6)))
            else:
                left_out.append(loss)
        ranking.sort(key=lambda item: -sign * item[1])
        rows.append({"dataset": dataset, "split": split, "backbone": backbone, "seeds": len(seeds),
                     "ranking": ranking, "best": ranking[0][0], "left_out": left_out})
    return pd.DataFrame(rows, columns=["dataset", "split", "backbone", "seeds", "ranking", "best", "left_out"])


def _ranking_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "_no runs of the plain loss yet_\n"
    header = ["dataset", "split", "backbone", "seeds", "best loss",
              "all losses run on these seeds, best first (mean test score)", "run on fewer seeds"]
    rows = [[row.dataset, row.split, row.backbone, str(row.seeds), row.best,
             " > ".join(f"{loss} {score:.3f}" for loss, score in row.ranking), ", ".join(row.left_out)]
            for row in table.itertuples()]
    return _markdown_table(header, rows)


def hard_samples(runs, threshold=0.9) -> pd.DataFrame:
    """How many training molecules each loss leaves badly wrong, and their attention.

    A training molecule counts as *left wrong* when its relative gradient
    norm at the kept epoch exceeds ``threshold``: for classification
    ``|p - y| > 0.9`` (confidently misclassified), for regression an error
    above about 2.9 standard deviations of the target. The attentive loss can
    lower itself by giving such molecules no weight; this table shows whether
    it did.

    Parameters
    ----------
    runs : list of dict
        Run records, e.g. from :func:`load_runs`. A run counts with its
        per-molecule ``train_gradient_norm`` and ``train_attention`` where
        present, else with the ``left_wrong`` summary that
        :func:`~molgnba.benchmark.runner.save_run` stored in its JSON;
        runs with neither are left out.
    threshold : float, default=0.9
        Gradient norm above which a molecule counts as left wrong.

    Raises
    ------
    ValueError
        For a run without its arrays whose stored summary was computed
        with another threshold.

    Returns
    -------
    pandas.DataFrame
        One row per dataset, split, backbone and loss: ``runs``,
        ``wrong_fraction`` (mean over seeds of the share of training molecules
        above the threshold) and ``wrong_attention`` (mean relative attention
        of those molecules, 1 = a uniform share; NaN without attention).

    Examples
    --------
    >>> from molgnba.benchmark.report import hard_samples
    >>> run = {"config": {"dataset": "bbbp", "split": "random", "backbone": "gin", "loss": "gnba",
    ...                   "seed": 0, "epochs": 100},
    ...        "metric": "roc_auc", "test_score": 0.9, "best_epoch": 10, "wall_seconds": 60.0,
    ...        "train_gradient_norm": [0.01, 0.02, 0.95, 0.99], "train_attention": [1.5, 1.5, 0.5, 0.5]}
    >>> table = hard_samples([run])
    >>> row = table.iloc[0]
    >>> row["loss"], float(row["wrong_fraction"]), float(row["wrong_attention"])
    ('gnba', 0.5, 0.5)
    """
    rows = []
    for run in runs:
        if run.get("train_gradient_norm") is not None:
            attention = _values(run, "train_attention") if run.get("train_attention") is not None else None
            summary = left_wrong_summary(_values(run, "train_gradient_norm"), attention, threshold)
        elif "left_wrong" in run:
            summary = run["left_wrong"]
            if summary["threshold"] != threshold:
                raise ValueError(
                    f"run {run.get('key')} has no per-molecule arrays file and its stored summary counts "
                    f"gradient norms above {summary['threshold']}, not {threshold}")
        else:
            continue
        config = run["config"]
        rows.append({
            "dataset": config["dataset"], "split": config["split"], "backbone": config["backbone"],
            "loss": config["loss"], "wrong_fraction": summary["fraction"],
            "wrong_attention": np.nan if summary["attention"] is None else summary["attention"],
        })
    columns = ["dataset", "split", "backbone", "loss", "runs", "wrong_fraction", "wrong_attention"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows)
    grouped = frame.groupby(["dataset", "split", "backbone", "loss"], sort=True)
    table = grouped.agg(runs=("wrong_fraction", "size"), wrong_fraction=("wrong_fraction", "mean"),
                        wrong_attention=("wrong_attention", "mean")).reset_index()
    return table[columns]


def left_wrong_summary(gradient_norm, attention=None, threshold=0.9) -> dict:
    """One run's row of :func:`hard_samples`, JSON-ready: ``threshold``, ``fraction``, ``attention``.

    ``fraction`` is the share of labelled training molecules (gradient norm
    not NaN) above ``threshold``; ``attention`` their mean attention, None
    without attention values.

    Examples
    --------
    >>> from molgnba.benchmark.report import left_wrong_summary
    >>> left_wrong_summary([0.1, 0.95, 0.99, float("nan")], [1.0, 0.5, 0.7, float("nan")])
    {'threshold': 0.9, 'fraction': 0.6666666666666666, 'attention': 0.6}
    """
    gradient_norm = np.ravel(np.asarray(gradient_norm, dtype=float))
    attention = np.full_like(gradient_norm, np.nan) if attention is None else np.ravel(np.asarray(attention, dtype=float))
    labelled = ~np.isnan(gradient_norm)
    wrong = labelled & (gradient_norm > threshold)
    has_attention = wrong.any() and not np.isnan(attention[wrong]).all()
    return {"threshold": threshold, "fraction": float(wrong.sum() / max(labelled.sum(), 1)),
            "attention": float(np.nanmean(attention[wrong])) if has_attention else None}


def _hard_samples_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "_no run records with per-sample data yet_\n"
    header = ["dataset", "split", "backbone", "loss", "runs", "training molecules left wrong",
              "their mean attention"]
    rows = [[row.dataset, row.split, row.backbone, row.loss, str(row.runs), f"{100 * row.wrong_fraction:.1f} %",
             "" if np.isnan(row.wrong_attention) else f"{row.wrong_attention:.3f}"]
            for row in table.itertuples()]
    return _markdown_table(header, rows)


def _paired_markdown(diffs: pd.DataFrame) -> str:
    if diffs.empty:
        return "_no complete pairs yet_\n"
    header = ["dataset", "split", "backbone", "loss vs plain", "pairs", "mean improvement", "wins",
              "paired t-test p"]
    # A t-test needs two pairs; "nan" in a results table reads like a failure.
    rows = [[row.dataset, row.split, row.backbone, row.loss, str(row.pairs), f"{row.improvement:+.4f}",
             f"{row.wins}/{row.pairs}", "n/a" if np.isnan(row.p_value) else f"{row.p_value:.3f}"]
            for row in diffs.itertuples()]
    return _markdown_table(header, rows)


def _figures(runs, figure_dir: Path) -> tuple[list[str], list[str]]:
    """Draw the figures into ``figure_dir``: the name of each figure of these runs, and those among them
    left undrawn because their runs' per-molecule arrays are absent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from molgnba.plotting import plot_attention_vs_gradient_norm, plot_gradient_norm_histogram

    figure_dir.mkdir(parents=True, exist_ok=True)
    written, without_arrays = [], []
    by_key = {}
    for run in runs:
        c = run["config"]
        by_key.setdefault((c["dataset"], c["split"], c["backbone"]), {}).setdefault(c["loss"], []).append(run)
    for (dataset, split, backbone), by_loss in sorted(by_key.items()):
        seed0 = _first_seed_pair(by_loss)
        if seed0 and any(run.get("train_gradient_norm") is None for run in seed0):
            without_arrays.append(f"gradnorm-{dataset}-{split}-{backbone}.png")
            written.append(without_arrays[-1])
        elif seed0:
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
            plain, attentive = seed0
            plot_gradient_norm_histogram(
                {"plain loss": _values(plain, "train_gradient_norm"),
                 "attentive loss": _values(attentive, "train_gradient_norm")}, ax=axes[0])
            axes[0].set_title(f"{dataset} ({backbone.upper()}, {split}): gradient norms")
            plot_attention_vs_gradient_norm(
                _values(attentive, "train_gradient_norm"), _values(attentive, "train_attention"), ax=axes[1])
            axes[1].set_title("attention against sorted gradient norm")
            fig.tight_layout()
            name = f"gradnorm-{dataset}-{split}-{backbone}.png"
            fig.savefig(figure_dir / name, dpi=110)
            plt.close(fig)
            written.append(name)
        entropy_losses = [loss for loss in ("gnba", "gnba-paper", "gnba-adversarial") if loss in by_loss]
        if entropy_losses:
            fig, ax = plt.subplots(figsize=(5, 3.4))
            for loss in entropy_losses:
                curves = np.array([[row["attention_entropy"] for row in run["history"]] for run in by_loss[loss]], dtype=float)
                epochs = np.arange(1, curves.shape[1] + 1)
                label = f"{loss} (mean of {len(curves)} seeds)" if len(curves) > 1 else f"{loss} (1 seed)"
                ax.plot(epochs, curves.mean(0), label=label)
                ax.fill_between(epochs, curves.min(0), curves.max(0), alpha=0.2)
            ax.set_xlabel("epoch")
            ax.set_ylabel("attention entropy / log(batch)")
            ax.set_ylim(0, 1.02)
            ax.set_title(f"{dataset} ({backbone.upper()}, {split})")
            ax.legend()
            fig.tight_layout()
            name = f"entropy-{dataset}-{split}-{backbone}.png"
            fig.savefig(figure_dir / name, dpi=110)
            plt.close(fig)
            written.append(name)
    return written, without_arrays


def _first_seed_pair(by_loss):
    if "plain" not in by_loss or "gnba" not in by_loss:
        return None
    plain = {run["config"]["seed"]: run for run in by_loss["plain"]}
    for run in sorted(by_loss["gnba"], key=lambda r: r["config"]["seed"]):
        if run["config"]["seed"] in plain:
            return plain[run["config"]["seed"]], run
    return None


def _values(run, key) -> np.ndarray:
    """A per-molecule field as floats: an array from an arrays file, or a JSON list with None for NaN."""
    values = run[key]
    if isinstance(values, np.ndarray):
        return np.ravel(values).astype(float)
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def write_report(out_dir, figures=True, figure_dir=None) -> Path:
    """Write ``report.md`` (tables, paired tests, figure links) into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path
        The ``out_dir`` of :func:`~molgnba.benchmark.runner.run_benchmark`,
        whose ``runs`` directory holds the finished runs.
    figures : bool, default=True
        Also draw the gradient-norm and attention-entropy figures into
        ``figure_dir`` (needs matplotlib). The gradient-norm figures need
        the runs' per-molecule arrays files; where those are absent (as for
        committed results) a figure drawn before stays and stays linked,
        under a line naming it. When False, the figures already in
        ``figure_dir`` stay linked, under a line saying they were not
        redrawn.
    figure_dir : str, path or None, default=None
        Where the figures go; None means ``out_dir/figures``. The report
        links them by their path relative to ``out_dir``.

    Returns
    -------
    pathlib.Path
        The path of ``report.md``.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from molgnba.benchmark.report import write_report
    >>> import dataclasses
    >>> from molgnba.benchmark.runner import RunConfig
    >>> def record(loss, seed, rmse):  # a run's record, trimmed to what the report reads
    ...     config = RunConfig("esol", "gin", loss, seed)
    ...     return {"config": dataclasses.asdict(config), "key": config.key, "metric": "rmse",
    ...             "test_score": rmse, "best_epoch": 80, "wall_seconds": 900.0}
    >>> runs = [record("plain", 0, 1.10), record("gnba", 0, 0.98),
    ...         record("plain", 1, 1.04), record("gnba", 1, 1.00)]
    >>> out_dir = tempfile.TemporaryDirectory()
    >>> os.mkdir(os.path.join(out_dir.name, "runs"))
    >>> for run in runs:
    ...     with open(os.path.join(out_dir.name, "runs", run["key"] + ".json"), "w") as file:
    ...         json.dump(run, file)
    >>> path = write_report(out_dir.name, figures=False)
    >>> path.name
    'report.md'
    >>> [line for line in path.read_text().splitlines() if line.startswith("#")]
    ['# Benchmark report', '## Test scores, random split (mean ± std over seeds)',
     '## Paired differences against the plain loss', '## Which loss wins where',
     '## Training molecules left wrong', '## Wall time']
    >>> out_dir.cleanup()
    """
    out_dir = Path(out_dir)
    runs = load_runs(out_dir)
    parts = ["# Benchmark report", "", f"{len(runs)} finished runs in `{out_dir}/runs`.", ""]
    splits = sorted({run["config"]["split"] for run in runs}) or ["random"]
    for split in splits:
        parts += [f"## Test scores, {split} split (mean ± std over seeds)", "", results_table(runs, split)]
    parts += ["## Paired differences against the plain loss", "",
              "Positive improvement = better than the plain loss on the identical split "
              "(higher ROC-AUC, lower RMSE).", "", _paired_markdown(paired_differences(runs))]
    parts += ["## Which loss wins where", "",
              "Every loss run on all of the plain loss's seeds for a dataset, split and backbone, ranked by its "
              "mean test score over those seeds (higher ROC-AUC or lower RMSE first). Differences within a "
              "ranking are mostly smaller than the seed-to-seed spread: see the paired t-tests above.", "",
              _ranking_markdown(loss_ranking(runs))]
    parts += ["## Training molecules left wrong", "",
              "Share of training molecules whose relative gradient norm at the kept epoch exceeds 0.9 "
              "(confidently misclassified; for regression, an error above about 2.9 standard deviations), "
              "mean over seeds, and their mean attention (1 = a uniform share of the batch).", "",
              _hard_samples_markdown(hard_samples(runs))]
    frame = _frame(runs)
    if not frame.empty:
        parts += ["## Wall time", "", f"{frame.wall_seconds.sum() / 3600:.2f} h of training over {len(frame)} runs "
                  f"(median {frame.wall_seconds.median():.0f} s per run).", ""]
    figure_dir = out_dir / "figures" if figure_dir is None else Path(figure_dir)
    link = Path(os.path.relpath(figure_dir, out_dir)).as_posix()
    if figures and runs:
        names, without_arrays = _figures(runs, figure_dir)
        parts += ["## Figures", ""]
        if without_arrays:
            missing = [name for name in without_arrays if not (figure_dir / name).exists()]
            parts += ["Not redrawn, for want of the runs' per-molecule arrays files (`runs/*.arrays.npz`, kept out "
                      f"of version control): {', '.join(without_arrays)}. The copies drawn before are linked"
                      + (f"; none was found of {', '.join(missing)}." if missing else "."), ""]
        parts += [f"![{name}]({link}/{name})" for name in names if (figure_dir / name).exists()] + [""]
    elif figure_dir.is_dir():
        # A resumed benchmark run with --no-figures must not drop the links to figures drawn before.
        names = sorted(path.name for path in figure_dir.glob("*.png"))
        if names:
            parts += ["## Figures", "", "Not redrawn by this call (`figures=False`, or `--no-figures`): they may "
                      "leave out the newest runs. Redraw them with `python -m molgnba.benchmark --report-only` and the "
                      "same `--out` and `--figure-dir` (the gradient-norm figures need the runs' `*.arrays.npz`).",
                      ""] + [f"![{name}]({link}/{name})" for name in names] + [""]
    path = out_dir / "report.md"
    path.write_text("\n".join(parts))
    return path
