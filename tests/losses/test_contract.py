"""The contract every registered loss keeps: shapes, masks, sample weights, diagnostics.

Hand-computed references (p = sigmoid(logit)):

* plain, weighted     L = sum_i w_i l_i / sum_i w_i over the labelled samples
* GNBA, weighted      L = sum_i a_i w_i l_i / sum_i a_i w_i,  a = softmax_i(W2 tanh(W1 g_i))
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from molgnba.losses import (
    GNBALoss,
    LossDetails,
    MolecularLoss,
    TorchLoss,
    get_loss_class,
    list_losses,
    make_loss,
)

from .helpers import NAN, make_batch

BUILTIN = ["plain", "focal", "ghm", "gnba-paper", "gnba-guarded", "gnba-hard"]
TASKS = ["binary", "multiclass", "regression"]


def loss_cases():
    """(name, task) for every registered built-in loss and every task it is defined for."""
    return [(name, task) for name in BUILTIN for task in TASKS if task in get_loss_class(name).supported_tasks]


def build(name, task, seed=0):
    """The loss ``name``, with the attention initialised from ``seed``; GHM without smoothing."""
    torch.manual_seed(seed)
    if name == "torch":
        fn = nn.MSELoss(reduction="none") if task == "regression" else (
            nn.CrossEntropyLoss(reduction="none") if task == "multiclass" else nn.BCEWithLogitsLoss(reduction="none"))
        return TorchLoss(fn, task)
    return make_loss(name, task, momentum=0.0) if name == "ghm" else make_loss(name, task)


def drop_rows(input, target, rows):
    keep = torch.ones(len(input), dtype=torch.bool)
    keep[rows] = False
    return input[keep], target[keep]


def test_builtin_names_are_registered():
    assert set(BUILTIN) <= set(list_losses())


@pytest.mark.parametrize("name", BUILTIN)
def test_attentive_is_declared_on_the_class(name):
    cls = get_loss_class(name)
    assert isinstance(cls.attentive, bool)
    assert cls.attentive == name.startswith("gnba")
    assert cls.attentive == issubclass(cls, GNBALoss)


@pytest.mark.parametrize("name, task", loss_cases())
def test_details_have_the_contract_shapes(name, task):
    criterion = build(name, task)
    input, target = make_batch(task)
    details = criterion.forward_details(input.clone().requires_grad_(True), target)
    assert isinstance(details, LossDetails) and isinstance(criterion, MolecularLoss)
    shape = (8, 1) if task == "multiclass" else (8, 2)
    assert details.loss.shape == () and details.loss.requires_grad
    for field in ("per_sample", "gradient_norm", "mask"):
        value = getattr(details, field)
        assert value.shape == shape and not value.requires_grad, field
    assert details.mask.dtype == torch.bool
    assert details.mask.tolist() == (~torch.isnan(target.reshape(shape))).tolist()
    assert not (details.per_sample[~details.mask]).any()
    assert not (details.gradient_norm[~details.mask]).any()
    if name == "plain":
        assert details.weights is None
    else:
        assert details.weights.shape == shape and not details.weights.requires_grad
        assert not details.weights[~details.mask].any()
    if criterion.attentive:
        assert 0 <= details.entropy.item() <= 1
        # Relative weights: each task's column sums to its number of labels (1 = a uniform share).
        torch.testing.assert_close(details.weights.sum(0), details.mask.sum(0).float())
    else:
        assert details.entropy is None


@pytest.mark.parametrize("name, task", loss_cases())
def test_forward_is_the_details_loss(name, task):
    input, target = make_batch(task)
    torch.testing.assert_close(build(name, task)(input, target), build(name, task).forward_details(input, target).loss,
                               rtol=0, atol=0)


@pytest.mark.parametrize("name, task", [*loss_cases(), *[("torch", t) for t in TASKS]])
def test_weight_zero_is_leaving_the_sample_out(name, task):
    input, target = make_batch(task)
    weight = torch.ones(8)
    weight[[2, 5]] = 0.0
    leaf = input.clone().requires_grad_(True)
    weighted = build(name, task).forward_details(leaf, target, sample_weight=weight)
    weighted.loss.backward()
    kept_input, kept_target = drop_rows(input, target, [2, 5])
    kept_leaf = kept_input.clone().requires_grad_(True)
    kept = build(name, task).forward_details(kept_leaf, kept_target)
    kept.loss.backward()
    torch.testing.assert_close(weighted.loss, kept.loss)
    keep = weight > 0
    torch.testing.assert_close(leaf.grad[keep], kept_leaf.grad)
    assert not leaf.grad[~keep].any()  # the left-out samples get no gradient
    assert not weighted.mask[~keep].any()
    assert weighted.mask[keep].tolist() == kept.mask.tolist()
    if weighted.weights is not None:
        torch.testing.assert_close(weighted.weights[keep], kept.weights)
    if weighted.entropy is not None:
        torch.testing.assert_close(weighted.entropy, kept.entropy)


@pytest.mark.parametrize("name, task", [*loss_cases(), *[("torch", t) for t in TASKS]])
def test_equal_weights_change_nothing(name, task):
    input, target = make_batch(task)
    unweighted = build(name, task).forward_details(input, target)
    for value in (1.0, 0.25, 7.0):
        weighted = build(name, task).forward_details(input, target, sample_weight=torch.full((8,), value))
        torch.testing.assert_close(weighted.loss, unweighted.loss)


@pytest.mark.parametrize("name, task", [
    (name, task) for name, task in [*loss_cases(), *[("torch", t) for t in TASKS]]
    # The entropy guard normalises by log of the sample count, which repeating a sample changes.
    if name not in {"gnba-guarded", "gnba-hard"}
])
def test_integer_weight_is_repeating_the_sample(name, task):
    input, target = make_batch(task)
    weight = torch.ones(8)
    weight[3] = 3.0
    weighted = build(name, task).forward_details(input, target, sample_weight=weight).loss
    repeated = torch.cat([input, input[[3, 3]]]), torch.cat([target, target[[3, 3]]])
    torch.testing.assert_close(weighted, build(name, task).forward_details(*repeated).loss)


def test_weighted_plain_loss_by_hand():
    # Squared errors 1, 4, 0 (third label missing), weights 3, 1, 5: (3 * 1 + 1 * 4) / (3 + 1).
    details = make_loss("plain", "regression").forward_details(
        torch.tensor([1.0, 2.0, 0.0]), torch.tensor([0.0, 0.0, NAN]), sample_weight=torch.tensor([3.0, 1.0, 5.0]))
    assert details.loss.item() == pytest.approx(7 / 4)


def test_weighted_gnba_loss_by_hand():
    criterion = make_loss("gnba-paper", "regression", attention_dim=1)
    with torch.no_grad():
        criterion.attention[0].weight.fill_(2.0)
        criterion.attention[2].weight.fill_(1.5)
    prediction, target = torch.tensor([1.0, 0.0, 3.0]), torch.tensor([0.0, 0.0, 1.0])
    weight = [2.0, 1.0, 0.5]
    errors = [1.0, 0.0, 4.0]
    g = [2 * (1 / (1 + math.exp(-abs(e) ** 0.5)) - 0.5) for e in errors]  # |e| = sqrt(squared error)
    scores = [1.5 * math.tanh(2.0 * gi) for gi in g]
    a = [math.exp(s) / sum(math.exp(t) for t in scores) for s in scores]
    expected = sum(ai * wi * li for ai, wi, li in zip(a, weight, errors)) / sum(ai * wi for ai, wi in zip(a, weight))
    details = criterion.forward_details(prediction, target, sample_weight=torch.tensor(weight))
    assert details.loss.item() == pytest.approx(expected, rel=1e-6)
    assert details.weights[:, 0].tolist() == pytest.approx([3 * ai for ai in a], rel=1e-6)


def test_all_weights_zero_gives_zero_not_nan():
    for name, task in loss_cases():
        input, target = make_batch(task)
        leaf = input.clone().requires_grad_(True)
        details = build(name, task).forward_details(leaf, target, sample_weight=torch.zeros(8))
        details.loss.backward()
        assert torch.isfinite(details.loss) and torch.isfinite(leaf.grad).all(), name
        assert not details.mask.any()


@pytest.mark.parametrize("weight, match", [
    (torch.ones(7), r"shape \(8,\)"),
    (torch.ones(8, 2), r"shape \(8,\)"),
    (torch.tensor([1.0, -1.0, 1, 1, 1, 1, 1, 1]), "sample 1 has weight -1.0"),
    (torch.tensor([1.0, 1, 1, NAN, 1, 1, 1, 1]), "sample 3 has weight nan"),
])
@pytest.mark.parametrize("name", BUILTIN)
def test_bad_sample_weight_is_refused(name, weight, match):
    input, target = make_batch("binary")
    with pytest.raises(ValueError, match=match):
        build(name, "binary").forward_details(input, target, sample_weight=weight)


def test_sample_weight_may_be_a_column_or_a_list():
    input, target = make_batch("regression")
    criterion = make_loss("plain", "regression")
    weight = [float(i) for i in range(8)]
    expected = criterion.forward_details(input, target, sample_weight=torch.tensor(weight)).loss
    torch.testing.assert_close(criterion.forward_details(input, target, sample_weight=weight).loss, expected)
    torch.testing.assert_close(
        criterion.forward_details(input, target, sample_weight=torch.tensor(weight)[:, None]).loss, expected)


def test_base_class_cannot_be_built_without_forward_details():
    with pytest.raises(TypeError, match="forward_details"):
        MolecularLoss("binary")
