"""Streaming prediction for virtual screening: millions of SMILES in bounded memory.

:func:`predict_iter` takes any iterable of SMILES (a generator, a file read
line by line, a database cursor) and yields the predictions chunk by chunk;
:func:`predict_frame` gives them as a DataFrame of named columns, with the
reason for each invalid SMILES, and :func:`predict_file` writes those columns
from one CSV file to another (it is what ``molgnba predict`` runs). Memory
stays proportional to ``chunk_size``, never to the number of molecules:

* the input is consumed ``chunk_size`` items at a time;
* each chunk's graphs are built without the process-wide graph cache
  (:data:`molgnba.featurize.graph_cache`, which would otherwise keep up to
  200,000 graphs of molecules that are never seen again) and dropped after
  the chunk is predicted;
* the fitted estimator is neither copied nor changed (see below).

Invalid SMILES never stop a screen: their rows hold NaN (``None`` for the
labels of a classifier trained on non-numeric labels; an empty field and the
reason in ``molgnba_error`` in a file), whatever the
estimator's ``invalid_smiles`` setting, which governs fitting and direct
calls to ``predict``. Every row of the output therefore lines up with a row
of the input.

How it is done: :class:`ChunkPredictor` featurizes each chunk without the
cache, keeping None for the invalid SMILES, and hands the graphs to the
estimator's public ``predict_graphs``. The network, the fitted attributes and
every line of post-processing (inverse standardisation, class probabilities,
label decoding) are the estimator's own, so a screen returns what
``estimator.predict`` returns on the same molecules (exactly, for the same
batches; otherwise up to floating-point rounding, since the molecules that
share a batch change the order of the sums). Validating the SMILES
separately before calling ``predict`` would parse every molecule twice; a
copy with ``invalid_smiles="skip"`` would still fill the global cache.

Examples
--------
>>> from molgnba import GNNRegressor
>>> from molgnba.screening import predict_iter
>>> smiles = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCCCCC", "CCCCCCC", "CCCCCCCC"] * 3
>>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0).fit(smiles, range(24))
>>> chunks = list(predict_iter(reg, iter(["CCO", "not a smiles", "CCN"]), chunk_size=2))
>>> [chunk.shape for chunk in chunks]
[(2,), (1,)]
>>> bool(np.isnan(chunks[0][1]))
True
"""

from __future__ import annotations

import itertools
import os
import sys
from typing import Iterable, Iterator

import numpy as np

from molgnba.featurize import featurize_smiles

__all__ = ["ChunkPredictor", "ERROR_COLUMN", "predict_file", "predict_frame", "predict_iter"]

#: The column that says why a row could not be predicted (empty when it was).
ERROR_COLUMN = "molgnba_error"

_METHODS = ("predict", "predict_proba", "decision_function", "transform")


