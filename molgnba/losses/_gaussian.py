"""Mean-variance estimation: the Gaussian negative log-likelihood of a mean and a variance head.

The public names are re-exported by :mod:`molgnba.losses`.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from molgnba.losses._base import (
    LossDetails,
    MolecularLoss,
    _sample_weighted_details,
    relative_gradient_norm,
)
from molgnba.losses._registry import register_loss


@register_loss
class GaussianNLLLoss(MolecularLoss):
    r"""Gaussian negative log-likelihood for a network that predicts a mean and a variance.

    Mean-variance estimation (Nix and Weigend, 1994): for each task the
    network has two outputs, the mean :math:`\mu` and a raw value :math:`s`
    turned into a variance by :math:`\sigma^2 = \mathrm{softplus}(s) +
    \epsilon` (:meth:`split`). Each sample's loss is

    .. math:: \tfrac12 \left(\log \sigma^2 + (y - \mu)^2 / \sigma^2\right),

    the negative log-density of :math:`y` under
    :math:`\mathcal N(\mu, \sigma^2)` without its constant
    :math:`\tfrac12 \log 2\pi` (as :class:`torch.nn.GaussianNLLLoss` with
    ``full=False``). Masks and sample weights follow the contract of
    :class:`MolecularLoss`; ``gradient_norm`` is the relative gradient norm
    of the mean alone. Registered as ``"gaussian-nll"`` (regression only);
    what ``GNNRegressor(uncertainty="mve")`` trains with.

    Parameters
    ----------
    task : {"regression"}, default="regression"
    min_variance : float, default=1e-6
        The :math:`\epsilon` added to every variance, which keeps the loss
        finite when the network drives :math:`\sigma^2` towards 0.

    Notes
    -----
    Shapes: ``input`` is ``B x 2T`` (the ``T`` means, then the ``T`` raw
    variances); ``target`` is ``B`` or ``B x T``; the per-sample tensors of
    :meth:`forward_details` are ``B x T``.

    Examples
    --------
    >>> import math, torch
    >>> from molgnba.losses import GaussianNLLLoss, make_loss
    >>> loss = make_loss("gaussian-nll", "regression", min_variance=0.0)
    >>> raw_variance = math.log(math.e - 1)  # softplus gives variance 1
    >>> loss(torch.tensor([[0.0, raw_variance]]), torch.tensor([2.0]))  # (log 1 + 4 / 1) / 2
    tensor(2.)
    >>> mean, variance = GaussianNLLLoss.split(torch.tensor([[0.5, raw_variance]]))
    >>> mean, variance
    (tensor([[0.5000]]), tensor([[1.0000]]))
    """

    name = "gaussian-nll"
    supported_tasks = ("regression",)

    def __init__(self, task: str = "regression", min_variance: float = 1e-6):
        super().__init__(task)
        if not (isinstance(min_variance, numbers.Real) and min_variance >= 0):
            raise ValueError(f"min_variance must be a non-negative number, got {min_variance!r}")
        self.min_variance = float(min_variance)

    @staticmethod
    def split(input: torch.Tensor, min_variance: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
        """The means and variances, each ``B x T``, from the network's ``B x 2T`` output.

        Parameters
        ----------
        input : torch.Tensor of shape ``B x 2T``
            Means, then raw variances.
        min_variance : float, default=1e-6
            Added to each variance.

        Returns
        -------
        mean, variance : torch.Tensor of shape ``B x T``

        Raises
        ------
        ValueError
            If ``input`` is not 2-D with an even number of columns.

        Examples
        --------
        >>> import torch
        >>> from molgnba.losses import GaussianNLLLoss
        >>> mean, variance = GaussianNLLLoss.split(torch.zeros(4, 6))
        >>> mean.shape, bool((variance > 0).all())
        (torch.Size([4, 3]), True)
        """
        if input.dim() != 2 or input.shape[1] % 2:
            raise ValueError(
                "the Gaussian NLL needs B x 2T input (T means, then T raw variances), "
                f"got shape {tuple(input.shape)}"
            )
        n_tasks = input.shape[1] // 2
        return input[:, :n_tasks], F.softplus(input[:, n_tasks:]) + min_variance

    def forward_details(self, input: torch.Tensor, target: torch.Tensor, sample_weight=None) -> LossDetails:
        mean, variance = self.split(input, self.min_variance)
        target = target.reshape(len(target), -1)
        if target.shape != mean.shape:
            raise ValueError(
                f"target of shape {tuple(target.shape)} does not match the {mean.shape[1]} task(s) "
                f"of input of shape {tuple(input.shape)}"
            )
        mask = ~torch.isnan(target)
        filled = torch.where(mask, target, torch.zeros_like(target))
        loss = 0.5 * (torch.log(variance) + (mean - filled) ** 2 / variance)
        loss = torch.where(mask, loss, torch.zeros_like(loss))
        gradient_norm = relative_gradient_norm(mean.detach(), target, "regression")
        return _sample_weighted_details(loss, mask, gradient_norm, sample_weight)

    def extra_repr(self) -> str:
        return f"task={self.task!r}, min_variance={self.min_variance}"
