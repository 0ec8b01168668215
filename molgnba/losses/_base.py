"""The loss contract: per-sample losses, label masks, gradient norms, sample weights.

Everything every loss of the package shares: the tasks, the shapes, the
unreduced losses and the relative gradient norm, the :class:`LossDetails` a
loss returns and the :class:`MolecularLoss` base class that defines the
contract. The public names are re-exported by :mod:`molgnba.losses`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

TASKS = ("binary", "multiclass", "regression")


def _check_task(task: str) -> str:
    if task == "classification":
        return "binary"
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid values are {list(TASKS)} (or 'classification')")
    return task


def _as_2d(input: torch.Tensor, target: torch.Tensor, task: str):
    """Bring input and target to ``B x T`` (``B x C`` logits and ``B x 1`` labels for multiclass)."""
    if task == "multiclass":
        if input.dim() != 2:
            raise ValueError(f"multiclass input must be B x C logits, got shape {tuple(input.shape)}")
        return input, target.reshape(-1, 1)
    if input.dim() == 1:
        input = input.unsqueeze(1)
    if target.dim() == 1:
        target = target.unsqueeze(1)
    if input.shape != target.shape:
        raise ValueError(
            f"input and target shapes differ: {tuple(input.shape)} vs {tuple(target.shape)}"
        )
    return input, target


def label_mask(target: torch.Tensor, task: str) -> torch.Tensor:
    """Boolean ``B x T`` mask of the present (non-NaN) labels.

    Parameters
    ----------
    target : torch.Tensor of shape ``B`` or ``B x T``
        Labels or target values; NaN marks a missing label. For
        ``"multiclass"`` the class indices, shape ``B``.
    task : {"binary", "multiclass", "regression"}
        "classification" is accepted as "binary".

    Returns
    -------
    torch.Tensor of bool, shape ``B x T`` (``B x 1`` for multiclass)
        True where the label is present.

    Examples
    --------
    >>> import torch
    >>> from molgnba.losses import label_mask
    >>> label_mask(torch.tensor([1.0, float("nan"), 0.0]), "binary")
    tensor([[ True],
            [False],
            [ True]])
    >>> label_mask(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), "binary").sum(0)
    tensor([2, 1])
    """
    task = _check_task(task)
    target = target.reshape(len(target), -1) if task != "multiclass" else target.reshape(-1, 1)
    return ~torch.isnan(target)


def per_sample_loss(input: torch.Tensor, target: torch.Tensor, task: str):
    """Unreduced loss and label mask, each of shape ``B x T``.

    Binary cross-entropy on logits (``binary``), cross-entropy on ``B x C``
    logits (``multiclass``, ``T = 1``), or squared error (``regression``).
    Entries with a missing (NaN) label have loss 0 and mask False.

    Parameters
    ----------
    input : torch.Tensor of shape ``B`` or ``B x T``
        Logits (``binary``), ``B x C`` logits (``multiclass``) or predicted
        values (``regression``).
    target : torch.Tensor of shape ``B`` or ``B x T``
        Labels or target values, NaN where missing; class indices of shape
        ``B`` for ``multiclass``.
    task : {"binary", "multiclass", "regression"}
        "classification" is accepted as "binary".

    Returns
    -------
    loss : torch.Tensor of shape ``B x T``
        The loss of each sample and task; 0 where the label is missing.
        Differentiable with respect to ``input``.
    mask : torch.Tensor of bool, shape ``B x T``
        True where the label is present.

    Raises
    ------
    ValueError
        For an unknown ``task``, or ``input`` and ``target`` of different shapes.

    Examples
    --------
    >>> import torch
    >>> from molgnba.losses import per_sample_loss
    >>> loss, mask = per_sample_loss(
    ...     torch.tensor([1.0, 2.0, 0.0]), torch.tensor([0.0, 2.0, float("nan")]), "regression")
    >>> loss
    tensor([[1.],
            [0.],
            [0.]])
    >>> mask[:, 0].tolist()
    [True, True, False]
    >>> loss.sum() / mask.sum()  # what MaskedLoss returns
    tensor(0.5000)
    """
    task = _check_task(task)
    input, target = _as_2d(input, target, task)
    mask = ~torch.isnan(target)
    filled = torch.where(mask, target, torch.zeros_like(target))
    if task == "binary":
        loss = F.binary_cross_entropy_with_logits(input, filled, reduction="none")
    elif task == "multiclass":
        loss = F.cross_entropy(input, filled[:, 0].long(), reduction="none").unsqueeze(1)
    else:
        loss = (input - filled) ** 2
    return torch.where(mask, loss, torch.zeros_like(loss)), mask


def relative_gradient_norm(input: torch.Tensor, target: torch.Tensor, task: str) -> torch.Tensor:
    """The GNBA paper's relative gradient norm ``g`` of each sample, ``B x T``.

    * binary (eq. 11): ``g = |p - y|`` with ``p = sigmoid(logit)``, the norm of
      the gradient of the cross-entropy with respect to the logit;
    * multiclass (the same idea): ``g = 1 - p_y``, half the L1 norm of
      ``softmax - onehot``;
    * regression (eq. 12): ``g = 2 * (sigmoid(|y_hat - y|) - 0.5)``, which maps
      the absolute error into ``[0, 1)``.

    Entries with a missing label are 0.

    Parameters
    ----------
    input : torch.Tensor of shape ``B`` or ``B x T``
        Logits (``binary``), ``B x C`` logits (``multiclass``) or predicted
        values (``regression``).
    target : torch.Tensor of shape ``B`` or ``B x T``
        Labels or target values, NaN where missing; class indices of shape
        ``B`` for ``multiclass``.
    task : {"binary", "multiclass", "regression"}
        "classification" is accepted as "binary".

    Returns
    -------
    torch.Tensor of shape ``B x T``
        ``g`` in ``[0, 1]`` for each sample and task (``[0, 1)`` for
        regression); 0 where the label is missing. Differentiable with
        respect to ``input``; :class:`GNBALoss` detaches it by default.

    Raises
    ------
    ValueError
        For an unknown ``task``, or ``input`` and ``target`` of different shapes.

    Examples
    --------
    >>> import torch
    >>> from molgnba.losses import relative_gradient_norm
    >>> logits = torch.tensor([0.0, 3.0, -3.0, 1.0])
    >>> labels = torch.tensor([1.0, 1.0, 1.0, float("nan")])
    >>> relative_gradient_norm(logits, labels, "binary")[:, 0]  # unsure, right, wrong, missing
    tensor([0.5000, 0.0474, 0.9526, 0.0000])
    >>> relative_gradient_norm(torch.tensor([1.0]), torch.tensor([1.0]), "regression")
    tensor([[0.]])
    """
    task = _check_task(task)
    input, target = _as_2d(input, target, task)
    mask = ~torch.isnan(target)
    filled = torch.where(mask, target, torch.zeros_like(target))
    if task == "binary":
        g = (torch.sigmoid(input) - filled).abs()
    elif task == "multiclass":
        p_true = torch.softmax(input, dim=1).gather(1, filled.long())
        g = 1 - p_true
    else:
        g = 2 * (torch.sigmoid((input - filled).abs()) - 0.5)
    return torch.where(mask, g, torch.zeros_like(g))


def _check_sample_weight(sample_weight, reference: torch.Tensor) -> torch.Tensor:
    """``sample_weight`` as a ``B x 1`` tensor like ``reference`` (``B x T``), checked.

    The values are checked only on the CPU: on an accelerator the check would
    cost a device-to-host synchronisation per batch.
    """
    weight = torch.as_tensor(sample_weight, dtype=reference.dtype, device=reference.device)
    if weight.dim() == 2 and weight.shape[1] == 1:
        weight = weight[:, 0]
    if weight.dim() != 1 or weight.shape[0] != reference.shape[0]:
        raise ValueError(
            f"sample_weight must have one weight per sample, shape ({reference.shape[0]},), "
            f"got shape {tuple(weight.shape)}"
        )
    if weight.device.type == "cpu":
        bad = ~(torch.isfinite(weight) & (weight >= 0))
        if bool(bad.any()):
            index = int(bad.nonzero()[0, 0])
            raise ValueError(
                f"sample_weight must be finite and non-negative; sample {index} has weight "
                f"{float(weight[index])!r}"
            )
    return weight.unsqueeze(1)


def _weighted_mean(per_sample: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """``sum(w * l) / sum(w)`` over the entries of ``mask``; ``w = 1`` when ``weight`` is None.

    ``weight`` is the ``B x 1`` sample weight (see :func:`_check_sample_weight`).
    Without it the expression is the one the losses had before sample weights
    existed, so their results stay bit for bit the same.
    """
    if weight is None:
        return torch.where(mask, per_sample, torch.zeros_like(per_sample)).sum() / mask.sum().clamp(min=1)
    weight = weight.expand_as(per_sample)
    total = torch.where(mask, weight * per_sample, torch.zeros_like(per_sample)).sum()
    norm = torch.where(mask, weight, torch.zeros_like(weight)).sum()
    # Not clamp(min=...): tiny positive weights are legitimate. A zero norm means a zero total.
    return total / torch.where(norm > 0, norm, torch.ones_like(norm))


@dataclass
class LossDetails:
    """What a :class:`MolecularLoss` computed for one batch.

    Every per-sample tensor has shape ``B x T`` (``B x 1`` for multiclass)
    and is detached; only ``loss`` carries gradients.

    Attributes
    ----------
    loss : torch.Tensor
        The scalar to backpropagate (what the loss's ``forward`` returns).
    per_sample : torch.Tensor of shape ``B x T`` or None
        Each sample's unweighted loss, 0 where ``mask`` is False. None for a
        wrapped torch loss that returns only a scalar (see :class:`TorchLoss`).
    mask : torch.Tensor of bool, shape ``B x T``
        True where the entry counts: its label is present and, when sample
        weights are given, its weight is positive.
    gradient_norm : torch.Tensor of shape ``B x T``
        Each sample's relative gradient norm ``g`` (see
        :func:`relative_gradient_norm`), 0 where ``mask`` is False.
    weights : torch.Tensor of shape ``B x T`` or None
        The factor the loss's own reweighting (attention, focal factor,
        gradient harmonizing) puts on each sample's loss, relative to a plain
        mean over its task: 1 is a uniform share. 0 where ``mask`` is False.
        None for losses that do not reweight.
    entropy : torch.Tensor or None
        The attention's normalized entropy (1 uniform, 0 all weight on one
        sample), a scalar averaged over the tasks; None for losses without
        attention.

    Examples
    --------
    >>> import torch
    >>> from molgnba.losses import make_loss
    >>> details = make_loss("plain", "regression").forward_details(
    ...     torch.tensor([1.0, 2.0, 0.0]), torch.tensor([0.0, 2.0, float("nan")]))
    >>> details.loss, details.per_sample[:, 0], details.mask[:, 0]
    (tensor(0.5000), tensor([1., 0., 0.]), tensor([ True,  True, False]))
    >>> details.weights is None and details.entropy is None
    True
    """

    loss: torch.Tensor
    per_sample: torch.Tensor | None
    mask: torch.Tensor
    gradient_norm: torch.Tensor
    weights: torch.Tensor | None
    entropy: torch.Tensor | None


def _sample_weighted_details(loss: torch.Tensor, mask: torch.Tensor, gradient_norm: torch.Tensor,
                             sample_weight) -> LossDetails:
    """The details of a loss whose samples count by their ``sample_weight`` alone (no attention).

    ``loss``, ``mask`` and ``gradient_norm`` are ``B x T``; entries outside the
    mask (missing labels, zero weights) are zero in ``per_sample`` and
    ``gradient_norm``.
    """
    weight = None
    if sample_weight is not None:
        weight = _check_sample_weight(sample_weight, loss)
        mask = mask & (weight > 0)
    return LossDetails(
        loss=_weighted_mean(loss, mask, weight),
        per_sample=torch.where(mask, loss, torch.zeros_like(loss)).detach(),
        mask=mask,
        gradient_norm=torch.where(mask, gradient_norm, torch.zeros_like(gradient_norm)),
        weights=None,
        entropy=None,
    )


class MolecularLoss(nn.Module, abc.ABC):
    """Base class of the losses: one contract for masks, sample weights and diagnostics.

    A subclass implements :meth:`forward_details`; :meth:`forward` returns
    its ``loss``, so every loss is also an ordinary torch loss,
    ``criterion(input, target)``, usable with any torch model.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}, default="binary"
        "classification" is accepted as "binary".

    Attributes
    ----------
    name : str or None
        Class attribute: the name under which :func:`register_loss` files the
        class (None for a class that is not registered).
    attentive : bool
        Class attribute: whether the loss weights samples by a learned
        attention (and so has parameters to train and an attention entropy).
    supported_tasks : tuple of str
        Class attribute: the tasks the loss is defined for.
    task : str
        The task, "classification" resolved to "binary".

    See Also
    --------
    TorchLoss : Wraps any torch loss in this contract.
    register_loss : Makes a subclass available by name.

    Notes
    -----
    The contract, for ``input`` and ``target`` of shape ``B`` or ``B x T``
    (``B x C`` logits and ``B`` class indices for multiclass):

    * ``NaN`` in ``target`` marks a missing label; missing labels contribute
      nothing to the loss, the attention or the reweighting.
    * ``sample_weight`` (shape ``B``, finite and non-negative) multiplies each
      sample's loss, and the result is divided by the sum of the weights over
      the labelled samples: all-equal weights change nothing, and a weight of
      0 is the same as leaving the sample out of the batch.
    * :meth:`forward_details` returns a :class:`LossDetails`, whose
      per-sample diagnostics (gradient norm, the loss's own weights,
      attention entropy) the estimators record.

    Examples
    --------
    A loss of one's own: implement :meth:`forward_details`.

    >>> import torch
    >>> from molgnba.losses import LossDetails, MolecularLoss, per_sample_loss
    >>> class AbsoluteError(MolecularLoss):
    ...     supported_tasks = ("regression",)
    ...     def forward_details(self, input, target, sample_weight=None):
    ...         _, mask = per_sample_loss(input, target, self.task)
    ...         error = (input.reshape(mask.shape) - target.reshape(mask.shape).nan_to_num()).abs()
    ...         error = torch.where(mask, error, torch.zeros_like(error))
    ...         weight = torch.ones(len(error)) if sample_weight is None else sample_weight
    ...         loss = (weight[:, None] * error).sum() / (weight[:, None] * mask).sum()
    ...         return LossDetails(loss, error.detach(), mask, error.detach().tanh(), None, None)
    >>> AbsoluteError("regression")(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0]))
    tensor(2.)
    """

    name: ClassVar[str | None] = None
    attentive: ClassVar[bool] = False
    supported_tasks: ClassVar[tuple[str, ...]] = TASKS

    def __init__(self, task: str = "binary"):
        super().__init__()
        self.task = _check_task(task)
        if self.task not in self.supported_tasks:
            raise ValueError(
                f"{type(self).__name__} is defined for the tasks {list(self.supported_tasks)}, "
                f"not {self.task!r}"
            )

    @abc.abstractmethod
    def forward_details(self, input: torch.Tensor, target: torch.Tensor, sample_weight=None) -> LossDetails:
        """The loss of a batch together with the per-sample quantities behind it.

        Parameters
        ----------
        input : torch.Tensor of shape ``B`` or ``B x T``
            Logits (``B x C`` for multiclass) or predicted values.
        target : torch.Tensor of shape ``B`` or ``B x T``
            Labels or target values; NaN marks a missing label.
        sample_weight : torch.Tensor of shape ``B`` or None, default=None
            Non-negative weight of each sample (see Notes of the class).

        Returns
        -------
        LossDetails

        Examples
        --------
        >>> import torch
        >>> from molgnba.losses import make_loss
        >>> loss = make_loss("plain", "binary")
        >>> logits, labels = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0])
        >>> weighted = loss.forward_details(logits, labels, sample_weight=torch.tensor([1.0, 1.0, 0.0]))
        >>> torch.allclose(weighted.loss, loss(logits[:2], labels[:2]))  # weight 0 leaves it out
        True
        """

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar loss for ``B`` or ``B x T`` input and target: ``forward_details(...).loss``."""
        return self.forward_details(input, target).loss

    def extra_repr(self) -> str:
        return f"task={self.task!r}"


class MaskedLoss(MolecularLoss):
    """Plain mean of the per-sample losses over the present labels.

    Binary cross-entropy on logits, cross-entropy or squared error (see
    :func:`per_sample_loss`). The loss the estimators use with
    ``attentive_loss=False``: everything else equal, a paired comparison then
    differs in the weighting alone. Registered as ``"plain"``.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}, default="binary"
        "classification" is accepted as "binary".

    Examples
    --------
    >>> import torch
    >>> loss = MaskedLoss("regression")
    >>> loss(torch.tensor([1.0, 2.0, 0.0]), torch.tensor([0.0, 2.0, float("nan")]))
    tensor(0.5000)
    >>> loss.forward_details(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 2.0]),
    ...                      sample_weight=torch.tensor([3.0, 1.0])).loss  # (3 * 1 + 0) / 4
    tensor(0.7500)
    """

    name = "plain"

    def forward_details(self, input: torch.Tensor, target: torch.Tensor, sample_weight=None) -> LossDetails:
        loss, mask = per_sample_loss(input, target, self.task)
        gradient_norm = relative_gradient_norm(input.detach(), target, self.task)
        return _sample_weighted_details(loss, mask, gradient_norm, sample_weight)
