"""
Quick start: a GNN with and without the attentive loss on ESOL
===============================================================

Fits :class:`molgnba.GNNRegressor` twice on the ESOL solubility data, once with
the gradient-norm based attentive loss and once with the plain loss, on the
same random 8:1:1 split, and prints the test RMSE of each next to a baseline
that predicts the training mean. The network is the GNBA paper's GIN (the
``"paper"`` preset, made smaller to run in about a minute); the estimators'
defaults are chemprop's configuration instead (a D-MPNN) with the plain loss,
``GNNRegressor()``.

The data comes from the directory in ``MOLGNBA_DATA`` (the project's
``../shared/data`` in the README's command), so nothing is downloaded.
``MOLGNBA_EXAMPLE_EPOCHS`` shortens training (the test suite sets it).
"""

import os

import numpy as np

from molgnba import GNNRegressor
from molgnba.datasets import load_moleculenet
from molgnba.model_selection import train_valid_test_split
from molgnba.presets import get_preset

epochs = int(os.environ.get("MOLGNBA_EXAMPLE_EPOCHS", 30))
# The paper's GIN (hu2019 features, one linear layer, a constant rate, batch 32), 3 x 128 wide.
paper_gin = {**get_preset("paper"), "num_layers": 3, "hidden_dim": 128, "max_epochs": epochs}
esol = load_moleculenet("esol")
smiles, y = np.asarray(esol.smiles, dtype=object), esol.target
train, valid, test = train_valid_test_split(len(smiles), random_state=0)
train = np.concatenate([train, valid])  # the estimator holds out its own validation share

rmse = lambda pred: float(np.sqrt(np.mean((pred - y[test]) ** 2)))
print(f"ESOL: {len(train)} training and {len(test)} test molecules, {epochs} epochs")
print(f"{'predict the mean':<28} test RMSE {rmse(np.full(len(test), y[train].mean())):.3f}")
for attentive in (False, True):
    model = GNNRegressor(**paper_gin, attentive_loss=attentive, random_state=0)
    model.fit(smiles[train], y[train])
    label = "GIN + attentive loss" if attentive else "GIN, plain loss"
    print(f"{label:<28} test RMSE {rmse(model.predict(smiles[test])):.3f}  (best epoch {model.best_epoch_})")
