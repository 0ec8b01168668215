"""The gradient-norm based attentive loss (GNBA) and its registered variants.

:class:`GNBALoss` takes every setting as a parameter; the registered variants
fix the ones that make them what they are, and state their own defaults:

==================  ========================  ==============  ====================
registry name       class                     entropy_weight  attention trained to
==================  ========================  ==============  ====================
``"gnba-paper"``    :class:`GNBAPaperLoss`    0 (fixed)       lower the loss
``"gnba-guarded"``  :class:`GNBAGuardedLoss`  1.0             lower the loss
``"gnba-hard"``     :class:`GNBAHardLoss`     5.0             raise the loss
==================  ========================  ==============  ====================

The public names are re-exported by :mod:`molgnba.losses`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from molgnba.losses._base import (
    LossDetails,
    MolecularLoss,
    _check_sample_weight,
    per_sample_loss,
    relative_gradient_norm,
)
from molgnba.losses._registry import register_loss


@dataclass(init=False)
class GNBAOutput(LossDetails):
    """What :meth:`GNBALoss.forward_details` computed for one batch.

    A :class:`LossDetails` with the attention itself besides; built from
    the attention, it fills ``weights`` (the attention times the number of
    samples counted in each task, so 1 is a uniform share) and ``entropy``
    (the mean over the tasks of :meth:`attention_entropy`). All per-sample
    tensors have shape ``B x T`` and are detached except ``loss``.

    Parameters
    ----------
    loss : torch.Tensor
        The scalar attention-weighted loss, differentiable: call
        ``backward`` on it.
    per_sample_loss : torch.Tensor of shape ``B x T``
        Each sample's unweighted loss (see :func:`per_sample_loss`).
    gradient_norm : torch.Tensor of shape ``B x T``
        Each sample's relative gradient norm ``g`` (see
        :func:`relative_gradient_norm`).
    attention : torch.Tensor of shape ``B x T``
        The attention weights; each task's column sums to 1 over the
        samples counted in it.
    mask : torch.Tensor of bool, shape ``B x T``
        True where the entry counts (label present, positive sample weight).
    entropy : torch.Tensor or None, default=None
        The mean normalized attention entropy; None computes it.

    Attributes
    ----------
    attention : torch.Tensor of shape ``B x T``
        As given.
    per_sample_loss : torch.Tensor of shape ``B x T``
        The same tensor as ``per_sample``, under its earlier name.

    Examples
    --------
    >>> import torch
    >>> from molgnba.losses import GNBALoss
    >>> _ = torch.manual_seed(0)
    >>> out = GNBALoss("regression").forward_details(
    ...     torch.tensor([[0.1, 2.0], [0.5, 1.0], [1.5, 0.0]]),
    ...     torch.tensor([[0.0, 2.0], [1.0, float("nan")], [1.0, 0.0]]))
    >>> type(out).__name__, out.attention.shape, out.loss.shape
    ('GNBAOutput', torch.Size([3, 2]), torch.Size([]))
    >>> out.mask.sum(0).tolist()  # labels per task
    [3, 2]
    >>> torch.allclose(out.attention.sum(0), torch.ones(2))  # one softmax per task
    True
    >>> torch.allclose(out.weights.sum(0), out.mask.sum(0).float())  # 1 = a uniform share
    True
    """

    attention: torch.Tensor

    def __init__(self, loss, per_sample_loss, gradient_norm, attention, mask, entropy=None):
        counts = mask.sum(0, keepdim=True).clamp(min=1)
        if entropy is None:
            entropy = _normalized_entropy(attention, mask).mean().detach()
        super().__init__(
            loss=loss,
            per_sample=per_sample_loss,
            mask=mask,
            gradient_norm=gradient_norm,
            weights=torch.where(mask, attention * counts, torch.zeros_like(attention)),
            entropy=entropy,
        )
        self.attention = attention

    @property
    def per_sample_loss(self) -> torch.Tensor:
        return self.per_sample

    def attention_entropy(self) -> torch.Tensor:
        """Entropy of each task's attention, divided by ``log`` of its label count.

        1 means uniform weights, 0 means all weight on one sample. A task
        with fewer than two labels in the batch has entropy 1.

        Returns
        -------
        torch.Tensor of shape ``T``
            Values in ``[0, 1]``, detached.

        Examples
        --------
        >>> import torch
        >>> from molgnba.losses import GNBALoss
        >>> uniform = GNBALoss("binary", temperature=float("inf"))
        >>> logits, labels = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0])
        >>> uniform.forward_details(logits, labels).attention_entropy()
        tensor([1.])
        """
        return _normalized_entropy(self.attention, self.mask).detach()


def _normalized_entropy(attention: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    plogp = torch.where(mask, attention * torch.log(attention.clamp(min=1e-12)), torch.zeros_like(attention))
    entropy = -plogp.sum(0)
    count = mask.sum(0).to(attention.dtype)
    return torch.where(count > 1, entropy / torch.log(count.clamp(min=2)), torch.ones_like(entropy))


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor):
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx, grad):
        return -grad


def _reverse_gradient(tensor: torch.Tensor) -> torch.Tensor:
    """Identity forward, negated gradient backward."""
    return _GradientReversal.apply(tensor)


class GNBALoss(MolecularLoss):
    r"""Gradient-norm based attentive loss (GNBA).

    For a batch of ``B`` samples, each sample's relative gradient norm ``g_i``
    (see :func:`relative_gradient_norm`) is turned into an attention weight by
    a small self-attention learned with the network,

    .. math::

        a_i = \mathrm{softmax}_i\big(W_2 \tanh(W_1 g_i) / \tau\big),
        \qquad
        L = \sum_i a_i \, \ell_i + \lambda \Big(1 - \frac{H(a)}{\log B}\Big),

    where ``W1`` is ``attention_dim x 1``, ``W2`` is ``1 x attention_dim``,
    ``\ell_i`` the per-sample loss (binary cross-entropy on logits, or squared
    error), ``\tau`` the ``temperature`` and ``\lambda`` the ``entropy_weight``.
    With ``temperature=1`` and ``entropy_weight=0`` this is the paper's
    equation 14 as written. For ``B x T`` targets each task gets its own
    softmax over the samples labelled for it, and the task losses are averaged.

    The registered variants ``"gnba-paper"``, ``"gnba-guarded"`` and
    ``"gnba-hard"`` (:class:`GNBAPaperLoss`, :class:`GNBAGuardedLoss`,
    :class:`GNBAHardLoss`) are this class with settings fixed.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}, default="binary"
        "classification" is accepted as "binary".
    attention_dim : int, default=16
        Width ``d_attn`` of the attention.
    temperature : float, default=1.0
        Divides the attention scores. Larger values keep the weights closer
        to uniform; ``float("inf")`` makes them uniform.
    entropy_weight : float, default=0.0
        Weight of the attention's entropy deficit ``1 - H(a) / log B``
        (0 for uniform weights, 1 for all weight on one sample) added to the
        loss. A positive value counters collapse (see Notes).
    detach_gradient_norm : bool, default=True
        Whether ``g`` is treated as a constant. See Notes.
    adversarial : bool, default=False
        Train W1, W2 to *maximize* the weighted loss (their gradients are
        reversed) while the network minimizes it, so the attention moves
        onto the samples with large gradient norm, as the paper intends; the
        entropy term then keeps the attention from collapsing onto the single
        hardest sample. This is distributionally robust training with a
        learned, entropy-regularized weighting. The reported loss includes
        ``-entropy_weight * (1 - H / log B)``. Not in the paper;
        :class:`~molgnba.GNNClassifier` and :class:`~molgnba.GNNRegressor`
        train with it by default, with ``entropy_weight=5`` (entropy near
        0.9).

    Attributes
    ----------
    attentive : bool
        True: the estimators check ``attentive_loss=True`` against it.
    attention : torch.nn.Sequential
        ``Linear(1, d, bias=False)``, ``Tanh``, ``Linear(d, 1, bias=False)``: W1 and W2.

    Notes
    -----
    **Why g is detached by default.** ``g`` is a statistic of the sample (the
    size of its loss gradient), used only to decide how much the sample
    counts. Letting gradients flow through ``g`` would give the network a
    second objective - move its predictions so that the attention shifts onto
    samples with small loss - which rewards making easy samples easier and
    is the collapse below, acted out by the whole network. The paper
    describes ``g`` as the gradient norm, a quantity computed from, not
    optimised through, the prediction. Set ``detach_gradient_norm=False`` to
    differentiate through it.

    **Collapse.** W1 and W2 are trained to minimise the same weighted loss
    they produce, and the cheapest way to lower ``sum_i a_i l_i`` is to put
    the weight on the samples whose loss is smallest, the opposite of the
    paper's intent. Three guards are available: ``temperature`` (bounds how
    peaked the weights can be for a given score range), ``entropy_weight``
    (a price on peakedness), and weight decay on W1/W2 (the estimators'
    ``attention_weight_decay``). :meth:`forward_details` returns the weights
    so their entropy can be monitored; the estimators record it each epoch.

    **Sample weights.** With ``sample_weight`` ``w``, the softmax runs over
    the labelled samples of positive weight as before, and each task's loss
    becomes ``sum_i a_i w_i l_i / sum_i a_i w_i``. The attention still decides
    from ``g`` alone; the weights scale what it decided. Since ``a_i`` is
    proportional to ``exp(score_i)``, weight 0 is the same as leaving the
    sample out and an integer weight ``k`` the same as repeating the sample
    ``k`` times. The entropy term prices the attention ``a``, not ``a w``:
    unequal sample weights are the user's choice, not a collapse.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> criterion = GNBALoss("binary", attention_dim=8)
    >>> logits = torch.tensor([2.0, -1.0, 0.5, 0.0])
    >>> labels = torch.tensor([1.0, 0.0, 0.0, float("nan")])
    >>> out = criterion.forward_details(logits, labels)
    >>> out.attention[:, 0].sum().item()  # the labelled samples' weights sum to 1
    1.0
    >>> out.attention[3, 0].item()  # the missing label gets no weight
    0.0
    """

    attentive = True

    def __init__(
        self,
        task: str = "binary",
        attention_dim: int = 16,
        temperature: float = 1.0,
        entropy_weight: float = 0.0,
        detach_gradient_norm: bool = True,
        adversarial: bool = False,
    ):
        super().__init__(task)
        if isinstance(attention_dim, bool) or not (
            isinstance(attention_dim, numbers.Integral) and attention_dim > 0
        ):
            raise ValueError(f"attention_dim must be a positive integer, got {attention_dim!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        if not entropy_weight >= 0:
            raise ValueError(f"entropy_weight must be non-negative, got {entropy_weight!r}")
        self.attention_dim = int(attention_dim)
        self.temperature = float(temperature)
        self.entropy_weight = float(entropy_weight)
        self.detach_gradient_norm = detach_gradient_norm
        if adversarial and not detach_gradient_norm:
            raise ValueError("adversarial=True needs detach_gradient_norm=True: the network must not play the adversary's game")
        self.adversarial = adversarial
        self.attention = nn.Sequential(
            nn.Linear(1, self.attention_dim, bias=False),
            nn.Tanh(),
            nn.Linear(self.attention_dim, 1, bias=False),
        )

    def attention_weights(self, gradient_norm: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Softmax over the batch (dim 0) of ``W2 tanh(W1 g) / temperature``, per task.

        Parameters
        ----------
        gradient_norm : torch.Tensor of shape ``B x T``
            The relative gradient norms ``g`` (see :func:`relative_gradient_norm`).
        mask : torch.Tensor of bool, shape ``B x T``
            True where the label is present.

        Returns
        -------
        torch.Tensor of shape ``B x T``
            Each task's column sums to 1 over its labelled samples (0 where
            none is labelled); masked-out entries are 0.

        Examples
        --------
        >>> import torch
        >>> from molgnba.losses import GNBALoss
        >>> _ = torch.manual_seed(0)
        >>> g = torch.tensor([[0.1], [0.9], [0.5]])
        >>> mask = torch.tensor([[True], [True], [False]])
        >>> weights = GNBALoss("binary", attention_dim=8).attention_weights(g, mask)
        >>> weights.shape, round(weights.sum().item(), 6), weights[2, 0].item()
        (torch.Size([3, 1]), 1.0, 0.0)
        >>> GNBALoss("binary", temperature=float("inf")).attention_weights(g, mask)[:, 0]
        tensor([0.5000, 0.5000, 0.0000])
        """
        g = gradient_norm.unsqueeze(-1)
        if self.adversarial:
            # W1 and W2 receive reversed gradients: they ascend the loss the network descends.
            w1, w2 = (_reverse_gradient(layer.weight) for layer in (self.attention[0], self.attention[2]))
            scores = F.linear(torch.tanh(F.linear(g, w1)), w2).squeeze(-1)
        else:
            scores = self.attention(g).squeeze(-1)
        if math.isinf(self.temperature):
            scores = torch.zeros_like(scores)
        else:
            scores = scores / self.temperature
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=0)
        # A task with no label in the batch has an all -inf column: softmax gives NaN.
        return torch.where(mask, weights, torch.zeros_like(weights))

    def forward_details(self, input: torch.Tensor, target: torch.Tensor, sample_weight=None) -> GNBAOutput:
        """The loss together with the per-sample quantities behind it.

        Parameters
        ----------
        input : torch.Tensor of shape ``B`` or ``B x T``
            Logits (``B x C`` for multiclass) or predicted values.
        target : torch.Tensor of shape ``B`` or ``B x T``
            Labels or target values; NaN marks a missing label.
        sample_weight : torch.Tensor of shape ``B`` or None, default=None
            Non-negative weight of each sample; see Notes of the class.

        Returns
        -------
        GNBAOutput
            The differentiable scalar ``loss`` (what :meth:`forward`
            returns) and the detached per-sample loss, gradient norm,
            attention, relative weights, entropy and mask.

        Examples
        --------
        >>> import torch
        >>> from molgnba.losses import GNBALoss
        >>> _ = torch.manual_seed(0)
        >>> criterion = GNBALoss("binary", attention_dim=4)
        >>> logits = torch.tensor([2.0, -1.0, 0.5], requires_grad=True)
        >>> out = criterion.forward_details(logits, torch.tensor([1.0, 0.0, 0.0]))
        >>> out.loss.backward()  # trains the network and W1, W2 alike
        >>> logits.grad.shape, criterion.attention[0].weight.grad.shape
        (torch.Size([3]), torch.Size([4, 1]))
        >>> torch.equal(out.loss, criterion(logits, torch.tensor([1.0, 0.0, 0.0])))
        True
        """
        loss, mask = per_sample_loss(input, target, self.task)
        weight = None
        if sample_weight is not None:
            weight = _check_sample_weight(sample_weight, loss)
            mask = mask & (weight > 0)
        pred = input.detach() if self.detach_gradient_norm else input
        gradient_norm = relative_gradient_norm(pred, target, self.task)
        gradient_norm = torch.where(mask, gradient_norm, torch.zeros_like(gradient_norm))
        attention = self.attention_weights(gradient_norm, mask)
        if weight is None:
            task_losses = (attention * loss).sum(0)
        else:
            # The softmax runs over the samples of positive weight; renormalising the
            # weighted attention makes weight 0 the same as leaving the sample out.
            weighted = attention * weight
            norm = weighted.sum(0)
            task_losses = torch.where(mask, weighted * loss, torch.zeros_like(loss)).sum(0)
            task_losses = task_losses / torch.where(norm > 0, norm, torch.ones_like(norm))
        present = mask.any(0)
        # torch.where, not boolean indexing: no device-to-host synchronisation per batch.
        n_present = present.sum().clamp(min=1)
        total = torch.where(present, task_losses, torch.zeros_like(task_losses)).sum() / n_present
        task_entropy = _normalized_entropy(attention, mask)
        if self.entropy_weight > 0:
            entropy = torch.where(present, task_entropy, torch.zeros_like(task_entropy))
            deficit = 1 - entropy.sum() / n_present
            # The attention's own objective must always price low entropy; with
            # reversed gradients that takes the opposite sign in the shared loss.
            total = total + (-1 if self.adversarial else 1) * self.entropy_weight * deficit
        return GNBAOutput(
            loss=total,
            per_sample_loss=torch.where(mask, loss, torch.zeros_like(loss)).detach(),
            gradient_norm=gradient_norm.detach(),
            attention=attention.detach(),
            mask=mask,
            entropy=task_entropy.detach().mean(),
        )

    def extra_repr(self) -> str:
        return (
            f"task={self.task!r}, attention_dim={self.attention_dim}, temperature={self.temperature}, "
            f"entropy_weight={self.entropy_weight}, detach_gradient_norm={self.detach_gradient_norm}, "
            f"adversarial={self.adversarial}"
        )


