"""Shared pytest fixtures: seeds, the shared MoleculeNet data, tiny molecule sets and
tiny fitted models.

Two tiers (see docs/developer.md, "Tests"):

* ``pytest -m "not slow" -n 2 tests``: the fast tier, under 2 minutes on 2 cores;
* ``pytest -n 2 tests``: the full suite (CI), under 10 minutes on 2 cores.

Tests that need a fitted model only as a means (to call ``predict``, to save it, to
plot it) take one of the session-scoped fitted models below instead of fitting
their own. These are shared by every test of a pytest process: **a test must not
mutate them** (no ``fit``, ``partial_fit``, ``set_params``, no writing to their
attributes or weights). A test that needs to change one works on
``sklearn.base.clone(model)`` (unfitted, same parameters) or
``copy.deepcopy(model)`` (fitted). After each test, the autouse fixture
``shared_models_stay_unchanged`` checks that the shared models it used kept their
parameters, attributes, weights, history and train/eval mode, so a mutation fails
the test that made it rather than a later test that reads the model.

Tests whose assertion does not depend on real chemistry use the tiny molecule sets
(``TINY_SMILES``, ``SMALL_SMILES`` and their targets), importable with
``from conftest import ...``; only tests that genuinely need real data (dataset
loaders, benchmark reproduction, accuracy-like checks) read the shared MoleculeNet
CSVs through ``shared_data_dir``, ``esol`` or ``bbbp``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


# --- shared MoleculeNet data (owner: datasets / model_selection tests) -------------
# The project's copy of the MoleculeNet CSVs lives outside the repository, at
# ../shared/data from the project root; MOLGNBA_TEST_DATA overrides the location.
def _shared_data_dir() -> Path:
    override = os.environ.get("MOLGNBA_TEST_DATA")
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """Directory of the shared MoleculeNet CSVs; skips the test when it is absent."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(
            f"shared MoleculeNet data not found at {path} "
            "(set MOLGNBA_TEST_DATA to its directory)"
        )
    return path
# --- end shared MoleculeNet data ---------------------------------------------------


# --- seeds, threads and the hypothesis profile -------------------------------------
@pytest.fixture(autouse=True)
def seed_everything():
    """Every test starts from the same global random state."""
    import random

    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


def _selects_slow_tests(config) -> bool:
    """Whether this run includes the ``slow`` tests (no ``-m``, or an ``-m`` naming slow positively)."""
    expression = (config.getoption("markexpr", default="") or "").replace(" ", "")
    return "notslow" not in expression


def pytest_configure(config):
    # pytest-xdist runs one process per core: one torch thread each avoids oversubscription.
    import torch

    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
    _load_hypothesis_profile(config)


# Hypothesis profiles: "full" (hypothesis' default of 100 examples a property) in the full
# suite, "fast" (a tenth) in the fast tier (-m "not slow"); MOLGNBA_HYPOTHESIS_PROFILE
# chooses one explicitly. tests/test_fuzz.py scales its own max_examples by the loaded
# profile's share of 100 (MOLGNBA_FUZZ_SCALE overrides that).
FAST_TIER_MAX_EXAMPLES = 10


def _load_hypothesis_profile(config):
    try:
        from hypothesis import settings
    except ImportError:  # hypothesis is a test extra; test_fuzz skips without it
        return
    settings.register_profile("full", deadline=None, database=None)
    settings.register_profile("fast", parent=settings.get_profile("full"), max_examples=FAST_TIER_MAX_EXAMPLES)
    default = "full" if _selects_slow_tests(config) else "fast"
    settings.load_profile(os.environ.get("MOLGNBA_HYPOTHESIS_PROFILE", default))
# --- end seeds, threads and the hypothesis profile ---------------------------------


@pytest.fixture(scope="session")
def esol(shared_data_dir):
    """ESOL as (smiles list, float targets)."""
    import pandas as pd

    frame = pd.read_csv(shared_data_dir / "esol.csv")
    return frame["smiles"].tolist(), frame["logSolubility"].to_numpy(dtype=float)


@pytest.fixture(scope="session")
def bbbp(shared_data_dir):
    """BBBP as (smiles list, int labels)."""
    import pandas as pd

    frame = pd.read_csv(shared_data_dir / "bbbp.csv")
    return frame["smiles"].tolist(), frame["p_np"].to_numpy()


