"""Any torch loss joins the contract through TorchLoss and as_molecular_loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from molgnba.losses import (
    GNBAHardLoss,
    MaskedLoss,
    TorchLoss,
    as_molecular_loss,
    relative_gradient_norm,
)

from .helpers import NAN, make_batch

PER_SAMPLE = {
    "binary": lambda: nn.BCEWithLogitsLoss(reduction="none"),
    "multiclass": lambda: nn.CrossEntropyLoss(reduction="none"),
    "regression": lambda: nn.MSELoss(reduction="none"),
}
MEAN = {
    "binary": lambda: nn.BCEWithLogitsLoss(),
    "multiclass": lambda: nn.CrossEntropyLoss(),
    "regression": lambda: nn.MSELoss(),
}


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_per_sample_torch_loss_is_the_plain_loss(task):
    input, target = make_batch(task)
    wrapped = TorchLoss(PER_SAMPLE[task](), task).forward_details(input, target)
    plain = MaskedLoss(task).forward_details(input, target)
    torch.testing.assert_close(wrapped.loss, plain.loss)
    for field in ("per_sample", "mask", "gradient_norm"):
        torch.testing.assert_close(getattr(wrapped, field), getattr(plain, field))
    assert wrapped.weights is None and wrapped.entropy is None


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_mean_torch_loss_on_complete_single_task_labels(task):
    input, target = make_batch(task)
    if task != "multiclass":
        input, target = input[:, 0], target[:, 0]
    keep = ~torch.isnan(target)
    input, target = input[keep], target[keep]
    wrapped = TorchLoss(MEAN[task](), task).forward_details(input, target)
    torch.testing.assert_close(wrapped.loss, MaskedLoss(task)(input, target))
    assert wrapped.per_sample is None
    torch.testing.assert_close(wrapped.gradient_norm, relative_gradient_norm(input, target, task))


def test_mean_torch_loss_leaves_out_missing_single_task_labels():
    prediction = torch.tensor([1.0, 5.0, 3.0])
    target = torch.tensor([0.0, NAN, 1.0])
    details = TorchLoss(nn.MSELoss(), "regression").forward_details(prediction, target)
    assert details.loss.item() == pytest.approx((1 + 4) / 2)
    assert details.mask[:, 0].tolist() == [True, False, True]
    nothing = TorchLoss(nn.MSELoss(), "regression")(prediction, torch.full((3,), NAN))
    assert nothing.item() == 0.0


def test_mean_torch_loss_cannot_mask_multi_task_labels():
    input, target = make_batch("regression")
    with pytest.raises(ValueError, match="multi-task.*reduction='none'"):
        TorchLoss(nn.MSELoss(), "regression")(input, target)
    complete = torch.nan_to_num(target)
    torch.testing.assert_close(TorchLoss(nn.MSELoss(), "regression")(input, complete), nn.MSELoss()(input, complete))


def test_mean_torch_loss_cannot_take_sample_weights():
    with pytest.raises(ValueError, match="scalar.*sample_weight.*reduction='none'"):
        TorchLoss(nn.MSELoss(), "regression").forward_details(
            torch.zeros(3), torch.ones(3), sample_weight=torch.ones(3))


def test_sample_weight_scales_a_per_sample_torch_loss():
    details = TorchLoss(nn.L1Loss(reduction="none"), "regression").forward_details(
        torch.tensor([1.0, 4.0]), torch.tensor([0.0, 0.0]), sample_weight=torch.tensor([3.0, 1.0]))
    assert details.loss.item() == pytest.approx((3 * 1 + 1 * 4) / 4)


def test_a_plain_function_works_too():
    def absolute_error(input, target):
        return (input - target).abs()

    wrapped = TorchLoss(absolute_error, "regression")
    assert wrapped(torch.tensor([1.0, 4.0, 2.0]), torch.tensor([0.0, 0.0, NAN])).item() == pytest.approx(2.5)
    assert "absolute_error" in repr(wrapped)


def test_the_wrapped_module_trains_and_moves_with_the_loss():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(2.0))

        def forward(self, input, target):
            return self.scale * (input - target) ** 2

    wrapped = TorchLoss(Scaled(), "regression")
    assert [p for p in wrapped.parameters()] == [wrapped.loss_fn.scale]
    wrapped(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0])).backward()
    assert wrapped.loss_fn.scale.grad.item() == pytest.approx((1 + 4) / 2)
    assert set(wrapped.state_dict()) == {"loss_fn.scale"}


def test_wrong_output_shape_is_named():
    with pytest.raises(ValueError, match=r"returned shape \(2, 2\); expected a scalar or one loss per sample"):
        TorchLoss(lambda input, target: torch.zeros(2, 2), "regression")(torch.zeros(3), torch.zeros(3))


def test_a_class_is_not_a_loss():
    with pytest.raises(TypeError, match=r"did you mean MSELoss\(reduction='none'\)"):
        TorchLoss(nn.MSELoss, "regression")
    with pytest.raises(TypeError, match="torch loss instance or a function"):
        TorchLoss(3, "regression")


def test_as_molecular_loss_resolves_every_kind():
    assert isinstance(as_molecular_loss("gnba-hard", "binary"), GNBAHardLoss)
    mine = MaskedLoss("regression")
    assert as_molecular_loss(mine, "regression") is mine
    wrapped = as_molecular_loss(nn.HuberLoss(reduction="none"), "classification")
    assert isinstance(wrapped, TorchLoss) and wrapped.task == "binary" and not wrapped.attentive
    with pytest.raises(ValueError, match="built for task 'regression', not 'binary'"):
        as_molecular_loss(mine, "binary")
    with pytest.raises(ValueError, match="unknown loss 'gnba'.*did you mean"):
        as_molecular_loss("gnba", "binary")
