"""The package reproduces the single-file molgnba.losses bit for bit.

The committed benchmark results were produced by the code frozen in
``legacy_losses.py``; every registered variant, built as the benchmark's
``LOSS_VARIANTS`` says, must give the same losses, gradients, attention
updates and diagnostics, so that new runs stay comparable with them.
"""

from __future__ import annotations

import pytest
import torch

import molgnba.losses
from molgnba.benchmark.runner import CLASSIFICATION_ONLY_LOSSES, LOSS_VARIANTS
from molgnba.losses import BENCHMARK_LOSS_VARIANTS, GNBALoss, get_loss_class, make_loss

from . import legacy_losses as legacy
from .helpers import make_batch

TASKS = ["binary", "multiclass", "regression"]


#: The estimator settings of the benchmark's variants before the loss registry named them
#: (``LOSS_VARIANTS`` at molgnba 646b9e2); today's are derived from BENCHMARK_LOSS_VARIANTS.
OLD_LOSS_VARIANTS = {
    "plain": {"attentive_loss": False},
    "gnba": {"attentive_loss": True, "adversarial_attention": False, "attention_entropy_weight": 1.0},
    "gnba-paper": {"attentive_loss": True, "adversarial_attention": False, "attention_entropy_weight": 0.0},
    "gnba-adversarial": {"attentive_loss": True, "adversarial_attention": True, "attention_entropy_weight": 5.0},
    "focal": {"attentive_loss": False, "loss": "focal", "criterion__gamma": 2.0, "criterion__alpha": None},
    "ghm": {"attentive_loss": False, "loss": "ghm", "criterion__bins": 10, "criterion__momentum": 0.75,
            "criterion__mu": 0.02},
    "ghm-30bins": {"attentive_loss": False, "loss": "ghm", "criterion__bins": 30, "criterion__momentum": 0.75,
                   "criterion__mu": 0.02},
}


def legacy_criterion(variant: str, task: str):
    """The criterion the estimators built for ``OLD_LOSS_VARIANTS[variant]`` before the package existed."""
    settings = OLD_LOSS_VARIANTS[variant]
    params = {key.removeprefix("criterion__"): value
              for key, value in settings.items() if key.startswith("criterion__")}
    if settings.get("loss", "auto") != "auto":
        return (legacy.FocalLoss if settings["loss"] == "focal" else legacy.GHMLoss)(task, **params)
    if settings["attentive_loss"]:
        return legacy.GNBALoss(task, attention_dim=16, temperature=1.0,
                               entropy_weight=settings["attention_entropy_weight"],
                               detach_gradient_norm=True, adversarial=settings["adversarial_attention"])
    return legacy.MaskedLoss(task)


def new_criterion(variant: str, task: str):
    name, params = BENCHMARK_LOSS_VARIANTS[variant]
    return make_loss(name, task, **params)


CASES = [
    (variant, task)
    for variant in LOSS_VARIANTS
    for task in TASKS
    if not (task == "regression" and (variant in CLASSIFICATION_ONLY_LOSSES or variant == "focal"))
]


def test_mapping_covers_the_benchmark_variants():
    assert set(BENCHMARK_LOSS_VARIANTS) == set(LOSS_VARIANTS)
    for variant, (name, _) in BENCHMARK_LOSS_VARIANTS.items():
        assert get_loss_class(name).attentive == LOSS_VARIANTS[variant]["attentive_loss"]


@pytest.mark.parametrize("variant, task", CASES)
def test_training_steps_match_the_old_classes_exactly(variant, task):
    """Three optimizer steps on the same batches: same losses, gradients, state and diagnostics."""
    torch.manual_seed(1)
    old = legacy_criterion(variant, task)
    torch.manual_seed(1)
    new = new_criterion(variant, task)
    assert new.state_dict().keys() == old.state_dict().keys()
    for (key, a), b in zip(old.state_dict().items(), new.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=key)
    optimizers = [torch.optim.SGD(c.parameters(), lr=0.5) if list(c.parameters()) else None for c in (old, new)]
    for step in range(3):
        input, target = make_batch(task, seed=step)
        outputs = []
        for criterion, optimizer in zip((old, new), optimizers):
            leaf = input.clone().requires_grad_(True)
            if isinstance(criterion, (legacy.GNBALoss, GNBALoss)):
                details = criterion.forward_details(leaf, target)
                loss = details.loss
            else:
                details, loss = None, criterion(leaf, target)
            loss.backward()
            outputs.append((loss.detach(), leaf.grad, details))
            if optimizer is not None:
                optimizer.step()
                optimizer.zero_grad()
        (old_loss, old_grad, old_details), (new_loss, new_grad, new_details) = outputs
        torch.testing.assert_close(new_loss, old_loss, rtol=0, atol=0)
        torch.testing.assert_close(new_grad, old_grad, rtol=0, atol=0)
        if old_details is not None:
            for field in ("per_sample_loss", "gradient_norm", "attention", "mask"):
                torch.testing.assert_close(getattr(new_details, field), getattr(old_details, field), rtol=0, atol=0)
            # What the estimator records today, from the old output.
            counts = old_details.mask.sum(0, keepdim=True).clamp(min=1)
            relative = torch.where(old_details.mask, old_details.attention * counts, torch.zeros(()))
            torch.testing.assert_close(new_details.weights, relative, rtol=0, atol=0)
            torch.testing.assert_close(new_details.entropy, old_details.attention_entropy().mean(), rtol=0, atol=0)
    for (key, a), b in zip(old.state_dict().items(), new.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("cls_name, task", [
    (cls_name, task) for cls_name in ["MaskedLoss", "FocalLoss", "GHMLoss"] for task in TASKS
    if not (cls_name == "FocalLoss" and task == "regression")
])
def test_plain_and_reweighting_classes_keep_their_values(cls_name, task):
    """With their own defaults (GHM: the authors' bins and momentum for the task), over three batches."""
    old = getattr(legacy, cls_name)(task)
    new = getattr(molgnba.losses, cls_name)(task)
    for seed in range(3):  # GHM's density is smoothed across these batches
        input, target = make_batch(task, seed=seed)
        torch.testing.assert_close(new(input, target), old(input, target), rtol=0, atol=0)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("kwargs", [
    {},
    {"entropy_weight": 1.0},
    {"entropy_weight": 5.0, "adversarial": True},
    {"detach_gradient_norm": False, "temperature": 2.0, "attention_dim": 4},
])
def test_gnba_loss_constructor_unchanged(task, kwargs):
    torch.manual_seed(3)
    old = legacy.GNBALoss(task, **kwargs)
    torch.manual_seed(3)
    new = GNBALoss(task, **kwargs)
    input, target = make_batch(task, seed=5)
    leaves = [input.clone().requires_grad_(True) for _ in range(2)]
    old_loss, new_loss = old(leaves[0], target), new(leaves[1], target)
    old_loss.backward()
    new_loss.backward()
    torch.testing.assert_close(new_loss, old_loss, rtol=0, atol=0)
    torch.testing.assert_close(leaves[1].grad, leaves[0].grad, rtol=0, atol=0)
    for a, b in zip(old.parameters(), new.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=0, atol=0)
    assert repr(new) == repr(old)
