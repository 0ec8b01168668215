"""Fixtures of the loss tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def seed():
    """Every test starts from the same random state (the attention's initial weights)."""
    torch.manual_seed(0)
