"""Input helpers that scikit-learn keeps private."""

from __future__ import annotations

import numbers

__all__ = ["num_samples"]


def num_samples(x) -> int:
    """Number of samples (rows) of an array-like: ``x.shape[0]`` or ``len(x)``.

    Raises
    ------
    TypeError
        If ``x`` is an estimator, a scalar or has no length.

    Examples
    --------
    >>> import numpy as np
    >>> from molgnba.utils._validation import num_samples
    >>> num_samples(["CCO", "CCN"]), num_samples(np.zeros((3, 2)))
    (2, 3)
    """
    message = f"Expected sequence or array-like, got {type(x)}"
    if hasattr(x, "fit") and callable(x.fit):  # never the length of an ensemble
        raise TypeError(message)
    shape = getattr(x, "shape", None)
    if shape is not None:
        if len(shape) == 0:
            raise TypeError(
                f"Input should have at least 1 dimension i.e. satisfy `len(x.shape) > 0`, got scalar `{x!r}` instead."
            )
        if isinstance(shape[0], numbers.Integral):
            return int(shape[0])
    try:
        return len(x)
    except TypeError as error:
        raise TypeError(message) from error
