"""Atom-level explanations of a fitted estimator's predictions.

:func:`atom_contributions` gives each heavy atom of a molecule a number: how
much of the model's output for that molecule it accounts for, in the units
of the output (the target's units for a regressor, log-odds for a
classifier). :func:`molgnba.plotting.plot_atom_contributions` draws them on
the 2-D structure.

Two methods are registered in :data:`METHODS`:

* ``"integrated_gradients"`` (the default) integrates the gradient of the
  output along the straight path from an all-zero atom embedding to the
  molecule's atom embedding (Sundararajan et al., 2017). The contributions
  add up to the output minus the output of that baseline.
* ``"occlusion"`` zeroes one atom's embedding at a time and reports how much
  the output drops.

Both work at the output of the network's atom embedding
(:class:`~molgnba.nn.embedding.CategoricalEmbedding` applied to the atom
codes), found with forward hooks, so they work for every backbone that embeds
atoms through that module, and leave the model unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Batch

from molgnba.nn.embedding import CategoricalEmbedding

__all__ = ["METHODS", "AtomContributions", "atom_contributions"]

METHODS = {
    "integrated_gradients": {"n_steps": 50, "batch_size": 64},
    "occlusion": {"batch_size": 256},
}
"""The attribution methods, by name, with their options and defaults.

