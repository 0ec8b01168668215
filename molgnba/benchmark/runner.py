"""The paired benchmark protocol of the GNBA paper, one resumable run at a time.

A run is one (dataset, split, backbone, loss, seed) cell. Runs that differ only
in the loss share the split and every other hyperparameter, so each pair
differs in the loss alone. Each finished run is written as one JSON file of
scalars and per-epoch history (small enough to keep under version control),
beside a compressed ``<key>.arrays.npz`` with the per-molecule arrays (kept
out of it); a rerun skips the runs whose JSON is already there, so a long
benchmark can be stopped and resumed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from molgnba.losses import BENCHMARK_LOSS_VARIANTS, get_loss_class
from molgnba.presets import get_preset

__all__ = [
    "CLASSIFICATION_ONLY_LOSSES", "LOSS_VARIANTS", "PAPER_HYPERPARAMETERS", "RunConfig", "plan_runs", "run_benchmark",
    "run_one", "ARRAY_FIELDS", "ARRAYS_SUFFIX", "save_run", "load_run_arrays",
]

#: Per-molecule fields of a run record: written to ``<key>.arrays.npz``, never to the JSON.
ARRAY_FIELDS = ("train_gradient_norm", "train_attention")
#: File name ending of a run's per-molecule arrays, beside its ``<key>.json``.
ARRAYS_SUFFIX = ".arrays.npz"

def _estimator_params(name: str, params: dict) -> dict:
    """Estimator parameters that train with the registry loss ``name`` built with ``params``.

    The attention's settings go through the estimators' ``attention_*``
    parameters, every other one through ``criterion__``; ``attentive_loss``
    is stated, since it must agree with the loss.
    """
    from molgnba.estimators._base import ATTENTION_PARAMETERS
    from molgnba.losses import get_loss_class

    attentive = get_loss_class(name).attentive
    by_loss_name = {loss_name: estimator_name for estimator_name, loss_name, _ in ATTENTION_PARAMETERS}
    estimator_params = {"attentive_loss": attentive, "loss": name}
    for key, value in params.items():
        estimator_params[by_loss_name[key] if attentive and key in by_loss_name else f"criterion__{key}"] = value
    return estimator_params


#: Estimator settings of each loss variant; everything else is shared within a pair.
#: Derived from :data:`molgnba.losses.BENCHMARK_LOSS_VARIANTS`, where each variant's
#: settings are spelled out so that a run file keeps its meaning if a default changes:
#: "gnba" is the entropy-guarded attention ("gnba-guarded"), "gnba-paper" the paper's
#: equation 14 as written, "gnba-adversarial" the attention that ascends the loss
#: ("gnba-hard", not in the paper). "ghm" has 10 bins and momentum 0.75 for both tasks,
#: the settings of the first GHM runs; "ghm-30bins" is GHM-C as the GHM authors'
#: detector (30 bins).
LOSS_VARIANTS: dict[str, dict] = {
    key: _estimator_params(name, params) for key, (name, params) in BENCHMARK_LOSS_VARIANTS.items()
}

#: Loss variants defined for classification only, left out of regression datasets: those
#: whose loss does not support regression, and "ghm-30bins", the GHM authors' setting for
#: classification (GHM-R is the "ghm" variant).
CLASSIFICATION_ONLY_LOSSES = frozenset(
    {key for key, (name, _) in BENCHMARK_LOSS_VARIANTS.items()
     if "regression" not in get_loss_class(name).supported_tasks}
    | {"ghm-30bins"}
)

#: The paper's set-up (5 layers, 300 hidden, Adam 1e-3, batch 32, ...): every parameter of
#: the "paper" preset (molgnba.presets), so that a run keeps its meaning when the estimators'
#: defaults change, except the two a RunConfig sets itself (backbone, epochs).
PAPER_HYPERPARAMETERS = {
    name: value for name, value in get_preset("paper").items() if name not in ("backbone", "max_epochs")
}


@dataclass(frozen=True)
class RunConfig:
    """One cell of the protocol.

    Parameters
    ----------
    dataset : str
        A MoleculeNet name (see :func:`molgnba.datasets.list_datasets`).
    backbone : {"gin", "gat"}
    loss : str
        A key of :data:`LOSS_VARIANTS`, e.g. "plain" or "gnba".
    seed : int
        Seeds both the split and the training.
    split : {"random", "scaffold"}, default="random"
        8:1:1 train/validation/test split.
    epochs : int, default=100
        Training epochs; the model of the best validation epoch is tested.
    hyperparameters : dict, default=PAPER_HYPERPARAMETERS
        Estimator parameters shared by every loss variant.

    Attributes
    ----------
    key : str
        The run's name, unique within a benchmark; its JSON file is
        ``<key>.json``.

    Examples
    --------
    >>> from molgnba.benchmark.runner import RunConfig
    >>> config = RunConfig("esol", "gin", "gnba", seed=0, epochs=50)
    >>> config.key
    'esol-random-gin-gnba-seed0-ep50'
    >>> {name: config.hyperparameters[name] for name in ("num_layers", "hidden_dim", "lr", "batch_size")}
    {'num_layers': 5, 'hidden_dim': 300, 'lr': 0.001, 'batch_size': 32}
    """

    dataset: str
    backbone: str
    loss: str
    seed: int
    split: str = "random"
    epochs: int = 100
    hyperparameters: dict = field(default_factory=lambda: dict(PAPER_HYPERPARAMETERS))

    @property
    def key(self) -> str:
        """``dataset-split-backbone-loss-seedN-epE``, the name of the run's JSON file."""
        return f"{self.dataset}-{self.split}-{self.backbone}-{self.loss}-seed{self.seed}-ep{self.epochs}"

    def __hash__(self):
        return hash(self.key)


