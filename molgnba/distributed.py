"""Scale out with Dask: model selection on a cluster, and prediction of Dask collections.

Needs ``dask[distributed]`` (``pip install "molgnba[dask]"``).

Model selection
---------------
scikit-learn's searches run their fits through joblib, and Dask provides a
joblib backend, so any ``GridSearchCV``, ``RandomizedSearchCV`` or
``cross_validate`` over molgnba estimators spreads over a Dask cluster::

    import joblib
    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")          # or Client(LocalCluster(...))
    search = GridSearchCV(GNNRegressor(random_state=0), grid, cv=5)
    with joblib.parallel_config(backend="dask", client=client):
        search.fit(smiles, y)

or, equivalently, ``fit_dask(search, smiles, y, client=client)``, which also
sets the number of torch threads on the workers (one per Dask thread by
default: more threads than cores slows every fit down). Each worker process
keeps its own graph cache, so it featurizes a SMILES once however many fits
it runs. With ``random_state`` set, the fitted search is the one a
single-process ``search.fit`` gives (same scores, same best parameters, same
refitted model), provided both use the same number of torch threads.

Prediction
----------
:func:`predict_dask` predicts a Dask Series of SMILES, or a column of a Dask
DataFrame, partition by partition with ``map_partitions``. The fitted
estimator travels to each worker once: it is scattered to every worker
(``client.scatter(estimator, broadcast=True)``) and the partition tasks
refer to that one piece of worker memory, instead of a copy being pickled
into every task of the graph. Within a partition it predicts like
:func:`molgnba.screening.predict_iter`: no global graph cache, invalid SMILES
as NaN rows, ``batch_size`` molecules per forward pass.
"""

from __future__ import annotations

import numpy as np

from molgnba.screening import ChunkPredictor

__all__ = ["fit_dask", "predict_dask", "set_worker_threads"]


def _default_client(client):
    if client is not None:
        return client
    from dask.distributed import get_client

    return get_client()


def _set_torch_threads(n: int) -> int:
    import torch

    torch.set_num_threads(int(n))
    return torch.get_num_threads()


def set_worker_threads(client, torch_threads: int | None = 1) -> dict:
    """Set the number of torch threads in every worker process of ``client``.

    Parameters
    ----------
    client : dask.distributed.Client
        The cluster's client.
    torch_threads : int, None or "auto", default=1
        Torch intra-op threads per worker. ``None`` (or ``"auto"``) gives each
        worker as many torch threads as it has Dask threads
        (``threads_per_worker``).

    Returns
    -------
    dict
        ``{worker address: torch threads now set}``.

    Examples
    --------
    A cluster in this process (``processes=False``), where the one worker
    shares this process's torch settings:

    >>> import torch
    >>> from dask.distributed import Client, LocalCluster
    >>> from molgnba.distributed import set_worker_threads
    >>> before = torch.get_num_threads()
    >>> cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    >>> client = Client(cluster)
    >>> list(set_worker_threads(client, 1).values())
    [1]
    >>> list(set_worker_threads(client, "auto").values())  # threads_per_worker
    [2]
    >>> client.close(); cluster.close(); torch.set_num_threads(before)
    """
    if torch_threads is None or torch_threads == "auto":
        nthreads = client.nthreads()
        return {
            address: client.run(_set_torch_threads, n, workers=[address])[address]
            for address, n in nthreads.items()
        }
    return client.run(_set_torch_threads, int(torch_threads))


def fit_dask(search, X, y=None, *, client=None, torch_threads: int | None = 1, **fit_params):
    """``search.fit(X, y)`` with joblib's Dask backend: the fits run on the cluster.

    Parameters
    ----------
    search : GridSearchCV, RandomizedSearchCV or any estimator fitting through joblib
    X, y, **fit_params
        As for ``search.fit``.
    client : dask.distributed.Client or None
        None takes the current client (``dask.distributed.get_client``).
    torch_threads : int or None, default=1
        Torch threads per worker process, set before the fits; None leaves
        the workers as they are.

    Returns
    -------
    search
        Fitted; ``search.n_jobs`` is honoured (None means all Dask workers).

    Examples
    --------
    On a cluster, each candidate's fits run on the workers::

        from dask.distributed import Client
        client = Client("tcp://scheduler:8786")
        fit_dask(search, smiles, y, client=client)  # torch_threads=1 on every worker

    The same on a cluster in this process, small enough to run here:

    >>> from dask.distributed import Client, LocalCluster
    >>> from sklearn.model_selection import GridSearchCV
    >>> from molgnba import GNNRegressor
    >>> from molgnba.distributed import fit_dask
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"]
    >>> y = [-0.6, -1.4, -1.9, -2.6, 1.1, 0.8, -1.2, -1.6]
    >>> search = GridSearchCV(
    ...     GNNRegressor(num_layers=1, max_epochs=1, train_split=None, random_state=0),
    ...     {"hidden_dim": [4, 8]}, cv=2)
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     with Client(cluster) as client:
    ...         search = fit_dask(search, smiles, y, client=client, torch_threads=None)
    >>> search.cv_results_["params"], search.n_splits_  # 2 candidates x 2 folds
    ([{'hidden_dim': 4}, {'hidden_dim': 8}], 2)
    >>> search.best_estimator_.predict(["CCCO"]).shape  # refitted on all the data
    (1,)
    """
    import joblib

    client = _default_client(client)
    if torch_threads is not None:
        set_worker_threads(client, torch_threads)
    with joblib.parallel_config(backend="dask", client=client):
        return search.fit(X, y, **fit_params)


