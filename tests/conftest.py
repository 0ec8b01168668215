"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

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


# --- seeds and threads ---------------------------------------------------------------
@pytest.fixture(autouse=True)
def seed_everything():
    """Every test starts from the same global random state."""
    import random

    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


def pytest_configure(config):
    # pytest-xdist runs one process per core: one torch thread each avoids oversubscription.
    import torch

    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)


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


# Small molecules that cover the featurizer's edge cases, used across the suite.
TINY_SMILES = [
    "CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N",
    "[Na+].[Cl-]", "C[C@H](N)C(=O)O", "F/C=C/F", "[2H]C", "C", "O=C=O", "C1CCCCC1", "CS(=O)(=O)C",
]
