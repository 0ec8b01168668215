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
