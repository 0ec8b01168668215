"""
Multi-task classification with missing labels: Tox21
====================================================

Tox21 has twelve toxicity assays, and not every molecule was tested in every
assay: 17% of the labels are missing. Pass the targets as one 2-D array
(``n_molecules x n_tasks``) with NaN for a missing label; the estimator
trains one output per task, and a missing label contributes nothing, neither
to the loss nor (with ``attentive_loss=True``) to the attention's softmax. ``predict_proba`` then returns one
positive-class probability per task.

A handful of Tox21 SMILES cannot be parsed by RDKit; ``invalid_smiles="skip"``
trains without them (with a warning listing each one) and predicts NaN in
their rows. The split is by scaffold. ``MOLGNBA_EXAMPLE_EPOCHS`` shortens
training.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from molgnba import GNNClassifier
from molgnba.datasets import load_moleculenet
from molgnba.model_selection import scaffold_split
from molgnba.plotting import plot_roc_curve

epochs = int(os.environ.get("MOLGNBA_EXAMPLE_EPOCHS", 15))

# %%
# The data: twelve tasks, NaN where a label is missing
# ----------------------------------------------------
tox21 = load_moleculenet("tox21")
smiles, y = np.asarray(tox21.smiles, dtype=object), tox21.target
print(f"{len(smiles)} molecules x {y.shape[1]} tasks; {np.isnan(y).mean():.1%} of the labels missing")
print(pd.DataFrame({"labelled": (~np.isnan(y)).sum(0), "positive": np.nansum(y, 0)},
                   index=tox21.target_names).T.to_string())

train, valid, test = scaffold_split(smiles)
train = np.concatenate([train, valid])

# %%
# Fit, skipping the SMILES RDKit cannot parse
# -------------------------------------------
# Without the default RDKit descriptors: on 7,800 molecules they would add a minute or
# two of featurization to an example about the targets' shape.
clf = GNNClassifier(
    num_layers=3, hidden_dim=128, batch_size=64, max_epochs=epochs, descriptors=None,
    invalid_smiles="skip", random_state=0,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # the list of skipped SMILES; see below
    clf.fit(smiles[train], y[train])
print(f"skipped {len(clf.invalid_smiles_)} invalid SMILES, e.g. {clf.invalid_smiles_[0]}")

# %%
# Test ROC-AUC per task
# ---------------------
# Each task is scored on the test molecules labelled for it.
proba = clf.predict_proba(smiles[test])
print("predict_proba shape:", proba.shape)
auc = {}
for t, task in enumerate(tox21.target_names):
    keep = ~np.isnan(y[test, t]) & ~np.isnan(proba[:, t])
    auc[task] = roc_auc_score(y[test][keep, t], proba[keep, t])
auc = pd.Series(auc, name="test ROC-AUC")
print(auc.round(3).to_string())
print(f"mean over tasks: {auc.mean():.3f}")

fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
auc.plot.barh(ax=axes[0], color="tab:blue")
axes[0].axvline(0.5, color="grey", linestyle=":")
axes[0].set_xlabel("test ROC-AUC (scaffold split)")
axes[0].set_title(f"Tox21, mean ROC-AUC {auc.mean():.3f}")

# %%
# ROC curves of four of the tasks.
plot_roc_curve(clf, smiles[test], y[test], ax=axes[1], task_names=tox21.target_names, tasks=[0, 2, 7, 10])
axes[1].set_title("ROC curves of four tasks")
fig.tight_layout()
plt.show()