@register_loss
class GNBAPaperLoss(GNBALoss):
    r"""The GNBA paper's loss as written: equation 14, no guard against collapse.

    :class:`GNBALoss` with ``entropy_weight=0`` and ``adversarial=False``,
    both fixed: the attention is trained to lower the weighted loss, which
    it can do by moving its weight onto the easy samples (see the Notes of
    :class:`GNBALoss`). ``g`` is detached by default, as the paper's "gradient
    norm" is a statistic of the sample. Registered as ``"gnba-paper"``; the
    benchmark's ``"gnba-paper"``.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}, default="binary"
        "classification" is accepted as "binary".
    attention_dim : int, default=16
        Width ``d_attn`` of the attention.
    temperature : float, default=1.0
        Divides the attention scores (1 in the paper).
    detach_gradient_norm : bool, default=True
        Whether ``g`` is treated as a constant.

    See Also
    --------
    GNBAGuardedLoss : The same direction with a price on low entropy.
    GNBAHardLoss : The attention trained to raise the loss.

    Examples
    --------
    >>> import torch
    >>> from molgnba.losses import make_loss
    >>> _ = torch.manual_seed(0)
    >>> loss = make_loss("gnba-paper", "binary")
    >>> loss.entropy_weight, loss.adversarial, loss.attentive
    (0.0, False, True)
    >>> details = loss.forward_details(torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0]))
    >>> details.weights.sum().item()  # relative weights: a uniform share is 1
    3.0
    """

    name = "gnba-paper"

    def __init__(self, task: str = "binary", attention_dim: int = 16, temperature: float = 1.0,
                 detach_gradient_norm: bool = True):
        super().__init__(task, attention_dim=attention_dim, temperature=temperature, entropy_weight=0.0,
                         detach_gradient_norm=detach_gradient_norm, adversarial=False)