class ChunkPredictor:
    """Predicts lists of SMILES as a screen does: no graph cache, invalid SMILES as NaN rows.

    The building block of :func:`predict_iter`, :func:`predict_file` and
    :func:`molgnba.distributed.predict_dask`. Each call featurizes its SMILES
    without the process-wide graph cache and hands the graphs to the
    estimator's :meth:`~molgnba.GNNRegressor.predict_graphs`, so the
    predictions are the estimator's own; the estimator is only read.

    Parameters
    ----------
    estimator : fitted GNNRegressor or GNNClassifier
    method : {"predict", "predict_proba", "decision_function", "transform"}, default="predict"
        "transform" gives the learned fingerprints (see
        :meth:`~molgnba.GNNRegressor.transform`).
    batch_size : int or None, default=None
        Molecules per forward pass; None keeps the estimator's.
    n_jobs : int or None, default=None
        Processes that featurize (see :func:`molgnba.featurize.featurize_smiles`).
    torch_threads : int or None, default=None
        Torch intra-op threads during each call (restored after it); None
        leaves torch's setting.
    return_std : bool, default=False
        With ``method="predict"`` on a regressor fitted with an
        ``uncertainty`` method: :meth:`predict` returns ``(mean, std)``.

    Raises
    ------
    ValueError
        For an unknown ``method``, or ``return_std=True`` where the
        estimator has no uncertainty method (checked here, before any work).
    AttributeError
        If the estimator has no such method.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> from molgnba import GNNRegressor
    >>> from molgnba.screening import ChunkPredictor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "c1ccccc1", "CC(=O)O"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    >>> reg = reg.fit(smiles, [float(len(s)) for s in smiles])
    >>> predictor = ChunkPredictor(reg)
    >>> values = predictor.predict(["CCS", "not a smiles"])
    >>> values.shape, bool(np.isnan(values[1])), predictor.output_columns(values)
    ((2,), True, ['predict'])
    """

    def __init__(self, estimator, method: str = "predict", *, batch_size=None, n_jobs=None, torch_threads=None,
                 return_std: bool = False):
        if method not in _METHODS:
            raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
        if not hasattr(estimator, method):
            raise AttributeError(f"{type(estimator).__name__} has no {method}")
        is_fitted = getattr(estimator, "__sklearn_is_fitted__", None)
        if is_fitted is None or not is_fitted():
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet; call fit(smiles, y) first")
        if return_std:
            # Refused now, with the estimator's reason, rather than at the first chunk.
            estimator.predict_graphs([], method, return_std=True)
        self.estimator = estimator
        self.method = method
        self.batch_size = None if batch_size is None else int(batch_size)
        self.n_jobs = n_jobs
        self.torch_threads = torch_threads
        self.return_std = bool(return_std)

    def predict(self, smiles: list) -> np.ndarray:
        """The method's output for ``smiles``, one row per item (NaN rows for invalid ones).

        Parameters
        ----------
        smiles : list
            SMILES strings; anything that is not a valid SMILES (None, NaN,
            numbers, unparseable strings) gives a NaN row (None for
            non-numeric class labels).

        Returns
        -------
        ndarray of shape (len(smiles),) or (len(smiles), k)
            With ``return_std=True``, the tuple ``(mean, std)`` of two such arrays.

        Examples
        --------
        >>> from molgnba import GNNClassifier
        >>> from molgnba.screening import ChunkPredictor
        >>> smiles = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N"]
        >>> clf = GNNClassifier(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> clf = clf.fit(smiles, ["no", "yes"] * 4)
        >>> ChunkPredictor(clf).predict(["CCS", None, "CCF"])[1] is None  # string labels: None
        True
        """
        import torch

        previous = torch.get_num_threads()
        if self.torch_threads is not None and self.torch_threads != previous:
            torch.set_num_threads(int(self.torch_threads))
        try:
            graphs, _ = featurize_smiles(smiles, self.estimator.graph_featurizer(), cache=None, n_jobs=self.n_jobs)
            if self.return_std:
                return self.estimator.predict_graphs(graphs, self.method, batch_size=self.batch_size, return_std=True)
            return self.estimator.predict_graphs(graphs, self.method, batch_size=self.batch_size)
        finally:
            if torch.get_num_threads() != previous:
                torch.set_num_threads(previous)

    def output_columns(self, values: np.ndarray) -> list[str]:
        """Column names for ``values`` (an output of :meth:`predict`) in a table.

        ``[method]`` for one output per molecule, else one column per class
        (``predict_proba_<label>``) or output.

        Examples
        --------
        >>> from molgnba import GNNClassifier
        >>> from molgnba.screening import ChunkPredictor
        >>> smiles = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N"]
        >>> clf = GNNClassifier(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> clf = clf.fit(smiles, ["no", "yes"] * 4)
        >>> predictor = ChunkPredictor(clf, method="predict_proba")
        >>> predictor.output_columns(predictor.predict(["CCS"]))
        ['predict_proba_no', 'predict_proba_yes']
        """
        return _output_columns(values, self.method, self.estimator)


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk


