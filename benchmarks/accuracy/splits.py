"""The splits every model of the accuracy benchmark shares.

A split is computed once per (dataset, kind, seed) from the data alone, so molgnba,
the random forest and chemprop (in its own interpreter) see the same rows:

- ``random``: ``numpy.random.default_rng(seed).permutation(n)`` cut 8:1:1, the
  protocol of issue 25's first measurements;
- ``scaffold``: chemprop's balanced Bemis-Murcko split seeded with ``seed``
  (:func:`molgnba.model_selection.scaffold_split` with ``balanced=True``), so the
  five seeds give five different scaffold splits, as in chemprop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from molgnba.model_selection import scaffold_split

#: File, SMILES column, target columns and task of each shared dataset.
DATASETS = {
    "esol": ("esol.csv", "smiles", ["logSolubility"], "regression"),
    "lipophilicity": ("lipo.csv", "smiles", ["lipo"], "regression"),
    "bbbp": ("bbbp.csv", "smiles", ["p_np"], "classification"),
    "bace": ("bace.csv", "mol", ["Class"], "classification"),
}

SPLITS = ("random", "scaffold")


@dataclass(frozen=True)
class Split:
    """Rows of one dataset for one split kind and seed."""

    dataset: str
    kind: str
    seed: int
    smiles: list
    y: np.ndarray
    task: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def part(self, name: str):
        rows = getattr(self, name)
        return [self.smiles[k] for k in rows], self.y[rows]


def load_dataset(name: str, data_dir) -> tuple[list, np.ndarray, str]:
    """SMILES, targets (1-D for one task, float, NaN where missing) and task of a shared set."""
    filename, smiles_column, targets, task = DATASETS[name]
    frame = pd.read_csv(f"{data_dir}/{filename}")
    y = frame[targets].to_numpy(dtype=float)
    return frame[smiles_column].tolist(), (y[:, 0] if y.shape[1] == 1 else y), task


def make_split(dataset: str, kind: str, seed: int, data_dir) -> Split:
    smiles, y, task = load_dataset(dataset, data_dir)
    n = len(smiles)
    if kind == "random":
        order = np.random.default_rng(seed).permutation(n)
        n_train, n_valid = int(0.8 * n), int(0.1 * n)
        train, valid, test = np.split(order, [n_train, n_train + n_valid])
    elif kind == "scaffold":
        train, valid, test = scaffold_split(smiles, balanced=True, random_state=seed)
    else:
        raise ValueError(f"unknown split kind {kind!r}; expected one of {SPLITS}")
    return Split(dataset, kind, seed, smiles, y, task, np.sort(train), np.sort(valid), np.sort(test))
