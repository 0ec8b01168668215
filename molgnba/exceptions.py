"""Exceptions molgnba raises on top of the built-in ones."""

__all__ = ["InvalidParameterError", "TrainingDivergedError"]


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite.

    Raised by ``fit`` as soon as it happens, so that no model that predicts
    NaN is returned; the message names the epoch and batch and what to try.
    The estimator is left with the weights of its best epoch so far.

    A subclass of :class:`FloatingPointError`, so code that already handles
    that keeps working.

    Examples
    --------
    With ``standardize_targets=False``, a target of ``4e30`` (a value in the
    wrong unit, say) makes the squared error overflow float32:

    >>> from molgnba import GNNRegressor
    >>> from molgnba.exceptions import TrainingDivergedError
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"]
    >>> y = [0.0, 1.0, 2.0, 3.0, 1.5, 1.2, 2.5, 4e30]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=2, standardize_targets=False,
    ...                    random_state=0)
    >>> try:
    ...     reg.fit(smiles, y)
    ... except TrainingDivergedError as error:
    ...     print(error)
    the training loss became inf in epoch 1, batch 1 (lr=0.001). Lower the
    learning rate (e.g. lr=1e-4), check the targets for extreme values, or keep
    standardize_targets=True for regression. ...
    """


class InvalidParameterError(ValueError, TypeError):
    """A parameter of an estimator has a value of the wrong type or out of range.

    Raised by ``fit`` (parameters are only stored by the constructor, as in
    scikit-learn), naming the parameter, what it must be and what it got.
    A subclass of both :class:`ValueError` and :class:`TypeError`, like
    scikit-learn's own parameter errors, so code that catches either keeps
    working.

    Examples
    --------
    >>> from molgnba import GNNRegressor
    >>> from molgnba.exceptions import InvalidParameterError
    >>> try:
    ...     GNNRegressor(hidden_dim=0).fit(["C", "CC"], [1.0, 2.0])
    ... except InvalidParameterError as error:
    ...     print(error)
    The 'hidden_dim' parameter of GNNRegressor must be an int in the range [1, inf). Got 0 instead.
    """
