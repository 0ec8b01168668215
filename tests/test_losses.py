"""Tests of molgnba.losses against values worked out by hand from the paper's formulas.

Reference formulas (p = sigmoid(logit)):

* binary cross-entropy  l = -(y log p + (1 - y) log(1 - p)),   g = |p - y|
* squared error         l = (y_hat - y)^2,   g = 2 (sigmoid(|y_hat - y|) - 0.5)
* cross-entropy         l = -log p_true,     g = 1 - p_true
* GNBA (eq. 14)         a = softmax_i(W2 tanh(W1 g_i) / tau),  L = sum_i a_i l_i
                        (+ lambda (1 - H(a) / log B) with the entropy guard)
* focal (Lin et al.)    FL = alpha_t (1 - p_t)^gamma l,  averaged over the present labels
* GHM (Li et al.)       beta_i = N / (GD(g_i) * occupied bins),  L = mean_i beta_i l_i;
                        GHM-R's l = sqrt(d^2 + mu^2) - mu,  g = |d| / sqrt(d^2 + mu^2)
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from molgnba.losses import (
    FocalLoss,
    GHMLoss,
    GNBALoss,
    GNBAOutput,
    MaskedLoss,
    label_mask,
    per_sample_loss,
    relative_gradient_norm,
)

NAN = float("nan")
LOG2 = 0.6931471805599453

# (logit, label, BCE, g): BCE = -(y log p + (1-y) log(1-p)), g = |p - y|
BINARY_CASES = [
    (0.0, 1.0, 0.693147, 0.5),  # p = 0.5: log 2
    (2.0, 1.0, 0.126928, 0.119203),  # p = 0.880797: -log 0.880797
    (2.0, 0.0, 2.126928, 0.880797),  # -log(1 - 0.880797) = -log 0.119203
    (-1.0, 0.0, 0.313262, 0.268941),  # p = 0.268941: -log 0.731059
    (-3.0, 1.0, 3.048587, 0.952574),  # p = 0.047426: -log 0.047426
]
# (prediction, target, squared error, g): g = 2 (sigmoid(|e|) - 0.5)
REGRESSION_CASES = [
    (1.5, 0.5, 1.0, 0.462117),  # sigmoid(1) = 0.731059
    (0.0, 0.0, 0.0, 0.0),
    (-1.0, 2.0, 9.0, 0.905148),  # sigmoid(3) = 0.952574
    (0.25, 0.0, 0.0625, 0.124353),  # sigmoid(0.25) = 0.562177
]
# (logits, class, CE, g): softmax([0, log 2, 0]) = [0.25, 0.5, 0.25]
MULTICLASS_CASES = [
    ([0.0, 0.0, 0.0], 1, 1.098612, 2 / 3),  # log 3
    ([0.0, LOG2, 0.0], 1, 0.693147, 0.5),  # -log 0.5
    ([0.0, LOG2, 0.0], 0, 1.386294, 0.75),  # -log 0.25
    ([0.0, LOG2, 0.0], 2, 1.386294, 0.75),
]


def approx(expected, rel=1e-5, abs=1e-6):
    return pytest.approx(expected, rel=rel, abs=abs)


def set_attention_weights(criterion, w1, w2):
    """W1 (d x 1) and W2 (1 x d), set by hand."""
    with torch.no_grad():
        criterion.attention[0].weight.copy_(torch.tensor(w1, dtype=torch.float32).reshape(-1, 1))
        criterion.attention[2].weight.copy_(torch.tensor(w2, dtype=torch.float32).reshape(1, -1))


def hand_attention(g, w1, w2, temperature=1.0):
    """softmax_i(W2 tanh(W1 g_i) / tau) in plain Python."""
    scores = [sum(b * math.tanh(a * gi) for a, b in zip(w1, w2)) / temperature for gi in g]
    exps = [math.exp(s - max(scores)) for s in scores]
    return [e / sum(exps) for e in exps]


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def hand_bce(z, y):
    p = sigmoid(z)
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


# --------------------------------------------------------------------------- per-sample
class TestPerSampleLoss:
    @pytest.mark.parametrize("logit, label, bce, g", BINARY_CASES)
    def test_binary_cross_entropy(self, logit, label, bce, g):
        loss, mask = per_sample_loss(torch.tensor([logit]), torch.tensor([label]), "binary")
        assert loss.shape == mask.shape == (1, 1)
        assert loss.item() == approx(bce)
        assert mask.item()

    @pytest.mark.parametrize("prediction, target, se, g", REGRESSION_CASES)
    def test_squared_error(self, prediction, target, se, g):
        loss, _ = per_sample_loss(torch.tensor([prediction]), torch.tensor([target]), "regression")
        assert loss.item() == approx(se)

    @pytest.mark.parametrize("logits, label, ce, g", MULTICLASS_CASES)
    def test_multiclass_cross_entropy(self, logits, label, ce, g):
        loss, mask = per_sample_loss(torch.tensor([logits]), torch.tensor([float(label)]), "multiclass")
        assert loss.shape == (1, 1)
        assert loss.item() == approx(ce)

    def test_batch_of_binary_cases_in_one_call(self):
        logits = torch.tensor([c[0] for c in BINARY_CASES])
        labels = torch.tensor([c[1] for c in BINARY_CASES])
        loss, mask = per_sample_loss(logits, labels, "binary")
        assert loss[:, 0].tolist() == approx([c[2] for c in BINARY_CASES])
        assert mask.all()

    @pytest.mark.parametrize("task", ["binary", "regression"])
    def test_missing_labels_have_zero_loss_and_false_mask(self, task):
        input = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
        target = torch.tensor([[1.0, NAN], [NAN, 0.0]])
        loss, mask = per_sample_loss(input, target, task)
        assert mask.tolist() == [[True, False], [False, True]]
        assert loss[~mask].tolist() == [0.0, 0.0]
        assert torch.isfinite(loss).all()

    def test_multiclass_missing_label(self):
        loss, mask = per_sample_loss(torch.zeros(2, 3), torch.tensor([NAN, 2.0]), "multiclass")
        assert mask[:, 0].tolist() == [False, True]
        assert loss[:, 0].tolist() == approx([0.0, 1.098612])

    def test_missing_label_gives_finite_gradient(self):
        input = torch.tensor([0.5, 1.0], requires_grad=True)
        loss, _ = per_sample_loss(input, torch.tensor([1.0, NAN]), "binary")
        loss.sum().backward()
        assert input.grad[1].item() == 0.0
        assert input.grad[0].item() == approx(sigmoid(0.5) - 1)

    def test_classification_is_binary(self):
        a, _ = per_sample_loss(torch.tensor([1.0]), torch.tensor([0.0]), "classification")
        assert a.item() == approx(hand_bce(1.0, 0.0))

    @pytest.mark.parametrize("func", [per_sample_loss, relative_gradient_norm])
    def test_unknown_task_raises(self, func):
        with pytest.raises(ValueError, match="regression"):
            func(torch.zeros(2), torch.zeros(2), "ordinal")

    def test_shape_mismatch_raises(self):
        with pytest.raises(ValueError, match="shape"):
            per_sample_loss(torch.zeros(3, 2), torch.zeros(3, 1), "binary")

    def test_multiclass_needs_2d_logits(self):
        with pytest.raises(ValueError, match="B x C"):
            per_sample_loss(torch.zeros(3), torch.zeros(3), "multiclass")


class TestLabelMask:
    @pytest.mark.parametrize(
        "target, task, expected",
        [
            ([1.0, NAN, 0.0], "binary", [[True], [False], [True]]),
            ([[1.0, NAN], [NAN, NAN]], "regression", [[True, False], [False, False]]),
            ([2.0, NAN], "multiclass", [[True], [False]]),
        ],
    )
    def test_mask(self, target, task, expected):
        assert label_mask(torch.tensor(target), task).tolist() == expected


class TestRelativeGradientNorm:
    @pytest.mark.parametrize("logit, label, bce, g", BINARY_CASES)
    def test_binary_is_abs_p_minus_y(self, logit, label, bce, g):
        value = relative_gradient_norm(torch.tensor([logit]), torch.tensor([label]), "binary")
        assert value.item() == approx(g)

    @pytest.mark.parametrize("logit, label, bce, g", BINARY_CASES)
    def test_binary_equals_gradient_of_bce_wrt_logit(self, logit, label, bce, g):
        z = torch.tensor([logit], requires_grad=True)
        loss, _ = per_sample_loss(z, torch.tensor([label]), "binary")
        loss.sum().backward()
        assert abs(z.grad.item()) == approx(g)

    @pytest.mark.parametrize("prediction, target, se, g", REGRESSION_CASES)
    def test_regression_squashed_abs_error(self, prediction, target, se, g):
        value = relative_gradient_norm(torch.tensor([prediction]), torch.tensor([target]), "regression")
        assert value.item() == approx(g)

    @pytest.mark.parametrize("logits, label, ce, g", MULTICLASS_CASES)
    def test_multiclass_one_minus_p_true(self, logits, label, ce, g):
        value = relative_gradient_norm(torch.tensor([logits]), torch.tensor([float(label)]), "multiclass")
        assert value.item() == approx(g)

    @pytest.mark.parametrize("task", ["binary", "regression"])
    def test_in_unit_interval(self, task):
        input = torch.randn(200) * 10
        target = torch.randint(0, 2, (200,)).float() if task == "binary" else torch.randn(200) * 10
        g = relative_gradient_norm(input, target, task)
        assert (g >= 0).all() and (g <= 1).all()

    def test_missing_labels_are_zero(self):
        g = relative_gradient_norm(torch.tensor([[2.0, 2.0]]), torch.tensor([[0.0, NAN]]), "binary")
        assert g[0].tolist() == approx([0.880797, 0.0])


class TestMaskedLoss:
    @pytest.mark.parametrize(
        "task, input, target, expected",
        [
            # mean of the five binary BCEs above
            ("binary", [c[0] for c in BINARY_CASES], [c[1] for c in BINARY_CASES],
             (0.693147 + 0.126928 + 2.126928 + 0.313262 + 3.048587) / 5),
            # docstring: (1 + 0) / 2, the NaN label ignored
            ("regression", [1.0, 2.0, 0.0], [0.0, 2.0, NAN], 0.5),
            # B x T with missing labels: (1 + 0 + 4) / 3
            ("regression", [[1.0, 2.0], [3.0, 4.0]], [[0.0, NAN], [3.0, 2.0]], 5 / 3),
            ("multiclass", [[0.0, LOG2, 0.0], [0.0, LOG2, 0.0]], [1.0, 0.0], (0.693147 + 1.386294) / 2),
            ("classification", [0.0, 2.0], [1.0, NAN], 0.693147),
        ],
    )
    def test_mean_over_present_labels(self, task, input, target, expected):
        loss = MaskedLoss(task)(torch.tensor(input), torch.tensor(target))
        assert loss.dim() == 0
        assert loss.item() == approx(expected)

    def test_no_labels_gives_zero_not_nan(self):
        input = torch.tensor([1.0, 2.0], requires_grad=True)
        loss = MaskedLoss("regression")(input, torch.tensor([NAN, NAN]))
        loss.backward()
        assert loss.item() == 0.0
        assert torch.isfinite(input.grad).all()

    def test_unknown_task(self):
        with pytest.raises(ValueError):
            MaskedLoss("nope")

    def test_repr_mentions_task(self):
        assert "regression" in repr(MaskedLoss("regression"))


# --------------------------------------------------------------------------- GNBA
W1 = [1.0, -2.0, 0.5]
W2 = [0.5, 1.0, -1.5]


class TestGNBALossByHand:
    def test_one_unit_attention_literal_numbers(self):
        # W1 = W2 = 1, logits [0, 2], labels [1, 1]:
        # g = [0.5, 0.119203], scores tanh(g) = [0.462117, 0.118642]
        # a = softmax = [0.585035, 0.414965]
        # L = 0.585035 * 0.693147 + 0.414965 * 0.126928 = 0.458186
        criterion = GNBALoss("binary", attention_dim=1)
        set_attention_weights(criterion, [1.0], [1.0])
        out = criterion.forward_details(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 1.0]))
        assert out.gradient_norm[:, 0].tolist() == approx([0.5, 0.119203])
        assert out.attention[:, 0].tolist() == approx([0.585035, 0.414965])
        assert out.loss.item() == approx(0.458186)
        # normalised entropy of [0.585, 0.415]: H / log 2
        assert out.attention_entropy().tolist() == approx([0.979034])

    @pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
    @pytest.mark.parametrize("task, cases", [("binary", BINARY_CASES), ("regression", REGRESSION_CASES)])
    def test_attention_and_loss_equal_hand_formula(self, task, cases, temperature):
        criterion = GNBALoss(task, attention_dim=3, temperature=temperature)
        set_attention_weights(criterion, W1, W2)
        input = torch.tensor([c[0] for c in cases])
        target = torch.tensor([c[1] for c in cases])
        losses, g = [c[2] for c in cases], [c[3] for c in cases]
        expected_attention = hand_attention(g, W1, W2, temperature)
        out = criterion.forward_details(input, target)
        assert isinstance(out, GNBAOutput)
        assert out.attention.shape == (len(cases), 1)
        assert out.attention[:, 0].tolist() == approx(expected_attention, rel=1e-4)
        assert out.per_sample_loss[:, 0].tolist() == approx(losses, rel=1e-4)
        expected_loss = sum(a * l for a, l in zip(expected_attention, losses))
        assert out.loss.item() == approx(expected_loss, rel=1e-4)
        assert criterion(input, target).item() == approx(expected_loss, rel=1e-4)

    def test_multiclass_by_hand(self):
        criterion = GNBALoss("multiclass", attention_dim=3)
        set_attention_weights(criterion, W1, W2)
        input = torch.tensor([c[0] for c in MULTICLASS_CASES])
        target = torch.tensor([float(c[1]) for c in MULTICLASS_CASES])
        attention = hand_attention([c[3] for c in MULTICLASS_CASES], W1, W2)
        out = criterion.forward_details(input, target)
        assert out.attention[:, 0].tolist() == approx(attention, rel=1e-4)
        assert out.loss.item() == approx(sum(a * c[2] for a, c in zip(attention, MULTICLASS_CASES)), rel=1e-4)

    def test_infinite_temperature_is_uniform(self):
        criterion = GNBALoss("binary", temperature=float("inf"))
        input = torch.tensor([c[0] for c in BINARY_CASES])
        target = torch.tensor([c[1] for c in BINARY_CASES])
        out = criterion.forward_details(input, target)
        assert out.attention[:, 0].tolist() == approx([0.2] * 5)
        assert out.loss.item() == approx(MaskedLoss("binary")(input, target).item())

    def test_higher_temperature_flattens_attention(self):
        input = torch.tensor([c[0] for c in BINARY_CASES])
        target = torch.tensor([c[1] for c in BINARY_CASES])
        entropies = []
        for temperature in [0.2, 1.0, 5.0]:
            criterion = GNBALoss("binary", attention_dim=3, temperature=temperature)
            set_attention_weights(criterion, W1, [5 * w for w in W2])
            entropies.append(criterion.forward_details(input, target).attention_entropy().item())
        assert entropies[0] < entropies[1] < entropies[2]

    @pytest.mark.parametrize("entropy_weight", [0.5, 2.0])
    def test_entropy_guard_adds_lambda_times_entropy_deficit(self, entropy_weight):
        criterion = GNBALoss("binary", attention_dim=3, entropy_weight=entropy_weight)
        set_attention_weights(criterion, W1, W2)
        input = torch.tensor([c[0] for c in BINARY_CASES])
        target = torch.tensor([c[1] for c in BINARY_CASES])
        a = hand_attention([c[3] for c in BINARY_CASES], W1, W2)
        weighted = sum(ai * c[2] for ai, c in zip(a, BINARY_CASES))
        normalised_entropy = -sum(ai * math.log(ai) for ai in a) / math.log(len(a))
        out = criterion.forward_details(input, target)
        assert out.attention_entropy().item() == approx(normalised_entropy, rel=1e-4)
        expected = weighted + entropy_weight * (1 - normalised_entropy)
        assert out.loss.item() == approx(expected, rel=1e-4)

    def test_entropy_guard_is_zero_for_uniform_attention(self):
        criterion = GNBALoss("binary", entropy_weight=3.0)
        set_attention_weights(criterion, [0.0] * 16, [0.0] * 16)
        input, target = torch.tensor([0.0, 2.0, -1.0]), torch.tensor([1.0, 0.0, 0.0])
        assert criterion(input, target).item() == approx(MaskedLoss("binary")(input, target).item())


class TestGNBALossMasking:
    @pytest.fixture
    def batch(self):
        input = torch.tensor(
            [[0.5, -1.0, 0.3], [2.0, 0.0, -0.2], [-1.5, 1.0, 0.1], [0.0, 3.0, 0.9], [1.0, -2.0, 0.0]]
        )
        target = torch.tensor(
            [[1.0, NAN, NAN], [0.0, 1.0, NAN], [NAN, 1.0, NAN], [1.0, 0.0, NAN], [NAN, NAN, NAN]]
        )
        return input, target

    @pytest.mark.parametrize("entropy_weight", [0.0, 1.0])
    @pytest.mark.parametrize("detach", [True, False])
    def test_missing_labels_and_empty_task(self, batch, entropy_weight, detach):
        input, target = batch
        input = input.clone().requires_grad_(True)
        criterion = GNBALoss("binary", attention_dim=3, entropy_weight=entropy_weight,
                             detach_gradient_norm=detach)
        set_attention_weights(criterion, W1, W2)
        out = criterion.forward_details(input, target)
        mask = ~torch.isnan(target)
        assert torch.equal(out.mask, mask)
        assert (out.attention[~mask] == 0).all()
        assert out.attention[:, 0].sum().item() == approx(1.0)
        assert out.attention[:, 1].sum().item() == approx(1.0)
        assert out.attention[:, 2].tolist() == [0.0] * 5  # task without any label
        assert torch.isfinite(out.attention).all() and torch.isfinite(out.loss)
        # each labelled task's softmax runs over its own labelled samples only
        for task in (0, 1):
            rows = mask[:, task].nonzero().flatten().tolist()
            g = [relative_gradient_norm(input[r, task].detach().reshape(1), target[r, task].reshape(1),
                                        "binary").item() for r in rows]
            assert out.attention[rows, task].tolist() == approx(hand_attention(g, W1, W2), rel=1e-4)
        # loss: mean over the two tasks that have labels; the empty task adds nothing
        task_losses = (out.attention * out.per_sample_loss).sum(0)
        expected = task_losses[:2].mean().item()
        if entropy_weight:
            expected += entropy_weight * (1 - out.attention_entropy()[:2].mean().item())
        assert out.loss.item() == approx(expected, rel=1e-4)
        out.loss.backward()
        for parameter in criterion.parameters():
            assert torch.isfinite(parameter.grad).all()
        assert torch.isfinite(input.grad).all()
        assert (input.grad[~mask] == 0).all()

    def test_batch_without_any_label(self):
        criterion = GNBALoss("regression")
        input = torch.randn(4, 2, requires_grad=True)
        loss = criterion(input, torch.full((4, 2), NAN))
        loss.backward()
        assert loss.item() == 0.0
        assert torch.isfinite(input.grad).all()

    def test_single_labelled_sample_gets_all_weight(self):
        criterion = GNBALoss("binary", entropy_weight=1.0)
        out = criterion.forward_details(torch.tensor([1.0, 2.0]), torch.tensor([NAN, 1.0]))
        assert out.attention[:, 0].tolist() == [0.0, 1.0]
        assert out.loss.item() == approx(hand_bce(2.0, 1.0))

    def test_docstring_example(self):
        torch.manual_seed(0)
        criterion = GNBALoss("binary", attention_dim=8)
        out = criterion.forward_details(torch.tensor([2.0, -1.0, 0.5, 0.0]), torch.tensor([1.0, 0.0, 0.0, NAN]))
        assert out.attention[:, 0].sum().item() == approx(1.0)
        assert out.attention[3, 0].item() == 0.0


class TestGNBALossGradients:
    def test_gradients_reach_attention_weights(self):
        criterion = GNBALoss("binary", attention_dim=4)
        for layer in (criterion.attention[0], criterion.attention[2]):
            assert layer.weight.requires_grad
            assert layer.bias is None
        input = torch.tensor([c[0] for c in BINARY_CASES])
        target = torch.tensor([c[1] for c in BINARY_CASES])
        criterion(input, target).backward()
        assert criterion.attention[0].weight.grad.abs().sum() > 0
        assert criterion.attention[2].weight.grad.abs().sum() > 0

    def test_parameters_are_exactly_w1_and_w2(self):
        criterion = GNBALoss("binary", attention_dim=5)
        shapes = sorted(tuple(p.shape) for p in criterion.parameters())
        assert shapes == [(1, 5), (5, 1)]

    @pytest.mark.parametrize("task", ["binary", "regression"])
    def test_gradient_reaches_model_input(self, task):
        model = nn.Linear(4, 1)
        features = torch.randn(8, 4, requires_grad=True)
        target = torch.randint(0, 2, (8,)).float() if task == "binary" else torch.randn(8)
        GNBALoss(task)(model(features).squeeze(1), target).backward()
        assert features.grad is not None and features.grad.abs().sum() > 0
        assert model.weight.grad.abs().sum() > 0

    @pytest.mark.parametrize("task", ["binary", "regression"])
    def test_detached_gradient_norm_treats_attention_as_constant(self, task):
        criterion = GNBALoss(task, attention_dim=3, detach_gradient_norm=True)
        set_attention_weights(criterion, W1, [3 * w for w in W2])
        target = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0]) if task == "binary" else torch.randn(5)
        x = torch.tensor([0.3, -1.2, 2.0, 0.7, -0.4], requires_grad=True)
        out = criterion.forward_details(x, target)
        out.loss.backward()
        # expected: d/dx sum_i a_i l_i with a held fixed
        x2 = x.detach().clone().requires_grad_(True)
        losses, _ = per_sample_loss(x2, target, task)
        (out.attention * losses).sum().backward()
        torch.testing.assert_close(x.grad, x2.grad)

    @pytest.mark.parametrize("task", ["binary", "regression"])
    def test_undetached_gradient_norm_adds_a_term(self, task):
        criterion = GNBALoss(task, attention_dim=3, detach_gradient_norm=False)
        set_attention_weights(criterion, W1, [3 * w for w in W2])
        target = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0]) if task == "binary" else torch.randn(5)
        x = torch.tensor([0.3, -1.2, 2.0, 0.7, -0.4], requires_grad=True)
        out = criterion.forward_details(x, target)
        out.loss.backward()
        x2 = x.detach().clone().requires_grad_(True)
        losses, _ = per_sample_loss(x2, target, task)
        (out.attention * losses).sum().backward()
        assert not torch.allclose(x.grad, x2.grad, atol=1e-4)
        # the loss value itself is the same either way
        detached = GNBALoss(task, attention_dim=3)
        detached.load_state_dict(criterion.state_dict())
        assert detached(x, target).item() == approx(out.loss.item())

    def test_output_tensors_detached_except_loss(self):
        x = torch.randn(6, requires_grad=True)
        out = GNBALoss("binary").forward_details(x, torch.randint(0, 2, (6,)).float())
        assert out.loss.requires_grad
        for tensor in (out.per_sample_loss, out.gradient_norm, out.attention):
            assert not tensor.requires_grad

    def test_trains_an_arbitrary_torch_model(self):
        features = torch.randn(128, 6)
        true_weight = torch.randn(6)
        labels = (features @ true_weight > 0).float()
        model = nn.Linear(6, 1)
        # the guard keeps W1/W2 from collapsing onto the easy samples (see TestCollapseGuard);
        # with entropy_weight=0 this model stalls at ~0.68 accuracy on separable data
        criterion = GNBALoss("binary", attention_dim=8, entropy_weight=2.0)
        w1_before = criterion.attention[0].weight.detach().clone()
        optimizer = torch.optim.Adam(list(model.parameters()) + list(criterion.parameters()), lr=0.05)
        plain = MaskedLoss("binary")
        with torch.no_grad():
            start = plain(model(features).squeeze(1), labels).item()
        for _ in range(200):
            optimizer.zero_grad()
            loss = criterion(model(features).squeeze(1), labels)
            assert torch.isfinite(loss)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            logits = model(features).squeeze(1)
            end = plain(logits, labels).item()
            accuracy = ((logits > 0).float() == labels).float().mean().item()
        assert end < start
        assert accuracy > 0.9
        assert not torch.equal(criterion.attention[0].weight, w1_before)


class TestGNBALossArguments:
    @pytest.mark.parametrize(
        "kwargs, word",
        [
            ({"attention_dim": 0}, "attention_dim"),
            ({"attention_dim": -3}, "attention_dim"),
            ({"attention_dim": 2.5}, "attention_dim"),
            ({"temperature": 0.0}, "temperature"),
            ({"temperature": -1.0}, "temperature"),
            ({"temperature": NAN}, "temperature"),
            ({"entropy_weight": -0.1}, "entropy_weight"),
            ({"entropy_weight": NAN}, "entropy_weight"),
            ({"task": "ordinal"}, "task"),
        ],
    )
    def test_invalid_arguments_raise_value_error(self, kwargs, word):
        with pytest.raises(ValueError, match=word):
            GNBALoss(**kwargs)

    def test_classification_alias(self):
        assert GNBALoss("classification").task == "binary"

    def test_repr_lists_settings(self):
        text = repr(GNBALoss("regression", attention_dim=4, temperature=2.0, entropy_weight=0.5))
        for word in ("regression", "attention_dim=4", "temperature=2.0", "entropy_weight=0.5"):
            assert word in text


# --------------------------------------------------------------------------- collapse
def train_attention_only(steps=3000, last=300, seed=0, **loss_kwargs):
    """Train only W1, W2 on random logits and labels.

    Returns the mean normalised attention entropy and the mean Spearman
    correlation between gradient norm and attention over the last steps.
    """
    from scipy.stats import spearmanr

    torch.manual_seed(seed)
    criterion = GNBALoss("binary", attention_dim=16, **loss_kwargs)
    optimizer = torch.optim.Adam(criterion.parameters(), lr=1e-3)
    entropy = correlation = 0.0
    for step in range(steps):
        logits = torch.randn(32) * 2
        labels = torch.randint(0, 2, (32,)).float()
        out = criterion.forward_details(logits, labels)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        if step >= steps - last:
            entropy += out.attention_entropy().item()
            correlation += spearmanr(out.gradient_norm[:, 0], out.attention[:, 0]).statistic
    return entropy / last, correlation / last


def mean_late_entropy(entropy_weight, seed=0, steps=3000, last=300):
    """Mean normalised entropy at the end of :func:`train_attention_only`."""
    return train_attention_only(steps, last, seed, entropy_weight=entropy_weight)[0]


class TestCollapseGuard:
    """W1/W2 minimise the loss they weight, so they learn to favour easy samples.

    Measured over seeds 0-9 (3000 steps, last 300 averaged): the paper's
    formulation ends at 0.45-0.48 normalised entropy, entropy_weight=2 at
    0.866-0.873. Untrained weights give ~1.
    """

    @pytest.mark.slow  # trains the attention for many steps
    def test_paper_formulation_collapses_and_entropy_guard_prevents_it(self, single_thread):
        paper = mean_late_entropy(entropy_weight=0.0)
        guarded = mean_late_entropy(entropy_weight=2.0)
        assert paper < 0.6
        assert guarded > 0.83
        assert guarded - paper > 0.25

    def test_attention_starts_near_uniform(self):
        criterion = GNBALoss("binary", attention_dim=16)
        out = criterion.forward_details(torch.randn(32) * 2, torch.randint(0, 2, (32,)).float())
        assert out.attention_entropy().item() > 0.95


class TestAdversarialAttention:
    """The attention ascends the loss the network descends: weight goes to hard samples."""

    @pytest.mark.slow
    def test_plain_attention_favours_easy_samples_and_adversarial_hard_ones(self, single_thread):
        _, plain = train_attention_only(steps=1000, last=200)
        _, adversarial = train_attention_only(steps=1000, last=200, adversarial=True)
        assert plain < -0.9
        assert adversarial > 0.9

    @pytest.mark.slow
    def test_entropy_weight_bounds_the_adversary(self, single_thread):
        loose, _ = train_attention_only(steps=1000, last=200, adversarial=True)
        bounded, correlation = train_attention_only(steps=1000, last=200, adversarial=True, entropy_weight=5.0)
        assert bounded > 0.85 > loose
        assert correlation > 0.9

    def test_network_gradient_is_that_of_the_weighted_loss(self):
        logits = torch.tensor([2.0, -1.0, 0.5, -0.3], requires_grad=True)
        labels = torch.tensor([1.0, 1.0, 0.0, 0.0])
        criterion = GNBALoss("binary", attention_dim=4, adversarial=True)
        out = criterion.forward_details(logits, labels)
        out.loss.backward()
        expected = out.attention[:, 0] * (torch.sigmoid(logits.detach()) - labels)
        torch.testing.assert_close(logits.grad, expected)

    def test_needs_a_detached_gradient_norm(self):
        with pytest.raises(ValueError, match="detach_gradient_norm"):
            GNBALoss(adversarial=True, detach_gradient_norm=False)


# --------------------------------------------------------------------------- baselines
class TestFocalLoss:
    def test_gamma_zero_is_the_cross_entropy(self):
        logits = torch.tensor([c[0] for c in BINARY_CASES])
        labels = torch.tensor([c[1] for c in BINARY_CASES])
        expected = sum(c[2] for c in BINARY_CASES) / len(BINARY_CASES)
        assert FocalLoss("binary", gamma=0.0)(logits, labels).item() == approx(expected)
        multi = torch.tensor([c[0] for c in MULTICLASS_CASES])
        classes = torch.tensor([float(c[1]) for c in MULTICLASS_CASES])
        expected = sum(c[2] for c in MULTICLASS_CASES) / len(MULTICLASS_CASES)
        assert FocalLoss("multiclass", gamma=0.0)(multi, classes).item() == approx(expected)

    def test_down_weights_the_samples_already_right(self):
        # logit 2, label 1: p_t = 0.880797, weight 0.119203^2; logit -3, label 1: p_t = 0.047426.
        loss = FocalLoss("binary", gamma=2.0)(torch.tensor([2.0, -3.0]), torch.tensor([1.0, 1.0]))
        easy, hard = 0.119203**2 * 0.126928, 0.952574**2 * 3.048587
        assert loss.item() == approx((easy + hard) / 2)

    def test_alpha_weights_the_classes(self):
        loss = FocalLoss("binary", gamma=0.0, alpha=0.25)(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0]))
        assert loss.item() == approx((0.25 + 0.75) * LOG2 / 2)

    def test_missing_labels_are_left_out(self):
        focal = FocalLoss("binary")
        with_missing = focal(torch.tensor([[2.0, 5.0], [-3.0, 1.0]]), torch.tensor([[1.0, NAN], [1.0, NAN]]))
        assert with_missing.item() == approx(focal(torch.tensor([2.0, -3.0]), torch.tensor([1.0, 1.0])).item())

    @pytest.mark.parametrize("kwargs, match", [({"task": "regression"}, "classification"),
                                               ({"gamma": -1.0}, "gamma"), ({"alpha": 1.0}, "alpha")])
    def test_refuses_what_it_cannot_do(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            FocalLoss(**kwargs)


class TestGHMLoss:
    def test_defaults_are_the_authors_settings_for_the_task(self):
        assert (GHMLoss("binary").bins, GHMLoss("binary").momentum) == (30, 0.75)
        assert (GHMLoss("multiclass").bins, GHMLoss("multiclass").momentum) == (30, 0.75)
        assert (GHMLoss("regression").bins, GHMLoss("regression").momentum) == (10, 0.7)
        chosen = GHMLoss("binary", bins=10, momentum=0.0)
        assert (chosen.bins, chosen.momentum) == (10, 0.0)

    def test_one_bin_is_the_unweighted_loss(self):
        logits = torch.tensor([c[0] for c in BINARY_CASES])
        labels = torch.tensor([c[1] for c in BINARY_CASES])
        expected = sum(c[2] for c in BINARY_CASES) / len(BINARY_CASES)
        assert GHMLoss("binary", bins=1, momentum=0.0)(logits, labels).item() == approx(expected)

    def test_each_occupied_bin_carries_an_equal_share(self):
        # Three easy samples (g = 0.018, bin 0) and one hard (g = 0.953, bin 9): weights 4 / (3 * 2)
        # and 4 / (1 * 2), so the three easy ones together weigh as much as the hard one.
        logits, labels = torch.tensor([4.0, 4.0, 4.0, -3.0]), torch.tensor([1.0, 1.0, 1.0, 1.0])
        loss = GHMLoss("binary", bins=10, momentum=0.0)(logits, labels)
        assert loss.item() == approx(0.5 * hand_bce(4.0, 1.0) + 0.5 * 3.048587)

    def test_missing_labels_count_in_no_bin(self):
        ghm = GHMLoss("binary", bins=10, momentum=0.0)
        logits, labels = torch.tensor([4.0, 4.0, -3.0]), torch.tensor([1.0, 1.0, 1.0])
        with_missing = ghm(torch.tensor([4.0, 4.0, -3.0, 4.0]), torch.tensor([1.0, 1.0, 1.0, NAN]))
        assert with_missing.item() == approx(ghm(logits, labels).item())

    def test_density_is_smoothed_across_training_batches_only(self):
        ghm = GHMLoss("binary", bins=10, momentum=0.5)
        ghm(torch.tensor([4.0, 4.0, -3.0]), torch.tensor([1.0, 1.0, 1.0]))  # first batch sets it
        assert ghm.density[[0, 9]].tolist() == [2.0, 1.0]
        ghm(torch.tensor([4.0, -3.0, -3.0, -3.0]), torch.tensor([1.0, 1.0, 1.0, 1.0]))
        assert ghm.density[[0, 9]].tolist() == [1.5, 2.0]  # 0.5 * old + 0.5 * this batch
        ghm.eval()
        evaluated = ghm(torch.tensor([4.0, -3.0]), torch.tensor([1.0, 1.0]))
        assert ghm.density[[0, 9]].tolist() == [1.5, 2.0]
        assert evaluated.item() == approx(0.5 * hand_bce(4.0, 1.0) + 0.5 * 3.048587)  # this batch's counts

    def test_regression_weights_the_smooth_l1_loss(self):
        # mu = 0.5: sqrt(1 + 0.25) - 0.5 = 0.618034, sqrt(4 + 0.25) - 0.5 = 1.561553.
        loss = GHMLoss("regression", bins=1, momentum=0.0, mu=0.5)(torch.tensor([1.0, -2.0]), torch.tensor([0.0, 0.0]))
        assert loss.item() == approx((0.618034 + 1.561553) / 2)

    def test_weights_are_constants_of_the_gradient(self):
        logits = torch.tensor([4.0, 4.0, 4.0, -3.0], requires_grad=True)
        labels = torch.ones(4)
        GHMLoss("binary", bins=10, momentum=0.0)(logits, labels).backward()
        # d(beta_i l_i / N)/dz_i = beta_i (p_i - y_i) / N with beta = 2/3 (easy) and 2 (hard).
        expected = torch.tensor([2 / 3, 2 / 3, 2 / 3, 2.0]) * (torch.sigmoid(logits.detach()) - labels) / 4
        torch.testing.assert_close(logits.grad, expected)

    @pytest.mark.parametrize("kwargs, match", [({"bins": 0}, "bins"), ({"bins": True}, "bins"),
                                               ({"momentum": 1.0}, "momentum"), ({"mu": 0.0}, "mu")])
    def test_refuses_bad_settings(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            GHMLoss("binary", **kwargs)