def plan_runs(datasets, backbones, losses, seeds, split="random", epochs=100, hyperparameters=None):
    """Every cell of the protocol.

    Ordered so that paired runs finish together: the first two losses (the
    pair) by seed, dataset and backbone, then the cells of any further loss.
    The classification-only variants (:data:`CLASSIFICATION_ONLY_LOSSES`:
    the focal loss, GHM-C with 30 bins) are left out for regression datasets.

    Parameters
    ----------
    datasets, backbones, losses : list of str
        MoleculeNet names, ``"gin"`` / ``"gat"``, and keys of
        :data:`LOSS_VARIANTS`; the first loss is the baseline of the pairs.
    seeds : list of int
    split : {"random", "scaffold"}, default="random"
    epochs : int, default=100
    hyperparameters : dict or None, default=None
        Overrides of :data:`PAPER_HYPERPARAMETERS`, shared by every run.

    Returns
    -------
    list of RunConfig

    Raises
    ------
    ValueError
        For an unknown loss variant or dataset.

    Examples
    --------
    >>> from molgnba.benchmark.runner import plan_runs
    >>> configs = plan_runs(["bbbp", "esol"], ["gin"], ["plain", "gnba", "focal"], seeds=[0],
    ...                     epochs=20, hyperparameters={"hidden_dim": 64})
    >>> [config.key for config in configs]  # no focal loss for esol, a regression dataset
    ['bbbp-random-gin-plain-seed0-ep20', 'bbbp-random-gin-gnba-seed0-ep20',
     'esol-random-gin-plain-seed0-ep20', 'esol-random-gin-gnba-seed0-ep20',
     'bbbp-random-gin-focal-seed0-ep20']
    >>> {name: configs[0].hyperparameters[name] for name in ("num_layers", "hidden_dim", "lr_schedule")}
    {'num_layers': 5, 'hidden_dim': 64, 'lr_schedule': 'constant'}
    """
    hyperparameters = {**PAPER_HYPERPARAMETERS, **(hyperparameters or {})}
    unknown = sorted(set(losses) - set(LOSS_VARIANTS))
    if unknown:
        raise ValueError(f"unknown loss variant(s) {unknown}; valid names are {sorted(LOSS_VARIANTS)}")
    from molgnba.datasets import dataset_task

    configs = [
        RunConfig(dataset, backbone, loss, seed, split, epochs, dict(hyperparameters))
        for seed in seeds
        for dataset in datasets
        for backbone in backbones
        for loss in losses
        if not (loss in CLASSIFICATION_ONLY_LOSSES and dataset_task(dataset) == "regression")
    ]
    return sorted(configs, key=lambda config: list(losses).index(config.loss) >= 2)


