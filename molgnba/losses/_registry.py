"""The registry of loss variants: one name for each loss a grid search can sweep.

The public names are re-exported by :mod:`molgnba.losses`.
"""

from __future__ import annotations

import difflib
import inspect

from molgnba.losses._base import MaskedLoss, MolecularLoss

_LOSSES: dict[str, type[MolecularLoss]] = {}


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def register_loss(cls: type[MolecularLoss]) -> type[MolecularLoss]:
    """Make a :class:`MolecularLoss` subclass available under its ``name``.

    Use it as a class decorator. Registering a class under a name already
    taken replaces the earlier class (so that a notebook cell can be run
    again).

    Parameters
    ----------
    cls : type
        A :class:`MolecularLoss` subclass with a class attribute ``name``
        (a non-empty string).

    Returns
    -------
    type
        ``cls`` itself.

    Raises
    ------
    TypeError
        If ``cls`` is not a :class:`MolecularLoss` subclass.
    ValueError
        If ``cls`` has no ``name``.

    Examples
    --------
    >>> import torch
    >>> from molgnba.losses import MaskedLoss, make_loss, register_loss
    >>> @register_loss
    ... class DoubledLoss(MaskedLoss):
    ...     # The plain loss, twice: a toy variant.
    ...     name = "doubled"
    ...     def forward_details(self, input, target, sample_weight=None):
    ...         details = super().forward_details(input, target, sample_weight)
    ...         details.loss = 2 * details.loss
    ...         return details
    >>> make_loss("doubled", "regression")(torch.tensor([1.0]), torch.tensor([0.0]))
    tensor(2.)
    """
    if not (isinstance(cls, type) and issubclass(cls, MolecularLoss)):
        raise TypeError(f"expected a MolecularLoss subclass, got {cls!r}")
    name = cls.__dict__.get("name")
    if not (isinstance(name, str) and name):
        raise ValueError(
            f"{cls.__name__} needs a class attribute 'name' (a non-empty string) to be registered"
        )
    _LOSSES[name] = cls
    return cls


register_loss(MaskedLoss)


def list_losses() -> list[str]:
    """The names of the registered losses, sorted.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from molgnba.losses import get_loss_class, list_losses
    >>> [name for name in list_losses() if name in {"plain", "focal", "ghm", "gnba-paper",
    ...                                              "gnba-guarded", "gnba-hard"}]
    ['focal', 'ghm', 'gnba-guarded', 'gnba-hard', 'gnba-paper', 'plain']
    >>> [name for name in list_losses() if get_loss_class(name).attentive]
    ['gnba-guarded', 'gnba-hard', 'gnba-paper']
    """
    return sorted(_LOSSES)


def get_loss_class(name: str) -> type[MolecularLoss]:
    """The class registered under ``name``.

    Parameters
    ----------
    name : str
        A name from :func:`list_losses`.

    Returns
    -------
    type
        A :class:`MolecularLoss` subclass; its class attributes
        ``attentive`` and ``supported_tasks`` say what it is without
        building it.

    Raises
    ------
    ValueError
        If no loss has that name; the message lists the valid names.

    Examples
    --------
    >>> from molgnba.losses import get_loss_class
    >>> cls = get_loss_class("gnba-hard")
    >>> cls.__name__, cls.attentive
    ('GNBAHardLoss', True)
    >>> get_loss_class("focal").supported_tasks
    ('binary', 'multiclass')
    >>> get_loss_class("gnba-hrad")
    Traceback (most recent call last):
    ...
    ValueError: unknown loss 'gnba-hrad'; valid names are [...]; did you mean 'gnba-hard'?
    """
    if not isinstance(name, str):
        raise TypeError(f"a loss name must be a string, got {name!r}")
    try:
        return _LOSSES[name]
    except KeyError:
        raise ValueError(
            f"unknown loss {name!r}; valid names are {list_losses()}{_did_you_mean(name, _LOSSES)}"
        ) from None


def make_loss(name: str, task: str = "binary", **params) -> MolecularLoss:
    """A new instance of the loss registered under ``name``.

    Parameters
    ----------
    name : str
        A name from :func:`list_losses`.
    task : {"binary", "multiclass", "regression"}, default="binary"
        "classification" is accepted as "binary".
    **params
        The loss's own parameters (see its class); the rest keep the
        defaults the class states.

    Returns
    -------
    MolecularLoss

    Raises
    ------
    ValueError
        For an unknown name, a parameter the loss does not take (the message
        lists those it does), a task the loss is not defined for, or a bad
        parameter value.

    Examples
    --------
    >>> from molgnba.losses import make_loss
    >>> make_loss("ghm", "binary", bins=10, momentum=0.75)
    GHMLoss(task='binary', bins=10, momentum=0.75, mu=0.02)
    >>> make_loss("focal", "binary", gama=1.0)
    Traceback (most recent call last):
    ...
    ValueError: the loss 'focal' (FocalLoss) takes no parameter 'gama'; its parameters are ['task', 'gamma', 'alpha']; did you mean 'gamma'?
    """
    cls = get_loss_class(name)
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    for key in params:
        if key not in accepted:
            raise ValueError(
                f"the loss {name!r} ({cls.__name__}) takes no parameter {key!r}; its parameters are "
                f"{accepted}{_did_you_mean(key, accepted)}"
            )
    return cls(task=task, **params)


#: The benchmark's loss variants (the keys of
#: :data:`molgnba.benchmark.runner.LOSS_VARIANTS`) as registry names and parameters.
#: The attention's ``attention_dim`` (16) and ``temperature`` (1.0) are the
#: estimators' defaults, shared by every variant of a pair and so not repeated here.
BENCHMARK_LOSS_VARIANTS: dict[str, tuple[str, dict]] = {
    "plain": ("plain", {}),
    "gnba": ("gnba-guarded", {"entropy_weight": 1.0}),
    "gnba-paper": ("gnba-paper", {}),
    "gnba-adversarial": ("gnba-hard", {"entropy_weight": 5.0}),
    "focal": ("focal", {"gamma": 2.0, "alpha": None}),
    "ghm": ("ghm", {"bins": 10, "momentum": 0.75, "mu": 0.02}),
    "ghm-30bins": ("ghm", {"bins": 30, "momentum": 0.75, "mu": 0.02}),
}
