"""Datasets, batching and the validation split used by the estimators."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from torch.utils.data import Dataset, Subset
from torch_geometric.data import Batch, Data


class GraphDataset(Dataset):
    """Featurized molecules with optional targets and sample weights, indexable by position.

    Items are ``(graph, target, index)``, or ``(graph, target, index, weight)``
    when the dataset holds sample weights; ``index`` travels with the graph so
    that per-sample diagnostics can be written back in input order, and the
    weight travels with it through shuffling and the validation split.

    Parameters
    ----------
    graphs : sequence of torch_geometric.data.Data
        The featurized molecules (see :func:`molgnba.featurize.featurize_smiles`).
    y : array-like of shape ``n`` or ``n x T``, optional
        Targets, stored as float32; NaN marks a missing label. Without
        targets, items carry a 0-dimensional zero tensor.
    sample_weight : array-like of shape ``n``, optional
        Non-negative weight of each molecule's training loss, stored as
        float32 (see :class:`molgnba.losses.MolecularLoss`). None: no weights,
        and items are triples.
    groups : array-like of shape ``n``, optional
        A group label per molecule (e.g. its scaffold,
        :func:`molgnba.model_selection.scaffold_groups`): :class:`ValidationSplit`
        then holds out whole groups. Not part of the items.

    Examples
    --------
    >>> from molgnba.data import GraphDataset
    >>> from molgnba.featurize import featurize_smiles
    >>> graphs, _ = featurize_smiles(["CCO", "c1ccccc1"], cache=None)
    >>> dataset = GraphDataset(graphs, y=[0.5, -1.6])
    >>> graph, target, index = dataset[1]
    >>> len(dataset), graph.num_nodes, target, index
    (2, 6, tensor(-1.6000), 1)
    >>> weighted = GraphDataset(graphs, y=[0.5, -1.6], sample_weight=[1.0, 3.0])
    >>> weighted[1][3]
    tensor(3.)
    """

    def __init__(self, graphs: Sequence[Data], y=None, sample_weight=None, groups=None):
        self.graphs = graphs
        if y is not None:
            y = torch.as_tensor(np.asarray(y, dtype=np.float32))
            if len(y) != len(graphs):
                raise ValueError(f"{len(graphs)} graphs but {len(y)} targets")
        self.y = y
        if sample_weight is not None:
            sample_weight = torch.as_tensor(np.asarray(sample_weight, dtype=np.float32))
            if sample_weight.dim() != 1 or len(sample_weight) != len(graphs):
                raise ValueError(
                    f"{len(graphs)} graphs but sample_weight of shape {tuple(sample_weight.shape)}; "
                    "one weight per graph is needed"
                )
        self.sample_weight = sample_weight
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (len(graphs),):
                raise ValueError(
                    f"{len(graphs)} graphs but groups of shape {groups.shape}; one group label per graph is needed"
                )
        self.groups = groups

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index):
        target = self.y[index] if self.y is not None else torch.zeros(())
        if self.sample_weight is None:
            return self.graphs[index], target, index
        return self.graphs[index], target, index, self.sample_weight[index]


def collate_graphs(items) -> tuple[Batch, torch.Tensor]:
    """Collate ``(graph, target, index[, weight])`` items into ``(Batch, targets)``.

    The batch carries ``sample_index`` (long tensor of shape ``B``): each
    graph's position in the dataset it came from; and, when the items carry
    weights, ``sample_weight`` (float tensor of shape ``B``), which the
    estimators hand to the loss.

    Parameters
    ----------
    items : sequence of tuple
        ``(graph, target, index)`` or ``(graph, target, index, weight)``
        items as :class:`GraphDataset` returns them.

    Returns
    -------
    batch : torch_geometric.data.Batch
        The ``B`` graphs as one disconnected graph, with ``sample_index``
        (and ``sample_weight`` for weighted items).
    targets : torch.Tensor of shape ``B`` or ``B x T``
        The targets, stacked.

    Examples
    --------
    >>> from molgnba.data import GraphDataset, collate_graphs
    >>> from molgnba.featurize import featurize_smiles
    >>> graphs, _ = featurize_smiles(["CCO", "CC", "c1ccccc1"], cache=None)
    >>> dataset = GraphDataset(graphs, y=[[0.5, 1.0], [0.1, 0.0], [-1.6, 1.0]])
    >>> batch, targets = collate_graphs([dataset[2], dataset[0]])
    >>> batch.num_graphs, batch.num_nodes, targets.shape
    (2, 9, torch.Size([2, 2]))
    >>> batch.sample_index
    tensor([2, 0])
    >>> weighted = GraphDataset(graphs, y=[0.5, 0.1, -1.6], sample_weight=[1.0, 0.0, 2.0])
    >>> collate_graphs([weighted[2], weighted[0]])[0].sample_weight
    tensor([2., 1.])
    """
    columns = list(zip(*items))
    graphs, targets, indices = columns[:3]
    batch = Batch.from_data_list(list(graphs))
    batch.sample_index = torch.as_tensor(indices, dtype=torch.long)
    if len(columns) > 3:
        batch.sample_weight = torch.stack(columns[3])
    return batch, torch.stack(targets)


#: How many orders of the groups :class:`ValidationSplit` draws to find a validation part with every class.
_GROUP_SPLIT_DRAWS = 100


class ValidationSplit:
    """Hold out a fraction of the training data for model selection.

    Stratified by class where the targets allow it (single-task
    classification with every class present at least twice); otherwise a
    plain random split. Given groups (e.g. the molecules' scaffolds,
    :func:`molgnba.model_selection.scaffold_groups`), as ``groups`` or as the
    dataset's own ``groups``, whole groups are held out instead, so that the
    validation molecules share no group with the training ones. Compatible
    with skorch's ``train_split``.

    Parameters
    ----------
    fraction : float
        Share of the samples held out, in (0, 1).
    stratified : bool, default=False
        Request a stratified split; ignored where stratification is impossible.
    random_state : int or None
        Seed of the split; None draws a different split each time.

    Examples
    --------
    >>> import numpy as np
    >>> from molgnba.data import GraphDataset, ValidationSplit
    >>> from molgnba.featurize import featurize_smiles
    >>> graphs, _ = featurize_smiles(["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"], cache=None)
    >>> split = ValidationSplit(0.25, random_state=0)
    >>> train, valid = split(GraphDataset(graphs, np.arange(8.0)))
    >>> len(train), len(valid)
    (6, 2)
    >>> sorted([*train.indices, *valid.indices]) == list(range(8))
    True
    """

    def __init__(self, fraction: float = 0.1, stratified: bool = False, random_state=None):
        self.fraction = fraction
        self.stratified = stratified
        self.random_state = random_state

    def split_indices(self, n_samples: int, y=None, groups=None) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the training and validation samples.

        Parameters
        ----------
        n_samples : int
            Number of samples to split.
        y : array-like of shape ``n_samples``, optional
            Class labels, used for stratification where requested and possible.
        groups : array-like of shape ``n_samples``, optional
            Group labels: each group goes to one side whole. As in chemprop's
            balanced scaffold split, groups larger than half the validation
            size stay in training; the others, in an order shuffled with
            ``random_state``, fill the validation part as long as they fit in
            it. Where stratification is requested and possible, the order is
            drawn again until the validation part holds every class.

        Returns
        -------
        train, valid : ndarray of int
            Sorted, disjoint positions that together cover ``range(n_samples)``;
            ``valid`` holds ``round(fraction * n_samples)`` of them (with
            ``groups``: at most that many, as many as whole groups allow).

        Raises
        ------
        ValueError
            If that leaves no sample for validation or none for training
            (with ``groups``: if no group is small enough to hold out).

        Examples
        --------
        >>> import numpy as np
        >>> from molgnba.data import ValidationSplit
        >>> y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
        >>> train, valid = ValidationSplit(0.4, stratified=True, random_state=0).split_indices(10, y)
        >>> len(train), len(valid), np.bincount(y[valid]).tolist()  # classes in proportion
        (6, 4, [2, 2])

        With groups, no group is split between the two sides:

        >>> groups = np.array([0, 0, 0, 0, 1, 1, 2, 3, 3, 4])
        >>> train, valid = ValidationSplit(0.4, random_state=0).split_indices(10, groups=groups)
        >>> len(valid) <= 4, bool(set(groups[train]) & set(groups[valid])), 0 in groups[valid]
        (True, False, False)
        """
        indices = np.arange(n_samples)
        n_valid = int(round(self.fraction * n_samples))
        if n_valid < 1 or n_valid >= n_samples:
            raise ValueError(
                f"a validation fraction of {self.fraction} leaves {n_valid} of {n_samples} samples for "
                "validation; use more samples, another validation_fraction, or train_split=None"
            )
        stratify = None
        if self.stratified and y is not None:
            labels = np.asarray(y)
            if labels.ndim == 1 and not np.isnan(labels.astype(float)).any():
                _, counts = np.unique(labels, return_counts=True)
                if counts.min() >= 2 and n_valid >= len(counts) and n_samples - n_valid >= len(counts):
                    stratify = labels
        if groups is not None:
            return self._split_groups(np.asarray(groups), n_samples, n_valid, stratify)
        train, valid = train_test_split(
            indices, test_size=n_valid, random_state=self.random_state, stratify=stratify
        )
        return np.sort(train), np.sort(valid)

    def _split_groups(self, groups: np.ndarray, n_samples: int, n_valid: int,
                      labels=None) -> tuple[np.ndarray, np.ndarray]:
        """Whole groups into validation; with ``labels``, redrawn until validation has every class."""
        if groups.shape != (n_samples,):
            raise ValueError(f"groups must have one label per sample ({n_samples}), got shape {groups.shape}")
        _, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
        # Groups larger than half the validation part stay in training, as in chemprop's balanced
        # scaffold split: a validation part of one or two big series would judge epochs on them alone.
        small = np.flatnonzero(sizes <= n_valid / 2)
        if len(small) == 0:
            raise ValueError(
                f"no group could be held out for validation: the {n_samples} samples form {len(sizes)} "
                f"group(s), the smallest of {sizes.min()} samples, and a validation fraction of "
                f"{self.fraction} holds out at most {n_valid} samples in groups of at most {n_valid // 2}; "
                "use more samples, a larger validation_fraction, or a random validation split"
            )
        n_classes = None if labels is None else len(np.unique(labels))
        rng = check_random_state(self.random_state)
        for _ in range(_GROUP_SPLIT_DRAWS):
            held_out = np.zeros(len(sizes), dtype=bool)
            n_held_out = 0
            for group in small[rng.permutation(len(small))]:
                if n_held_out + sizes[group] <= n_valid:
                    held_out[group] = True
                    n_held_out += sizes[group]
            in_valid = held_out[inverse]
            # A validation part of one class has no ROC-AUC to choose an epoch by.
            if n_classes is None or len(np.unique(labels[in_valid])) == n_classes:
                return np.flatnonzero(~in_valid), np.flatnonzero(in_valid)
        n_available = len(np.unique(labels[np.isin(inverse, small)]))
        raise ValueError(
            f"no way of holding out whole groups found in {_GROUP_SPLIT_DRAWS} draws put every class in the "
            f"validation part (the groups small enough to hold out have {n_available} of the {n_classes} "
            "classes); use a larger validation_fraction or a random validation split"
        )

    def __call__(self, dataset, y=None, groups=None):
        if groups is None:
            groups = getattr(dataset, "groups", None)
        train, valid = self.split_indices(len(dataset), y, groups=groups)
        return Subset(dataset, train), Subset(dataset, valid)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(fraction={self.fraction}, stratified={self.stratified}, "
            f"random_state={self.random_state})"
        )


