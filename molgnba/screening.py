"""Streaming prediction for virtual screening: millions of SMILES in bounded memory.

:func:`predict_iter` takes any iterable of SMILES (a generator, a file read
line by line, a database cursor) and yields the predictions chunk by chunk;
:func:`predict_file` does the same from one CSV file to another. Memory
stays proportional to ``chunk_size``, never to the number of molecules:

* the input is consumed ``chunk_size`` items at a time;
* each chunk's graphs are built without the process-wide graph cache
  (:data:`molgnba.featurize.graph_cache`, which would otherwise keep up to
  200,000 graphs of molecules that are never seen again) and dropped after
  the chunk is predicted;
* the fitted estimator is neither copied nor changed (see below).

Invalid SMILES never stop a screen: their rows hold NaN (``None`` for the
labels of a classifier trained on non-numeric labels), whatever the
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
from typing import Iterable, Iterator

import numpy as np

from molgnba.featurize import featurize_smiles

__all__ = ["ChunkPredictor", "predict_iter", "predict_file"]

_METHODS = ("predict", "predict_proba", "decision_function")


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
    method : {"predict", "predict_proba", "decision_function"}, default="predict"
    batch_size : int or None, default=None
        Molecules per forward pass; None keeps the estimator's.
    n_jobs : int or None, default=None
        Processes that featurize (see :func:`molgnba.featurize.featurize_smiles`).
    torch_threads : int or None, default=None
        Torch intra-op threads during each call (restored after it); None
        leaves torch's setting.

    Raises
    ------
    ValueError
        For an unknown ``method``.
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

    def __init__(self, estimator, method: str = "predict", *, batch_size=None, n_jobs=None, torch_threads=None):
        if method not in _METHODS:
            raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
        if not hasattr(estimator, method):
            raise AttributeError(f"{type(estimator).__name__} has no {method}")
        is_fitted = getattr(estimator, "__sklearn_is_fitted__", None)
        if is_fitted is None or not is_fitted():
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet; call fit(smiles, y) first")
        self.estimator = estimator
        self.method = method
        self.batch_size = None if batch_size is None else int(batch_size)
        self.n_jobs = n_jobs
        self.torch_threads = torch_threads

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
            graphs, _ = featurize_smiles(smiles, self.estimator.featurizer, cache=None, n_jobs=self.n_jobs)
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


def predict_file(
    estimator,
    in_csv: str | os.PathLike,
    out_csv: str | os.PathLike,
    smiles_column: str = "smiles",
    chunk_size: int = 10_000,
    method: str = "predict",
    batch_size: int | None = None,
    n_jobs: int | None = None,
    keep_columns: bool = True,
    torch_threads: int | None = None,
) -> dict:
    """Screen a CSV file into another, ``chunk_size`` rows at a time.

    The output has one row per input row, in input order: the input's
    columns (all of them, or only ``smiles_column`` with
    ``keep_columns=False``) followed by the predictions: a column named
    after ``method`` for one output per molecule, otherwise
    ``{method}_{class label}`` (class probabilities) or ``{method}_{k}``.
    Rows of invalid SMILES hold NaN (an empty field).

    Parameters
    ----------
    estimator : fitted GNNRegressor or GNNClassifier
    in_csv, out_csv : str or path
        Anything :func:`pandas.read_csv` reads (``.gz`` included) and a path
        to write; the output is written chunk by chunk, never held whole.
    smiles_column : str, default="smiles"
    chunk_size, method, batch_size, n_jobs, torch_threads
        As in :func:`predict_iter`.
    keep_columns : bool, default=True

    Returns
    -------
    dict
        ``n_rows`` (rows written), ``n_invalid`` (rows with NaN predictions)
        and ``columns`` (the prediction columns).

    Raises
    ------
    KeyError
        If the input has no ``smiles_column``.

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
    ...     frame = pd.DataFrame({"id": [101, 102, 103], "smiles": ["CCS", "C1CC", "CCF"]})
    ...     frame.to_csv(library, index=False)
    ...     summary = predict_file(reg, library, hits, chunk_size=2)
    ...     out = pd.read_csv(hits)
    >>> summary
    {'n_rows': 3, 'n_invalid': 1, 'columns': ['predict']}
    >>> list(out.columns), out["predict"].isna().tolist()
    (['id', 'smiles', 'predict'], [False, True, False])
    """
    import pandas as pd

    predictor = ChunkPredictor(estimator, method, batch_size=batch_size, n_jobs=n_jobs, torch_threads=torch_threads)
    if not (isinstance(chunk_size, (int, np.integer)) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    n_rows = n_invalid = 0
    columns: list[str] = []
    # Strings stay strings (no "NA" -> NaN guessing beyond pandas' defaults for empty fields).
    reader = pd.read_csv(in_csv, chunksize=int(chunk_size), dtype={smiles_column: object})
    with reader:
        for frame in reader:
            if smiles_column not in frame.columns:
                raise KeyError(f"no column {smiles_column!r} in {in_csv} (columns: {list(frame.columns)})")
            if len(frame) == 0:
                continue
            values = predictor.predict(frame[smiles_column].tolist())
            if values.ndim == 1:
                invalid = pd.isna(values)
            else:
                invalid = pd.isna(values).all(axis=1)
            columns = _output_columns(values, method, estimator)
            out = frame if keep_columns else frame[[smiles_column]]
            predictions = pd.DataFrame(values.reshape(len(values), -1), columns=columns, index=frame.index)
            out = pd.concat([out, predictions], axis=1)
            out.to_csv(out_csv, mode="a" if n_rows else "w", header=not n_rows, index=False)
            n_rows += len(out)
            n_invalid += int(np.sum(invalid))
    if n_rows == 0:
        # An input with a header and no rows still gets a header.
        pd.read_csv(in_csv, nrows=0).to_csv(out_csv, index=False)
    return {"n_rows": n_rows, "n_invalid": n_invalid, "columns": columns}
