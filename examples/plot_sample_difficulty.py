"""
Which molecules are hard? Gradient norms and attention
======================================================

Every fitted estimator keeps, for each training molecule, its relative
gradient norm ``g`` at the kept epoch (``train_gradient_norm_``: how far the
model is from fitting it, between 0 and 1) and, with the attentive loss, the
attention it received (``train_attention_``: 1 is a uniform share of its
batch). Molecules held out for validation have NaN.

This example fits the paper's GIN (the ``"paper"`` preset, 3 x 64 wide) on
BBBP (blood-brain barrier penetration) with and without the attentive loss,
plots the distribution of ``g`` and the attention against ``g`` (the paper's
Figures 2 and 3), and draws the hardest and the easiest training molecules. ``MOLGNBA_EXAMPLE_EPOCHS`` shortens training.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from molgnba import GNNClassifier
from molgnba.datasets import load_moleculenet
from molgnba.plotting import (
    draw_extreme_molecules,
    plot_attention_vs_gradient_norm,
    plot_gradient_norm_histogram,
)
from molgnba.presets import get_preset

epochs = int(os.environ.get("MOLGNBA_EXAMPLE_EPOCHS", 20))
smiles, y = load_moleculenet("bbbp", return_X_y=True)

# %%
# Fit with and without the attentive loss
# ---------------------------------------
models = {
    label: GNNClassifier(
        **{**get_preset("paper"), "num_layers": 3, "hidden_dim": 64, "max_epochs": epochs},
        attentive_loss=attentive, random_state=0,
    ).fit(smiles, y)
    for label, attentive in [("plain loss", False), ("attentive loss", True)]
}
attentive = models["attentive loss"]

# %%
# Gradient norms, and the attention they receive
# ----------------------------------------------
# If the attention works as the paper intends, it grows with ``g`` (hard
# molecules count more); if it has collapsed, it falls with ``g`` (see the
# user guide on the attentive loss).
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plot_gradient_norm_histogram({label: m.train_gradient_norm_ for label, m in models.items()}, ax=axes[0])
axes[0].set_title("BBBP: training gradient norms")
plot_attention_vs_gradient_norm(attentive.train_gradient_norm_, attentive.train_attention_, ax=axes[1])
axes[1].set_title("attentive loss: attention against gradient norm")
fig.tight_layout()

g, a = attentive.train_gradient_norm_, attentive.train_attention_
kept = np.isfinite(g)
print(f"{kept.sum()} training molecules with a gradient norm; median g = {np.median(g[kept]):.3f}")
g, a = g[kept], a[kept]
hardest, easiest = g >= np.quantile(g, 0.9), g <= np.quantile(g, 0.1)
print(f"mean attention of the hardest tenth {a[hardest].mean():.2f}, of the easiest tenth {a[easiest].mean():.2f}")

# %%
# The hardest and the easiest molecules
# -------------------------------------
# Each cell gives the molecule's position in ``smiles``, its ``g`` and its
# attention.
fig, axes = plt.subplots(2, 1, figsize=(9, 8))
for ax, which in zip(axes, ["hardest", "easiest"]):
    ax.imshow(draw_extreme_molecules(attentive, smiles, n=6, which=which))
    ax.set_title(f"the {which} training molecules")
    ax.axis("off")
fig.tight_layout()
plt.show()
