"""Plots of training diagnostics (matplotlib; each function returns the Axes)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["plot_gradient_norm_histogram", "plot_attention_vs_gradient_norm", "plot_learning_curve"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float).ravel()
    return values[np.isfinite(values)]


def plot_gradient_norm_histogram(gradient_norms: Mapping[str, np.ndarray], bins: int = 30, ax=None):
    """Histograms of training-set relative gradient norms (the paper's Figure 2).

    Parameters
    ----------
    gradient_norms : mapping of label to array
        E.g. ``{"plain loss": plain.train_gradient_norm_, "attentive loss": gnba.train_gradient_norm_}``;
        NaN entries (validation or skipped molecules) are ignored.
    bins : int, default=30
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_gradient_norm_histogram({"a": [0.1, 0.2, 0.9], "b": [0.05, 0.5]})
    >>> ax.get_xlabel()
    'relative gradient norm g'
    """
    ax = _axes(ax)
    edges = np.linspace(0, 1, bins + 1)
    for label, values in gradient_norms.items():
        ax.hist(_finite(values), bins=edges, alpha=0.55, label=label, density=True)
    ax.set_xlabel("relative gradient norm g")
    ax.set_ylabel("density")
    ax.legend()
    return ax


def plot_attention_vs_gradient_norm(gradient_norm, attention, ax=None):
    """Sorted gradient norms against min-max scaled attention (the paper's Figure 3).

    Parameters
    ----------
    gradient_norm, attention : array-like of the same length
        A fitted estimator's ``train_gradient_norm_`` and ``train_attention_``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_attention_vs_gradient_norm([0.3, 0.1, 0.8], [1.2, 0.9, 1.0])
    >>> len(ax.lines)
    2
    """
    ax = _axes(ax)
    g = np.asarray(gradient_norm, dtype=float).ravel()
    a = np.asarray(attention, dtype=float).ravel()
    keep = np.isfinite(g) & np.isfinite(a)
    g, a = g[keep], a[keep]
    order = np.argsort(g)
    g, a = g[order], a[order]
    span = a.max() - a.min() if len(a) else 0.0
    scaled = (a - a.min()) / span if span > 0 else np.zeros_like(a)
    rank = np.arange(len(g))
    ax.plot(rank, g, label="gradient norm (sorted)")
    ax.plot(rank, scaled, ".", markersize=2, alpha=0.6, label="attention (min-max scaled)")
    ax.set_xlabel("training molecules, by gradient norm")
    ax.set_ylim(-0.02, 1.02)
    ax.legend()
    return ax


def plot_learning_curve(estimator, keys=None, ax=None):
    """Training history of a fitted estimator, one line per history key.

    Parameters
    ----------
    estimator : fitted GNNClassifier or GNNRegressor
    keys : list of str, optional
        History keys; default ``train_loss`` and ``valid_loss``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    history = estimator.history_
    keys = keys or ["train_loss", "valid_loss"]
    epochs = [row["epoch"] for row in history]
    for key in keys:
        values = [row.get(key, np.nan) for row in history]
        ax.plot(epochs, values, label=key)
    best = getattr(estimator, "best_epoch_", None)
    if best:
        ax.axvline(best, color="grey", linestyle=":", label=f"best epoch ({best})")
    ax.set_xlabel("epoch")
    ax.legend()
    return ax