def predict_iter(
    estimator,
    smiles_iterable: Iterable,
    chunk_size: int = 10_000,
    method: str = "predict",
    batch_size: int | None = None,
    n_jobs: int | None = None,
    torch_threads: int | None = None,
) -> Iterator[np.ndarray]:
    """Predict an iterable of SMILES chunk by chunk, in memory bounded by ``chunk_size``.

    Parameters
    ----------
    estimator : fitted GNNRegressor or GNNClassifier
        Used read-only; it may be used elsewhere meanwhile.
    smiles_iterable : iterable of str
        Consumed lazily, ``chunk_size`` items at a time. Items that are not
        valid SMILES (unparseable strings, None, NaN, numbers) give NaN rows.
    chunk_size : int, default=10000
        Molecules featurized and predicted together; memory grows with it.
    method : {"predict", "predict_proba", "decision_function"}, default="predict"
        The estimator method whose output is yielded.
    batch_size : int or None, default=None
        Molecules per forward pass within a chunk; None keeps the
        estimator's ``batch_size`` (32 by default), which is as fast as any
        on CPU and needs the least memory. On a GPU larger batches pay
        (1024: a fifth more molecules/s than 256 on an H200; see
        docs/performance.md). Results do not depend on it beyond
        floating-point rounding.
    n_jobs : int or None, default=None
        Processes that parse and featurize each chunk (see
        :func:`molgnba.featurize.featurize_smiles`); None works in this process.
    torch_threads : int or None, default=None
        Torch intra-op threads while a chunk is predicted (the previous
        setting is restored after each chunk); None leaves torch's setting.
        On a small or shared machine 1 is often much faster than the
        default of one thread per core (see docs/performance.md).

    Yields
    ------
    ndarray
        The method's output for each chunk, row ``i`` for the chunk's item
        ``i``: shape ``(len(chunk),)`` or ``(len(chunk), k)``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        For an unknown ``method`` or a ``chunk_size`` below 1.

    Examples
    --------
    >>> import numpy as np
    >>> from molgnba import GNNClassifier
    >>> from molgnba.screening import predict_iter
    >>> smiles = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N"]
    >>> clf = GNNClassifier(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    >>> clf = clf.fit(smiles, [0, 0, 1, 1, 0, 0, 1, 1])
    >>> library = (s for s in ["CCS", "not a smiles", "CCF", "CCCCO", "c1ccoc1"])  # any iterable
    >>> chunks = predict_iter(clf, library, chunk_size=2, method="predict_proba")
    >>> [chunk.shape for chunk in chunks]
    [(2, 2), (2, 2), (1, 2)]
    >>> proba = np.vstack(list(predict_iter(clf, ["CCS", "not a smiles"], method="predict_proba")))
    >>> np.isnan(proba).all(axis=1).tolist()  # the invalid SMILES gives a row of NaN
    [False, True]
    """
    predictor = ChunkPredictor(estimator, method, batch_size=batch_size, n_jobs=n_jobs, torch_threads=torch_threads)
    if not (isinstance(chunk_size, (int, np.integer)) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if isinstance(smiles_iterable, (str, bytes)):
        raise TypeError("smiles_iterable must be an iterable of SMILES strings, not a single string")
    for chunk in _chunks(smiles_iterable, int(chunk_size)):
        yield predictor.predict(chunk)



def _output_columns(values: np.ndarray, method: str, estimator) -> list[str]:
    """Column names of one method's raw output (``predict_proba_<label>``...), as predict_dask names them."""
    if values.ndim == 1:
        return [method]
    classes = getattr(estimator, "classes_", None)
    if (
        method == "predict_proba"
        and classes is not None
        and len(classes) == values.shape[1]
        and getattr(estimator, "target_ndim_", 1) == 1
    ):
        return [f"{method}_{label}" for label in classes]
    return [f"{method}_{k}" for k in range(values.shape[1])]


# ------------------------------------------------- prediction tables (predict_frame, predict_file)

_SUFFIXES = {"predict": "pred", "predict_proba": "proba", "decision_function": "decision"}
_STD_SUFFIX = "std"


def _is_classifier(estimator) -> bool:
    return getattr(estimator, "classes_", None) is not None


def _is_multitask(estimator) -> bool:
    return getattr(estimator, "target_ndim_", 1) == 2


def _check_table_method(estimator, method, return_std=False):
    if method is not None and method not in _METHODS:
        raise ValueError(f"method must be None or one of {list(_METHODS)}, got {method!r}")
    if return_std and method not in (None, "predict"):
        raise ValueError(f"return_std=True goes with method=None or 'predict', not {method!r}")
    # A classifier's labels are derived from its probabilities (as its predict does), in one pass.
    return "predict_proba" if _is_classifier(estimator) and method in (None, "predict") else method or "predict"


def _target_names(estimator, target_names) -> list[str]:
    n_targets = estimator.n_tasks_ if _is_multitask(estimator) else 1
    if target_names is None:
        return ["target"] if n_targets == 1 else [f"target_{k}" for k in range(n_targets)]
    names = [target_names] if isinstance(target_names, str) else [str(name) for name in target_names]
    if len(names) != n_targets or len(set(names)) != len(names):
        raise ValueError(
            f"target_names must give each of the model's {n_targets} target(s) a distinct name, got {names}"
        )
    return names


def _prediction_columns(estimator, method: str | None, names: list[str], return_std: bool = False) -> list[str]:
    """The prediction columns of the table, in order (see :func:`predict_frame`)."""
    if method == "transform":
        return [str(name) for name in estimator.get_feature_names_out()]
    if return_std:
        return [f"{name}_{suffix}" for name in names for suffix in (_SUFFIXES["predict"], _STD_SUFFIX)]
    if method is None:
        if not _is_classifier(estimator):
            return [f"{name}_pred" for name in names]
        labels = _prediction_columns(estimator, "predict", names)
        probabilities = _prediction_columns(estimator, "predict_proba", names)
        if _is_multitask(estimator):
            return [column for pair in zip(labels, probabilities) for column in pair]
        return labels + probabilities
    suffix = _SUFFIXES[method]
    if method == "predict" or _is_multitask(estimator) or len(estimator.classes_) == 2:
        return [f"{name}_{suffix}" for name in names]
    return [f"{names[0]}_{suffix}_{label}" for label in estimator.classes_.tolist()]


def _python(value):
    return value.item() if isinstance(value, np.generic) else value


def _label_cells(labels, invalid) -> list:
    """Labels as plain Python values (``1``, not ``1.0`` or ``np.int64(1)``); None for invalid rows."""
    return [None if bad else _python(label) for label, bad in zip(labels, invalid)]


def _prediction_data(estimator, method: str | None, raw) -> tuple[list, np.ndarray]:
    """The table's prediction columns (in the order of ``_prediction_columns``) and the invalid rows."""
    if isinstance(raw, tuple):  # (mean, std) of a regressor: each target's value, then its std
        mean, std = (values.reshape(len(values), -1).astype(float) for values in raw)
        columns = [column for pair in zip(mean.T, std.T) for column in pair]
        return columns, np.isnan(mean).all(axis=1)
    if method == "transform":  # float32 fingerprints stay float32: shorter text in a file
        return list(raw.T), np.isnan(raw).all(axis=1)
    flat = raw.reshape(len(raw), -1).astype(float)
    invalid = np.isnan(flat).all(axis=1)
    if not _is_classifier(estimator) or method == "decision_function":
        return list(flat.T), invalid
    if _is_multitask(estimator):
        labels = [_label_cells((flat[:, task] >= 0.5).astype(np.int64), invalid) for task in range(flat.shape[1])]
        probabilities = list(flat.T)
    else:
        labels = [_label_cells(estimator.classes_[np.nan_to_num(flat).argmax(axis=1)], invalid)]
        probabilities = [flat[:, 1]] if flat.shape[1] == 2 else list(flat.T)
    if method == "predict":
        return labels, invalid
    if method == "predict_proba":
        return probabilities, invalid
    if _is_multitask(estimator):
        return [column for pair in zip(labels, probabilities) for column in pair], invalid
    return labels + probabilities, invalid


def _invalid_reasons(smiles: list, invalid: np.ndarray) -> list:
    """Why each row could not be predicted (None for the rows that were).

    Only those rows are parsed again, so a screen parses its valid molecules once.
    """
    from molgnba.featurize import check_smiles

    reasons: list = [None] * len(smiles)
    rows = np.flatnonzero(invalid)
    if len(rows):
        _, found = check_smiles([smiles[row] for row in rows])
        by_position = {item.position: item.reason for item in found}
        for position, row in enumerate(rows):
            reasons[row] = by_position.get(position, "could not be predicted")
    return reasons


def _predict_table(predictor: ChunkPredictor, method, smiles: list, columns: list[str]):
    import pandas as pd

    estimator = predictor.estimator
    raw = predictor.predict(smiles)
    values, invalid = _prediction_data(estimator, method, raw)
    # Labels (lists) stay objects: ints with None for the invalid rows must not become floats.
    table = pd.DataFrame({
        column: pd.Series(cells, dtype=object) if isinstance(cells, list) else cells
        for column, cells in zip(columns, values)
    })
    table[ERROR_COLUMN] = pd.Series(_invalid_reasons(smiles, invalid), dtype=object)
    return table


def predict_frame(
    estimator,
    smiles,
    method: str | None = None,
    target_names=None,
    chunk_size: int = 10_000,
    batch_size: int | None = None,
    n_jobs: int | None = None,
    torch_threads: int | None = None,
    return_std: bool = False,
):
    """Predict SMILES into a DataFrame: one row per input, with the reason for each invalid one.

    The columns are those ``molgnba predict`` and :func:`predict_file` add
    to a CSV file, for each target ``<t>`` (named by ``target_names``):

    =====================  ==================================================
    regressor              ``<t>_pred``
    binary classifier      ``<t>_pred`` (label), ``<t>_proba`` (probability
                           of ``classes_[1]``)
    multiclass             ``<t>_pred``, then ``<t>_proba_<class>`` per class
    multi-task 0/1         ``<t>_pred`` (0 or 1) and ``<t>_proba`` per task
    always, last           ``molgnba_error`` (:data:`ERROR_COLUMN`): None, or
                           why the SMILES could not be predicted
    =====================  ==================================================

    ``method="predict"`` keeps the ``_pred`` columns only,
    ``"predict_proba"`` the ``_proba`` ones and ``"decision_function"``
    gives the logits as ``<t>_decision`` (``<t>_decision_<class>``).
    ``return_std=True`` (a regressor fitted with an ``uncertainty``
    method) puts each target's standard deviation ``<t>_std`` after its
    ``<t>_pred``. ``method="transform"`` gives the learned fingerprints
    instead, one float32 column per feature named by
    ``estimator.get_feature_names_out()`` (``gnnregressor0``, ...).
    Labels are computed from the probabilities, as the classifier's own
    ``predict`` does, so a classifier runs once per molecule.

    Parameters
    ----------
    estimator : fitted GNNRegressor or GNNClassifier
        Used read-only (see :func:`predict_iter`).
    smiles : sequence of str
        Any item that is not a valid SMILES gives a row without predictions.
    method : {None, "predict", "predict_proba", "decision_function", "transform"}, default=None
        None: the labels and probabilities of a classifier, the values of
        a regressor.
    target_names : str or list of str, optional
        One name per target; by default ``target`` (``target_0``,
        ``target_1``... for several).
    chunk_size, batch_size, n_jobs, torch_threads
        As in :func:`predict_iter`.
    return_std : bool, default=False
        Add the ``<t>_std`` columns (see above).

    Returns
    -------
    pandas.DataFrame
        Row ``i`` for ``smiles[i]``. Probabilities and values are floats
        (NaN in invalid rows); labels are plain Python values (None in
        invalid rows).

    Raises
    ------
    ValueError
        For an unknown ``method``, a ``chunk_size`` below 1,
        ``target_names`` that do not name each target once, or
        ``return_std=True`` for an estimator without an uncertainty method.

    Examples
    --------
    >>> from molgnba import GNNClassifier
    >>> from molgnba.screening import predict_frame
    >>> smiles = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N"]
    >>> clf = GNNClassifier(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    >>> clf = clf.fit(smiles, ["no", "no", "yes", "yes"] * 2)
    >>> table = predict_frame(clf, ["CCS", "C1CC", ""], target_names="toxic")
    >>> list(table.columns)
    ['toxic_pred', 'toxic_proba', 'molgnba_error']
    >>> table["toxic_pred"].iloc[0] in ("no", "yes"), table["toxic_proba"].isna().tolist()
    (True, [False, True, True])
    >>> table["molgnba_error"].tolist()
    [None, 'RDKit could not parse it', 'empty string']

    A regressor with an uncertainty method adds standard deviations:

    >>> from molgnba import GNNRegressor
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0, n_ensemble=2,
    ...                    uncertainty="ensemble").fit(smiles, [float(len(s)) for s in smiles])
    >>> list(predict_frame(reg, ["CCS", "C1CC"], target_names="length", return_std=True).columns)
    ['length_pred', 'length_std', 'molgnba_error']
    """
    import pandas as pd

    asked = _check_table_method(estimator, method, return_std)
    predictor = ChunkPredictor(estimator, asked, batch_size=batch_size, n_jobs=n_jobs, torch_threads=torch_threads,
                               return_std=return_std)
    if not (isinstance(chunk_size, (int, np.integer)) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if isinstance(smiles, (str, bytes)):
        raise TypeError("smiles must be a sequence of SMILES strings, not a single string")
    columns = _prediction_columns(estimator, method, _target_names(estimator, target_names), return_std)
    tables = [
        _predict_table(predictor, method, chunk, columns)
        for chunk in _chunks(smiles, int(chunk_size))
    ]
    if not tables:
        return pd.DataFrame({column: pd.Series(dtype=float) for column in columns + [ERROR_COLUMN]})
    return pd.concat(tables, ignore_index=True)


# Every cell as its exact text: the input columns pass through untouched ("007"
# stays "007", "NA" stays "NA", "1.50" stays "1.50").
_TEXT_CELLS = dict(dtype=str, keep_default_na=False, na_filter=False)


def _check_header(header: list, kept: list, columns: list, smiles_column: str, in_csv) -> None:
    if smiles_column not in header:
        raise KeyError(f"no column {smiles_column!r} in {str(in_csv)!r} (columns: {header})")
    clashes = [column for column in columns + [ERROR_COLUMN] if column in kept]
    if clashes:
        raise ValueError(
            f"{str(in_csv)!r} already has column(s) {', '.join(map(repr, clashes))}, which the predictions "
            "would be written to; rename them (or predict from the original file)"
        )


def _same_file(first, second) -> bool:
    try:
        return os.path.samefile(first, second)
    except (OSError, TypeError):
        return False


def predict_file(
    estimator,
    in_csv: str | os.PathLike,
    out_csv: str | os.PathLike,
    smiles_column: str = "smiles",
    chunk_size: int = 10_000,
    method: str | None = None,
    batch_size: int | None = None,
    n_jobs: int | None = None,
    keep_columns: bool = True,
    torch_threads: int | None = None,
    target_names=None,
    progress_bar: bool = False,
    return_std: bool = False,
) -> dict:
    """Screen a CSV file into another, ``chunk_size`` rows at a time.

    This is what ``molgnba predict`` runs. The output has one row per input
    row, in input order: the input's columns, their cells as the exact text
    of the input (all of them, or only ``smiles_column`` with
    ``keep_columns=False``), followed by the columns of
    :func:`predict_frame` (``<target>_pred``, ``<target>_proba``...) and
    ``molgnba_error``. Rows of invalid SMILES have empty predictions and
    the reason in ``molgnba_error``. The output file appears only once it is
    complete (it is written to a temporary file next to it, then renamed).

    Parameters
    ----------
    estimator : fitted GNNRegressor or GNNClassifier
    in_csv, out_csv : str or path
        A CSV file to read (``.gz`` and the other compressions pandas
        infers included) and one to write, with the same compression
        rules; never held whole in memory. They must differ.
    smiles_column : str, default="smiles"
    chunk_size, batch_size, n_jobs, torch_threads
        As in :func:`predict_iter`.
    method, target_names, return_std
        As in :func:`predict_frame`: ``return_std=True`` adds ``<t>_std``
        after each ``<t>_pred``; ``method="transform"`` writes the learned
        fingerprints (what ``molgnba fingerprint`` runs).
    keep_columns : bool, default=True
    progress_bar : bool, default=False
        Show the rows done on stderr (tqdm).

    Returns
    -------
    dict
        ``n_rows`` (rows written), ``n_invalid`` (rows without predictions)
        and ``columns`` (the prediction columns, ``molgnba_error`` not
        included).

    Raises
    ------
    KeyError
        If the input has no ``smiles_column``.
    ValueError
        If the input already has a column the predictions would be written
        to, if ``out_csv`` is ``in_csv``, or as :func:`predict_frame`;
        all of them before any prediction.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from molgnba import GNNRegressor
    >>> from molgnba.screening import predict_file
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "c1ccccc1", "CC(=O)O"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    >>> reg = reg.fit(smiles, [float(len(s)) for s in smiles])
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     library, hits = os.path.join(directory, "library.csv"), os.path.join(directory, "out.csv")
    ...     frame = pd.DataFrame({"id": ["007", "102", "103"], "smiles": ["CCS", "C1CC", "CCF"]})
    ...     frame.to_csv(library, index=False)
    ...     summary = predict_file(reg, library, hits, chunk_size=2, target_names="length")
    ...     out = pd.read_csv(hits, dtype={"id": str})
    >>> summary
    {'n_rows': 3, 'n_invalid': 1, 'columns': ['length_pred']}
    >>> list(out.columns), out["id"].tolist()
    (['id', 'smiles', 'length_pred', 'molgnba_error'], ['007', '102', '103'])
    >>> out["length_pred"].isna().tolist(), out["molgnba_error"].tolist()
    ([False, True, False], [nan, 'RDKit could not parse it', nan])
    """
    import secrets
    from pathlib import Path

    import pandas as pd
    from tqdm.auto import tqdm

    asked = _check_table_method(estimator, method, return_std)
    predictor = ChunkPredictor(estimator, asked, batch_size=batch_size, n_jobs=n_jobs, torch_threads=torch_threads,
                               return_std=return_std)
    if not (isinstance(chunk_size, (int, np.integer)) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    columns = _prediction_columns(estimator, method, _target_names(estimator, target_names), return_std)
    header = list(pd.read_csv(in_csv, nrows=0, **_TEXT_CELLS).columns)
    kept = header if keep_columns else [smiles_column]
    _check_header(header, kept, columns, smiles_column, in_csv)
    if _same_file(in_csv, out_csv):
        raise ValueError(f"the output file must not be the input file ({str(in_csv)!r})")

    output = Path(out_csv)
    # The temporary name keeps the output's suffixes, so pandas infers the same compression.
    temporary = output.with_name(f".{secrets.token_hex(6)}.{output.name}")
    n_rows = n_invalid = 0
    try:
        reader = pd.read_csv(in_csv, chunksize=int(chunk_size), **_TEXT_CELLS)
        progress = tqdm(desc="predicting", unit=" rows", disable=not progress_bar, file=sys.stderr)
        with reader, progress:
            for frame in reader:
                if len(frame) == 0:
                    continue
                table = _predict_table(predictor, method, frame[smiles_column].tolist(), columns)
                table.index = frame.index
                out = pd.concat([frame[kept], table], axis=1)
                out.to_csv(temporary, mode="a" if n_rows else "w", header=not n_rows, index=False)
                n_rows += len(out)
                n_invalid += int(table[ERROR_COLUMN].notna().sum())
                progress.update(len(out))
        if n_rows == 0:  # a header without rows still gets the whole header
            pd.DataFrame(columns=kept + columns + [ERROR_COLUMN]).to_csv(temporary, index=False)
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)
    return {"n_rows": n_rows, "n_invalid": n_invalid, "columns": columns}