def _split(smiles, split: str, seed: int):
    from molgnba.model_selection import scaffold_split, train_valid_test_split

    if split == "random":
        return train_valid_test_split(len(smiles), fractions=(0.8, 0.1, 0.1), random_state=seed)
    if split == "scaffold":
        return scaffold_split(smiles, fractions=(0.8, 0.1, 0.1), random_state=seed)
    raise ValueError(f"unknown split {split!r}; valid values are ['random', 'scaffold']")


def _test_score(estimator, smiles, y, task_type: str) -> float:
    from molgnba.metrics import masked_rmse, masked_roc_auc

    y = np.asarray(y, dtype=float)
    y2 = y.reshape(len(y), -1)
    if task_type == "classification":
        proba = estimator.predict_proba(smiles)
        scores = proba[:, 1:2] if y.ndim == 1 else proba
        return masked_roc_auc(y2, scores)
    return masked_rmse(y2, np.asarray(estimator.predict(smiles)).reshape(len(y), -1))


def run_one(config: RunConfig, data_home=None, device="cpu", verbose=0) -> dict:
    """Train and evaluate one cell; return the record that goes into its JSON.

    The estimator trains on the training part of the split, keeps the
    weights of its best epoch on the validation part, and is scored on the
    test part with the dataset's metric (ROC-AUC or RMSE).

    Parameters
    ----------
    config : RunConfig
    data_home : str, path or None, default=None
        Directory with the dataset file. None looks in the usual places (see
        :func:`molgnba.datasets.load_moleculenet`) and downloads it if needed.
    device : str, default="cpu"
    verbose : int, default=0
        The estimator's ``verbose``.

    Returns
    -------
    dict
        JSON-serializable: the ``config`` and ``key``, ``test_score``,
        ``valid_score``, ``best_epoch``, the split sizes, the per-epoch
        ``history``, the per-sample ``train_gradient_norm`` and
        ``train_attention`` of the training molecules, ``wall_seconds`` and
        the ``environment`` (versions, device, threads). :func:`save_run`
        writes the per-sample fields (:data:`ARRAY_FIELDS`) to a separate
        arrays file and the rest to the run's JSON.

    Examples
    --------
    A short run on a 10-molecule stand-in for ESOL:

    >>> import os, tempfile
    >>> import pandas as pd
    >>> from molgnba.benchmark.runner import RunConfig, run_one
    >>> data_home = tempfile.TemporaryDirectory()
    >>> pd.DataFrame({
    ...     "smiles": ["C", "CC", "CCC", "CCCC", "CCO", "CCCO", "CCN", "CCCl", "c1ccccc1", "c1ccccc1O"],
    ...     "logSolubility": [-0.6, -1.4, -1.9, -2.6, 1.1, 0.6, 0.8, -1.2, -1.6, 0.0],
    ... }).to_csv(os.path.join(data_home.name, "esol.csv"), index=False)
    >>> config = RunConfig("esol", "gin", "gnba", seed=0, epochs=2,
    ...                    hyperparameters={"num_layers": 1, "hidden_dim": 8, "lr": 1e-3, "batch_size": 4})
    >>> record = run_one(config, data_home=data_home.name)
    >>> record["key"], record["metric"], record["n_train"], record["n_valid"], record["n_test"]
    ('esol-random-gin-gnba-seed0-ep2', 'rmse', 8, 1, 1)
    >>> record["best_epoch"] in (1, 2), len(record["history"]), len(record["train_attention"])
    (True, 2, 8)
    >>> data_home.cleanup()
    """
    import torch

    from molgnba._version import __version__
    from molgnba.estimators import GNNClassifier, GNNRegressor
    from molgnba.data import FixedValidationSplit
    from molgnba.datasets import load_moleculenet

    bunch = load_moleculenet(config.dataset, data_home=data_home, download=data_home is None)
    smiles, y = list(bunch.smiles), np.asarray(bunch.target, dtype=float)
    train, valid, test = _split(smiles, config.split, config.seed)
    fit_index = np.concatenate([train, valid])
    Estimator = GNNClassifier if bunch.task_type == "classification" else GNNRegressor
    estimator = Estimator(
        backbone=config.backbone,
        max_epochs=config.epochs,
        random_state=config.seed,
        device=device,
        verbose=verbose,
        train_split=FixedValidationSplit(np.arange(len(train), len(fit_index))),
        **config.hyperparameters,
        **LOSS_VARIANTS[config.loss],
    )
    start = time.perf_counter()
    estimator.fit([smiles[k] for k in fit_index], y[fit_index])
    wall = time.perf_counter() - start
    test_score = _test_score(estimator, [smiles[k] for k in test], y[test], bunch.task_type)
    monitor = "valid_roc_auc" if bunch.task_type == "classification" else "valid_rmse"
    history = [
        {key: row.get(key) for key in ("epoch", "train_loss", "valid_loss", monitor, "attention_entropy", "dur")}
        for row in estimator.history_
    ]
    best = estimator.best_epoch_
    n_train = len(train)
    gradient_norm = np.asarray(estimator.train_gradient_norm_)[:n_train]
    attention = np.asarray(estimator.train_attention_)[:n_train]
    return {
        "config": dataclasses.asdict(config),
        "key": config.key,
        "task_type": bunch.task_type,
        "metric": bunch.metric,
        "test_score": test_score,
        "valid_score": history[best - 1][monitor] if best else None,
        "best_epoch": best,
        "n_train": n_train,
        "n_valid": len(valid),
        "n_test": len(test),
        "wall_seconds": wall,
        "history": history,
        "train_gradient_norm": _nan_to_none(gradient_norm),
        "train_attention": _nan_to_none(attention),
        "environment": {
            "device": str(device),
            "device_name": torch.cuda.get_device_name(0) if str(device).startswith("cuda") else platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "molgnba": __version__,
            "python": platform.python_version(),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }


def _nan_to_none(values: np.ndarray) -> list:
    return [None if np.isnan(v) else round(float(v), 6) for v in np.ravel(values)]


def save_run(record: dict, runs_dir) -> tuple[Path, Path]:
    """Write a record of :func:`run_one` as ``<key>.json`` and ``<key>.arrays.npz``.

    The JSON keeps what a reader needs to check a claim (configuration,
    scores, per-epoch history, timings, versions) and, in place of the
    per-molecule arrays, their ``left_wrong`` summary (the row of
    :func:`~molgnba.benchmark.report.hard_samples` for this run). The arrays
    (:data:`ARRAY_FIELDS`, NaN for a molecule without a value) go to a
    compressed ``.npz`` beside it, which version control can leave out. The
    arrays are written first and the JSON last, atomically: a JSON on disk
    means a finished run.

    Parameters
    ----------
    record : dict
        From :func:`run_one`; not modified.
    runs_dir : str or path
        Created if needed.

    Returns
    -------
    tuple of pathlib.Path
        The JSON's path and the arrays file's path.

    Examples
    --------
    >>> import json, tempfile
    >>> from molgnba.benchmark.runner import load_run_arrays, save_run
    >>> record = {"key": "esol-random-gin-gnba-seed0-ep2", "test_score": 1.2,
    ...           "train_gradient_norm": [0.1, 0.95, None], "train_attention": [1.2, 0.8, None]}
    >>> runs_dir = tempfile.TemporaryDirectory()
    >>> json_path, arrays_path = save_run(record, runs_dir.name)
    >>> json_path.name, arrays_path.name
    ('esol-random-gin-gnba-seed0-ep2.json', 'esol-random-gin-gnba-seed0-ep2.arrays.npz')
    >>> saved = json.loads(json_path.read_text())
    >>> sorted(saved), saved["left_wrong"]
    (['key', 'left_wrong', 'test_score'], {'threshold': 0.9, 'fraction': 0.5, 'attention': 0.8})
    >>> load_run_arrays(json_path)["train_gradient_norm"]
    array([0.1 , 0.95,  nan])
    >>> runs_dir.cleanup()
    """
    from molgnba.benchmark.report import left_wrong_summary

    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    scalars = {name: value for name, value in record.items() if name not in ARRAY_FIELDS}
    arrays = {name: _as_array(record[name]) for name in ARRAY_FIELDS if record.get(name) is not None}
    json_path, arrays_path = runs_dir / f"{record['key']}.json", runs_dir / f"{record['key']}{ARRAYS_SUFFIX}"
    if "train_gradient_norm" in arrays:
        scalars["left_wrong"] = left_wrong_summary(arrays["train_gradient_norm"], arrays.get("train_attention"))
        tmp = arrays_path.with_name(arrays_path.name + ".tmp")
        with open(tmp, "wb") as file:  # a file object: numpy would append ".npz" to a name
            np.savez_compressed(file, **arrays)
        os.replace(tmp, arrays_path)
    _write_atomic(json_path, scalars)
    return json_path, arrays_path


def load_run_arrays(json_path) -> dict[str, np.ndarray]:
    """The per-molecule arrays saved beside a run's JSON; empty if that file is absent.

    Parameters
    ----------
    json_path : str or path
        A run's ``<key>.json``, as written by :func:`save_run`.

    Returns
    -------
    dict of str to numpy.ndarray
        Float arrays of :data:`ARRAY_FIELDS` by name, NaN where a molecule
        has no value. Committed benchmark results keep no arrays files, so
        callers must treat the arrays as optional.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from molgnba.benchmark.runner import load_run_arrays
    >>> with tempfile.TemporaryDirectory() as runs_dir:
    ...     load_run_arrays(Path(runs_dir) / "esol-random-gin-plain-seed0-ep2.json")
    {}
    """
    json_path = Path(json_path)
    arrays_path = json_path.with_name(json_path.name.removesuffix(".json") + ARRAYS_SUFFIX)
    if not arrays_path.exists():
        return {}
    with np.load(arrays_path) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _as_array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.ravel(np.asarray(values, dtype=object))], dtype=float)


