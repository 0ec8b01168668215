"""The registry of loss variants: names, defaults stated by each variant, errors that help."""

from __future__ import annotations

import pytest
import torch

import molgnba.losses._registry as registry
from molgnba.losses import (
    FocalLoss,
    GHMLoss,
    GNBAGuardedLoss,
    GNBAHardLoss,
    GNBAPaperLoss,
    MaskedLoss,
    get_loss_class,
    list_losses,
    make_loss,
    register_loss,
)


@pytest.fixture
def clean_registry(monkeypatch):
    """Registrations made by a test are undone after it."""
    monkeypatch.setattr(registry, "_LOSSES", dict(registry._LOSSES))


@pytest.mark.parametrize("name, cls", [
    ("plain", MaskedLoss), ("focal", FocalLoss), ("ghm", GHMLoss),
    ("gnba-paper", GNBAPaperLoss), ("gnba-guarded", GNBAGuardedLoss), ("gnba-hard", GNBAHardLoss),
])
def test_names_resolve_to_their_classes(name, cls):
    assert get_loss_class(name) is cls and cls.name == name
    assert type(make_loss(name, "binary")) is cls


@pytest.mark.parametrize("name, entropy_weight, adversarial", [
    ("gnba-paper", 0.0, False), ("gnba-guarded", 1.0, False), ("gnba-hard", 5.0, True),
])
def test_each_attentive_variant_states_its_settings(name, entropy_weight, adversarial):
    loss = make_loss(name, "regression")
    assert (loss.entropy_weight, loss.adversarial, loss.detach_gradient_norm) == (entropy_weight, adversarial, True)
    assert (loss.attention_dim, loss.temperature) == (16, 1.0)


def test_variants_fix_what_defines_them():
    with pytest.raises(ValueError, match="takes no parameter 'entropy_weight'"):
        make_loss("gnba-paper", "binary", entropy_weight=1.0)
    with pytest.raises(ValueError, match="takes no parameter 'adversarial'"):
        make_loss("gnba-guarded", "binary", adversarial=True)
    with pytest.raises(ValueError, match="takes no parameter 'detach_gradient_norm'"):
        make_loss("gnba-hard", "binary", detach_gradient_norm=False)
    assert make_loss("gnba-hard", "binary", entropy_weight=2.0).entropy_weight == 2.0


@pytest.mark.parametrize("typo, suggestion", [("gnba-hrad", "gnba-hard"), ("plian", "plain"), ("focall", "focal")])
def test_unknown_name_lists_the_valid_ones_and_suggests(typo, suggestion):
    with pytest.raises(ValueError, match=rf"unknown loss '{typo}'; valid names are \[.*'gnba-paper'.*\]; "
                                         rf"did you mean '{suggestion}'\?"):
        make_loss(typo, "binary")


def test_unknown_name_without_a_close_match_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"valid names are \[[^\]]*'plain'[^\]]*\]$"):
        get_loss_class("xyz")


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match="string"):
        get_loss_class(MaskedLoss)


def test_misspelt_parameter_suggests_the_right_one():
    with pytest.raises(ValueError, match=r"'ghm' \(GHMLoss\) takes no parameter 'bin'.*did you mean 'bins'\?"):
        make_loss("ghm", "binary", bin=10)


def test_task_the_loss_is_not_defined_for():
    with pytest.raises(ValueError, match="classification"):
        make_loss("focal", "regression")


def test_bad_value_is_the_class_error():
    with pytest.raises(ValueError, match="gamma must be non-negative"):
        make_loss("focal", "binary", gamma=-1)


def test_register_a_loss_of_ones_own(clean_registry):
    @register_loss
    class HalfLoss(MaskedLoss):
        name = "half"

        def forward_details(self, input, target, sample_weight=None):
            details = super().forward_details(input, target, sample_weight)
            details.loss = details.loss / 2
            return details

    assert "half" in list_losses() and get_loss_class("half") is HalfLoss
    assert make_loss("half", "regression")(torch.tensor([2.0]), torch.tensor([0.0])).item() == 2.0


def test_register_refuses_what_is_not_a_loss(clean_registry):
    with pytest.raises(TypeError, match="MolecularLoss subclass"):
        register_loss(torch.nn.MSELoss)

    class Nameless(MaskedLoss):
        pass

    Nameless.name = None
    with pytest.raises(ValueError, match="class attribute 'name'"):
        register_loss(Nameless)


def test_a_subclass_does_not_inherit_its_parents_registration(clean_registry):
    class Unnamed(MaskedLoss):
        """Inherits name = "plain" but must say its own."""

    with pytest.raises(ValueError, match="Unnamed needs a class attribute 'name'"):
        register_loss(Unnamed)
    assert get_loss_class("plain") is MaskedLoss
