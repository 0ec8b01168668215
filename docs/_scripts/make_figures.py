"""Figures of the user guide, made by the docs build (``docs/conf.py`` runs this).

Usage: ``python docs/_scripts/make_figures.py OUT_DIR``

A few short fits (small networks, few epochs: about 20 s on one CPU core), so
the figures show what this version of molgnba does, not what it once did.
They illustrate the plots and diagnostics; the benchmark pages hold the
measured comparisons. Data come from ``load_moleculenet`` (``MOLGNBA_DATA``
or the cache).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from molgnba import GNNClassifier, GNNRegressor  # noqa: E402
from molgnba.datasets import load_moleculenet  # noqa: E402
from molgnba.model_selection import scaffold_split, train_valid_test_split  # noqa: E402
from molgnba.plotting import (  # noqa: E402
    draw_extreme_molecules,
    plot_attention_vs_gradient_norm,
    plot_gradient_norm_histogram,
    plot_learning_curve,
    plot_predicted_vs_true,
    plot_roc_curve,
)
from molgnba.presets import get_preset  # noqa: E402

# Read by docs/conf.py to decide whether the figures are up to date.
FIGURES = [
    "attentive_vs_plain.png",
    "learning_curves.png",
    "attention_collapse.png",
    "hardest_molecules.png",
    "roc_bbbp.png",
]
EPOCHS = 10
# The paper's GIN (the "paper" preset), smaller: the figures are about its attentive loss.
SMALL = {**get_preset("paper"), "num_layers": 3, "hidden_dim": 64, "random_state": 0}


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)  # atomic: a concurrent build never reads half a file


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    # ESOL: the paired comparison, and the paper's loss as written.
    esol = load_moleculenet("esol")
    smiles, y = np.asarray(esol.smiles, dtype=object), esol.target
    train, valid, test = train_valid_test_split(len(smiles), random_state=0)
    train = np.concatenate([train, valid])
    fits = {
        "plain loss": dict(attentive_loss=False),
        "attentive loss": dict(attentive_loss=True),  # loss="auto": the adversarial attention
        "the paper's attentive loss": dict(attentive_loss=True, loss="gnba-paper"),
    }
    models = {
        label: GNNRegressor(**{**SMALL, "max_epochs": EPOCHS}, **params).fit(smiles[train], y[train])
        for label, params in fits.items()
    }
    plain, gnba, paper = models.values()

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, (label, model) in zip(axes, [("plain loss", plain), ("attentive loss", gnba)]):
        plot_predicted_vs_true(model, smiles[test], y[test], ax=ax, name=label)
        ax.set_title(f"ESOL test set, GIN, {label}")
    plot_gradient_norm_histogram(
        {"plain loss": plain.train_gradient_norm_, "attentive loss": gnba.train_gradient_norm_}, ax=axes[2]
    )
    axes[2].set_title("training gradient norms")
    _save(fig, out / "attentive_vs_plain.png")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, model in [("plain loss", plain), ("attentive loss", gnba)]:
        plot_learning_curve(model, keys=["train_loss", "valid_rmse"], ax=axes[0], label=label)
    axes[0].set_title("learning curves (ESOL)")
    axes[0].legend(fontsize=7)
    for label, model in [("adversarial (gnba-hard)", gnba), ("the paper's (no guard)", paper)]:
        plot_learning_curve(model, keys=["attention_entropy"], ax=axes[1], label=label)
    axes[1].set_title("attention entropy / log(batch size)")
    axes[1].legend(fontsize=7)
    _save(fig, out / "learning_curves.png")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (label, model) in zip(axes, [("adversarial (gnba-hard)", gnba), ("the paper's equation", paper)]):
        plot_attention_vs_gradient_norm(model.train_gradient_norm_, model.train_attention_, ax=ax)
        ax.set_title(f"attention, {label}")
    _save(fig, out / "attention_collapse.png")

    image = draw_extreme_molecules(gnba, smiles[train], n=6, which="hardest", sub_img_size=(240, 180))
    image.save(out / "hardest_molecules.png")

    # BBBP: a classifier on a scaffold split.
    bbbp = load_moleculenet("bbbp")
    smiles, y = np.asarray(bbbp.smiles, dtype=object), bbbp.target.astype(int)
    train, valid, test = scaffold_split(smiles)
    clf = GNNClassifier(**{**SMALL, "max_epochs": EPOCHS // 2, "batch_size": 64}, attentive_loss=True)
    clf.fit(smiles[train], y[train])
    fig, ax = plt.subplots(figsize=(4.6, 4))
    plot_roc_curve(clf, smiles[test], y[test], ax=ax, name="GIN + attentive loss")
    ax.set_title("BBBP, scaffold test set")
    _save(fig, out / "roc_bbbp.png")

    print(f"[molgnba docs] {len(FIGURES)} figures in {out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
