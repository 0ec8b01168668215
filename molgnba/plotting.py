"""Plots of fitted estimators and their training diagnostics.

Every ``plot_*`` function draws on the matplotlib Axes it is given (or on a
new figure) and returns that Axes, so plots compose the way scikit-learn's
``*Display.from_estimator(..., ax=ax)`` do:

* :func:`plot_predicted_vs_true` - predictions against targets, RMSE in the legend;
* :func:`plot_roc_curve` - ROC curves of a classifier, one per task or class;
* :func:`plot_learning_curve` - the training history, epoch by epoch;
* :func:`plot_gradient_norm_histogram` - distributions of relative gradient norms;
* :func:`plot_attention_vs_gradient_norm` - attention against sorted gradient norm.

:func:`draw_extreme_molecules` returns an image instead: the training
molecules with the largest or smallest gradient norm, drawn with RDKit.
:func:`plot_atom_contributions` returns a Figure: one molecule drawn with
RDKit, its atoms coloured by how much each contributes to the prediction
(:func:`molgnba.explain.atom_contributions`), with a colour bar.

matplotlib is an optional dependency (``pip install molgnba[plot]``); it is
imported when a plot is drawn.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = [
    "draw_extreme_molecules",
    "plot_atom_contributions",
    "plot_attention_vs_gradient_norm",
    "plot_gradient_norm_histogram",
    "plot_learning_curve",
    "plot_predicted_vs_true",
    "plot_roc_curve",
]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float).ravel()
    return values[np.isfinite(values)]


def _check_diagnostics(estimator) -> tuple[np.ndarray, np.ndarray | None]:
    """The fitted estimator's per-sample gradient norms and attention, as float arrays."""
    from sklearn.exceptions import NotFittedError

    gradient_norm = getattr(estimator, "train_gradient_norm_", None)
    if gradient_norm is None:
        raise NotFittedError(
            f"{type(estimator).__name__} has no train_gradient_norm_: fit it on the SMILES first"
        )
    attention = getattr(estimator, "train_attention_", None)
    gradient_norm = np.asarray(gradient_norm, dtype=float)
    attention = None if attention is None else np.asarray(attention, dtype=float)
    return gradient_norm, attention


def plot_predicted_vs_true(estimator, X, y, ax=None, *, name=None):
    """Predicted against true values of a fitted regressor, RMSE in the legend.

    Like :class:`sklearn.metrics.PredictionErrorDisplay` with
    ``kind="actual_vs_predicted"``, but with the true value on the x-axis.
    Multi-task targets are pooled; missing labels (NaN) and the rows of
    skipped invalid SMILES are left out, as they are of the RMSE.

    Parameters
    ----------
    estimator : fitted GNNRegressor
        Any fitted regressor whose ``predict(X)`` has the shape of ``y``.
    X : sequence of str
        SMILES.
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True values; NaN marks a missing label.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    name : str, optional
        Prefix of the legend entry, e.g. ``"GIN + attentive loss"``.

    Returns
    -------
    matplotlib.axes.Axes
        With the scatter of the molecules (its legend label holds the RMSE)
        and a dashed diagonal, the line of perfect predictions.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCCCCC", "CCCCCCC", "CCCCCCCC"] * 3
    >>> y = [float(len(s)) for s in smiles]
    >>> reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0).fit(smiles, y)
    >>> ax = plot_predicted_vs_true(reg, smiles, y, name="GIN")
    >>> ax.get_legend_handles_labels()[1][0].startswith("GIN (RMSE = ")
    True
    """
    ax = _axes(ax)
    y_true = np.asarray(y, dtype=float)
    y_pred = np.asarray(estimator.predict(X), dtype=float)
    if y_pred.shape != y_true.shape:
        raise ValueError(f"predictions of shape {y_pred.shape} do not match y of shape {y_true.shape}")
    keep = np.isfinite(y_true) & np.isfinite(y_pred)
    y_true, y_pred = y_true[keep], y_pred[keep]
    rmse = float(np.sqrt(np.mean((y_pred - y_true) ** 2))) if len(y_true) else float("nan")
    label = f"RMSE = {rmse:.3f}" if name is None else f"{name} (RMSE = {rmse:.3f})"
    ax.scatter(y_true, y_pred, s=10, alpha=0.6, label=label)
    if len(y_true):
        low = min(y_true.min(), y_pred.min())
        high = max(y_true.max(), y_pred.max())
        ax.plot([low, high], [low, high], "k--", linewidth=1, label="perfect prediction")
    ax.set_xlabel("true value")
    ax.set_ylabel("predicted value")
    ax.legend()
    return ax


