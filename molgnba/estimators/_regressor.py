"""GNNRegressor: continuous targets (one or several tasks) from SMILES."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if

from molgnba.callbacks import masked_rmse
from molgnba.estimators._base import GNNBase
from molgnba.estimators._validation import as_float_targets
from molgnba.utils._param_validation import StrOptions

__all__ = ["GNNRegressor"]


class GNNRegressor(RegressorMixin, GNNBase):
    """Graph neural network regressor on SMILES, optionally with the GNBA loss.

    Same model and parameters as :class:`GNNClassifier`; the loss is the
    squared error (attention-weighted with ``attentive_loss=True``), the
    relative gradient norm is ``2 * (sigmoid(|y_hat - y|) - 0.5)`` and the
    best epoch is picked by validation RMSE.

    Parameters
    ----------
    backbone : {"gin", "gat"}, default="gin"
        Message-passing layers: GIN with bond embeddings (Hu et al., 2019) or
        edge-aware graph attention.
    attentive_loss : bool, default=True
        Weight each sample's squared error by the attention over relative
        gradient norms (GNBA). False trains on the plain mean squared error.
    standardize_targets : bool, default=True
        Train on targets shifted and scaled to zero mean and unit variance
        per task (predictions are transformed back). The squared error and
        the relative gradient norm are then in units of the target's
        standard deviation, which makes the defaults work across datasets.
    **kwargs
        Every other parameter of :class:`GNNClassifier` (``loss``,
        ``attention_dim``, ..., ``mixed_precision``, ``device``,
        ``random_state``, ``lr_schedule``, ``warmup_epochs``,
        ``head_hidden_dim``, ``descriptors``) and any skorch parameter.

    Attributes
    ----------
    n_tasks_ : int
    target_mean_, target_scale_ : ndarray of shape (n_tasks,)
        The standardization (0 and 1 when ``standardize_targets=False``).
    best_epoch_, history_, train_gradient_norm_, train_attention_, invalid_smiles_
        As in :class:`GNNClassifier`; the history has ``valid_rmse`` in the
        units of y.
    descriptor_names_, descriptor_mean_, descriptor_scale_
        With ``descriptors``, as in :class:`GNNClassifier`.

    See Also
    --------
    GNNClassifier
    molgnba.presets.get_preset : Named sets of parameters ("paper", "chemprop-like").

    Examples
    --------
    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCCCCC", "CCCCCCC", "CCCCCCCC"] * 3
    >>> y = [float(len(s)) for s in smiles]
    >>> reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0)
    >>> reg.fit(smiles, y).predict(["CCO", "CCCC"]).shape
    (2,)
    """

    _default_task = "regression"
    _parameter_constraints = {
        **GNNBase._parameter_constraints,
        "loss": [StrOptions({"auto", "ghm"})],  # the focal loss is for classes
        "standardize_targets": ["boolean"],
    }

    def __init__(self, backbone="gin", attentive_loss=True, standardize_targets=True, **kwargs):
        super().__init__(backbone=backbone, attentive_loss=attentive_loss, **kwargs)
        self.standardize_targets = standardize_targets

    def _prepare_targets(self, y_array, rows):
        values = as_float_targets(y_array, rows, allow_nan=y_array.ndim == 2)
        self.target_ndim_ = values.ndim
        self.n_outputs_ = 1 if values.ndim == 1 else values.shape[1]
        flat = values.reshape(len(values), -1)
        if self.standardize_targets:
            mean = np.nanmean(flat, axis=0)
            scale = np.nanstd(flat, axis=0)
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

    def predict(self, X):
        """Predicted values, in the units of y.

        Parameters
        ----------
        X : sequence of str
            SMILES (a list, tuple, ndarray or pandas Series).

        Returns
        -------
        values : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            The shape of the training targets; rows of skipped invalid
            SMILES are NaN.

        Examples
        --------
        >>> from molgnba import GNNRegressor
        >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> reg = reg.fit(["C", "CC", "CCC", "CCCC"] * 4, [1.0, 2.0, 3.0, 4.0] * 4)
        >>> reg.predict(["CCO", "CCCCC"]).shape
        (2,)
        """
        return self._outputs_from_raw("predict", *self._forward_raw(X))


# The class says it is molgnba.estimators' (see __init__), so doctest would look for
# its methods' examples there, and find none: name it here so that they run.
__test__ = {"GNNRegressor": GNNRegressor}
