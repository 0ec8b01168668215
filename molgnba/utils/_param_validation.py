"""A small parameter-constraints checker, with scikit-learn's error wording.

A constraints table maps each parameter name to a list of allowed kinds of
value; a value is valid when it satisfies one of them. The kinds are:

* a type (``str``, ``os.PathLike``, a class): any instance of it;
* ``None``: the value None;
* :class:`Interval`: a number of a given type within bounds;
* :class:`StrOptions`: one of a set of strings;
* ``"boolean"``: ``bool`` or ``numpy.bool_``;
* ``"random_state"``: None, an int in ``[0, 2**32 - 1]`` or a ``RandomState``;
* ``"verbose"``: a non-negative int or a bool.

An invalid value raises :class:`molgnba.exceptions.InvalidParameterError`,
worded as scikit-learn's ``validate_parameter_constraints`` words it
("The 'x' parameter of C must be ... Got ... instead.").
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from molgnba.exceptions import InvalidParameterError

__all__ = ["Interval", "StrOptions", "validate_parameter_constraints"]


def _type_name(kind: type) -> str:
    if kind.__module__ == "builtins":
        return kind.__qualname__
    if kind is numbers.Real:
        return "float"
    if kind is numbers.Integral:
        return "int"
    return f"{kind.__module__}.{kind.__qualname__}"


class Interval:
    """Numbers of ``kind`` (``numbers.Integral`` or ``numbers.Real``) between ``left`` and ``right``.

    ``None`` for a bound means unbounded; ``closed`` is "left", "right", "both"
    or "neither". NaN is never inside; an infinite value only where a bound
    that is ``None`` is closed (as in scikit-learn).
    """

    def __init__(self, kind, left, right, *, closed: str):
        if kind not in (numbers.Integral, numbers.Real):
            raise ValueError(f"kind must be numbers.Integral or numbers.Real, got {kind!r}")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"closed must be 'left', 'right', 'both' or 'neither', got {closed!r}")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value) -> bool:
        if not isinstance(value, self.kind):
            return False
        if not isinstance(value, numbers.Integral) and math.isnan(value):
            return False
        left = -math.inf if self.left is None else self.left
        right = math.inf if self.right is None else self.right
        above_left = value >= left if self.closed in ("left", "both") else value > left
        below_right = value <= right if self.closed in ("right", "both") else value < right
        return bool(above_left and below_right)

    def __str__(self) -> str:
        integral = self.kind is numbers.Integral
        left = "-inf" if self.left is None else (self.left if integral else float(self.left))
        right = "inf" if self.right is None else (self.right if integral else float(self.right))
        opening = "[" if self.closed in ("left", "both") else "("
        closing = "]" if self.closed in ("right", "both") else ")"
        return f"{'an int' if integral else 'a float'} in the range {opening}{left}, {right}{closing}"


class StrOptions:
    """One of the strings in ``options``."""

    def __init__(self, options):
        self.options = set(options)

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        return f"a str among {{{', '.join(repr(option) for option in sorted(self.options))}}}"


class _InstanceOf:
    def __init__(self, kind: type):
        self.kind = kind

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, self.kind)

    def __str__(self) -> str:
        return f"an instance of {_type_name(self.kind)!r}"


class _NoneValue:
    def is_satisfied_by(self, value) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


class _AnyOf:
    """A named constraint that is the union of several (how "boolean" etc. read in errors)."""

    def __init__(self, *constraints):
        self.constraints = constraints

    def is_satisfied_by(self, value) -> bool:
        return any(constraint.is_satisfied_by(value) for constraint in self.constraints)

    def __str__(self) -> str:
        return _join([str(constraint) for constraint in self.constraints])


def _named(name: str):
    if name == "boolean":
        return _AnyOf(_InstanceOf(bool), _InstanceOf(np.bool_))
    if name == "random_state":
        return _AnyOf(
            Interval(numbers.Integral, 0, 2**32 - 1, closed="both"),
            _InstanceOf(np.random.RandomState),
            _NoneValue(),
        )
    if name == "verbose":
        return _AnyOf(Interval(numbers.Integral, 0, None, closed="left"), _InstanceOf(bool), _InstanceOf(np.bool_))
    raise ValueError(f"unknown named constraint {name!r} (known: 'boolean', 'random_state', 'verbose')")


def _make_constraint(constraint):
    if isinstance(constraint, (Interval, StrOptions)):
        return constraint
    if constraint is None:
        return _NoneValue()
    if isinstance(constraint, str):
        return _named(constraint)
    if isinstance(constraint, type):
        return _InstanceOf(constraint)
    raise TypeError(f"unsupported constraint {constraint!r}")


def _join(texts: list[str]) -> str:
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"


def validate_parameter_constraints(constraints: dict, params: dict, caller_name: str) -> None:
    """Check ``params`` against the ``constraints`` table; parameters not in it pass.

    Parameters
    ----------
    constraints : dict
        Parameter name -> list of allowed kinds (see the module docstring).
    params : dict
        Parameter name -> value.
    caller_name : str
        Named in the error, e.g. the estimator's class name.

    Raises
    ------
    molgnba.exceptions.InvalidParameterError
        For the first parameter whose value satisfies none of its constraints.

    Examples
    --------
    >>> import numbers
    >>> from molgnba.utils._param_validation import Interval, validate_parameter_constraints
    >>> table = {"hidden_dim": [Interval(numbers.Integral, 1, None, closed="left")]}
    >>> validate_parameter_constraints(table, {"hidden_dim": 8}, caller_name="GNNRegressor")
    >>> validate_parameter_constraints(table, {"hidden_dim": 0}, caller_name="GNNRegressor")
    Traceback (most recent call last):
    ...
    molgnba.exceptions.InvalidParameterError: The 'hidden_dim' parameter of GNNRegressor must be an int in the range [1, inf). Got 0 instead.
    """
    for name, value in params.items():
        if name not in constraints:
            continue
        allowed = [_make_constraint(constraint) for constraint in constraints[name]]
        if any(constraint.is_satisfied_by(value) for constraint in allowed):
            continue
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller_name} must be {_join([str(c) for c in allowed])}. "
            f"Got {value!r} instead."
        )
