"""Exceptions molgnba raises on top of the built-in ones."""

__all__ = ["TrainingDivergedError"]


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite.

    Raised by ``fit`` as soon as it happens, so that no model that predicts
    NaN is returned; the message names the epoch and batch and what to try.
    The estimator is left with the weights of its best epoch so far.
    """