class FixedValidationSplit:
    """Validate on given rows of the training input; train on the rest.

    For protocols with a fixed train/validation/test split: pass train and
    validation molecules together to ``fit`` and name the validation rows
    here (positions in the data the estimator trains on).

    Parameters
    ----------
    valid_index : array-like of int
        Positions of the validation rows; duplicates are ignored.

    Examples
    --------
    >>> from molgnba.data import FixedValidationSplit, GraphDataset
    >>> from molgnba.featurize import featurize_smiles
    >>> graphs, _ = featurize_smiles(["C", "CC", "CCC", "CCO", "CCN"], cache=None)
    >>> train, valid = FixedValidationSplit([3, 4])(GraphDataset(graphs, [0.0, 1.0, 2.0, 1.5, 1.2]))
    >>> train.indices.tolist(), valid.indices.tolist()
    ([0, 1, 2], [3, 4])

    With an estimator, fit on train and validation rows together:

    >>> from molgnba import GNNRegressor
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0,
    ...                    train_split=FixedValidationSplit([3, 4]))
    >>> reg.fit(["C", "CC", "CCC", "CCO", "CCN"], [0.0, 1.0, 2.0, 1.5, 1.2]).best_epoch_
    1
    """

    def __init__(self, valid_index):
        self.valid_index = valid_index

    def __call__(self, dataset, y=None, groups=None):
        valid = np.unique(np.asarray(self.valid_index, dtype=np.int64))
        if len(valid) and (valid.min() < 0 or valid.max() >= len(dataset)):
            raise ValueError(f"valid_index out of range for {len(dataset)} training samples")
        train = np.setdiff1d(np.arange(len(dataset)), valid)
        return Subset(dataset, train), Subset(dataset, valid)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self.valid_index)} rows>)"