def _predict_partition(part, estimator, method, batch_size, torch_threads, columns):
    """Worker side: predict one partition (a pandas Series of SMILES)."""
    import pandas as pd

    if torch_threads is not None:
        import torch

        if torch.get_num_threads() != torch_threads:
            torch.set_num_threads(int(torch_threads))
    if len(part) == 0:
        values = np.empty((0, len(columns)))
    else:
        values = ChunkPredictor(estimator, method, batch_size=batch_size).predict(part.tolist())
    if len(columns) == 1:
        return pd.Series(values.reshape(len(part)), index=part.index, name=columns[0])
    return pd.DataFrame(values.reshape(len(part), -1), index=part.index, columns=columns)


def predict_dask(
    estimator,
    data,
    smiles_column: str = "smiles",
    method: str = "predict",
    *,
    client=None,
    batch_size: int | None = None,
    torch_threads: int | None = 1,
):
    """Predict a Dask collection of SMILES, partition by partition, on the cluster.

    Parameters
    ----------
    estimator : fitted GNNRegressor or GNNClassifier
    data : dask.dataframe.Series or dask.dataframe.DataFrame
        SMILES, or a frame holding them in ``smiles_column``.
    smiles_column : str, default="smiles"
        Used when ``data`` is a DataFrame.
    method : {"predict", "predict_proba", "decision_function"}, default="predict"
    client : dask.distributed.Client or None
        Where the estimator is scattered; None takes the current client.
    batch_size : int or None, default=None
        Molecules per forward pass (None: the estimator's ``batch_size``).
    torch_threads : int or None, default=1
        Torch threads in each worker while predicting; None leaves them.

    Returns
    -------
    dask.dataframe.Series or dask.dataframe.DataFrame
        Lazy, with ``data``'s index and partitions: a Series named after
        ``method`` for one output per molecule, else a DataFrame with one
        column per class (``predict_proba_<label>``) or output. Invalid
        SMILES give missing values (NaN; None, or pandas NA where Dask
        turns object columns into strings, for non-numeric labels). Call
        ``.compute()`` for pandas, or write it out with ``to_csv`` /
        ``to_parquet`` without collecting it.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> from dask.distributed import Client, LocalCluster
    >>> from molgnba import GNNRegressor
    >>> from molgnba.distributed import predict_dask
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    >>> reg = reg.fit(smiles, [-0.6, -1.4, -1.9, -2.6, 1.1, 0.8, -1.2, -1.6])
    >>> library = dd.from_pandas(pd.DataFrame({"smiles": ["CCCO", "C1CC", "CCS", "CCF"]}), npartitions=2)
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     with Client(cluster) as client:
    ...         predictions = predict_dask(reg, library, client=client, torch_threads=None).compute()
    >>> predictions.name, predictions.isna().tolist()
    ('predict', [False, True, False, False])
    """
    import dask.dataframe as dd
    import pandas as pd

    predictor = ChunkPredictor(estimator, method, batch_size=batch_size)
    if isinstance(data, dd.DataFrame):
        series = data[smiles_column]
    elif isinstance(data, dd.Series):
        series = data
    else:
        raise TypeError(
            f"data must be a dask DataFrame or Series, got {type(data).__name__}; for in-memory "
            "data call estimator.predict, or molgnba.screening.predict_iter for a stream"
        )
    # The output's schema, from one molecule predicted here.
    template = predictor.predict(["C"])
    columns = predictor.output_columns(template)
    dtype = object if template.dtype.kind not in "biufc" else np.result_type(template.dtype, np.float64)
    if len(columns) == 1:
        meta = pd.Series([], dtype=dtype, name=columns[0])
    else:
        meta = pd.DataFrame({c: pd.Series([], dtype=dtype) for c in columns})
    client = _default_client(client)
    # One copy per worker, referenced by every partition task.
    [shared] = client.scatter([estimator], broadcast=True, hash=False)
    return series.map_partitions(
        _predict_partition, shared, method, batch_size, torch_threads, columns, meta=meta,
    )