def plot_roc_curve(estimator, X, y, ax=None, *, name=None, task_names=None, tasks=None):
    """ROC curves of a fitted classifier, with the area under each in the legend.

    Wraps :meth:`sklearn.metrics.RocCurveDisplay.from_predictions`: one curve
    for a binary target, one per task for multi-task targets (each on the
    molecules labelled for it, NaN marking a missing label), and one per
    class, against the rest, for a multiclass target.

    Parameters
    ----------
    estimator : fitted GNNClassifier
        Any fitted classifier with ``predict_proba`` and ``classes_``.
    X : sequence of str
        SMILES.
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True labels: class labels, or 0/1 per task with NaN where missing.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    name : str, optional
        Legend name of a single curve, or prefix of the per-task names.
    task_names : list of str, optional
        Names of the tasks (multi-task) or classes (multiclass) in the
        legend; the task numbers or class labels by default.
    tasks : list of int, optional
        For multi-task targets, the columns to draw; all by default.

    Returns
    -------
    matplotlib.axes.Axes
        One line per curve, labelled ``"<name> (AUC = ...)"``, and the
        chance level.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from molgnba import GNNClassifier
    >>> smiles = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N"] * 3
    >>> labels = ["a", "b", "b", "b", "a", "a", "a", "b"] * 3
    >>> clf = GNNClassifier(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0).fit(smiles, labels)
    >>> ax = plot_roc_curve(clf, smiles, labels, name="GIN")
    >>> ax.get_xlabel().startswith("False Positive Rate")
    True
    """
    from sklearn.metrics import RocCurveDisplay

    ax = _axes(ax)
    proba = np.asarray(estimator.predict_proba(X), dtype=float)
    y_array = np.asarray(y)
    curves = []  # (label, y_true, score, pos_label)
    if y_array.ndim == 2 and y_array.shape[1] > 1:
        y_array = y_array.astype(float)
        if proba.shape != y_array.shape:
            raise ValueError(f"predict_proba gave shape {proba.shape}; y has shape {y_array.shape}")
        names = task_names or [f"task {t}" for t in range(y_array.shape[1])]
        for t in range(y_array.shape[1]) if tasks is None else tasks:
            task = names[t]
            keep = ~np.isnan(y_array[:, t]) & np.isfinite(proba[:, t])
            if len(np.unique(y_array[keep, t])) == 2:
                curves.append((task if name is None else f"{name}: {task}", y_array[keep, t], proba[keep, t], 1.0))
    else:
        y_array = y_array.ravel()
        keep = np.isfinite(proba).all(1)
        classes = np.asarray(estimator.classes_)
        if len(classes) == 2:
            curves.append((name, y_array[keep], proba[keep, 1], classes[1]))
        else:
            names = task_names or [str(c) for c in classes]
            for k, cls in enumerate(classes):
                label = f"{names[k]} vs rest" if name is None else f"{name}: {names[k]} vs rest"
                curves.append((label, y_array[keep] == cls, proba[keep, k], True))
    if not curves:
        raise ValueError("no task of y has both classes among its labelled molecules")
    for position, (label, y_true, score, pos_label) in enumerate(curves):
        RocCurveDisplay.from_predictions(
            y_true, score, pos_label=pos_label, name=label, ax=ax,
            plot_chance_level=position == len(curves) - 1,
        )
    return ax


