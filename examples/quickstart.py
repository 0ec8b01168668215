"""
Quick start: the default GNN beside the paper's GIN, with and without the attentive loss
=========================================================================================

Fits :class:`molgnba.GNNRegressor` on the ESOL solubility data three times, on
the same random 8:1:1 split: with its defaults, ``GNNRegressor()`` (a GIN with
chemprop's training recipe, RDKit 2-D descriptors and the plain loss), and as the
GNBA paper's GIN (the ``"paper"`` preset, made smaller to run in under a minute)
with the plain loss and with the gradient-norm based attentive loss. Prints the
test RMSE of each next to a baseline that predicts the training mean.

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
default_epochs = int(os.environ.get("MOLGNBA_EXAMPLE_EPOCHS", 50))  # 50: the default's own
# The paper's GIN (hu2019 features, one linear layer, a constant rate, batch 32), 3 x 128 wide.
paper_gin = {**get_preset("paper"), "num_layers": 3, "hidden_dim": 128, "max_epochs": epochs}
esol = load_moleculenet("esol")
smiles, y = np.asarray(esol.smiles, dtype=object), esol.target
train, valid, test = train_valid_test_split(len(smiles), random_state=0)
train = np.concatenate([train, valid])  # the estimator holds out its own validation share

rmse = lambda pred: float(np.sqrt(np.mean((pred - y[test]) ** 2)))
print(f"ESOL: {len(train)} training and {len(test)} test molecules")
print(f"{'predict the mean':<34} test RMSE {rmse(np.full(len(test), y[train].mean())):.3f}")
models = {
    "GNNRegressor() (the default)": GNNRegressor(max_epochs=default_epochs, random_state=0),
    "paper's GIN, plain loss": GNNRegressor(**paper_gin, attentive_loss=False, random_state=0),
    "paper's GIN + attentive loss": GNNRegressor(**paper_gin, attentive_loss=True, random_state=0),
}
for label, model in models.items():
    model.fit(smiles[train], y[train])
    print(f"{label:<34} test RMSE {rmse(model.predict(smiles[test])):.3f}  "
          f"(best epoch {model.best_epoch_} of {model.max_epochs})")
