"""Tests of molgnba.distributed: model selection and prediction on a local Dask cluster."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold

from molgnba import GNNClassifier, GNNRegressor
from molgnba.screening import predict_iter

distributed = pytest.importorskip("dask.distributed")
try:  # dask[dataframe] (pyarrow) is needed by predict_dask only
    import dask.dataframe as dd
except ImportError:
    dd = None
needs_dataframe = pytest.mark.skipif(dd is None, reason="dask.dataframe needs dask[dataframe] (pyarrow)")

from molgnba.distributed import fit_dask, predict_dask, set_worker_threads  # noqa: E402

from conftest import SMALL_LABELS, SMALL_SMILES, SMALL_TARGETS, TINY  # noqa: E402

# Every test needs the local cluster of worker processes, which takes tens of seconds to start.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40,
    )
    client = distributed.Client(cluster)
    set_worker_threads(client, 1)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def one_thread():
    """Same number of torch threads here as on the workers: results are then bit-identical."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return SMALL_SMILES, SMALL_TARGETS


def _search():
    return GridSearchCV(
        GNNRegressor(**TINY), {"hidden_dim": [4, 8]}, cv=KFold(3, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
    )


def test_grid_search_on_the_cluster_equals_single_process(client, data, one_thread):
    smiles, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = _search().fit(smiles, y)
        remote = fit_dask(_search(), smiles, y, client=client)
    for key in ("mean_test_score", "split0_test_score", "split1_test_score", "split2_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(smiles[:20]), local.predict(smiles[:20]))


def test_fits_ran_on_the_workers(client, data):
    import joblib

    smiles, y = data

    def where(_):
        import os

        return os.getpid()

    with joblib.parallel_config(backend="dask", client=client):
        pids = set(joblib.Parallel()(joblib.delayed(where)(k) for k in range(8)))
    worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert pids <= worker_pids and len(pids) >= 1
    assert set(set_worker_threads(client, None).values()) == {1}  # threads_per_worker=1


@needs_dataframe
def test_predict_dask_equals_predict_iter(client, data, one_thread):
    smiles, y = data
    reg = GNNRegressor(**TINY).fit(smiles, y)
    screen = smiles + ["C1CC", None, "CCO"]
    frame = pd.DataFrame({"smiles": screen, "id": range(len(screen))})
    ddf = dd.from_pandas(frame, npartitions=4)
    result = predict_dask(reg, ddf, client=client, batch_size=32)
    assert result.npartitions == 4
    values = result.compute()
    assert isinstance(values, pd.Series) and values.name == "predict"
    assert values.index.tolist() == list(range(len(screen)))
    # Same partitions as chunks, same batch size: the same numbers, bit for bit.
    bounds = ddf.divisions
    expected = np.concatenate([
        next(predict_iter(reg, screen[a:b], batch_size=32))
        for a, b in zip(bounds[:-1], list(bounds[1:-1]) + [len(screen)])
    ])
    np.testing.assert_array_equal(values.to_numpy(), expected)
    n = len(smiles)
    assert values.isna().to_numpy().nonzero()[0].tolist() == [n, n + 1]
    np.testing.assert_allclose(values.to_numpy()[:n], reg.predict(screen[:n]), rtol=1e-6)


@needs_dataframe
def test_predict_dask_probabilities_of_a_series(client):
    smiles, labels = SMALL_SMILES, SMALL_LABELS
    clf = GNNClassifier(**TINY).fit(smiles, labels)
    series = dd.from_pandas(pd.Series(smiles[:30] + ["xx"]), npartitions=3)
    proba = predict_dask(clf, series, method="predict_proba", client=client).compute()
    assert list(proba.columns) == ["predict_proba_hydrophilic", "predict_proba_lipophilic"]
    np.testing.assert_allclose(proba.to_numpy()[:30], clf.predict_proba(smiles[:30]), rtol=1e-5, atol=1e-7)
    assert proba.iloc[30].isna().all()
    predicted = predict_dask(clf, series, client=client).compute()
    # Dask may store the labels as pyarrow strings, where None reads back as a missing value.
    assert pd.isna(predicted.iloc[30]) and set(predicted.iloc[:30]) <= {"hydrophilic", "lipophilic"}


@needs_dataframe
def test_predict_dask_refuses_unfitted(client):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        predict_dask(GNNRegressor(), dd.from_pandas(pd.Series(["CCO"]), npartitions=1), client=client)
