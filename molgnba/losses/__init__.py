"""Losses for molecular property prediction, with one contract.

Every loss here is a :class:`MolecularLoss`: an ordinary :class:`torch.nn.Module`
that takes ``input`` (logits, ``B x C`` logits for multiclass, or predicted
values) and ``target`` of shape ``B`` or ``B x T``, where ``NaN`` in ``target``
marks a missing label, and returns a scalar, so it works with any torch model.
Its :meth:`~MolecularLoss.forward_details` returns a :class:`LossDetails` with
the scalar to backpropagate and, per sample and task (``B x T``), the
unreduced loss, the mask of the entries that count, the relative gradient norm
and the weight the loss's own reweighting gave each sample, plus the
attention entropy of the attentive losses. ``sample_weight`` (shape ``B``,
non-negative) multiplies each sample's loss in every loss, renormalised so that
weight 0 is the same as leaving the sample out. Missing labels contribute
nothing, neither to the loss nor to any attention or reweighting.

The variants are values of one registry (:func:`list_losses`,
:func:`make_loss`, :func:`get_loss_class`, :func:`register_loss`):

==================  ========================  =========  =============================================
name                class                     attentive  what it is
==================  ========================  =========  =============================================
``"plain"``         :class:`MaskedLoss`       no         mean cross-entropy or squared error
``"focal"``         :class:`FocalLoss`        no         focal loss (classification)
``"ghm"``           :class:`GHMLoss`          no         gradient harmonizing (GHM-C, GHM-R)
``"gnba-paper"``    :class:`GNBAPaperLoss`    yes        the paper's equation 14 as written
``"gnba-guarded"``  :class:`GNBAGuardedLoss`  yes        attention lowers the loss; entropy weight 1.0
``"gnba-hard"``     :class:`GNBAHardLoss`     yes        attention raises the loss; entropy weight 5.0
``"gaussian-nll"``  :class:`GaussianNLLLoss`  no         mean and variance heads (regression; MVE)
==================  ========================  =========  =============================================

:class:`GNBALoss` takes every attention setting as a parameter. A torch loss
of one's own joins through :class:`TorchLoss` (or :func:`as_molecular_loss`).
The attentive losses have learnable parameters: put them in the optimizer next
to the model's.

The benchmark's loss variants (``molgnba.benchmark.runner.LOSS_VARIANTS``)
correspond to these names and parameters (:data:`BENCHMARK_LOSS_VARIANTS`):

======================  ==================  ======================================
benchmark variant       registry name       parameters
======================  ==================  ======================================
``"plain"``             ``"plain"``         (none)
``"gnba"``              ``"gnba-guarded"``  ``entropy_weight=1.0``
``"gnba-paper"``        ``"gnba-paper"``    (none: ``entropy_weight`` is 0, fixed)
``"gnba-adversarial"``  ``"gnba-hard"``     ``entropy_weight=5.0``
``"focal"``             ``"focal"``         ``gamma=2.0, alpha=None``
``"ghm"``               ``"ghm"``           ``bins=10, momentum=0.75, mu=0.02``
``"ghm-30bins"``        ``"ghm"``           ``bins=30, momentum=0.75, mu=0.02``
======================  ==================  ======================================

Examples
--------
>>> import torch
>>> from torch import nn
>>> from molgnba.losses import as_molecular_loss, make_loss
>>> _ = torch.manual_seed(0)
>>> model = nn.Linear(4, 2)  # two tasks
>>> x = torch.randn(6, 4)
>>> y = torch.tensor([[1.0, 0.0], [0.0, float("nan")], [1.0, 1.0],
...                   [0.0, 0.0], [float("nan"), 1.0], [1.0, 0.0]])
>>> for name in ["plain", "gnba-hard", nn.BCEWithLogitsLoss(reduction="none")]:
...     criterion = as_molecular_loss(name, "binary")
...     details = criterion.forward_details(model(x), y)
...     details.loss.backward()
...     print(type(criterion).__name__, tuple(details.gradient_norm.shape), details.mask.sum().item())
MaskedLoss (6, 2) 10
GNBAHardLoss (6, 2) 10
TorchLoss (6, 2) 10
"""

from molgnba.losses._base import (
    TASKS,
    LossDetails,
    MaskedLoss,
    MolecularLoss,
    label_mask,
    per_sample_loss,
    relative_gradient_norm,
)
from molgnba.losses._registry import (
    BENCHMARK_LOSS_VARIANTS,
    get_loss_class,
    list_losses,
    make_loss,
    register_loss,
)
from molgnba.losses._reweighting import FocalLoss, GHMLoss
from molgnba.losses._attentive import (
    GNBAGuardedLoss,
    GNBAHardLoss,
    GNBALoss,
    GNBAOutput,
    GNBAPaperLoss,
)
from molgnba.losses._torch import TorchLoss, as_molecular_loss
from molgnba.losses._gaussian import GaussianNLLLoss

__all__ = [
    "BENCHMARK_LOSS_VARIANTS", "FocalLoss", "GHMLoss", "GNBAGuardedLoss", "GNBAHardLoss", "GNBALoss",
    "GNBAOutput", "GNBAPaperLoss", "LossDetails", "MaskedLoss", "MolecularLoss", "TASKS", "TorchLoss",
    "as_molecular_loss", "get_loss_class", "label_mask", "list_losses", "make_loss", "per_sample_loss",
    "register_loss", "relative_gradient_norm",
    "GaussianNLLLoss",
]


def _defined_here(obj) -> None:
    """Give a public class or function this package as its module.

    So that it keeps the import path it had when :mod:`molgnba.losses` was one
    file (pickled estimators name ``molgnba.losses.GNBALoss``), and so that the
    docs and doctests find it here, once.
    """
    private = obj.__module__
    obj.__module__ = __name__
    for member in vars(obj).values() if isinstance(obj, type) else ():
        function = getattr(member, "__func__", member)
        if getattr(function, "__module__", None) == private:
            function.__module__ = __name__


for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        _defined_here(_obj)
del _name, _obj