``batch_size`` is the number of molecules (integrated gradients) or of
occluded copies of molecules (occlusion) per forward pass.
"""


@dataclass(frozen=True, repr=False, eq=False)
class AtomContributions(Sequence):
    """Per-atom contributions for a list of molecules: a sequence of arrays.

    Indexing, ``len`` and iteration work as on the list of arrays
    (``result[k]`` is molecule ``k``'s array, or None for a skipped invalid
    SMILES); the other attributes say what was explained.

    Attributes
    ----------
    values : list of ndarray of shape (n_atoms,) or None
        One float64 array per input SMILES, one value per atom of
        ``Chem.MolFromSmiles(smiles)`` in RDKit's atom order (the heavy atoms:
        RDKit folds hydrogens written as ``[H]`` into their neighbours).
        None in the place of an invalid SMILES with ``invalid_smiles="skip"``.
    output : ndarray of shape (n_samples,)
        The explained output ``f(x)`` of each molecule (NaN for skipped ones).
    baseline_output : ndarray of shape (n_samples,)
        ``f`` of the molecule with every atom embedding set to zero (bonds
        kept). With integrated gradients, ``values[k].sum()`` approximates
        ``output[k] - baseline_output[k]``.
    explained : str
        What ``f`` is, e.g. ``"predicted value of task 0"`` or
        ``"logit of class 'active'"``.
    method : str
        The method's name, a key of :data:`METHODS`.

    Examples
    --------
    >>> from molgnba import GNNRegressor
    >>> from molgnba.explain import atom_contributions
    >>> reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0)
    >>> reg = reg.fit(["C", "CC", "CCO", "CCN"] * 4, [1.0, 2.0, 3.0, 4.0] * 4)
    >>> result = atom_contributions(reg, ["CCO", "c1ccccc1"])
    >>> len(result), [values.shape for values in result]
    (2, [(3,), (6,)])
    >>> result.explained
    'predicted value'
    """

    values: list
    output: np.ndarray
    baseline_output: np.ndarray
    explained: str
    method: str

    def __getitem__(self, index):
        return self.values[index]

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return (
            f"AtomContributions({len(self)} molecules, method={self.method!r}, "
            f"explained={self.explained!r})"
        )


def atom_contributions(estimator, smiles, *, method="integrated_gradients", target=None, **options):
    """How much each atom of each molecule contributes to the model's output.

    Parameters
    ----------
    estimator : fitted GNNRegressor or GNNClassifier
    smiles : sequence of str
        SMILES (a list, tuple, 1-D array or pandas Series). Invalid ones are
        handled as ``estimator.predict`` handles them: with
        ``invalid_smiles="raise"`` a ``ValueError`` names them before any
        work; with ``"skip"`` their entry is None.
    method : {"integrated_gradients", "occlusion"}, default="integrated_gradients"
        See Notes; the names are the keys of :data:`METHODS`.
    target : int or class label, optional
        What is explained when the model has several outputs:

        - single-task regressor: nothing to choose (None or 0);
        - multi-task regressor or multi-task classifier: the task's column
          index in ``y``, required;
        - binary classifier: a label of ``classes_``; None means the positive
          class ``classes_[1]``, whose logit is explained (the other class's
          logit is its negative);
        - multiclass classifier: a label of ``classes_``, required; its
          log-probability is explained.
    **options
        Options of the method, with the defaults in :data:`METHODS`:
        ``n_steps`` (integrated gradients: points of the path integral) and
        ``batch_size`` (molecules, or occluded copies, per forward pass).

    Returns
    -------
    AtomContributions
        A sequence with one array per SMILES (None for skipped ones): one
        value per heavy atom, in RDKit's atom order of
        ``Chem.MolFromSmiles(smiles)``, in the units of the explained output.
        ``output`` and ``baseline_output`` hold ``f(x)`` and ``f(baseline)``.

    Raises
    ------
    ValueError
        Unknown method, invalid ``target`` (the error lists the valid values),
        invalid SMILES with ``invalid_smiles="raise"``, empty input, or a
        model that embeds no atoms through
        :class:`~molgnba.nn.embedding.CategoricalEmbedding`.
    TypeError
        A single string instead of a sequence, or an unknown option.

    See Also
    --------
    molgnba.plotting.plot_atom_contributions : The contributions drawn on the molecule.

    Notes
    -----
    **What is explained.** A regressor's prediction in the units of ``y``
    (the network's standardized output transformed back, as ``predict``
    does); a binary classifier's logit (log-odds, ``decision_function``),
    not its probability: the logit is additive where the probability
    saturates, so contributions to the logit keep their size for confident
    predictions; a multiclass classifier's log-probability of the chosen
    class, which, unlike the raw logit, does not depend on an arbitrary shift
    shared by all classes.

    **Integrated gradients** (the default; Sundararajan et al., 2017). The
    atoms' inputs are categorical codes, so the path is taken in the space of
    the atom embedding's output ``e`` (every
    :class:`~molgnba.nn.embedding.CategoricalEmbedding` applied to the atom
    codes: one for GIN and GAT, two for a D-MPNN). Atom ``i`` gets
    ``sum_d e_id * integral_0^1 df/de_id(alpha * e) d alpha``, the integral
    computed by Gauss-Legendre quadrature with ``n_steps`` nodes. The
    baseline is the zero embedding of every atom, with the bonds kept: a
    molecule whose atoms carry no information. The contributions add up to
    ``f(x) - f(baseline)`` (completeness), up to the quadrature error, which
    the kinks of ReLU networks keep from vanishing; raise ``n_steps`` if the
    sum is not close enough. Chosen as the default because it accounts for
    the whole prediction and, unlike occlusion, sees the interactions between
    atoms (two atoms that matter only together share the credit).

    **Occlusion** sets one atom's embedding to zero and reports
    ``f(x) - f(x without atom i)``: one forward pass per atom, no gradients,
    easy to read, but the values need not add up to anything, and two atoms
    that can stand in for one another each look unimportant.

    Both explain the model, not the chemistry: a large contribution says the
    model's output depends on that atom, which is what it learned from its
    training data, right or wrong. The network runs in float32 in eval mode
    on the estimator's device, without its ``mixed_precision``; no gradient
    reaches its parameters and the model is left as it was.

    References
    ----------
    Sundararajan, M., Taly, A., Yan, Q. (2017). Axiomatic attribution for deep
    networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from molgnba import GNNRegressor
    >>> from molgnba.explain import atom_contributions
    >>> smiles = ["CCO", "CCN", "CCCl", "c1ccccc1", "CC(=O)O", "CC(=O)N"] * 4
    >>> y = [1.0, 2.0, 0.5, 0.0, 1.5, 2.5] * 4
    >>> reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=3, random_state=0).fit(smiles, y)
    >>> result = atom_contributions(reg, ["CC(=O)N", "[H]OC([H])([H])C"])
    >>> [values.round(2).shape for values in result]  # one value per heavy atom
    [(4,), (3,)]
    >>> bool(np.allclose(result.output, reg.predict(["CC(=O)N", "[H]OC([H])([H])C"]), atol=1e-4))
    True
    >>> sums = np.array([values.sum() for values in result])
    >>> bool(np.allclose(sums, result.output - result.baseline_output, atol=0.05))
    True
    """
    options = _check_options(method, options)
    estimator._check_fitted()
    explained, transform = _explained_output(estimator, target)
    smiles = _as_smiles_list(smiles)
    graphs, kept = estimator._featurize(smiles, training=False)

    module = estimator.module_
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    try:
        compute = _integrated_gradients if method == "integrated_gradients" else _occlusion
        values, output, baseline = compute(module, graphs, transform, device, **options)
    finally:
        module.train(was_training)

    n_input = len(smiles)
    all_values: list = [None] * n_input
    all_output = np.full(n_input, np.nan)
    all_baseline = np.full(n_input, np.nan)
    for position, k in enumerate(kept):
        all_values[k] = values[position]
        all_output[k] = output[position]
        all_baseline[k] = baseline[position]
    return AtomContributions(all_values, all_output, all_baseline, explained, method)


# ---------------------------------------------------------------------- input
def _check_options(method, options: dict) -> dict:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid names are {sorted(METHODS)}")
    defaults = METHODS[method]
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(
            f"unknown option(s) {unknown} for method={method!r}; its options are {sorted(defaults)}"
        )
    merged = {**defaults, **options}
    for name, value in merged.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return merged


def _as_smiles_list(smiles) -> list:
    if isinstance(smiles, (str, bytes)):
        raise TypeError(
            f"smiles must be a sequence of SMILES strings; got a single string {smiles!r:.60}. "
            "Wrap it in a list: [smiles]."
        )
    if hasattr(smiles, "ndim") and smiles.ndim != 1:
        raise ValueError(f"smiles must be 1-D (one SMILES per entry), got shape {smiles.shape}")
    smiles = smiles.tolist() if hasattr(smiles, "tolist") else list(smiles)
    if not smiles:
        raise ValueError("smiles is empty: at least one SMILES is needed")
    return smiles


def _explained_output(estimator, target):
    """What is explained, in words, and the map from raw outputs (``B x n_outputs``) to it (``B``)."""
    task = estimator._task
    n_outputs = estimator.n_outputs_
    multi_task = getattr(estimator, "target_ndim_", 1) == 2
    name = type(estimator).__name__

    def task_index(kind: str) -> int:
        valid = list(range(n_outputs))
        if target is None or isinstance(target, bool) or not isinstance(target, (int, np.integer)) \
                or target not in valid:
            got = "none" if target is None else repr(target)
            raise ValueError(
                f"target must be one of {valid} (the column of y, the task to explain) "
                f"for this {kind} {name}; got {got}"
            )
        return int(target)

    if task == "regression":
        if multi_task:
            column = task_index("multi-task")
            explained = f"predicted value of task {column}"
        else:
            if target not in (None, 0) or isinstance(target, bool):
                raise ValueError(
                    f"target must be None (or 0) for a single-task {name}: it has one output; got {target!r}"
                )
            column, explained = 0, "predicted value"
        scale = float(estimator.target_scale_[column])
        mean = float(estimator.target_mean_[column])
        return explained, lambda raw: raw[:, column] * scale + mean

    classes = estimator.classes_.tolist()  # python scalars: repr without np.str_
    if multi_task:
        column = task_index("multi-task")
        return f"logit of task {column}", lambda raw: raw[:, column]

    def class_index(required: bool) -> int:
        if target is None and not required:
            return 1
        matches = [k for k, label in enumerate(classes) if _same_label(label, target)]
        if not matches:
            got = "none" if target is None else repr(target)
            raise ValueError(
                f"target must be one of the classes {classes} for this {task} {name}; got {got}"
            )
        return matches[0]

    if task == "binary":
        k = class_index(required=False)
        sign = 1.0 if k == 1 else -1.0
        return f"logit of class {classes[k]!r}", lambda raw: sign * raw[:, 0]
    k = class_index(required=True)
    return f"log-probability of class {classes[k]!r}", lambda raw: torch.log_softmax(raw, dim=1)[:, k]


def _same_label(label, target) -> bool:
    try:
        return bool(label == target)
    except (TypeError, ValueError):  # e.g. an array compared with a label
        return False


# ------------------------------------------------------------------- the hooks
class _AtomEmbeddingEdit:
    """Forward hooks that replace the output of every embedding of the atom codes.

    An embedding is one of the atoms when its input is the batch's atom code
    tensor itself, so bond embeddings (and any module added later) are left
    alone whatever the backbone calls them. ``edit(k, output)`` returns what
    the ``k``-th such call of a forward pass passes on.
    """

    def __init__(self, module: torch.nn.Module, codes: torch.Tensor, edit):
        self.codes = codes
        self.edit = edit
        self.calls = 0
        self.handles = [
            submodule.register_forward_hook(self._hook)
            for submodule in module.modules()
            if isinstance(submodule, CategoricalEmbedding)
        ]

    def _hook(self, submodule, inputs, output):
        if inputs[0] is not self.codes:
            return None
        self.calls += 1
        return self.edit(self.calls - 1, output)

    def run(self, module, batch) -> torch.Tensor:
        self.calls = 0
        out = module(batch)
        if self.calls == 0:
            raise ValueError(
                f"{type(module).__name__} embeds no atom codes through CategoricalEmbedding "
                "(molgnba.nn.embedding), which atom_contributions needs to attribute to atoms"
            )
        return out.float()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()


def _batches(graphs: list, batch_size: int):
    for start in range(0, len(graphs), batch_size):
        yield start, graphs[start:start + batch_size]


def _per_graph(values: torch.Tensor, batch: Batch) -> list[np.ndarray]:
    counts = torch.bincount(batch.batch, minlength=batch.num_graphs).tolist()
    return [part.numpy().astype(np.float64) for part in torch.split(values.detach().cpu(), counts)]


# ----------------------------------------------------------------- the methods
def _integrated_gradients(module, graphs, transform, device, *, n_steps: int, batch_size: int):
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    alphas = (nodes + 1.0) / 2.0
    weights = weights / 2.0  # the integral over [0, 1]
    values, output, baseline = [], [], []
    for _, chunk in _batches(graphs, batch_size):
        batch = Batch.from_data_list(chunk).to(device)
        embeddings: list[torch.Tensor] = []

        def keep(k, out):
            embeddings.append(out.detach().float())
            return out

        with torch.no_grad(), _AtomEmbeddingEdit(module, batch.x, keep) as edit:
            output.append(transform(edit.run(module, batch)).cpu().numpy())
            edit.edit = lambda k, out: torch.zeros_like(out)
            baseline.append(transform(edit.run(module, batch)).cpu().numpy())

        attribution = torch.zeros(batch.num_nodes, device=device)
        for alpha, weight in zip(alphas, weights):
            points = [(alpha * e).requires_grad_(True) for e in embeddings]
            with torch.enable_grad(), _AtomEmbeddingEdit(module, batch.x, lambda k, out: points[k]) as edit:
                # Graphs of a batch do not interact (eval mode), so the gradient of the sum
                # is each molecule's own; grad() reaches the points, never the parameters.
                target_sum = transform(edit.run(module, batch)).sum()
                gradients = torch.autograd.grad(target_sum, points)
            for e, gradient in zip(embeddings, gradients):
                attribution += weight * (e * gradient).sum(dim=1)
        values += _per_graph(attribution, batch)
    return values, np.concatenate(output), np.concatenate(baseline)


def _occlusion(module, graphs, transform, device, *, batch_size: int):
    values, output, baseline = [], [], []
    with torch.no_grad():
        for _, chunk in _batches(graphs, batch_size):
            batch = Batch.from_data_list(chunk).to(device)
            with _AtomEmbeddingEdit(module, batch.x, lambda k, out: out) as edit:
                output.append(transform(edit.run(module, batch)).cpu().numpy())
                edit.edit = lambda k, out: torch.zeros_like(out)
                baseline.append(transform(edit.run(module, batch)).cpu().numpy())
        full = np.concatenate(output)
        # One copy of a molecule per atom, with that atom's embedding zeroed.
        copies = [(m, i) for m, graph in enumerate(graphs) for i in range(graph.num_nodes)]
        occluded = np.empty(len(copies))
        for start in range(0, len(copies), batch_size):
            items = copies[start:start + batch_size]
            batch = Batch.from_data_list([graphs[m] for m, _ in items]).to(device)
            offsets = batch.ptr[:-1].cpu()
            keep = torch.ones(batch.num_nodes, 1, device=device)
            keep[offsets + torch.tensor([i for _, i in items])] = 0.0
            with _AtomEmbeddingEdit(module, batch.x, lambda k, out: out * keep.to(out.dtype)) as edit:
                occluded[start:start + len(items)] = transform(edit.run(module, batch)).cpu().numpy()
    start = 0
    for m, graph in enumerate(graphs):
        values.append(full[m] - occluded[start:start + graph.num_nodes])
        start += graph.num_nodes
    return values, full, np.concatenate(baseline)