# --- tiny molecule sets --------------------------------------------------------------
# The one parameter set of a tiny model: fits in well under a second on one thread. Otherwise
# the estimators' defaults (D-MPNN, "extended" features, "noam" schedule, plain loss), so that
# the suite exercises what users get; the head's hidden layer shrinks with the rest (the
# default is 300 wide), and the default RDKit descriptors are left out (about 25 ms per new
# molecule, more than the rest of a tiny fit; tests/test_descriptors_estimator.py covers them,
# the default included). A test about another configuration states it (backbone="gin",
# attentive_loss=True, lr_schedule="constant", ...) rather than relying on TINY.
TINY = dict(num_layers=1, hidden_dim=8, head_hidden_dim=8, max_epochs=2, random_state=0, descriptors=None)

# Small molecules that cover the featurizer's edge cases (a salt, stereo, isotopes,
# a single atom, no bonds), used across the suite.
TINY_SMILES = [
    "CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N",
    "[Na+].[Cl-]", "C[C@H](N)C(=O)O", "F/C=C/F", "[2H]C", "C", "O=C=O", "C1CCCCC1", "CS(=O)(=O)C",
]  # fmt: skip
N_TINY = len(TINY_SMILES)
# Regression targets, one task.
TINY_TARGETS = np.linspace(-2.0, 3.0, N_TINY)
# Two regression tasks.
TINY_MULTITASK_TARGETS = np.column_stack([np.arange(N_TINY) % 3, np.arange(N_TINY) % 2]).astype(float)
# Binary labels as strings (the classes, sorted: "active", "inactive").
TINY_LABELS = np.array(["inactive", "active"] * (N_TINY // 2))
# Three string classes.
TINY_MULTICLASS_LABELS = np.array([("a", "b", "c")[k % 3] for k in range(N_TINY)])
# Two binary tasks, one label missing (NaN).
TINY_MULTITASK_LABELS = np.column_stack([np.arange(N_TINY) % 2, (np.arange(N_TINY) // 2) % 2]).astype(float)
TINY_MULTITASK_LABELS[3, 1] = np.nan

# Tens of distinct drug-like and small molecules, for tests that need more rows than
# TINY_SMILES (cross-validation folds, batches, subsets), with Crippen logP as a
# learnable regression target and "logP above the median" as binary labels.
SMALL_SMILES = [
    "CC(C)O", "CCCCO", "CCOCC", "CC(=O)C", "CCC(=O)O", "OCCO", "CC#N", "ClCCl", "ClC(Cl)Cl", "FC(F)(F)Cl",
    "Cc1ccccc1", "Oc1ccccc1", "Nc1ccccc1", "Clc1ccccc1", "OC(=O)c1ccccc1", "c1ccc2ccccc2c1",
    "c1ccc(cc1)-c1ccccc1", "c1ccoc1", "c1ccsc1", "c1cc[nH]c1", "CC(=O)Oc1ccccc1C(=O)O",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CC(=O)Nc1ccc(O)cc1", "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O", "NC(=O)c1cccnc1", "O=C1NC(=O)C(N1)(c1ccccc1)c1ccccc1",
    "CN1CCC[C@H]1c1cccnc1", "Clc1ccc(Cl)cc1", "Oc1ccc(Cl)cc1Cl", "CCCCCCCC", "CCCCCCCCCCO", "OC1CCCCC1",
    "C1CCOC1", "C1CCNCC1", "O=C1CCCCC1", "CC(C)(C)O", "CCN(CC)CC", "CCOC(C)=O", "CCOC(=O)c1ccccc1",
    "Nc1ncnc2[nH]cnc12", "O=c1cc[nH]c(=O)[nH]1", "CSC", "OP(=O)(O)O", "CC(C)C(=O)O", "COc1ccccc1",
    "Brc1ccccc1", "Ic1ccccc1",
]  # fmt: skip


def _crippen_logp(smiles: list[str]) -> np.ndarray:
    from rdkit import Chem
    from rdkit.Chem import Crippen

    return np.array([round(Crippen.MolLogP(Chem.MolFromSmiles(s)), 2) for s in smiles])


SMALL_TARGETS = _crippen_logp(SMALL_SMILES)
SMALL_LABELS = np.where(SMALL_TARGETS > np.median(SMALL_TARGETS), "lipophilic", "hydrophilic")
# --- end tiny molecule sets ----------------------------------------------------------


# --- tiny fitted models (read-only: see the module docstring) ------------------------
def _fit_quietly(estimator, X, y):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "missing labels" of the multi-task set
        return estimator.fit(X, y)


@pytest.fixture(scope="session")
def tiny_regressor():
    """``GNNRegressor(**TINY)`` fitted on ``TINY_SMILES, TINY_TARGETS`` (read-only)."""
    from molgnba import GNNRegressor

    return _fit_quietly(GNNRegressor(**TINY), TINY_SMILES, TINY_TARGETS)


@pytest.fixture(scope="session")
def tiny_multitask_regressor():
    """``GNNRegressor(**TINY)`` fitted on ``TINY_SMILES, TINY_MULTITASK_TARGETS`` (read-only)."""
    from molgnba import GNNRegressor

    return _fit_quietly(GNNRegressor(**TINY), TINY_SMILES, TINY_MULTITASK_TARGETS)


@pytest.fixture(scope="session")
def tiny_classifier():
    """``GNNClassifier(**TINY)`` fitted on ``TINY_SMILES, TINY_LABELS`` (binary, read-only)."""
    from molgnba import GNNClassifier

    return _fit_quietly(GNNClassifier(**TINY), TINY_SMILES, TINY_LABELS)


@pytest.fixture(scope="session")
def tiny_multiclass_classifier():
    """``GNNClassifier(**TINY)`` fitted on ``TINY_SMILES, TINY_MULTICLASS_LABELS`` (read-only)."""
    from molgnba import GNNClassifier

    return _fit_quietly(GNNClassifier(**TINY), TINY_SMILES, TINY_MULTICLASS_LABELS)


@pytest.fixture(scope="session")
def tiny_multitask_classifier():
    """``GNNClassifier(**TINY)`` fitted on ``TINY_SMILES, TINY_MULTITASK_LABELS`` (read-only)."""
    from molgnba import GNNClassifier

    return _fit_quietly(GNNClassifier(**TINY), TINY_SMILES, TINY_MULTITASK_LABELS)


TINY_MODELS = (
    "tiny_regressor", "tiny_multitask_regressor", "tiny_classifier", "tiny_multiclass_classifier",
    "tiny_multitask_classifier",
)


def _fingerprint(model):
    """What a test must leave as it found it: parameter objects, attributes, weights, history."""
    weights = {name: tensor.detach().clone() for name, tensor in model.module_.state_dict().items()}
    modes = [module.training for module in model.module_.modules()]
    return model.get_params(deep=False), set(vars(model)), weights, (len(model.history), modes)


@pytest.fixture(autouse=True)
def shared_models_stay_unchanged(request):
    """Fails the test that mutated a shared tiny model, instead of a later test that reads it."""
    used = {name: request.getfixturevalue(name) for name in TINY_MODELS if name in request.fixturenames}
    before = {name: _fingerprint(model) for name, model in used.items()}
    yield
    for name, model in used.items():
        params, attributes, weights, progress = before[name]
        now_params, now_attributes, now_weights, now_progress = _fingerprint(model)
        advice = "work on sklearn.base.clone(model) or copy.deepcopy(model) instead"
        changed = sorted(k for k in params if now_params.get(k) is not params[k])
        assert not changed, f"the test changed parameters {changed} of the shared {name}: {advice}"
        assert now_attributes == attributes, (
            f"the test changed the attributes {sorted(now_attributes ^ attributes)} of the shared {name}: {advice}"
        )
        assert now_progress == progress and all(now_weights[k].equal(w) for k, w in weights.items()), (
            f"the test trained the shared {name} further or switched its train/eval mode: {advice}"
        )
# --- end tiny fitted models ----------------------------------------------------------


@pytest.fixture
def single_thread():
    """One torch thread for the test: on tiny tensors, thread synchronisation dominates.

    Ask for it by name, or for a whole module with
    ``pytestmark = pytest.mark.usefixtures("single_thread")``.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
