"""
Screening a library: rank hits by prediction and uncertainty
============================================================

A chemist triaging a virtual screen wants the molecules predicted best *and*
to know which predictions to trust. This example trains a small deep ensemble
(:class:`molgnba.GNNRegressor` with ``n_ensemble=3`` and
``uncertainty="ensemble"``) on part of ESOL, screens the molecules it has never
seen as if they were a purchasable library (two broken SMILES included, as in
any real file), ranks them by predicted solubility, and flags the hits whose
ensemble members disagree. It then draws the top hits and, for the best one,
which atoms the prediction rests on (:func:`molgnba.plotting.plot_atom_contributions`).

``MOLGNBA_EXAMPLE_EPOCHS`` shortens training.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from rdkit import Chem
from rdkit.Chem import Draw

from molgnba import GNNRegressor
from molgnba.datasets import load_moleculenet
from molgnba.model_selection import train_valid_test_split
from molgnba.plotting import plot_atom_contributions
from molgnba.screening import predict_frame

epochs = int(os.environ.get("MOLGNBA_EXAMPLE_EPOCHS", 30))
esol = load_moleculenet("esol")
smiles, y = np.asarray(esol.smiles, dtype=object), esol.target
train, valid, library = train_valid_test_split(len(smiles), fractions=(0.7, 0.1, 0.2), random_state=0)
train = np.concatenate([train, valid])

# %%
# Train a deep ensemble
# ---------------------
# Three D-MPNNs from different seeds; their spread is the uncertainty.
model = GNNRegressor(
    backbone="dmpnn", featurizer="extended", num_layers=3, hidden_dim=128, head_hidden_dim=128,
    lr_schedule="noam", attentive_loss=False, max_epochs=epochs, n_ensemble=3, uncertainty="ensemble",
    random_state=0,
)
model.fit(smiles[train], y[train])

# %%
# Screen the library
# ------------------
# ``predict_frame`` keeps every row: broken SMILES get no prediction and a reason.
screen = list(smiles[library]) + ["C1CC(", "not a molecule"]
table = predict_frame(model, screen, target_names="logS", return_std=True)
table.insert(0, "smiles", screen)
print(table[table["molgnba_error"].notna()][["smiles", "molgnba_error"]].to_string(index=False))

# %%
# Rank by prediction, flag by uncertainty
# ---------------------------------------
# Hits: the ten most soluble predictions. Trust: an ensemble spread above the
# library's 80th percentile marks a prediction to check before ordering.
ranked = table.dropna(subset=["logS_pred"]).sort_values("logS_pred", ascending=False)
threshold = np.percentile(ranked["logS_std"], 80)
ranked["check"] = np.where(ranked["logS_std"] > threshold, "uncertain", "")
hits = ranked.head(10)
print(hits[["smiles", "logS_pred", "logS_std", "check"]].to_string(index=False, float_format="%.2f"))

truth = dict(zip(smiles[library], y[library]))
errors = np.abs(ranked["logS_pred"] - ranked["smiles"].map(truth))
spread_order = np.argsort(ranked["logS_std"].to_numpy())
low, high = spread_order[: len(spread_order) // 2], spread_order[len(spread_order) // 2:]
print(f"mean |error| of the more certain half {errors.iloc[low].mean():.2f}, "
      f"of the less certain half {errors.iloc[high].mean():.2f}")

# %%
# Look at the hits
# ----------------
# The top six with their predictions, then the atoms behind the best one.
grid = Draw.MolsToGridImage(
    [Chem.MolFromSmiles(s) for s in hits["smiles"].head(6)], molsPerRow=3, subImgSize=(250, 200),
    legends=[f"{p:.2f} ± {s:.2f} {c}" for p, s, c in zip(hits["logS_pred"], hits["logS_std"], hits["check"])],
)
figure, axes = plt.subplots(1, 2, figsize=(13, 4.5))
axes[0].imshow(grid)
axes[0].set_axis_off()
axes[0].set_title("top hits: predicted logS ± ensemble std")
plot_atom_contributions(model, hits["smiles"].iloc[0], ax=axes[1])
plt.tight_layout()
plt.show()
