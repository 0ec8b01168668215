"""Scale limits of the input path and of inference.

* molecules of thousands of atoms (long chains, polymers, many fragments):
  featurized and predicted, one row each;
* the smallest possible training runs: batches of one molecule, and one
  molecule per class (which the default validation split refuses clearly);
* 100,000 SMILES in one ``predict`` call (``slow``), timed and with the peak
  memory (``ru_maxrss``) measured in a fresh subprocess;
* concurrent ``predict`` calls from several threads on one fitted estimator.

What each case measured is printed (``-s``) and, with the environment variable
``MOLGNBA_SCALE_REPORT`` set to a path, written there as JSON at module
teardown (merged across pytest-xdist workers)::

    MOLGNBA_SCALE_REPORT=/tmp/scale.json .venv/bin/python -m pytest tests/test_scale.py -q -p no:cacheprovider
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from molgnba import GNNClassifier, GNNRegressor
from molgnba.featurize import featurize_smiles

from conftest import SMALL_SMILES, TINY, TINY_SMILES, TINY_TARGETS

TRAIN_SMILES, TRAIN_TARGETS = TINY_SMILES, TINY_TARGETS
TRAIN_LABELS = [0, 1] * 8  # numbers: batch-size tests compare predicted labels as floats

MEASURED: dict = {}


def record(name: str, **values) -> None:
    MEASURED[name] = values
    print(f"\n[scale] {name}: {json.dumps(values)}")


@pytest.fixture(scope="module", autouse=True)
def scale_report():
    yield MEASURED
    target = os.environ.get("MOLGNBA_SCALE_REPORT")
    if not target or not MEASURED:
        return
    import fcntl

    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getpid()}"
    with open(str(path) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            report = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            report = {}
        if report.get("run") != run:
            report = {"run": run, "cases": {}}
        report["cases"].update(MEASURED)
        path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def models(tiny_classifier, tiny_regressor):
    """The shared tiny models (read-only)."""
    return {"clf": tiny_classifier, "reg": tiny_regressor}


def _predict_all(models, smiles):
    return models["clf"].predict_proba(smiles), models["reg"].predict(smiles)


# --------------------------------------------------------------------------- big molecules
BIG_MOLECULES = {
    "chain_3000": "C" * 3000,
    "polystyrene_500": "CC(c1ccccc1)" * 500,  # 4,000 atoms, 500 rings
    "peg_1500": "OCC" * 1500 + "O",  # 4,501 atoms
    "cyclohexyl_chain_400": "C1CCC(CC1)" * 400,  # ring-closure digit reused 400 times
    "fragments_2000": ".".join(["C", "O", "[Na+]", "[Cl-]"] * 500),  # 2,000 atoms, no bonds
    "branched_3000": "C(C)(C)" * 1000,
}


# The largest take seconds each; the fast tier keeps the others.
SLOW_BIG_MOLECULES = {"polystyrene_500", "cyclohexyl_chain_400", "branched_3000"}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW_BIG_MOLECULES else name for name in sorted(BIG_MOLECULES)
])
def test_big_molecule_featurizes_and_predicts(models, name):
    smiles = BIG_MOLECULES[name]
    mol = Chem.MolFromSmiles(smiles)
    assert mol is not None
    started = time.perf_counter()
    graphs, invalid = featurize_smiles([smiles], cache=None)
    featurize_s = time.perf_counter() - started
    assert not invalid
    graph = graphs[0]
    assert graph.num_nodes == mol.GetNumAtoms()
    assert graph.edge_index.shape == (2, 2 * mol.GetNumBonds())

    batch = ["CCO", smiles, "c1ccccc1"]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba, values = _predict_all(models, batch)
        alone_proba, alone_values = _predict_all(models, [smiles])
    predict_s = time.perf_counter() - started
    assert proba.shape == (3, 2) and values.shape == (3,)
    assert np.isfinite(proba).all() and np.isfinite(values).all()
    # A big molecule among small ones gets the prediction it gets alone.
    np.testing.assert_allclose(proba[1], alone_proba[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values[1], alone_values[0], rtol=1e-5, atol=1e-6)
    record(f"big_molecule[{name}]", atoms=mol.GetNumAtoms(), bonds=mol.GetNumBonds(),
           featurize_s=round(featurize_s, 3), predict_s=round(predict_s, 3))


@pytest.mark.slow
@pytest.mark.parametrize("n_atoms", [10_000])
def test_very_long_chain(models, n_atoms):
    """Tens of thousands of atoms still work; the time is recorded (bond access in RDKit is O(n))."""
    smiles = "C" * n_atoms
    started = time.perf_counter()
    graphs, invalid = featurize_smiles([smiles], cache=None)
    featurize_s = time.perf_counter() - started
    assert not invalid and graphs[0].num_nodes == n_atoms
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = models["reg"].predict([smiles, "CCO"])
    predict_s = time.perf_counter() - started
    assert values.shape == (2,) and np.isfinite(values).all()
    record(f"very_long_chain[{n_atoms}]", featurize_s=round(featurize_s, 3), predict_s=round(predict_s, 3))


# --------------------------------------------------------------------------- tiny data
@pytest.mark.parametrize("backbone", ["gin", "gat"])
@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_batch_size_one(kind, backbone):
    """Batches of one molecule (single atoms included) train and predict like any other batch."""
    estimator = GNNClassifier if kind == "clf" else GNNRegressor
    y = TRAIN_LABELS if kind == "clf" else TRAIN_TARGETS
    params = {**TINY, "num_layers": 2, "max_epochs": 2, "backbone": backbone}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = estimator(batch_size=1, **params).fit(TRAIN_SMILES, y)
        assert len(model.history_) == 2 and np.isfinite(model.history_[-1, "train_loss"])
        one_at_a_time = model.predict(TRAIN_SMILES)
        model.set_params(batch_size=64)
        all_at_once = model.predict(TRAIN_SMILES)
    assert len(one_at_a_time) == len(TRAIN_SMILES)
    np.testing.assert_allclose(
        np.asarray(one_at_a_time, dtype=float), np.asarray(all_at_once, dtype=float), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_too_few_molecules_for_default_validation_split(n):
    """validation_fraction=0.1 holds out round(0.1 * n) molecules: none for n <= 5, a clear error."""
    smiles, labels = TRAIN_SMILES[:n], TRAIN_LABELS[:n]
    with pytest.raises(ValueError, match=rf"validation fraction of 0.1 leaves 0 of {n} samples") as raised:
        GNNClassifier(**TINY).fit(smiles, labels)
    assert "validation_fraction" in str(raised.value)


def test_six_molecules_is_the_default_split_minimum():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GNNClassifier(**TINY).fit(TRAIN_SMILES[:6], TRAIN_LABELS[:6])
    assert model.predict(TRAIN_SMILES[:6]).shape == (6,)


@pytest.mark.parametrize("how", [{"validation_fraction": None}, {"train_split": None}])
def test_one_molecule_per_class(how):
    """Two molecules, one per class, train without a validation split; batch of 1 too."""
    smiles, labels = ["CCO", "c1ccccc1"], ["polar", "aromatic"]
    for batch_size in (1, 32):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = GNNClassifier(batch_size=batch_size, **how, **TINY).fit(smiles, labels)
            proba = model.predict_proba(smiles + ["CCN"])
            prediction = model.predict(smiles + ["CCN"])
        assert sorted(model.classes_.tolist()) == ["aromatic", "polar"]
        assert proba.shape == (3, 2) and np.allclose(proba.sum(1), 1)
        assert set(prediction.tolist()) <= {"polar", "aromatic"}
        assert model.best_epoch_ in (None, TINY["max_epochs"])  # without validation: the last epoch


def test_one_molecule_regressor():
    with pytest.raises(ValueError, match="leaves 0 of 1 samples"):
        GNNRegressor(**TINY).fit(["CCO"], [1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GNNRegressor(validation_fraction=None, **TINY).fit(["CCO"], [1.0])
        values = model.predict(["CCO", "C"])
    assert values.shape == (2,) and np.isfinite(values).all()


# --------------------------------------------------------------------------- 100,000 SMILES
BIG_PREDICT = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    import numpy as np, pandas as pd, torch
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)  # as under pytest-xdist; the test machine is shared
    from molgnba import GNNRegressor
    from molgnba.featurize import graph_cache

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    def current_mb():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    frame = pd.read_csv(sys.argv[1])
    smiles, y = frame["smiles"].tolist()[:2000], frame["lipo"].to_numpy()[:2000]
    repeats = int(sys.argv[2])
    model = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0, descriptors=None).fit(smiles[:200], y[:200])
    X = smiles * repeats
    out = {"n_smiles": len(X), "n_distinct": len(set(X)), "peak_mb_before": peak_mb(), "rss_mb_before": current_mb()}
    for label, batch_size in (("cold_cache_batch32", 32), ("warm_cache_batch1024", 1024)):
        model.set_params(batch_size=batch_size)
        started = time.perf_counter()
        values = model.predict(X)
        out[label + "_s"] = round(time.perf_counter() - started, 2)
        out[label + "_peak_mb"] = round(peak_mb(), 1)
        out[label + "_rss_mb_after"] = current_mb()
        assert values.shape == (len(X),) and np.isfinite(values).all()
        assert np.allclose(values[: len(smiles)], values[-len(smiles):])
    out["peak_mb_before"] = round(out["peak_mb_before"], 1)
    out["graph_cache_size"] = len(graph_cache)
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_predict_100k_smiles(shared_data_dir):
    """100,000 SMILES (2,000 distinct Lipophilicity molecules x 50) in one call, in a subprocess."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", BIG_PREDICT, str(shared_data_dir / "lipo.csv"), "50"],
        capture_output=True, text=True, timeout=300,
    )
    wall_s = time.perf_counter() - started
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    measured["subprocess_wall_s"] = round(wall_s, 1)
    record("predict_100k", **measured)
    assert measured["n_smiles"] == 100_000 and measured["n_distinct"] == 2000
    # The input and its graphs (shared between repeats) must not blow up memory.
    assert measured["warm_cache_batch1024_peak_mb"] - measured["peak_mb_before"] < 2048
    assert measured["cold_cache_batch32_s"] < 120 and measured["warm_cache_batch1024_s"] < 120