@register_loss
class GNBAGuardedLoss(GNBALoss):
    r"""GNBA with the attention trained to lower the loss, guarded by an entropy price.

    :class:`GNBALoss` with ``adversarial=False`` fixed and
    ``entropy_weight=1.0`` by default: the estimators' setting for
    ``adversarial_attention=False``. Registered as ``"gnba-guarded"``; the
    benchmark's ``"gnba"``.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}, default="binary"
        "classification" is accepted as "binary".
    attention_dim : int, default=16
        Width ``d_attn`` of the attention.
    temperature : float, default=1.0
        Divides the attention scores.
    entropy_weight : float, default=1.0
        Price on the attention's entropy deficit ``1 - H(a) / log B``.
    detach_gradient_norm : bool, default=True
        Whether ``g`` is treated as a constant.

    Examples
    --------
    >>> import torch
    >>> from molgnba.losses import GNBAGuardedLoss
    >>> _ = torch.manual_seed(0)
    >>> loss = GNBAGuardedLoss("regression")
    >>> loss.entropy_weight, loss.adversarial
    (1.0, False)
    >>> details = loss.forward_details(torch.tensor([0.1, 0.5, 3.0]), torch.tensor([0.0, 0.0, 0.0]))
    >>> 0 < details.entropy.item() <= 1
    True
    """

    name = "gnba-guarded"

    def __init__(self, task: str = "binary", attention_dim: int = 16, temperature: float = 1.0,
                 entropy_weight: float = 1.0, detach_gradient_norm: bool = True):
        super().__init__(task, attention_dim=attention_dim, temperature=temperature,
                         entropy_weight=entropy_weight, detach_gradient_norm=detach_gradient_norm,
                         adversarial=False)


