"""molgnba.losses as of commit eb83576, frozen: the reference the new package must match.

A verbatim copy of the module before it became a package (only its module docstring
replaced by this one), kept so that the tests can
compare every loss variant against the code that produced the committed benchmark
results. Do not edit: it is a record, not a library.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FocalLoss", "GHMLoss", "GNBALoss", "GNBAOutput", "MaskedLoss", "label_mask", "per_sample_loss",
    "relative_gradient_norm",
]

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


class MaskedLoss(nn.Module):
    """Plain mean of the per-sample losses over the present labels.

    The loss the estimators use with ``attentive_loss=False``: everything else
    equal, a paired comparison then differs in the weighting alone.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}

    Examples
    --------
    >>> import torch
    >>> loss = MaskedLoss("regression")
    >>> loss(torch.tensor([1.0, 2.0, 0.0]), torch.tensor([0.0, 2.0, float("nan")]))
    tensor(0.5000)
    """

    def __init__(self, task: str = "binary"):
        super().__init__()
        self.task = _check_task(task)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss, mask = per_sample_loss(input, target, self.task)
        return loss.sum() / mask.sum().clamp(min=1)

    def extra_repr(self) -> str:
        return f"task={self.task!r}"


@dataclass
class GNBAOutput:
    """What :meth:`GNBALoss.forward_details` computed for one batch.

    All per-sample tensors have shape ``B x T`` and are detached except ``loss``.

    Attributes
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
        The attention weights; each task's column sums to 1 over its
        labelled samples.
    mask : torch.Tensor of bool, shape ``B x T``
        True where the label is present.

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
    """

    loss: torch.Tensor
    per_sample_loss: torch.Tensor
    gradient_norm: torch.Tensor
    attention: torch.Tensor
    mask: torch.Tensor

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


class GNBALoss(nn.Module):
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

    def __init__(
        self,
        task: str = "binary",
        attention_dim: int = 16,
        temperature: float = 1.0,
        entropy_weight: float = 0.0,
        detach_gradient_norm: bool = True,
        adversarial: bool = False,
    ):
        super().__init__()
        if isinstance(attention_dim, bool) or not (
            isinstance(attention_dim, numbers.Integral) and attention_dim > 0
        ):
            raise ValueError(f"attention_dim must be a positive integer, got {attention_dim!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        if not entropy_weight >= 0:
            raise ValueError(f"entropy_weight must be non-negative, got {entropy_weight!r}")
        self.task = _check_task(task)
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

    def forward_details(self, input: torch.Tensor, target: torch.Tensor) -> GNBAOutput:
        """The loss together with the per-sample quantities behind it.

        Parameters
        ----------
        input : torch.Tensor of shape ``B`` or ``B x T``
            Logits (``B x C`` for multiclass) or predicted values.
        target : torch.Tensor of shape ``B`` or ``B x T``
            Labels or target values; NaN marks a missing label.

        Returns
        -------
        GNBAOutput
            The differentiable scalar ``loss`` (what :meth:`forward`
            returns) and the detached per-sample loss, gradient norm,
            attention and label mask.

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
        pred = input.detach() if self.detach_gradient_norm else input
        gradient_norm = relative_gradient_norm(pred, target, self.task)
        attention = self.attention_weights(gradient_norm, mask)
        task_losses = (attention * loss).sum(0)
        present = mask.any(0)
        # torch.where, not boolean indexing: no device-to-host synchronisation per batch.
        n_present = present.sum().clamp(min=1)
        total = torch.where(present, task_losses, torch.zeros_like(task_losses)).sum() / n_present
        if self.entropy_weight > 0:
            entropy = _normalized_entropy(attention, mask)
            entropy = torch.where(present, entropy, torch.zeros_like(entropy))
            deficit = 1 - entropy.sum() / n_present
            # The attention's own objective must always price low entropy; with
            # reversed gradients that takes the opposite sign in the shared loss.
            total = total + (-1 if self.adversarial else 1) * self.entropy_weight * deficit
        return GNBAOutput(
            loss=total,
            per_sample_loss=loss.detach(),
            gradient_norm=gradient_norm.detach(),
            attention=attention.detach(),
            mask=mask,
        )

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar attention-weighted loss for ``B`` or ``B x T`` input and target."""
        return self.forward_details(input, target).loss

    def extra_repr(self) -> str:
        return (
            f"task={self.task!r}, attention_dim={self.attention_dim}, temperature={self.temperature}, "
            f"entropy_weight={self.entropy_weight}, detach_gradient_norm={self.detach_gradient_norm}, "
            f"adversarial={self.adversarial}"
        )


class FocalLoss(nn.Module):
    r"""Focal loss (Lin et al., 2017) for binary and multiclass targets.

    ``FL = -alpha_t (1 - p_t)^gamma log(p_t)``, averaged over the present
    labels: samples the model already gets right (``p_t`` near 1) are
    down-weighted by a fixed function of ``p_t``, with no learned weights.

    Parameters
    ----------
    task : {"binary", "multiclass"}
    gamma : float, default=2.0
        Focusing strength; 0 gives the cross-entropy.
    alpha : float or None, default=None
        Binary only: weight of the positive class (``1 - alpha`` for the
        negative); None weights both classes equally.

    Examples
    --------
    >>> import torch
    >>> loss = FocalLoss("binary", gamma=0.0)  # reduces to the cross-entropy
    >>> round(loss(torch.tensor([0.0]), torch.tensor([1.0])).item(), 4)
    0.6931
    """

    def __init__(self, task: str = "binary", gamma: float = 2.0, alpha: float | None = None):
        super().__init__()
        self.task = _check_task(task)
        if self.task == "regression":
            raise ValueError("the focal loss is defined for classification; use 'ghm' or the plain loss for regression")
        if not gamma >= 0:
            raise ValueError(f"gamma must be non-negative, got {gamma!r}")
        if alpha is not None and not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1) or be None, got {alpha!r}")
        self.gamma = float(gamma)
        self.alpha = alpha

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss, mask = per_sample_loss(input, target, self.task)
        p_true = torch.exp(-loss)  # the cross-entropy is -log p_t
        weight = (1 - p_true).clamp(min=0) ** self.gamma
        if self.alpha is not None:
            _, target2 = _as_2d(input, target, self.task)
            weight = weight * torch.where(target2 == 1, self.alpha, 1 - self.alpha)
        weighted = torch.where(mask, weight * loss, torch.zeros_like(loss))
        return weighted.sum() / mask.sum().clamp(min=1)

    def extra_repr(self) -> str:
        return f"task={self.task!r}, gamma={self.gamma}, alpha={self.alpha}"


class GHMLoss(nn.Module):
    r"""Gradient harmonizing loss (Li et al., 2019): GHM-C and GHM-R.

    Each sample's gradient norm ``g`` falls into one of ``bins`` equal-width
    bins of ``[0, 1]``; its loss is weighted by the inverse of the gradient
    density of its bin (the count of samples there, smoothed across batches
    by ``momentum``), so that the many easy samples and the few outliers
    each contribute in proportion to how rare their gradient norm is.

    * classification (GHM-C): cross-entropy weighted, ``g = |p - y|``
      (``1 - p_y`` for multiclass);
    * regression (GHM-R): the authentic smooth L1 loss
      ``sqrt(d^2 + mu^2) - mu`` weighted, ``g = |d| / sqrt(d^2 + mu^2)``.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
    bins : int or None, default=None
        None means the GHM authors' setting for the task: 30 for
        classification, 10 for regression.
    momentum : float or None, default=None
        Weight of the previous density estimate (0 uses each batch alone).
        None means the authors' setting: 0.75 for classification, 0.7 for
        regression.
    mu : float, default=0.02
        GHM-R only: the smooth L1 parameter, in units of the (standardized) target.

    Notes
    -----
    The defaults are those of the GHM authors' detector (RetinaNet with
    GHM-C and GHM-R). With 10 bins in place of 30, GHM-C trained worse on
    bbbp (GIN 3 x 64, 30 epochs, 3 seeds; ``benchmarks/perf/ghm_settings.py
    --dataset bbbp``): test ROC-AUC 0.892 against 0.908 with 30 bins (lower
    on 2 of 3 seeds) and 0.911 for the plain cross-entropy. In the paper's
    full protocol (bbbp and bace, GIN and GAT, 5 x 300, 100 epochs, 3 seeds;
    docs/benchmarks.md) 30 bins beat 10 on 8 of 12 seeds; the plain
    cross-entropy still had the higher mean in 3 of the 4 cells (30 bins led
    on bace GIN by 0.010 ROC-AUC, p = 0.69).

    For regression on standardized molecular targets GHM-R harmonizes
    badly: with ``mu=0.02`` every error above about 0.05 standard
    deviations has ``g`` near 1, so nearly every molecule shares the top bin
    and most of the weight goes to the few molecules already fit. On esol
    (same probe, ``--dataset esol``, with momentum 0.75) that gave test RMSE
    1.56 against 0.84 for the squared error, while ``bins=1`` (the smooth L1
    loss alone) gave 0.98 and ``mu=0.5`` gave 0.89. Pass ``criterion__mu``
    to the regressor to change it.

    Examples
    --------
    >>> import torch
    >>> loss = GHMLoss("binary", momentum=0.0)
    >>> (loss.bins, GHMLoss("regression").bins)
    (30, 10)
    >>> round(loss(torch.tensor([2.0, -2.0]), torch.tensor([1.0, 0.0])).item(), 4)
    0.1269
    """

    #: The GHM authors' settings (bins, momentum) for each task.
    PUBLISHED_SETTINGS = {"binary": (30, 0.75), "multiclass": (30, 0.75), "regression": (10, 0.7)}

    def __init__(self, task: str = "binary", bins: int | None = None, momentum: float | None = None,
                 mu: float = 0.02):
        super().__init__()
        self.task = _check_task(task)
        default_bins, default_momentum = self.PUBLISHED_SETTINGS[self.task]
        bins = default_bins if bins is None else bins
        momentum = default_momentum if momentum is None else momentum
        if isinstance(bins, bool) or not (isinstance(bins, numbers.Integral) and bins > 0):
            raise ValueError(f"bins must be a positive integer, got {bins!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        if not mu > 0:
            raise ValueError(f"mu must be positive, got {mu!r}")
        self.bins = int(bins)
        self.momentum = float(momentum)
        self.mu = float(mu)
        self.register_buffer("density", torch.zeros(self.bins))
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.task == "regression":
            input2, target2 = _as_2d(input, target, self.task)
            mask = ~torch.isnan(target2)
            diff = input2 - torch.where(mask, target2, torch.zeros_like(target2))
            root = torch.sqrt(diff**2 + self.mu**2)
            loss = torch.where(mask, root - self.mu, torch.zeros_like(root))
            g = (diff.abs() / root).detach()
        else:
            loss, mask = per_sample_loss(input, target, self.task)
            g = relative_gradient_norm(input.detach(), target, self.task)
        n_present = mask.sum()
        if n_present == 0:
            return loss.sum() * 0
        index = (g * self.bins).long().clamp(max=self.bins - 1)
        counts = torch.bincount(index[mask], minlength=self.bins).to(loss.dtype)
        if self.training and self.momentum > 0:
            with torch.no_grad():
                if bool(self.initialized):
                    self.density.mul_(self.momentum).add_((1 - self.momentum) * counts)
                else:
                    self.density.copy_(counts)
                    self.initialized.fill_(True)
            density = self.density
        else:
            density = counts
        occupied = (density > 0).sum().clamp(min=1)
        # beta_i = N / GD(g_i), normalised by the number of occupied bins (Li et al., eq. 4).
        weight = n_present / (density[index].clamp(min=1e-6) * occupied)
        weighted = torch.where(mask, weight.detach() * loss, torch.zeros_like(loss))
        return weighted.sum() / n_present

    def extra_repr(self) -> str:
        return f"task={self.task!r}, bins={self.bins}, momentum={self.momentum}, mu={self.mu}"
