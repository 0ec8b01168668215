"""The package reproduces the single-file molgnba.losses to float32's last place.

The committed benchmark results were produced by the single-file ``molgnba/losses.py``
(molgnba 646b9e2). ``data/legacy_expected.npz`` holds what that code returned on the batches of
``helpers.make_batch``: losses, input gradients, attention updates, diagnostics and parameters
after SGD steps. Every registered variant, built as the benchmark's ``LOSS_VARIANTS`` says, must
give the same values, so that new runs stay comparable with the committed ones. "The same" is
within a few float32 ULPs, not bit for bit: on the machine that stored them the values were
identical, but CPUs whose vector units round ``exp``/``tanh`` differently move the last bit
(seen: relative 1.7e-7 at most), while any change of formula moves them by far more.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import molgnba.losses
from molgnba.benchmark.runner import CLASSIFICATION_ONLY_LOSSES, LOSS_VARIANTS
from molgnba.losses import BENCHMARK_LOSS_VARIANTS, GNBALoss, get_loss_class, make_loss

from .helpers import make_batch

TASKS = ["binary", "multiclass", "regression"]
EXPECTED_PATH = Path(__file__).parent / "data" / "legacy_expected.npz"


@pytest.fixture(scope="module")
def expected():
    with np.load(EXPECTED_PATH) as stored:
        return {key: stored[key] for key in stored.files}


#: Four float32 ULPs, of each entry and of the tensor's largest entry: a parameter that SGD
#: moved close to zero keeps the rounding error of its larger neighbours.
ULPS = 4 * torch.finfo(torch.float32).eps


def assert_as_stored(actual: torch.Tensor, stored: np.ndarray, msg=None):
    scale = float(np.abs(stored).max()) if stored.size and stored.dtype.kind == "f" else 0.0
    torch.testing.assert_close(actual.detach(), torch.from_numpy(stored), rtol=ULPS, atol=ULPS * scale, msg=msg)


def assert_state_is(module: torch.nn.Module, expected: dict, prefix: str):
    state = module.state_dict()
    assert list(state) == expected[f"{prefix}/state_keys"].tolist()
    for key, value in state.items():
        assert_as_stored(value, expected[f"{prefix}/state/{key}"], msg=key)


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
def test_training_steps_match_the_old_classes_exactly(variant, task, expected):
    """Three optimizer steps on the same batches: same losses, gradients, state and diagnostics."""
    prefix = f"steps/{variant}/{task}"
    torch.manual_seed(1)
    criterion = new_criterion(variant, task)
    assert_state_is(criterion, expected, f"{prefix}/initial")
    optimizer = torch.optim.SGD(criterion.parameters(), lr=0.5) if list(criterion.parameters()) else None
    for step in range(3):
        stored = f"{prefix}/{step}"
        input, target = make_batch(task, seed=step)
        leaf = input.clone().requires_grad_(True)
        if isinstance(criterion, GNBALoss):
            details = criterion.forward_details(leaf, target)
            loss = details.loss
        else:
            details, loss = None, criterion(leaf, target)
        loss.backward()
        assert_as_stored(loss, expected[f"{stored}/loss"])
        assert_as_stored(leaf.grad, expected[f"{stored}/input_grad"])
        assert (details is not None) == (f"{stored}/attention" in expected)
        if details is not None:
            # weights: the old attention times the labelled count per task; entropy: the old
            # GNBAOutput.attention_entropy() averaged over tasks.
            for field in ("per_sample_loss", "gradient_norm", "attention", "mask", "weights", "entropy"):
                assert_as_stored(getattr(details, field), expected[f"{stored}/{field}"], msg=field)
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
    assert_state_is(criterion, expected, f"{prefix}/final")


@pytest.mark.parametrize("cls_name, task", [
    (cls_name, task) for cls_name in ["MaskedLoss", "FocalLoss", "GHMLoss"] for task in TASKS
    if not (cls_name == "FocalLoss" and task == "regression")
])
def test_plain_and_reweighting_classes_keep_their_values(cls_name, task, expected):
    """With their own defaults (GHM: the authors' bins and momentum for the task), over three batches."""
    criterion = getattr(molgnba.losses, cls_name)(task)
    for seed in range(3):  # GHM's density is smoothed across these batches
        input, target = make_batch(task, seed=seed)
        assert_as_stored(criterion(input, target), expected[f"defaults/{cls_name}/{task}/{seed}"])


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name, kwargs", [
    ("default", {}),
    ("entropy", {"entropy_weight": 1.0}),
    ("adversarial", {"entropy_weight": 5.0, "adversarial": True}),
    ("undetached", {"detach_gradient_norm": False, "temperature": 2.0, "attention_dim": 4}),
])
def test_gnba_loss_constructor_unchanged(task, name, kwargs, expected):
    stored = f"gnba/{name}/{task}"
    torch.manual_seed(3)
    criterion = GNBALoss(task, **kwargs)
    input, target = make_batch(task, seed=5)
    leaf = input.clone().requires_grad_(True)
    loss = criterion(leaf, target)
    loss.backward()
    assert_as_stored(loss, expected[f"{stored}/loss"])
    assert_as_stored(leaf.grad, expected[f"{stored}/input_grad"])
    parameters = dict(criterion.named_parameters())
    assert list(parameters) == expected[f"{stored}/parameter_names"].tolist()
    for parameter_name, parameter in parameters.items():
        assert_as_stored(parameter.grad, expected[f"{stored}/grad/{parameter_name}"], msg=parameter_name)
    assert repr(criterion) == str(expected[f"{stored}/repr"])
