"""The training recipe: learning-rate schedule, early stopping with it, dropout, the head."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch

from molgnba import GNNClassifier, GNNRegressor
from molgnba.callbacks import LR_SCHEDULES, NoamLRSchedule, noam_lr_factor
from molgnba.featurize import HuFeaturizer, featurize_smiles
from molgnba.nn import BACKBONES, MolecularGNN

SMILES = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"] * 2
Y = [float(k) for k in range(16)]
TINY = {"num_layers": 1, "hidden_dim": 8, "random_state": 0, "descriptors": None}  # descriptors: 25 ms a molecule

pytestmark = pytest.mark.usefixtures("single_thread")


def batch_of(smiles, featurizer="hu2019"):
    graphs, invalid = featurize_smiles(smiles, featurizer, cache=None)
    assert not invalid
    return Batch.from_data_list(graphs)


class TestNoamFactor:
    @pytest.mark.parametrize("step, expected", [
        (0, 0.1), (1, 0.55), (2, 1.0),  # linear: 0.1 + 0.9 * step / 2
        (3, 0.1 ** 0.25), (4, 0.1 ** 0.5), (5, 0.1 ** 0.75),  # 0.1 ** ((step - 2) / 4)
        (6, 0.1), (7, 0.1),  # the end, and beyond it
    ])
    def test_warmup_then_exponential_decay(self, step, expected):
        assert noam_lr_factor(step, warmup_steps=2, total_steps=6) == pytest.approx(expected, rel=1e-12)

    def test_matches_chemprops_lambda(self):
        # chemprop.schedulers.build_NoamLike_LRSched, written out with its own variable names.
        init_lr, max_lr, final_lr, warmup_steps, total_steps = 1e-4, 1e-3, 1e-4, 30, 300
        cooldown_steps = total_steps - warmup_steps

        def chemprop_lr(step):
            if step < warmup_steps:
                return init_lr * (step * (max_lr - init_lr) / warmup_steps / init_lr + 1)
            if step < warmup_steps + cooldown_steps:
                return max_lr * ((final_lr / max_lr) ** (1 / cooldown_steps)) ** (step - warmup_steps)
            return final_lr

        ours = [max_lr * noam_lr_factor(step, warmup_steps, total_steps) for step in range(total_steps + 5)]
        assert ours == pytest.approx([chemprop_lr(step) for step in range(total_steps + 5)], rel=1e-9)

    def test_no_warmup_starts_at_the_peak_and_other_factors(self):
        assert noam_lr_factor(0, 0, 10) == 1.0
        assert noam_lr_factor(5, 0, 10, final_factor=0.01) == pytest.approx(0.1)
        assert noam_lr_factor(0, 4, 10, initial_factor=0.5) == 0.5
        assert noam_lr_factor(2, 4, 10, initial_factor=0.5) == pytest.approx(0.75)


class TestScheduleInTheEstimators:
    def test_rates_per_training_batch_follow_the_formula(self):
        # 14 training molecules after the validation split, batches of 5: 3 steps an epoch,
        # warm-up over 1 epoch (3 steps), 4 epochs (12 steps).
        reg = GNNRegressor(**TINY, max_epochs=4, batch_size=5, lr=1e-2, lr_schedule="noam",
                           warmup_epochs=1, validation_fraction=0.125).fit(SMILES, Y)
        rates = [lr for epoch in reg.history[:, "batches", :, "lr"] for lr in epoch]
        expected = [1e-2 * (0.1 + 0.9 * step / 3) for step in range(3)]
        expected += [1e-2 * 0.1 ** ((step - 3) / 9) for step in range(3, 12)]
        assert rates == pytest.approx(expected, rel=1e-12)
        # Validation batches are not training steps: one rate per training batch only.
        assert all(len(epoch["batches"]) == 4 for epoch in reg.history)  # 3 training + 1 validation
        assert [len(epoch) for epoch in reg.history[:, "batches", :, "lr"]] == [3, 3, 3, 3]

    def test_every_parameter_group_follows_the_schedule(self):
        # The GNBA attention trains in its own group; it is scheduled like the network.
        reg = GNNRegressor(**TINY, max_epochs=2, batch_size=8, lr=1e-2, lr_schedule="noam",
                           validation_fraction=None, attentive_loss=True).fit(SMILES, Y)
        groups = reg.optimizer_.param_groups
        assert len(groups) == 2
        last = reg.history[-1, "batches", -1, "lr"]
        assert [group["lr"] for group in groups] == [last, last]
        assert [group["initial_lr"] for group in groups] == [1e-2, 1e-2]
        # 2 steps an epoch, 2 epochs (4 steps) of warm-up, the default: all of this fit is warm-up.
        rates = [lr for epoch in reg.history[:, "batches", :, "lr"] for lr in epoch]
        assert rates == pytest.approx([1e-3, 3.25e-3, 5.5e-3, 7.75e-3], rel=1e-12)

    def test_constant_schedule_installs_no_callback_and_keeps_lr(self):
        reg = GNNClassifier(**TINY, max_epochs=1, lr=3e-3, lr_schedule="constant").fit(SMILES, [0, 1] * 8)
        assert "lr_schedule" not in dict(reg.callbacks_)
        assert LR_SCHEDULES["constant"] is None
        assert all(group["lr"] == 3e-3 for group in reg.optimizer_.param_groups)

    def test_partial_fit_restarts_the_schedule_from_the_same_peak(self):
        reg = GNNRegressor(**TINY, max_epochs=2, batch_size=16, lr=1e-2, lr_schedule="noam", warmup_epochs=1,
                           validation_fraction=None)
        reg.fit(SMILES, Y).partial_fit(SMILES, Y)
        rates = [epoch[0] for epoch in reg.history[:, "batches", :, "lr"]]
        assert rates == pytest.approx([1e-3, 1e-2, 1e-3, 1e-2])

    def test_early_stopping_works_with_the_schedule(self):
        # A rate too small to move float32 weights cannot improve the validation score, which stops
        # training after `patience` epochs; the rates of the epochs run are those of the full
        # max_epochs schedule. The D-MPNN has no batch normalization, whose running statistics
        # would change the validation predictions whatever the rate.
        reg = GNNRegressor(**TINY, backbone="dmpnn", max_epochs=20, batch_size=16, lr=1e-9, lr_schedule="noam",
                           warmup_epochs=2, patience=2, validation_fraction=0.25).fit(SMILES, Y)
        assert reg.stopped_early_
        n_epochs = len(reg.history_)
        assert n_epochs < 20
        assert reg.best_epoch_ <= n_epochs - 2
        rates = [epoch[0] for epoch in reg.history[:, "batches", :, "lr"]]
        expected = [1e-9 * noam_lr_factor(step, 2, 20) for step in range(n_epochs)]
        assert rates == pytest.approx(expected, rel=1e-12)

    def test_schedule_callback_parameters_are_settable(self):
        reg = GNNRegressor(**TINY, max_epochs=2, batch_size=16, lr=1e-2, lr_schedule="noam",
                           validation_fraction=None, callbacks__lr_schedule__final_factor=0.5,
                           warmup_epochs=0).fit(SMILES, Y)
        assert isinstance(dict(reg.callbacks_)["lr_schedule"], NoamLRSchedule)
        assert [epoch[0] for epoch in reg.history[:, "batches", :, "lr"]] == pytest.approx([1e-2, 1e-2 * 0.5 ** 0.5])

    @pytest.mark.parametrize("params, message", [
        ({"lr_schedule": "cosine"}, "'constant'"),
        ({"warmup_epochs": -1}, "warmup_epochs"),
        ({"head_hidden_dim": 0}, "head_hidden_dim"),
        ({"descriptors": "morgan"}, "rdkit2d"),
        ({"module__head_hidden_dim": 4}, "top-level"),
    ])
    def test_bad_values_are_refused_at_fit_naming_the_parameter(self, params, message):
        with pytest.raises(ValueError, match=message):
            GNNRegressor(**{**TINY, "max_epochs": 1, **params}).fit(SMILES, Y)


class TestDropout:
    @pytest.mark.parametrize("backbone", sorted(BACKBONES))
    def test_dropout_reaches_every_backbone(self, backbone):
        reg = GNNRegressor(backbone=backbone, num_layers=2, hidden_dim=16, dropout=0.5, max_epochs=1,
                           random_state=0).fit(SMILES, Y)
        model = reg.module_.train()
        batch = batch_of(["CCO", "c1ccccc1O", "CC(=O)N"], reg.featurizer)
        # The embedding (before the head's dropout) is random in training, fixed in evaluation.
        assert not torch.equal(model.embed(batch), model.embed(batch))
        model.eval()
        assert torch.equal(model.embed(batch), model.embed(batch))

    def test_head_dropout_only_in_training(self):
        model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims, num_layers=1,
                             hidden_dim=8, dropout=0.5, head_hidden_dim=32)
        assert [type(layer) for layer in model.head] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
        assert model.head[2].p == 0.5


class TestHead:
    def test_default_head_is_the_papers_single_linear_layer(self):
        model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims, n_outputs=3,
                             num_layers=2, hidden_dim=8)
        assert type(model.head) is nn.Linear
        assert (model.head.in_features, model.head.out_features) == (24, 3)
        assert {name for name in model.state_dict() if name.startswith("head")} == {"head.weight", "head.bias"}
        batch = batch_of(["CCO", "CCN"])
        model.eval()
        assert torch.equal(model(batch), model.head(model.embed(batch)))

    def test_head_none_builds_the_same_weights_as_before(self):
        # Same seed, same weights, whether head_hidden_dim=None is given or left out.
        torch.manual_seed(0)
        before = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims, num_layers=2,
                              hidden_dim=8)
        torch.manual_seed(0)
        now = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims, num_layers=2,
                           hidden_dim=8, head_hidden_dim=None, descriptor_dim=0)
        assert all(torch.equal(a, b) for a, b in zip(before.state_dict().values(), now.state_dict().values()))

    @pytest.mark.parametrize("backbone", sorted(BACKBONES))
    @pytest.mark.parametrize("n_outputs", [1, 3])
    def test_hidden_layer_sizes(self, backbone, n_outputs):
        model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims, n_outputs=n_outputs,
                             backbone=backbone, num_layers=2, hidden_dim=8, head_hidden_dim=32)
        first, last = model.head[0], model.head[3]
        assert (first.in_features, first.out_features) == (model.embedding_dim, 32)
        assert (last.in_features, last.out_features) == (32, n_outputs)
        assert model(batch_of(["CCO", "c1ccccc1", "C"])).shape == (3, n_outputs)

    def test_estimator_passes_head_hidden_dim(self):
        clf = GNNClassifier(**TINY, max_epochs=1, head_hidden_dim=12).fit(SMILES, ["a", "b", "c", "d"] * 4)
        assert clf.module_.head[0].out_features == 12
        assert clf.module_.head[3].out_features == 4
        assert clf.predict_proba(["CCO"]).shape == (1, 4)

    def test_head_hidden_dim_trains_and_predicts_finite_values(self):
        reg = GNNRegressor(**TINY, max_epochs=3, head_hidden_dim=16, lr_schedule="noam").fit(SMILES, Y)
        assert np.isfinite(reg.predict(SMILES)).all()
        assert math.isfinite(reg.history[-1, "valid_rmse"])
