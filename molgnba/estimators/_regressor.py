"""GNNRegressor: continuous targets (one or several tasks) from SMILES."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if

from molgnba.losses import GaussianNLLLoss
from molgnba.metrics import masked_rmse
from molgnba.estimators._base import GNNBase
from molgnba.estimators._validation import as_float_targets, check_smiles_input
from molgnba.utils._param_validation import Interval, StrOptions

__all__ = ["GNNRegressor"]


def _head_outputs(module) -> int:
    """Outputs of the network's head (its last linear layer), whether or not it has a hidden layer."""
    return [layer for layer in module.head.modules() if isinstance(layer, torch.nn.Linear)][-1].out_features


class GNNRegressor(RegressorMixin, GNNBase):
    """Graph neural network regressor on SMILES, optionally with the GNBA loss.

    Same model, parameters and defaults as :class:`GNNClassifier` (chemprop's
    recipe with the GIN backbone; the GNBA paper's configuration is
    ``GNNRegressor(**get_preset("paper"), attentive_loss=True)``); the loss
    is the squared error (attention-weighted with ``attentive_loss=True``), the
    relative gradient norm is ``2 * (sigmoid(|y_hat - y|) - 0.5)`` and the
    best epoch is picked by validation RMSE (unweighted).
    ``fit(X, y, sample_weight=...)`` weights the molecules' losses and the
    standardization of the targets.

    Parameters
    ----------
    backbone : {"gin", "gat", "gatv2", "dmpnn", "attentivefp"}, default="gin"
        The message-passing network, a name of ``molgnba.nn.BACKBONES``:
        the paper's GIN with bond embeddings or bond-aware graph attention
        (Hu et al., 2019), GATv2, chemprop's directed-bond message passing
        (Yang et al., 2019) or Attentive FP (Xiong et al., 2020). See the
        user guide's backbone page for which options each takes.
    attentive_loss : bool, default=False
        Weight each sample's squared error by the attention over relative
        gradient norms (GNBA), as the paper does. False trains on the plain
        mean squared error. With an explicit ``loss`` it must agree with
        that loss (see :class:`GNNClassifier`, also for why False is the
        default).
    standardize_targets : bool, default=True
        Train on targets shifted and scaled to zero mean and unit variance
        per task (predictions are transformed back). The squared error and
        the relative gradient norm are then in units of the target's
        standard deviation, which makes the defaults work across datasets.
    uncertainty : {None, "ensemble", "mve", "dropout"}, default=None
        How ``predict(X, return_std=True)`` estimates each prediction's
        standard deviation; None gives no ``return_std``. "ensemble": the
        spread of the ``n_ensemble`` members' predictions (needs
        ``n_ensemble >= 2``). "mve" (mean-variance estimation): the head
        predicts a mean and a variance per task, trained with the Gaussian
        negative log-likelihood (the ``"gaussian-nll"`` loss, which replaces
        the squared error, so it needs ``attentive_loss=False``). "dropout"
        (Monte Carlo dropout): the spread of ``n_dropout_samples`` forward
        passes with dropout active (needs ``dropout > 0``). "mve" and
        "dropout" combine with ``n_ensemble > 1``: the variance is then the
        mean of the members' variances plus the variance of their means.
        See the user guide's uncertainty page for how to choose.
    n_dropout_samples : int, default=30
        Stochastic forward passes per molecule for ``uncertainty="dropout"``
        (prediction with ``return_std=True`` costs that many passes); at
        least 2.
    **kwargs
        Every other parameter of :class:`GNNClassifier` but ``class_weight``
        (``loss``, ``attention_dim``, ..., ``mixed_precision``, ``device``,
        ``random_state``, ``lr_schedule``, ``warmup_epochs``,
        ``head_hidden_dim``, ``descriptors``, ``validation_split``) and any skorch parameter. ``loss`` takes the
        names that support regression (all but "focal").

    Attributes
    ----------
    n_tasks_ : int
    target_mean_, target_scale_ : ndarray of shape (n_tasks,)
        The standardization (0 and 1 when ``standardize_targets=False``).
    best_epoch_, history_, train_gradient_norm_, train_attention_, invalid_smiles_
        As in :class:`GNNClassifier`; the history has ``valid_rmse`` in the
        units of y. With ``uncertainty="mve"``, ``valid_loss`` is the
        squared error of the predicted mean.
    estimators_ : list of GNNRegressor
        With ``n_ensemble > 1``: the members (see :class:`GNNClassifier`).
    descriptor_names_, descriptor_mean_, descriptor_scale_
        With ``descriptors``, as in :class:`GNNClassifier`.

    See Also
    --------
    GNNClassifier
    molgnba.presets.get_preset : Named sets of parameters ("paper", "chemprop-like": the defaults' recipe).

    Examples
    --------
    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCCCCC", "CCCCCCC", "CCCCCCCC"] * 3
    >>> y = [float(len(s)) for s in smiles]
    >>> reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0)
    >>> reg.fit(smiles, y).predict(["CCO", "CCCC"]).shape
    (2,)

    With an uncertainty method, ``predict`` also gives standard deviations:

    >>> reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0,
    ...                    uncertainty="mve", attentive_loss=False)
    >>> mean, std = reg.fit(smiles, y).predict(["CCO", "CCCC"], return_std=True)
    >>> mean.shape, std.shape, bool((std > 0).all())
    ((2,), (2,), True)
    """

    _default_task = "regression"
    _possible_tasks = ("regression",)
    _parameter_constraints = {
        **GNNBase._parameter_constraints,
        "standardize_targets": ["boolean"],
        "uncertainty": [StrOptions({"ensemble", "mve", "dropout"}), None],
        "n_dropout_samples": [Interval(numbers.Integral, 2, None, closed="left")],
    }

    def __init__(self, backbone="gin", attentive_loss=False, standardize_targets=True, uncertainty=None,
                 n_dropout_samples=30, **kwargs):
        super().__init__(backbone=backbone, attentive_loss=attentive_loss, **kwargs)
        self.standardize_targets = standardize_targets
        self.uncertainty = uncertainty
        self.n_dropout_samples = n_dropout_samples

    # ------------------------------------------------------------ uncertainty
    def _validate_estimator_params(self) -> None:
        super()._validate_estimator_params()
        if self.uncertainty == "ensemble" and self.n_ensemble < 2:
            raise ValueError(
                "uncertainty='ensemble' takes the spread of the members' predictions and needs "
                f"n_ensemble >= 2, got n_ensemble={self.n_ensemble}"
            )
        if self.uncertainty == "dropout" and not self.dropout > 0:
            raise ValueError(
                "uncertainty='dropout' (Monte Carlo dropout) needs dropout > 0, "
                f"got dropout={self.dropout!r}; set e.g. dropout=0.1"
            )
        if self.uncertainty == "mve":
            if self.criterion is not None:
                raise ValueError("uncertainty='mve' trains with its own loss ('gaussian-nll'); drop the criterion")
            if self.attentive_loss or self.loss != "auto":
                raise ValueError(
                    "uncertainty='mve' trains with the Gaussian negative log-likelihood ('gaussian-nll'), "
                    "which replaces the squared error and cannot be weighted by the attentive loss or "
                    f"replaced by loss={self.loss!r}; set attentive_loss=False and loss='auto'"
                )

    @property
    def _n_network_outputs(self) -> int:
        # Mean-variance estimation: a mean, then a raw variance, per task.
        return 2 * self.n_outputs_ if self.uncertainty == "mve" else self.n_outputs_

    def _auto_loss(self) -> tuple:
        # Mean-variance estimation replaces the squared error by the Gaussian negative log-likelihood.
        if self.uncertainty == "mve" and not self.attentive_loss:
            return "gaussian-nll", {}
        return super()._auto_loss()

    def _point_prediction(self, y_pred):
        # With mean-variance estimation the network's second half holds the raw variances.
        return y_pred[:, : self.n_outputs_] if self.uncertainty == "mve" else y_pred

    def _check_return_std(self) -> None:
        if self.uncertainty is None:
            raise ValueError(
                "return_std=True needs an uncertainty method, and this GNNRegressor has uncertainty=None; "
                "fit it with uncertainty='ensemble' (and n_ensemble >= 2), 'mve' or 'dropout'"
            )
        if self.uncertainty == "ensemble" and len(self._members()) < 2:
            raise ValueError(
                "uncertainty='ensemble' needs n_ensemble >= 2 fitted members; this estimator has one "
                "network (refit it after setting n_ensemble)"
            )
        if self.uncertainty == "mve" and _head_outputs(self.module_) != 2 * self.n_outputs_:
            raise ValueError("uncertainty='mve' needs a network fitted with it, which has a variance head; refit it")

    def _mean_and_std(self, graphs, kept, n_input, batch_size=None):
        """Predictions and their standard deviations in the units of y (see ``uncertainty``)."""
        n_tasks = self.n_outputs_
        raws, variances = [], []
        with self._own_random_stream():
            for member in self._members():
                raw = member._network_outputs(graphs, batch_size)
                raws.append(raw)
                if self.uncertainty == "mve":
                    minimum = getattr(member.criterion_, "min_variance", 1e-6)
                    _, variance = GaussianNLLLoss.split(torch.from_numpy(raw).double(), minimum)
                    variances.append(variance.numpy())
                elif self.uncertainty == "dropout":
                    passes = [
                        member._network_outputs(graphs, batch_size, stochastic=True)[:, :n_tasks]
                        for _ in range(self.n_dropout_samples)
                    ]
                    variances.append(np.var(np.stack(passes).astype(np.float64), axis=0))
                else:
                    variances.append(np.zeros((len(graphs), n_tasks)))
        # The mean is predict's, to the bit; the variance adds the members' disagreement
        # (law of total variance: mean of the variances + variance of the means).
        mean = self._outputs_from_raw("predict", self._combine_outputs(raws), kept, n_input)
        means = np.stack([raw[:, :n_tasks] for raw in raws]).astype(np.float64)
        variance = np.mean(np.stack(variances), axis=0) + means.var(axis=0)
        std = np.sqrt(variance) * self.target_scale_
        if self.target_ndim_ == 1:
            std = std[:, 0]
        return mean, self._expand(std, kept, n_input)

    def _prepare_targets(self, y_array, rows, sample_weight=None):
        values = as_float_targets(y_array, rows, allow_nan=y_array.ndim == 2)
        self.target_ndim_ = values.ndim
        self.n_outputs_ = 1 if values.ndim == 1 else values.shape[1]
        flat = values.reshape(len(values), -1)
        if self.standardize_targets and sample_weight is None:
            mean = np.nanmean(flat, axis=0)
            scale = np.nanstd(flat, axis=0)
            scale[~(scale > 0)] = 1.0
        elif self.standardize_targets:
            # Weighted, so that weight 0 is leaving the row out and weight 2 repeating it.
            present = ~np.isnan(flat)
            weight = np.where(present, sample_weight[:, None], 0.0)
            total = weight.sum(0)
            safe_total = np.where(total > 0, total, 1.0)
            filled = np.where(present, flat, 0.0)
            mean = (weight * filled).sum(0) / safe_total
            scale = np.sqrt((weight * (filled - mean) ** 2).sum(0) / safe_total)
            scale[~(scale > 0)] = 1.0
        else:
            mean, scale = np.zeros(flat.shape[1]), np.ones(flat.shape[1])
        self.target_mean_, self.target_scale_ = mean, scale
        return ((flat - mean) / scale).astype(np.float32)

    def _encode_targets(self, y_array, rows):
        """Targets in the standardization of the first fit (for ``partial_fit``)."""
        self._check_target_shape(y_array)
        values = as_float_targets(y_array, rows, allow_nan=self.target_ndim_ == 2)
        flat = values.reshape(len(values), -1)
        return ((flat - self.target_mean_) / self.target_scale_).astype(np.float32)

    @available_if(lambda self: False)
    def predict_proba(self, X):
        """Regressors have no class probabilities."""

    def _score_raw(self, net, y_true, y_pred):
        y_pred = y_pred[:, : self.n_outputs_]  # without the variance head's outputs
        return masked_rmse(y_true * self.target_scale_, y_pred * self.target_scale_)

    def _outputs_from_raw(self, method, raw, kept, n_input):
        values = raw * self.target_scale_ + self.target_mean_
        if self.target_ndim_ == 1:
            values = values[:, 0]
        return self._expand(values, kept, n_input)

    def get_fitted_state(self) -> dict:
        state = super().get_fitted_state()
        for name in ("target_mean_", "target_scale_"):
            state[name] = np.asarray(getattr(self, name), dtype=np.float64).tolist()
        return state

    def _parse_fitted_state(self, state: dict) -> dict:
        attributes = super()._parse_fitted_state(state)
        missing = [name for name in ("target_mean_", "target_scale_") if name not in state]
        if missing:
            raise ValueError(f"fitted attribute(s) {', '.join(missing)} missing")
        for name in ("target_mean_", "target_scale_"):
            try:
                values = np.asarray(state[name], dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"fitted attribute {name!r} is not a list of numbers") from None
            if values.ndim != 1 or len(values) != attributes["n_tasks_"]:
                raise ValueError(f"fitted attribute {name!r} does not have n_tasks_ entries")
            attributes[name] = values
        return attributes

    def predict(self, X, return_std=False):
        """Predicted values, in the units of y, and optionally their standard deviations.

        Parameters
        ----------
        X : sequence of str
            SMILES (a list, tuple, ndarray or pandas Series).
        return_std : bool, default=False
            Also return each prediction's standard deviation, estimated by
            the ``uncertainty`` method, like
            :meth:`sklearn.gaussian_process.GaussianProcessRegressor.predict`.
            The mean is the same as without it (for "dropout" too: the
            deterministic prediction, with dropout off).

        Returns
        -------
        values : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            The shape of the training targets; rows of skipped invalid
            SMILES are NaN.
        std : ndarray of the same shape
            Only with ``return_std=True``: in the units of y (the
            standardization's scale is undone); NaN in the rows of skipped
            invalid SMILES.

        Raises
        ------
        ValueError
            If ``return_std=True`` and the estimator has no uncertainty
            method (``uncertainty=None``), or for invalid SMILES under
            ``invalid_smiles="raise"``.

        Examples
        --------
        >>> from molgnba import GNNRegressor
        >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> reg = reg.fit(["C", "CC", "CCC", "CCCC"] * 4, [1.0, 2.0, 3.0, 4.0] * 4)
        >>> reg.predict(["CCO", "CCCCC"]).shape
        (2,)
        >>> reg.predict(["CCO"], return_std=True)
        Traceback (most recent call last):
        ...
        ValueError: return_std=True needs an uncertainty method, and this GNNRegressor has uncertainty=None; fit it with uncertainty='ensemble' (and n_ensemble >= 2), 'mve' or 'dropout'
        """
        if not return_std:
            return self._outputs_from_raw("predict", *self._forward_raw(X))
        self._check_fitted()
        self._check_return_std()
        smiles = check_smiles_input(X)
        if len(smiles) == 0:
            raise ValueError("X is empty: at least one SMILES is needed")
        graphs, kept = self._featurize(smiles, training=False)
        return self._mean_and_std(graphs, kept, len(smiles))


# The class says it is molgnba.estimators' (see __init__), so doctest would look for
# its methods' examples there, and find none: name it here so that they run.
__test__ = {"GNNRegressor": GNNRegressor}