def _compact_json(record: dict) -> str:
    """Indented JSON with one line per epoch of the history, its numbers to 6 significant digits.

    The history is most of a run file: this keeps it readable in a diff and
    small under version control. The scores (``test_score``,
    ``valid_score``) stay at full precision.
    """
    history = record.get("history")
    if not history:
        return json.dumps(record, indent=1)
    placeholder = "<history>"
    text = json.dumps({**record, "history": placeholder}, indent=1)
    rows = ",\n".join("  " + json.dumps({name: _significant(value) for name, value in row.items()},
                                         separators=(",", ":")) for row in history)
    return text.replace(json.dumps(placeholder), "[\n" + rows + "\n ]", 1)


def _significant(value, digits=6):
    if isinstance(value, float) and np.isfinite(value):
        return float(f"{value:.{digits}g}")
    return value


def _write_atomic(path: Path, record: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(_compact_json(record))
    os.replace(tmp, path)


def _run_and_save(config: RunConfig, runs_dir: str, data_home, device, threads) -> tuple[str, str | None]:
    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        record = run_one(config, data_home=data_home, device=device)
    except Exception:  # reported by the caller; the other runs go on
        return config.key, traceback.format_exc()
    save_run(record, runs_dir)
    return config.key, None


def run_benchmark(configs, out_dir, data_home=None, device="cpu", jobs=1, threads=None, progress=True):
    """Run every config whose JSON is not yet in ``out_dir/runs``.

    Each finished run is written at once (atomically) to
    ``out_dir/runs/<key>.json``, its per-molecule arrays to
    ``out_dir/runs/<key>.arrays.npz`` (see :func:`save_run`), so an
    interrupted benchmark resumes where it stopped. A run that fails is
    reported and the others go on.

    Parameters
    ----------
    configs : list of RunConfig
        Usually from :func:`plan_runs`.
    out_dir : str or path
        Created if needed.
    data_home : str, path or None, default=None
        As in :func:`run_one`.
    device : str, default="cpu"
    jobs : int, default=1
        Runs in parallel, each in its own process.
    threads : int or None, default=None
        Torch threads per run; None leaves torch's setting.
    progress : bool, default=True
        Show a progress bar over the runs.

    Returns
    -------
    list of tuple of (str, str)
        ``(key, traceback)`` of each failed run; empty if all succeeded.

    Examples
    --------
    The paper's protocol, 48 runs of hours each, needs the real data::

        configs = plan_runs(["bbbp", "bace", "lipophilicity", "esol"], ["gin", "gat"],
                            ["plain", "gnba"], seeds=[0, 1, 2])
        failures = run_benchmark(configs, "benchmark_results", jobs=4, threads=1)

    A pair of short runs on a 10-molecule stand-in for ESOL:

    >>> import os, tempfile
    >>> import pandas as pd
    >>> from molgnba.benchmark.runner import plan_runs, run_benchmark
    >>> out_dir = tempfile.TemporaryDirectory()
    >>> pd.DataFrame({
    ...     "smiles": ["C", "CC", "CCC", "CCCC", "CCO", "CCCO", "CCN", "CCCl", "c1ccccc1", "c1ccccc1O"],
    ...     "logSolubility": [-0.6, -1.4, -1.9, -2.6, 1.1, 0.6, 0.8, -1.2, -1.6, 0.0],
    ... }).to_csv(os.path.join(out_dir.name, "esol.csv"), index=False)
    >>> configs = plan_runs(["esol"], ["gin"], ["plain", "gnba"], seeds=[0], epochs=1,
    ...                     hyperparameters={"num_layers": 1, "hidden_dim": 8})
    >>> run_benchmark(configs, out_dir.name, data_home=out_dir.name, progress=False)
    []
    >>> sorted(os.listdir(os.path.join(out_dir.name, "runs")))
    ['esol-random-gin-gnba-seed0-ep1.arrays.npz', 'esol-random-gin-gnba-seed0-ep1.json',
     'esol-random-gin-plain-seed0-ep1.arrays.npz', 'esol-random-gin-plain-seed0-ep1.json']
    >>> run_benchmark(configs, out_dir.name, data_home=out_dir.name, progress=False)  # nothing left to run
    []
    >>> out_dir.cleanup()
    """
    from tqdm.auto import tqdm

    runs_dir = Path(out_dir) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    todo = [c for c in configs if not (runs_dir / f"{c.key}.json").exists()]
    skipped = len(configs) - len(todo)
    failures = []
    bar = tqdm(total=len(configs), initial=skipped, desc="benchmark runs", unit="run", disable=not progress)
    if jobs <= 1:
        for config in todo:
            key, error = _run_and_save(config, str(runs_dir), data_home, device, threads)
            if error:
                failures.append((key, error))
            bar.update()
    else:
        import multiprocessing

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [
                pool.submit(_run_and_save, config, str(runs_dir), data_home, device, threads)
                for config in todo
            ]
            for future in as_completed(futures):
                key, error = future.result()
                if error:
                    failures.append((key, error))
                bar.update()
    bar.close()
    return failures
