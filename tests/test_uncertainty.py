"""Ensembles (n_ensemble, n_jobs), predictive uncertainty (return_std) and classifier calibration.

Every fit is tiny (1-2 layers, 8-16 hidden units, a few epochs) on made-up
molecules: chains of 1-10 carbons ending in nothing, O, N or Cl.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from molgnba import GNNClassifier, GNNRegressor
from molgnba.losses import GaussianNLLLoss, get_loss_class, list_losses, make_loss

TINY = dict(num_layers=1, hidden_dim=8, head_hidden_dim=8, max_epochs=2, random_state=0, descriptors=None)
MOLECULES = [("C" * n + tail, n, tail) for n in range(1, 11) for tail in ("", "O", "N", "Cl")]
SMILES = [smiles for smiles, _, _ in MOLECULES]
Y = np.array([n + (tail == "O") for _, n, tail in MOLECULES], dtype=float)
LABELS = np.array([int(tail in ("O", "N")) for _, _, tail in MOLECULES])
QUERY = ["CCCO", "CCCCCCCl", "c1ccccc1", "CC(=O)O"]


@pytest.fixture(scope="module")
def ensemble():
    return GNNRegressor(**TINY, n_ensemble=3, uncertainty="ensemble").fit(SMILES, Y)


@pytest.fixture(scope="module")
def mve():
    return GNNRegressor(**TINY, uncertainty="mve", attentive_loss=False).fit(SMILES, Y)


@pytest.fixture(scope="module")
def dropout():
    return GNNRegressor(**TINY, uncertainty="dropout", dropout=0.3, n_dropout_samples=10).fit(SMILES, Y)


# --------------------------------------------------------------- the loss


class TestGaussianNLLLoss:
    def test_registered_for_regression_only(self):
        assert "gaussian-nll" in list_losses() and get_loss_class("gaussian-nll") is GaussianNLLLoss
        with pytest.raises(ValueError, match="regression"):
            make_loss("gaussian-nll", "binary")

    def test_per_sample_values_by_hand(self):
        raw_variance = [math.log(math.expm1(v)) for v in (1.0, 4.0)]  # softplus^-1
        input = torch.tensor([[0.0, raw_variance[0]], [1.0, raw_variance[1]], [5.0, 0.0]])
        target = torch.tensor([2.0, 3.0, float("nan")])
        details = GaussianNLLLoss(min_variance=0.0).forward_details(input, target)
        expected = [0.5 * (math.log(1.0) + 4.0 / 1.0), 0.5 * (math.log(4.0) + 4.0 / 4.0)]
        torch.testing.assert_close(details.per_sample[:2, 0], torch.tensor(expected))
        assert details.mask[:, 0].tolist() == [True, True, False] and details.per_sample[2, 0] == 0
        torch.testing.assert_close(details.loss, torch.tensor(sum(expected) / 2))

    def test_sample_weight_zero_leaves_the_sample_out(self):
        torch.manual_seed(0)
        input, target = torch.randn(5, 4), torch.randn(5, 2)
        loss = GaussianNLLLoss()
        weighted = loss.forward_details(input, target, sample_weight=torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0]))
        kept = [0, 1, 3, 4]
        torch.testing.assert_close(weighted.loss, loss(input[kept], target[kept]))
        assert not weighted.mask[2].any()

    def test_gradients_reach_both_heads_and_the_variance_stays_positive(self):
        input = torch.tensor([[0.0, -30.0]], requires_grad=True)
        loss = GaussianNLLLoss()(input, torch.tensor([0.1]))
        loss.backward()
        assert torch.isfinite(loss) and (input.grad != 0).all()

    def test_odd_input_width_is_refused(self):
        with pytest.raises(ValueError, match="B x 2T"):
            GaussianNLLLoss()(torch.zeros(3, 3), torch.zeros(3))


# ------------------------------------------------------------------ ensembles


class TestEnsemble:
    def test_members_differ_and_the_prediction_is_their_mean(self, ensemble):
        members = [member.predict(QUERY) for member in ensemble.estimators_]
        assert len(members) == 3 and all(member.n_ensemble == 1 for member in ensemble.estimators_)
        assert not np.allclose(members[0], members[1])
        np.testing.assert_allclose(ensemble.predict(QUERY), np.mean(members, axis=0), rtol=1e-6)

    def test_member_zero_is_the_single_model_of_the_same_seed(self, ensemble):
        single = GNNRegressor(**TINY).fit(SMILES, Y)
        np.testing.assert_array_equal(ensemble.estimators_[0].predict(QUERY), single.predict(QUERY))

    def test_history_and_network_are_member_zeros(self, ensemble):
        first = ensemble.estimators_[0]
        assert ensemble.module_ is first.module_ and ensemble.history_ is first.history_
        assert ensemble.best_epoch_ == first.best_epoch_ and len(ensemble.history_) == TINY["max_epochs"]

    @pytest.mark.slow  # starts joblib worker processes (some 15 s)
    def test_same_members_with_two_processes(self):
        # Members in worker processes run on one torch thread; so does the sequential fit here,
        # since the order of floating-point sums depends on the number of threads.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            sequential = GNNRegressor(**TINY, n_ensemble=2).fit(SMILES, Y)
        finally:
            torch.set_num_threads(threads)
        parallel = GNNRegressor(**TINY, n_ensemble=2, n_jobs=2).fit(SMILES, Y)
        assert torch.get_num_threads() == threads  # the parent's setting is left alone
        for sequential_member, parallel_member in zip(sequential.estimators_, parallel.estimators_):
            assert sequential_member.random_state == parallel_member.random_state
            np.testing.assert_array_equal(parallel_member.predict(QUERY), sequential_member.predict(QUERY))
        np.testing.assert_array_equal(parallel.predict(QUERY), sequential.predict(QUERY))

    def test_partial_fit_trains_every_member(self):
        reg = GNNRegressor(**TINY, n_ensemble=2).fit(SMILES, Y)
        before = [member.predict(QUERY) for member in reg.estimators_]
        reg.partial_fit(SMILES, Y)
        assert [len(member.history_) for member in reg.estimators_] == [4, 4]
        assert reg.module_ is reg.estimators_[0].module_ and len(reg.history_) == 4
        assert all(not np.array_equal(b, m.predict(QUERY)) for b, m in zip(before, reg.estimators_))

    def test_refit_with_one_member_drops_the_members(self):
        reg = GNNRegressor(**TINY, n_ensemble=2).fit(SMILES, Y)
        reg.set_params(n_ensemble=1).fit(SMILES, Y)
        assert not hasattr(reg, "estimators_")

    def test_clone_is_unfitted_and_pickle_keeps_predictions(self, ensemble):
        assert not hasattr(clone(ensemble), "estimators_") and clone(ensemble).n_ensemble == 3
        copy = pickle.loads(pickle.dumps(ensemble))
        np.testing.assert_array_equal(copy.predict(QUERY), ensemble.predict(QUERY))
        np.testing.assert_array_equal(copy.predict(QUERY, return_std=True)[1], ensemble.predict(QUERY, return_std=True)[1])

    def test_classifier_averages_probabilities(self):
        clf = GNNClassifier(**TINY, n_ensemble=2).fit(SMILES, LABELS)
        members = np.mean([member.predict_proba(QUERY) for member in clf.estimators_], axis=0)
        np.testing.assert_allclose(clf.predict_proba(QUERY), members, rtol=1e-5)
        np.testing.assert_array_equal(clf.predict(QUERY), clf.classes_[members.argmax(axis=1)])
        assert ((clf.decision_function(QUERY) > 0) == (members[:, 1] > 0.5)).all()

    def test_multiclass_ensemble_probabilities_sum_to_one(self):
        labels = np.array([{"": "alkane", "O": "alcohol", "N": "amine", "Cl": "alkane"}[t] for _, _, t in MOLECULES])
        clf = GNNClassifier(**TINY, n_ensemble=2).fit(SMILES, labels)
        proba = clf.predict_proba(QUERY)
        members = np.mean([member.predict_proba(QUERY) for member in clf.estimators_], axis=0)
        np.testing.assert_allclose(proba, members, rtol=1e-5)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


# ----------------------------------------------------------------- return_std


class TestReturnStd:
    def test_without_uncertainty_return_std_names_the_parameter(self):
        reg = GNNRegressor(**TINY).fit(SMILES, Y)
        with pytest.raises(ValueError, match="uncertainty"):
            reg.predict(QUERY, return_std=True)
        assert reg.predict(QUERY).shape == (4,)

    @pytest.mark.parametrize("params, message", [
        (dict(uncertainty="ensemble"), "n_ensemble >= 2"),
        (dict(uncertainty="dropout"), "dropout > 0"),
        (dict(uncertainty="mve", attentive_loss=True), "attentive_loss=False"),
        (dict(uncertainty="variance"), "uncertainty"),
        (dict(uncertainty="dropout", dropout=0.1, n_dropout_samples=1), "n_dropout_samples"),
    ])
    def test_inconsistent_settings_are_refused_before_training(self, params, message):
        reg = GNNRegressor(**{**TINY, **params})
        with pytest.raises(ValueError, match=message):
            reg.fit(SMILES, Y)
        assert getattr(reg, "history_", None) is None  # nothing was trained

    def test_classifier_has_no_return_std(self):
        clf = GNNClassifier(**TINY).fit(SMILES, LABELS)
        with pytest.raises(ValueError, match="GNNRegressor"):
            clf.predict_graphs([], return_std=True)

    @pytest.mark.parametrize("name", ["ensemble", "mve", "dropout"])
    def test_mean_is_predict_and_std_is_positive(self, name, ensemble, mve, dropout):
        reg = {"ensemble": ensemble, "mve": mve, "dropout": dropout}[name]
        mean, std = reg.predict(QUERY, return_std=True)
        np.testing.assert_array_equal(mean, reg.predict(QUERY))
        assert std.shape == mean.shape == (4,) and (std > 0).all() and np.isfinite(std).all()

    def test_ensemble_std_is_the_spread_of_the_members(self, ensemble):
        members = np.array([member.predict(QUERY) for member in ensemble.estimators_])
        np.testing.assert_allclose(ensemble.predict(QUERY, return_std=True)[1], members.std(axis=0), rtol=1e-4)

    def test_std_is_in_the_units_of_y(self, mve):
        # The same seed sees the same standardized targets: only the units change.
        scaled = GNNRegressor(**TINY, uncertainty="mve", attentive_loss=False).fit(SMILES, 10 * Y + 3)
        mean, std = mve.predict(QUERY, return_std=True)
        scaled_mean, scaled_std = scaled.predict(QUERY, return_std=True)
        np.testing.assert_allclose(scaled_mean, 10 * mean + 3, rtol=1e-4)
        np.testing.assert_allclose(scaled_std, 10 * std, rtol=1e-4)

    def test_mve_std_grows_where_the_noise_does(self):
        rng = np.random.RandomState(0)
        noisy = np.array([tail == "Cl" for _, _, tail in MOLECULES])
        repeats = 4
        y = np.concatenate([Y + rng.normal(0, 1, len(Y)) * np.where(noisy, 3.0, 0.1) for _ in range(repeats)])
        reg = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=40, lr=1e-2, validation_fraction=None,
                           random_state=0, uncertainty="mve", attentive_loss=False).fit(SMILES * repeats, y)
        _, std = reg.predict(SMILES, return_std=True)
        assert std[noisy].mean() > 2 * std[~noisy].mean()

    def test_mve_with_an_ensemble_adds_the_members_disagreement(self):
        reg = GNNRegressor(**TINY, n_ensemble=2, uncertainty="mve", attentive_loss=False).fit(SMILES, Y)
        members = [member.predict(QUERY, return_std=True) for member in reg.estimators_]
        means = np.array([mean for mean, _ in members])
        variances = np.array([std**2 for _, std in members])
        _, std = reg.predict(QUERY, return_std=True)
        np.testing.assert_allclose(std**2, variances.mean(axis=0) + means.var(axis=0), rtol=1e-4)

    def test_mve_multi_task_shapes_and_missing_labels(self):
        y = np.column_stack([Y, np.where(np.arange(len(Y)) % 3 == 0, np.nan, 2 * Y)])
        reg = GNNRegressor(**TINY, uncertainty="mve", attentive_loss=False).fit(SMILES, y)
        mean, std = reg.predict(QUERY, return_std=True)
        assert mean.shape == std.shape == (4, 2) and (std > 0).all()
        assert reg.module_.head[-1].out_features == 4  # a mean and a variance per task

    def test_skipped_invalid_smiles_give_nan_rows(self):
        reg = GNNRegressor(**TINY, n_ensemble=2, uncertainty="ensemble", invalid_smiles="skip").fit(SMILES, Y)
        mean, std = reg.predict(["CCO", "not a smiles"], return_std=True)
        assert np.isnan(mean[1]) and np.isnan(std[1]) and np.isfinite(std[0])

    def test_monte_carlo_dropout_is_seeded_and_leaves_predict_deterministic(self, dropout):
        norms = {name: buffer.clone() for name, buffer in dropout.module_.named_buffers()}
        first = dropout.predict(QUERY, return_std=True)
        second = dropout.predict(QUERY, return_std=True)
        np.testing.assert_array_equal(first[1], second[1])
        np.testing.assert_array_equal(dropout.predict(QUERY), dropout.predict(QUERY))
        assert not dropout.module_.training
        for name, buffer in dropout.module_.named_buffers():  # batch norm kept its running statistics
            assert torch.equal(buffer, norms[name]), name

    def test_monte_carlo_dropout_leaves_the_global_random_stream_alone(self, dropout):
        torch.manual_seed(1)
        expected = torch.rand(1)
        torch.manual_seed(1)
        dropout.predict(QUERY, return_std=True)
        assert torch.equal(torch.rand(1), expected)


# ---------------------------------------------------------------- calibration


class TestCalibration:
    def test_calibrated_classifier_cv_with_three_folds(self):
        from sklearn.calibration import CalibratedClassifierCV

        calibrated = CalibratedClassifierCV(GNNClassifier(**TINY), cv=3, method="sigmoid").fit(SMILES, LABELS)
        proba = calibrated.predict_proba(QUERY)
        assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1.0)
        assert len(calibrated.calibrated_classifiers_) == 3

    def test_calibrating_a_fitted_classifier(self):
        from sklearn.calibration import CalibratedClassifierCV

        clf = GNNClassifier(**TINY, n_ensemble=2).fit(SMILES[::2], LABELS[::2])
        try:
            from sklearn.frozen import FrozenEstimator

            calibrated = CalibratedClassifierCV(FrozenEstimator(clf), method="isotonic")
        except ImportError:  # scikit-learn < 1.6
            calibrated = CalibratedClassifierCV(clf, cv="prefit", method="isotonic")
        before = clf.predict_proba(QUERY)
        calibrated.fit(SMILES[1::2], LABELS[1::2])
        np.testing.assert_array_equal(clf.predict_proba(QUERY), before)  # the network was not refitted
        assert calibrated.predict_proba(QUERY).shape == (4, 2)


def test_mve_with_a_single_linear_head():
    from conftest import TINY, TINY_SMILES, TINY_TARGETS

    model = GNNRegressor(**{**TINY, "head_hidden_dim": None}, uncertainty="mve", attentive_loss=False)
    mean, std = model.fit(TINY_SMILES, TINY_TARGETS).predict(TINY_SMILES[:4], return_std=True)
    assert mean.shape == std.shape == (4,) and (std > 0).all()
