"""Any torch loss in the loss contract: :class:`TorchLoss` and :func:`as_molecular_loss`.

The public names are re-exported by :mod:`molgnba.losses`.
"""

from __future__ import annotations

import torch
from torch import nn

from molgnba.losses._base import (
    LossDetails,
    MolecularLoss,
    _as_2d,
    _check_task,
    _sample_weighted_details,
    relative_gradient_norm,
)
from molgnba.losses._registry import make_loss


class TorchLoss(MolecularLoss):
    """A torch loss (module or function) wrapped in the loss contract.

    ``loss_fn(input, target)`` is called with the missing labels filled in
    (with 0) and may return either

    * a per-sample loss (``reduction="none"``) of shape ``B`` or ``B x T``:
      the wrapper masks the missing labels and applies ``sample_weight``
      exactly as the built-in losses do; or
    * a scalar (``reduction="mean"`` or ``"sum"``): used as it is. Missing
      labels are then left out by calling ``loss_fn`` on the labelled rows
      (single-task targets only), and ``sample_weight`` cannot be applied.

    The diagnostics are those of a plain loss: ``gradient_norm`` from
    :func:`relative_gradient_norm`, ``weights`` and ``entropy`` None.

    Parameters
    ----------
    loss_fn : torch.nn.Module or callable
        ``loss_fn(input, target)``: ``input`` as the model gave it (logits,
        ``B x C`` logits for multiclass, or predicted values), ``target``
        of the same shape (class indices, dtype long, for multiclass). A
        module is registered as a submodule, so its parameters (if any)
        train and move with the loss.
    task : {"binary", "multiclass", "regression"}, default="binary"
        "classification" is accepted as "binary". Decides the gradient
        norm and the shape of the targets.

    Attributes
    ----------
    loss_fn : torch.nn.Module or callable
        As given.

    See Also
    --------
    as_molecular_loss : Resolves a name, a loss or a torch loss to a :class:`MolecularLoss`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from molgnba.losses import TorchLoss
    >>> huber = TorchLoss(nn.HuberLoss(reduction="none", delta=1.0), "regression")
    >>> prediction = torch.tensor([0.5, 3.0, 0.0])
    >>> target = torch.tensor([0.0, 0.0, float("nan")])
    >>> huber(prediction, target)  # (0.125 + 2.5) / 2, the missing label left out
    tensor(1.3125)
    >>> details = huber.forward_details(prediction, target, sample_weight=torch.tensor([1.0, 0.0, 1.0]))
    >>> details.loss, details.per_sample[:, 0]
    (tensor(0.1250), tensor([0.1250, 0.0000, 0.0000]))
    >>> TorchLoss(nn.MSELoss(), "regression")(prediction, target)  # a scalar loss: rows left out
    tensor(4.6250)
    """

    def __init__(self, loss_fn, task: str = "binary"):
        super().__init__(task)
        if isinstance(loss_fn, type) or not callable(loss_fn):
            raise TypeError(
                f"loss_fn must be a torch loss instance or a function, got {loss_fn!r}"
                + (f"; did you mean {loss_fn.__name__}(reduction='none')?" if isinstance(loss_fn, type) else "")
            )
        self.loss_fn = loss_fn

    def _call(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.task == "multiclass":
            return self.loss_fn(input, target.reshape(-1).long())
        return self.loss_fn(input, target.reshape(input.shape))

    def forward_details(self, input: torch.Tensor, target: torch.Tensor, sample_weight=None) -> LossDetails:
        input2, target2 = _as_2d(input, target, self.task)
        mask = ~torch.isnan(target2)
        filled = torch.where(mask, target2, torch.zeros_like(target2))
        gradient_norm = relative_gradient_norm(input.detach(), target, self.task)
        output = self._call(input, filled)
        if output.dim() == 0:
            return self._from_scalar(output, input, filled, mask, gradient_norm, sample_weight)
        if output.numel() != mask.numel():
            raise ValueError(
                f"{self.loss_fn!r} returned shape {tuple(output.shape)}; expected a scalar or one loss "
                f"per sample and task, shape {tuple(mask.shape)}"
            )
        return _sample_weighted_details(output.reshape(mask.shape), mask, gradient_norm, sample_weight)

    def _from_scalar(self, output, input, filled, mask, gradient_norm, sample_weight) -> LossDetails:
        if sample_weight is not None:
            raise ValueError(
                f"{self.loss_fn!r} returns a scalar, so sample_weight cannot weight its samples; "
                "construct it with reduction='none'"
            )
        # One synchronisation per batch, the price of a loss that reduces by itself.
        if not bool(mask.all()):
            if mask.shape[1] != 1:
                raise ValueError(
                    f"{self.loss_fn!r} returns a scalar, so it cannot leave out the missing labels of a "
                    "multi-task target; construct it with reduction='none'"
                )
            rows = mask[:, 0]
            input_rows = input[rows]
            output = self._call(input_rows, filled[rows]) if len(input_rows) else input.sum() * 0
        return LossDetails(output, None, mask, gradient_norm, None, None)

    def extra_repr(self) -> str:
        if isinstance(self.loss_fn, nn.Module):
            return f"task={self.task!r}"  # the module prints itself as a child
        return f"loss_fn={self.loss_fn!r}, task={self.task!r}"


def as_molecular_loss(loss, task: str = "binary") -> MolecularLoss:
    """Resolve a registry name, a :class:`MolecularLoss` or any torch loss to a :class:`MolecularLoss`.

    What the estimators call on whatever they are given, so that they can
    rely on :meth:`MolecularLoss.forward_details`.

    Parameters
    ----------
    loss : str, MolecularLoss, torch.nn.Module or callable
        A name from :func:`list_losses` (built with its defaults), a loss of
        this package (returned as it is), or a torch loss, wrapped in
        :class:`TorchLoss`.
    task : {"binary", "multiclass", "regression"}, default="binary"
        "classification" is accepted as "binary".

    Returns
    -------
    MolecularLoss

    Raises
    ------
    ValueError
        For an unknown name, or a :class:`MolecularLoss` built for another task.
    TypeError
        For anything that is not a loss (a class rather than an instance, say).

    Examples
    --------
    >>> from torch import nn
    >>> from molgnba.losses import as_molecular_loss
    >>> as_molecular_loss("gnba-hard", "regression").attentive
    True
    >>> as_molecular_loss(nn.L1Loss(reduction="none"), "regression")
    TorchLoss(
      task='regression'
      (loss_fn): L1Loss()
    )
    >>> as_molecular_loss(nn.L1Loss, "regression")
    Traceback (most recent call last):
    ...
    TypeError: loss_fn must be a torch loss instance or a function, got <class '...L1Loss'>; did you mean L1Loss(reduction='none')?
    """
    task = _check_task(task)
    if isinstance(loss, str):
        return make_loss(loss, task)
    if isinstance(loss, MolecularLoss):
        if loss.task != task:
            raise ValueError(f"{type(loss).__name__} was built for task {loss.task!r}, not {task!r}")
        return loss
    return TorchLoss(loss, task)