# --------------------------------------------------------------------------- threads
def test_concurrent_predict_matches_sequential(models):
    """4 threads x 20 calls on one fitted estimator give the sequential results, in order."""
    pool = SMALL_SMILES * 8
    skip_clf = copy.deepcopy(models["clf"]).set_params(invalid_smiles="skip")
    # 80 different inputs: slices of different lengths, some with invalid SMILES (NaN rows).
    inputs = []
    for k in range(80):
        chunk = pool[(k * 5) % len(pool):][: 3 + k % 17]
        if k % 4 == 0:
            chunk = chunk[:1] + ["not a smiles", None] + chunk[1:]
        inputs.append(chunk)
    calls = [
        lambda X: skip_clf.predict_proba(X),
        lambda X: models["reg"].predict(X) if None not in X and "not a smiles" not in X else None,
        lambda X: skip_clf.predict(X),
    ]

    def run(k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [call(inputs[k]) for call in calls]

    started = time.perf_counter()
    sequential = [run(k) for k in range(len(inputs))]
    sequential_s = time.perf_counter() - started
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as executor:
        concurrent = list(executor.map(run, range(len(inputs))))
    concurrent_s = time.perf_counter() - started
    for k, (expected, got) in enumerate(zip(sequential, concurrent)):
        for e, g in zip(expected, got):
            if e is None:
                assert g is None
                continue
            assert len(g) == len(inputs[k])
            if np.asarray(e).dtype.kind == "f":
                np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7, err_msg=f"input {k}")
            else:  # string labels, None for the invalid rows
                assert list(g) == list(e), f"input {k}"
    record("concurrent_predict", threads=4, calls=len(inputs) * len(calls),
           sequential_s=round(sequential_s, 2), concurrent_s=round(concurrent_s, 2))