def plot_gradient_norm_histogram(gradient_norms: Mapping[str, np.ndarray], bins: int = 30, ax=None):
    """Histograms of training-set relative gradient norms (the paper's Figure 2).

    Parameters
    ----------
    gradient_norms : mapping of label to array
        E.g. ``{"plain loss": plain.train_gradient_norm_, "attentive loss": gnba.train_gradient_norm_}``;
        NaN entries (validation or skipped molecules) are ignored.
    bins : int, default=30
        Number of equal-width bins over ``[0, 1]``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib.axes.Axes
        One density histogram per entry of ``gradient_norms``, with a legend.

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
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines: the sorted gradient norms and, in the same order, the
        attention scaled to ``[0, 1]``.

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


def plot_learning_curve(estimator, keys=None, ax=None, *, label=None):
    """Training history of a fitted estimator, one line per history key.

    Parameters
    ----------
    estimator : fitted GNNClassifier or GNNRegressor
    keys : list of str, optional
        History keys; default ``train_loss`` and ``valid_loss``. Others are
        ``valid_rmse`` or ``valid_roc_auc`` and, with the attentive loss,
        ``attention_entropy``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    label : str, optional
        Prefix of the line labels, to tell estimators apart on one Axes.

    Returns
    -------
    matplotlib.axes.Axes
        One line per key and a dotted vertical line at the best epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCCCCC", "CCCCCCC", "CCCCCCCC"] * 3
    >>> y = [float(len(s)) for s in smiles]
    >>> reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=3, random_state=0).fit(smiles, y)
    >>> ax = plot_learning_curve(reg, keys=["valid_rmse"])
    >>> ax.get_legend_handles_labels()[1][0]
    'valid_rmse'
    """
    ax = _axes(ax)
    history = estimator.history_
    keys = keys or ["train_loss", "valid_loss"]
    epochs = [row["epoch"] for row in history]
    prefix = "" if label is None else f"{label}: "
    for key in keys:
        values = [row.get(key, np.nan) for row in history]
        ax.plot(epochs, values, label=prefix + key)
    best = getattr(estimator, "best_epoch_", None)
    if best:
        ax.axvline(best, color="grey", linestyle=":", label=f"{prefix}best epoch ({best})")
    ax.set_xlabel("epoch")
    ax.legend()
    return ax


def _row_mean(values: np.ndarray) -> np.ndarray:
    """Mean of each row's finite entries; NaN for a row without any."""
    finite = np.isfinite(values)
    count = finite.sum(1)
    total = np.where(finite, values, 0.0).sum(1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _extreme_indices(estimator, n_smiles: int, n: int, which: str):
    """Positions of the ``n`` training molecules with the largest or smallest gradient norm."""
    if which not in ("hardest", "easiest"):
        raise ValueError(f"which must be 'hardest' or 'easiest', got {which!r}")
    if not (isinstance(n, (int, np.integer)) and n > 0):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    gradient_norm, attention = _check_diagnostics(estimator)
    if len(gradient_norm) != n_smiles:
        raise ValueError(
            f"smiles has {n_smiles} entries but the estimator was fitted on {len(gradient_norm)}: "
            "pass the SMILES the estimator was fitted on, in the same order"
        )
    # Multi-task targets: a molecule's difficulty is its mean over its labelled tasks.
    g = _row_mean(gradient_norm.reshape(n_smiles, -1))
    a = None if attention is None else _row_mean(attention.reshape(n_smiles, -1))
    candidates = np.flatnonzero(np.isfinite(g))
    order = candidates[np.argsort(g[candidates], kind="stable")]
    chosen = order[::-1][:n] if which == "hardest" else order[:n]
    return chosen, g, a


def draw_extreme_molecules(estimator, smiles, n=6, which="hardest", *, mols_per_row=3, sub_img_size=(250, 200)):
    """Grid of the training molecules with the largest or smallest gradient norm.

    The relative gradient norm ``g`` of a training molecule (the estimator's
    ``train_gradient_norm_``, from the epoch whose weights were kept) says how
    far the model is from fitting it: the *hardest* molecules have the
    largest ``g``, the *easiest* the smallest. Each is labelled with its
    position in ``smiles``, its ``g`` and, with the attentive loss, its
    attention (``train_attention_``; 1 means a uniform share of its batch).
    For multi-task targets ``g`` and the attention are averaged over the
    molecule's labelled tasks. Validation molecules and skipped invalid
    SMILES have no gradient norm and are never drawn.

    Parameters
    ----------
    estimator : fitted GNNClassifier or GNNRegressor
    smiles : sequence of str
        The SMILES the estimator was fitted on, in the same order.
    n : int, default=6
        Number of molecules drawn (fewer if fewer have a gradient norm).
    which : {"hardest", "easiest"}, default="hardest"
        The molecules with the largest or the smallest gradient norm, drawn
        in that order.
    mols_per_row : int, default=3
    sub_img_size : tuple of int, default=(250, 200)
        Size in pixels of each molecule's cell.

    Returns
    -------
    PIL.Image.Image
        The grid from :func:`rdkit.Chem.Draw.MolsToGridImage` (in a Jupyter
        notebook, rdkit may return an IPython image instead; both display
        inline). ``Axes.imshow`` shows it in a matplotlib figure.

    Examples
    --------
    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCCCCC", "CCCCCCC", "CCCCCCCC"] * 3
    >>> y = [float(len(s)) for s in smiles]
    >>> reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0).fit(smiles, y)
    >>> image = draw_extreme_molecules(reg, smiles, n=4, which="easiest", mols_per_row=2)
    >>> image.size
    (500, 400)
    """
    from rdkit import Chem
    from rdkit.Chem import Draw

    smiles = list(smiles)
    chosen, g, a = _extreme_indices(estimator, len(smiles), n, which)
    mols, legends = [], []
    for k in chosen:
        mols.append(Chem.MolFromSmiles(smiles[k]))
        legend = f"#{k}  g = {g[k]:.3f}"
        if a is not None and np.isfinite(a[k]):
            legend += f"  attention = {a[k]:.2f}"
        legends.append(legend)
    return Draw.MolsToGridImage(
        mols, molsPerRow=mols_per_row, subImgSize=tuple(sub_img_size), legends=legends
    )


_IMAGE_FORMATS = (".png", ".svg")


def plot_atom_contributions(
    estimator,
    smiles,
    *,
    ax=None,
    filename=None,
    method="integrated_gradients",
    target=None,
    cmap="RdBu_r",
    size=(500, 400),
    show_values=True,
    **options,
):
    """One molecule drawn with each atom coloured by its contribution to the prediction.

    The contributions come from :func:`molgnba.explain.atom_contributions`;
    the colour map is centred on zero (white), symmetric around it, and
    explained by a colour bar: with the default map, red atoms push the
    output up and blue atoms push it down.

    Parameters
    ----------
    estimator : fitted GNNRegressor or GNNClassifier
    smiles : str
        One SMILES.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default. The colour bar takes room
        from it.
    filename : str or path-like, optional
        Where to save the figure too: a name ending in ``.png`` or ``.svg``
        (in an SVG the molecule is a bitmap of ``size`` pixels, the colour
        bar and the text are vector graphics).
    method : {"integrated_gradients", "occlusion"}, default="integrated_gradients"
    target : int or class label, optional
        As in :func:`~molgnba.explain.atom_contributions`.
    cmap : str or matplotlib Colormap, default="RdBu_r"
        A diverging colour map; its middle colour marks zero.
    size : tuple of int, default=(500, 400)
        Width and height in pixels of the RDKit drawing.
    show_values : bool, default=True
        Write each atom's contribution next to it.
    **options
        Options of the method (``n_steps``, ``batch_size``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (``ax``'s figure when ``ax`` is given), which
        Jupyter shows inline.

    See Also
    --------
    molgnba.explain.atom_contributions : The numbers drawn here.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from molgnba import GNNRegressor
    >>> smiles = ["CCO", "CCN", "CCCl", "c1ccccc1", "CC(=O)O", "CC(=O)N"] * 4
    >>> y = [1.0, 2.0, 0.5, 0.0, 1.5, 2.5] * 4
    >>> reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0).fit(smiles, y)
    >>> figure = plot_atom_contributions(reg, "CC(=O)Nc1ccc(O)cc1")
    >>> type(figure).__name__, len(figure.axes)  # the molecule and its colour bar
    ('Figure', 2)
    """
    import io
    import os

    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    from molgnba.explain import atom_contributions

    if not isinstance(smiles, str):
        raise TypeError(
            f"smiles must be one SMILES string, got {type(smiles).__name__}; "
            "draw several molecules with one call each"
        )
    if filename is not None and not os.fspath(filename).lower().endswith(_IMAGE_FORMATS):
        raise ValueError(f"filename must end in .png or .svg, got {os.fspath(filename)!r}")
    width, height = (int(side) for side in size)
    colormap = colormaps[cmap] if isinstance(cmap, str) else cmap

    result = atom_contributions(estimator, [smiles], method=method, target=target, **options)
    values = result[0]
    mol = Chem.MolFromSmiles(smiles)
    largest = float(np.max(np.abs(values))) if len(values) else 0.0
    norm = Normalize(vmin=-largest, vmax=largest) if largest > 0 else Normalize(vmin=-1.0, vmax=1.0)

    drawer = rdMolDraw2D.MolDraw2DCairo(width, height)
    if show_values:
        # Two significant digits of the largest value, whatever its scale.
        decimals = max(0, 1 - int(np.floor(np.log10(largest)))) if largest > 0 else 2
        for atom, value in zip(mol.GetAtoms(), values):
            atom.SetProp("atomNote", f"{value:+.{decimals}f}")
    colours = {k: tuple(float(c) for c in colormap(norm(value))[:3]) for k, value in enumerate(values)}
    rdMolDraw2D.PrepareAndDrawMolecule(
        drawer, mol, highlightAtoms=list(colours), highlightAtomColors=colours, highlightBonds=[],
    )
    drawer.FinishDrawing()
    image = plt.imread(io.BytesIO(drawer.GetDrawingText()), format="png")

    if ax is None:
        figure, ax = plt.subplots(figsize=(width / 100 * 1.3, height / 100 + 0.6))
    else:
        figure = ax.get_figure()
    ax.imshow(image)
    ax.set_axis_off()
    ax.set_title(f"{smiles}\n{result.explained} = {result.output[0]:.3g}", fontsize=9)
    colour_bar = figure.colorbar(ScalarMappable(norm=norm, cmap=colormap), ax=ax, shrink=0.8)
    colour_bar.set_label(f"contribution to the {result.explained}")
    if filename is not None:
        figure.savefig(filename, bbox_inches="tight", dpi=150)
    return figure
