"""Ensembles of networks and what the network computes besides predictions.

:class:`EnsembleMixin` gives both estimators

* ``n_ensemble`` independently seeded members, trained in parallel with
  joblib (``n_jobs``) on graphs featurized once, whose outputs are averaged
  (the regressor's values, the classifier's probabilities);
* the learned fingerprints: :meth:`~EnsembleMixin.transform` returns the
  graph embedding that feeds the head, so an estimator can be
  a step of a :class:`sklearn.pipeline.Pipeline`;
* the network passes behind Monte Carlo dropout (dropout active, batch
  normalisation in evaluation mode).

Representation of a fitted ensemble: ``estimators_`` lists the members,
each an estimator of the same class with ``n_ensemble=1``, fitted on its own
seed. The ensemble's own ``module_``, ``criterion_``, ``optimizer_``,
``history_``, ``best_epoch_`` and training diagnostics are those of member 0
(the same objects), so everything that reads one network (the fitted
summary, the model file's ``weights.pt`` entries ``module`` and
``criterion``) reads member 0. A single model (``n_ensemble=1``) has no
``estimators_``.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import torch
from skorch.dataset import unpack_data

from molgnba.data import GraphDataset

__all__ = ["EnsembleMixin"]

# Fitted attributes that encode the targets: the members share the parent's.
# What fit learns before training and every member shares: the targets' encoding and the
# descriptors' standardization (members are built before they train).
_SHARED_FITTED_ATTRIBUTES = (
    "target_ndim_", "n_outputs_", "n_tasks_", "task_", "classes_", "target_mean_", "target_scale_",
    "descriptor_names_", "descriptor_mean_", "descriptor_scale_",
)
# What the ensemble shows of its first member.
_MEMBER_ZERO_ATTRIBUTES = (
    "module_", "criterion_", "optimizer_", "history_", "n_tasks_", "best_epoch_", "stopped_early_", "interrupted_",
    "n_train_samples_", "n_validation_samples_", "train_gradient_norm_", "train_attention_",
)


def _train_member(member, graphs, kept, n_input, targets, sample_weight, groups, fit_params, partial, torch_threads):
    """Fit (or, with ``partial``, train on) one member; run in a joblib worker or in-process."""
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    if not partial:
        return member._fit_graphs(graphs, kept, n_input, targets, sample_weight=sample_weight, groups=groups,
                                  **fit_params)
    # What partial_fit does after featurizing, on the parent's graphs.
    member.n_train_samples_ = len(graphs)
    member.stopped_early_ = member.interrupted_ = False
    member.best_epoch_ = None
    member.partial_fit(GraphDataset(graphs, targets, sample_weight=sample_weight, groups=groups), targets, **fit_params)
    member._realign_diagnostics(kept, n_input, member.target_ndim_)
    return member


@contextlib.contextmanager
def _monte_carlo_dropout(module: torch.nn.Module):
    """Every submodule in training mode except batch normalisation, which keeps its running statistics."""
    modes = {sub: sub.training for sub in module.modules()}
    try:
        module.eval()
        for sub in module.modules():
            if not isinstance(sub, torch.nn.modules.batchnorm._BatchNorm):
                sub.training = True
        yield module
    finally:
        for sub, mode in modes.items():
            sub.training = mode


class EnsembleMixin:
    """Members, averaged outputs, embeddings and Monte Carlo dropout passes (see the module)."""

    # ---------------------------------------------------------------- members
    def _members(self) -> list:
        """The fitted networks' estimators: ``estimators_``, or ``[self]`` for a single model."""
        return getattr(self, "estimators_", None) or [self]

    def _member_seeds(self) -> list[int]:
        """Member k's ``random_state``: member 0 gets an int ``random_state`` itself, so it is the
        network ``n_ensemble=1`` would fit; the others draw from ``RandomState(random_state)``."""
        import numbers

        from sklearn.utils import check_random_state

        rs = self.random_state
        if isinstance(rs, numbers.Integral):
            return [int(rs)] + [int(seed) for seed in np.random.RandomState(rs).randint(0, 2**31 - 1, self.n_ensemble - 1)]
        # Always seeded: fresh worker processes would otherwise all start from torch's default seed.
        return [int(seed) for seed in check_random_state(rs).randint(0, 2**31 - 1, self.n_ensemble)]

    def _make_member(self, seed, index: int):
        from sklearn.base import clone

        checkpoint_dir = None
        if self.checkpoint_dir is not None:
            checkpoint_dir = os.path.join(os.fspath(self.checkpoint_dir), f"member{index}")
        member = clone(self).set_params(n_ensemble=1, n_jobs=None, random_state=seed, checkpoint_dir=checkpoint_dir)
        if getattr(self, "uncertainty", None) == "ensemble":
            member.set_params(uncertainty=None)  # a property of the ensemble, not of one network
        for name in _SHARED_FITTED_ATTRIBUTES:
            if hasattr(self, name):
                setattr(member, name, getattr(self, name))
        member.invalid_smiles_ = list(getattr(self, "invalid_smiles_", []))
        return member

    def _train_members(self, members, graphs, kept, n_input, targets, sample_weight, groups, fit_params,
                       partial) -> list:
        from joblib import Parallel, delayed

        n_jobs = 1 if self.n_jobs is None else self.n_jobs
        parallel = n_jobs != 1 and len(members) > 1
        # One torch thread per member when members run side by side: n_jobs processes x all cores would thrash.
        threads = 1 if parallel else None
        return Parallel(n_jobs=n_jobs if parallel else 1)(
            delayed(_train_member)(member, graphs, kept, n_input, targets, sample_weight, groups, fit_params, partial,
                                   threads)
            for member in members
        )

    def _fit_ensemble(self, graphs, kept, n_input, targets, sample_weight=None, groups=None, **fit_params):
        """Fit ``n_ensemble`` members on the same graphs; the parent shows member 0."""
        seeds = self._member_seeds()
        members = [self._make_member(seed, index) for index, seed in enumerate(seeds)]
        self.estimators_ = self._train_members(
            members, graphs, kept, n_input, targets, sample_weight, groups, fit_params, partial=False
        )
        # The parent is a fitted net too (skorch's state, callbacks); its network is member 0's.
        with torch.random.fork_rng(devices=[]):
            self.initialize()
        self._adopt_first_member()
        return self

    def _partial_fit_ensemble(self, graphs, kept, n_input, targets, sample_weight=None, groups=None, **fit_params):
        members = list(self.estimators_)
        for member in members:
            member.invalid_smiles_ = list(self.invalid_smiles_)
        self.estimators_ = self._train_members(
            members, graphs, kept, n_input, targets, sample_weight, groups, fit_params, partial=True
        )
        self._adopt_first_member()
        return self

    def _adopt_first_member(self) -> None:
        first = self.estimators_[0]
        for name in _MEMBER_ZERO_ATTRIBUTES:
            if hasattr(first, name):
                setattr(self, name, getattr(first, name))

    # -------------------------------------------------------- network passes
    def _network_outputs(self, graphs: list, batch_size: int | None = None, *, embed: bool = False,
                         stochastic: bool = False) -> np.ndarray:
        """One network's float32 outputs (``len(graphs) x width``).

        ``embed`` gives the graph embeddings (the head's input) instead of
        the head's outputs; ``stochastic`` runs with dropout active (Monte
        Carlo dropout). Otherwise the module runs in evaluation mode.
        """
        if len(graphs) == 0:
            width = self.module_.embedding_dim if embed else self._n_network_outputs
            return np.empty((0, width), dtype=np.float32)
        dataset = self.get_dataset(GraphDataset(graphs))
        if batch_size is None:
            iterator = self.get_iterator(dataset, training=False)
        else:
            # Passed to the loader, never set on self: the estimator may be in use elsewhere.
            iterator = self.iterator_valid(dataset, **{**self.get_params_for("iterator_valid"), "batch_size": batch_size})
        if not (embed or stochastic):
            outputs = [self.evaluation_step(batch, training=False).detach().cpu() for batch in iterator]
            return torch.cat(outputs).float().numpy()
        forward = self.module_.embed if embed else self.module_
        mode = _monte_carlo_dropout(self.module_) if stochastic else contextlib.nullcontext()
        if not stochastic:
            self.module_.eval()
        outputs = []
        with mode, torch.no_grad():
            for batch in iterator:
                outputs.append(self._autocast_forward(forward, unpack_data(batch)[0]).detach().cpu())
        return torch.cat(outputs).float().numpy()

    def _autocast_forward(self, forward, x):
        """``forward(x)`` on the estimator's device, under its ``mixed_precision`` (as ``infer``)."""
        from molgnba.estimators._device import AUTOCAST_DTYPES

        x = x.to(self.device_, non_blocking=True)
        if self.mixed_precision is None:
            return forward(x)
        with torch.autocast(torch.device(self.device_).type, dtype=AUTOCAST_DTYPES[self.mixed_precision]):
            return forward(x).float()

    def _forward_graphs(self, graphs: list, batch_size: int | None = None) -> np.ndarray:
        """The outputs prediction post-processes (``len(graphs) x n_outputs_``): the members' combined."""
        members = self._members()
        if len(members) == 1 and members[0] is self:
            return self._combine_outputs([self._network_outputs(graphs, batch_size)])
        return self._combine_outputs([member._network_outputs(graphs, batch_size) for member in members])

    def _combine_outputs(self, raws: list) -> np.ndarray:
        """One set of outputs from each member's; a single model's pass through."""
        raws = [raw[:, : self.n_outputs_] for raw in raws]
        if len(raws) == 1:
            return raws[0]
        return np.mean(np.stack(raws), axis=0, dtype=np.float64).astype(np.float32)

    def _dropout_seed(self):
        """Seed of the Monte Carlo dropout masks: ``random_state`` when it is an int."""
        import numbers

        rs = self.random_state
        return int(rs) if isinstance(rs, numbers.Integral) else None

    @contextlib.contextmanager
    def _own_random_stream(self):
        """Draw from a stream seeded by ``random_state``, leaving the caller's untouched."""
        device = torch.device(getattr(self, "device_", "cpu"))
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            seed = self._dropout_seed()
            if seed is not None:
                torch.manual_seed(seed)
            yield

    # ------------------------------------------------------ learned fingerprints
    @property
    def n_features_out_(self) -> int:
        """Width of :meth:`transform`'s output: the embedding width times the members."""
        self._check_fitted()
        return sum(member.module_.embedding_dim for member in self._members())

    def _embeddings(self, graphs: list, batch_size: int | None = None) -> np.ndarray:
        return np.hstack([member._network_outputs(graphs, batch_size, embed=True) for member in self._members()])

    def transform(self, X):
        """Learned fingerprints: the graph embedding each molecule gets from the fitted network.

        The embedding is the readout of the message-passing layers, the
        vector the head turns into predictions (before any ``descriptors``
        are joined to it), computed in evaluation mode. With ``n_ensemble > 1`` the members' embeddings are
        concatenated in member order (the first ``n_features_out_ /
        n_ensemble`` columns are member 0's). Use it to put a scikit-learn
        model on top of the network: ``Pipeline([("gnn", GNNRegressor()),
        ("rf", RandomForestRegressor())])`` trains the network on ``y``,
        then the forest on the fingerprints.

        Parameters
        ----------
        X : sequence of str
            SMILES (a list, tuple, ndarray or pandas Series).

        Returns
        -------
        ndarray of shape (n_samples, ``n_features_out_``), dtype float32
            With ``invalid_smiles="skip"``, rows of invalid SMILES are NaN;
            with "raise" (the default) they raise before anything is
            computed, naming them.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            For invalid SMILES under ``invalid_smiles="raise"``.

        See Also
        --------
        get_feature_names_out : Names of the columns.

        Examples
        --------
        >>> from molgnba import GNNRegressor
        >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "c1ccccc1", "CC(=O)O"]
        >>> reg = GNNRegressor(num_layers=2, hidden_dim=8, max_epochs=1, random_state=0)
        >>> fingerprints = reg.fit(smiles, [float(len(s)) for s in smiles]).transform(["CCO", "CCCl"])
        >>> fingerprints.shape, fingerprints.dtype  # GIN: embedding + 2 layers, pooled, 8 wide each
        ((2, 24), dtype('float32'))
        >>> reg.get_feature_names_out()[:3].tolist()
        ['gnnregressor0', 'gnnregressor1', 'gnnregressor2']
        """
        from molgnba.estimators._validation import check_smiles_input

        self._check_fitted()
        smiles = check_smiles_input(X)
        if len(smiles) == 0:
            raise ValueError("X is empty: at least one SMILES is needed")
        graphs, kept = self._featurize(smiles, training=False)
        return self._expand_float32(self._embeddings(graphs), kept, len(smiles))

    @staticmethod
    def _expand_float32(values: np.ndarray, kept: np.ndarray, n_input: int) -> np.ndarray:
        if len(kept) == n_input:
            return values
        full = np.full((n_input, values.shape[1]), np.nan, dtype=np.float32)
        full[kept] = values
        return full

    def fit_transform(self, X, y, **fit_params):
        """Fit on SMILES ``X`` and targets ``y``, then return the fingerprints of ``X``.

        The same as ``fit(X, y, **fit_params).transform(X)``; what a
        :class:`~sklearn.pipeline.Pipeline` calls on its intermediate steps.

        Parameters
        ----------
        X : sequence of str
            SMILES.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        **fit_params
            Passed on to :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples, ``n_features_out_``), dtype float32

        Examples
        --------
        >>> from sklearn.ensemble import RandomForestRegressor
        >>> from sklearn.pipeline import Pipeline
        >>> from molgnba import GNNRegressor
        >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "c1ccccc1", "CC(=O)O"]
        >>> y = [float(len(s)) for s in smiles]
        >>> gnn = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> gnn.fit_transform(smiles, y).shape  # 8 molecules; the embedding and 1 layer, 8 wide each
        (8, 16)
        >>> model = Pipeline([("gnn", gnn), ("rf", RandomForestRegressor(n_estimators=5, random_state=0))])
        >>> model.fit(smiles, y).predict(["CCCl"]).shape
        (1,)
        """
        return self.fit(X, y, **fit_params).transform(X)

    def get_feature_names_out(self, input_features=None):
        """Names of :meth:`transform`'s columns: the lower-case class name and the column index.

        Parameters
        ----------
        input_features : ignored
            SMILES have no feature names; present for scikit-learn's API.

        Returns
        -------
        ndarray of str objects, shape (``n_features_out_``,)
            ``gnnregressor0``, ``gnnregressor1``, ... (``gnnclassifier0``...),
            scikit-learn's convention for features a model makes.

        Examples
        --------
        >>> from molgnba import GNNClassifier
        >>> clf = GNNClassifier(num_layers=1, hidden_dim=4, max_epochs=1, random_state=0)
        >>> clf = clf.fit(["CCO", "CCN", "c1ccccc1", "CCCl"] * 2, [0, 1, 0, 1] * 2)
        >>> names = clf.get_feature_names_out()
        >>> len(names) == clf.n_features_out_, names[:3].tolist()
        (True, ['gnnclassifier0', 'gnnclassifier1', 'gnnclassifier2'])
        """
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{k}" for k in range(self.n_features_out_)], dtype=object)