@register_loss
class GNBAHardLoss(GNBALoss):
    r"""GNBA with the attention trained to raise the loss: weight moves to hard samples.

    :class:`GNBALoss` with ``adversarial=True`` and a detached ``g`` fixed,
    and ``entropy_weight=5.0`` by default, which holds the attention's
    entropy near 0.9: the estimators' default (``adversarial_attention=True``).
    Not in the paper. Registered as ``"gnba-hard"``; the benchmark's
    ``"gnba-adversarial"``.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}, default="binary"
        "classification" is accepted as "binary".
    attention_dim : int, default=16
        Width ``d_attn`` of the attention.
    temperature : float, default=1.0
        Divides the attention scores.
    entropy_weight : float, default=5.0
        Bounds how far the weight moves onto the hard samples.

    Examples
    --------
    >>> import torch
    >>> from molgnba.losses import GNBAHardLoss
    >>> _ = torch.manual_seed(0)
    >>> loss = GNBAHardLoss("binary", attention_dim=4)
    >>> logits = torch.tensor([3.0, -3.0, 0.5], requires_grad=True)
    >>> loss(logits, torch.tensor([1.0, 1.0, 0.0])).backward()
    >>> loss.adversarial, loss.attention[0].weight.grad.shape  # W1 ascends the loss
    (True, torch.Size([4, 1]))
    """

    name = "gnba-hard"

    def __init__(self, task: str = "binary", attention_dim: int = 16, temperature: float = 1.0,
                 entropy_weight: float = 5.0):
        super().__init__(task, attention_dim=attention_dim, temperature=temperature,
                         entropy_weight=entropy_weight, detach_gradient_norm=True, adversarial=True)
