"""Behaviour of GNNClassifier and GNNRegressor as users rely on it.

The estimators take SMILES, so every test works on real molecules: the 48 molecules
of the shared ``SMALL_SMILES`` set (regression on their Crippen logP; classification
on whether logP is above the median) and, for multi-task classification, the
two-task labels of ``TINY_SMILES`` with a missing label (see tests/conftest.py).
Models are the shared ``TINY`` ones (1 layer, 8 hidden units, 2 epochs), and fitted
estimators that several tests only read are module-scoped fixtures.

End-to-end learning on the real MoleculeNet data sets is marked ``slow``.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import loguniform
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

from molgnba import GNBALoss, GNNClassifier, GNNRegressor, MaskedLoss
from molgnba.exceptions import InvalidParameterError
from molgnba.losses import (
    FocalLoss,
    GHMLoss,
    GNBAGuardedLoss,
    GNBAHardLoss,
    GNBAPaperLoss,
    LossDetails,
    MolecularLoss,
    TorchLoss,
    get_loss_class,
    make_loss,
    per_sample_loss,
    relative_gradient_norm,
)
from molgnba.data import ValidationSplit
from molgnba.model_selection import scaffold_groups

from conftest import SMALL_SMILES, SMALL_TARGETS, TINY, TINY_MULTITASK_LABELS, TINY_SMILES

# Two binary tasks, as in Tox21; each has positives and negatives, and one label is missing.
MULTITASK_TASKS = ["NR-AhR", "SR-ARE"]


def strip_whitespace(smiles):
    """Module-level (hence picklable) preprocessing step for pipelines."""
    return [s.strip() for s in smiles]


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


class TrainingMustNotStart(Callback):
    """Fails the test loudly if the estimator gets as far as training."""

    def on_train_begin(self, net, **kwargs):
        raise AssertionError("training started although the input is invalid")


class SnapshotCriterion(Callback):
    """Copies the criterion's parameters when training begins."""

    def on_train_begin(self, net, **kwargs):
        self.initial_ = {name: p.detach().clone() for name, p in net.criterion_.named_parameters()}


class EpochCounter(Callback):
    def initialize(self):
        self.epochs_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


class RuinLastEpoch(Callback):
    """Raises the learning rate enormously for the last epoch, so that the last
    epoch is certainly not the best one and restoring the best weights matters."""

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == net.max_epochs:
            for group in net.optimizer_.param_groups:
                group["lr"] = 5.0


# --------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def reg_data():
    return list(SMALL_SMILES), np.asarray(SMALL_TARGETS, dtype=float).copy()


@pytest.fixture(scope="module")
def clf_data(reg_data):
    """Binary 0/1 labels: logP above the median (24 of each)."""
    smiles, y = reg_data
    return smiles, (y > np.median(y)).astype(np.int64)


@pytest.fixture(scope="module")
def multiclass_data(reg_data):
    smiles, y = reg_data
    low, high = np.quantile(y, [1 / 3, 2 / 3])
    labels = np.where(y < low, "low", np.where(y < high, "mid", "high"))
    return smiles, labels


@pytest.fixture(scope="module")
def multitask_reg_data(reg_data):
    """Two regression targets with NaN marking missing labels (no row entirely missing)."""
    smiles, y = reg_data
    second = np.array([len(s) / 10.0 for s in smiles])
    Y = np.column_stack([y, second])
    Y[::7, 0] = np.nan
    Y[3::7, 1] = np.nan
    assert not np.isnan(Y).all(1).any()
    return smiles, Y


@pytest.fixture(scope="module")
def multitask_clf_data():
    """Two binary 0/1 tasks with one missing label (NaN), like a slice of Tox21."""
    return list(TINY_SMILES), TINY_MULTITASK_LABELS.copy()


# ---------------------------------------------------------------- fitted models
@pytest.fixture(scope="module")
def fitted_regressor(reg_data):
    X, y = reg_data
    return GNNRegressor(**TINY).fit(X, y)


@pytest.fixture(scope="module")
def fitted_classifier(clf_data):
    X, y = clf_data
    return GNNClassifier(**TINY).fit(X, y)


@pytest.fixture(scope="module")
def attentive_regressor(reg_data):
    """Fitted with the GNBA attentive loss (not the default), for the tests of the attention."""
    X, y = reg_data
    return GNNRegressor(**TINY, attentive_loss=True).fit(X, y)


@pytest.fixture(scope="module")
def attentive_classifier(clf_data):
    X, y = clf_data
    return GNNClassifier(**TINY, attentive_loss=True).fit(X, y)


@pytest.fixture(scope="module")
def fitted_multitask_regressor(multitask_reg_data):
    X, Y = multitask_reg_data
    return GNNRegressor(**TINY).fit(X, Y)


@pytest.fixture(scope="module")
def fitted_multitask_classifier(tiny_multitask_classifier):
    """The shared model fitted with ``TINY`` on ``multitask_clf_data`` (read-only)."""
    return tiny_multitask_classifier


@pytest.fixture(scope="module")
def fitted_multiclass(multiclass_data):
    X, y = multiclass_data
    return GNNClassifier(**TINY).fit(X, y)


# ================================================================== input types
X_CONTAINERS = {
    "list": list,
    "tuple": tuple,
    "object-array": lambda s: np.array(s, dtype=object),
    "unicode-array": lambda s: np.array(s, dtype=str),
    "series": pd.Series,
    "one-column-frame": lambda s: pd.DataFrame({"smiles": s}),
}
Y_CONTAINERS = {"list": list, "array": np.asarray, "series": pd.Series}


class TestInputContainers:
    @pytest.mark.parametrize("container", list(X_CONTAINERS), ids=list(X_CONTAINERS))
    def test_regressor_accepts_any_sequence_of_smiles(self, container, reg_data, fitted_regressor):
        X, y = reg_data
        est = GNNRegressor(**TINY).fit(X_CONTAINERS[container](X), y)
        np.testing.assert_array_equal(est.predict(X), fitted_regressor.predict(X))
        np.testing.assert_array_equal(fitted_regressor.predict(X_CONTAINERS[container](X)), est.predict(X))

    @pytest.mark.parametrize("container", list(X_CONTAINERS), ids=list(X_CONTAINERS))
    def test_classifier_accepts_any_sequence_of_smiles(self, container, clf_data, fitted_classifier):
        X, y = clf_data
        est = GNNClassifier(**TINY).fit(X_CONTAINERS[container](X), y)
        np.testing.assert_array_equal(est.predict_proba(X), fitted_classifier.predict_proba(X))
        np.testing.assert_array_equal(
            fitted_classifier.predict_proba(X_CONTAINERS[container](X)), est.predict_proba(X)
        )

    @pytest.mark.parametrize("container", list(Y_CONTAINERS), ids=list(Y_CONTAINERS))
    def test_regressor_accepts_y_as_list_array_or_series(self, container, reg_data, fitted_regressor):
        X, y = reg_data
        est = GNNRegressor(**TINY).fit(X, Y_CONTAINERS[container](list(y)))
        np.testing.assert_array_equal(est.predict(X), fitted_regressor.predict(X))

    @pytest.mark.parametrize("container", list(Y_CONTAINERS), ids=list(Y_CONTAINERS))
    def test_classifier_accepts_y_as_list_array_or_series(self, container, clf_data, fitted_classifier):
        X, y = clf_data
        est = GNNClassifier(**TINY).fit(X, Y_CONTAINERS[container](list(y)))
        np.testing.assert_array_equal(est.classes_, fitted_classifier.classes_)
        np.testing.assert_array_equal(est.predict_proba(X), fitted_classifier.predict_proba(X))

    def test_regressor_accepts_2d_y_as_frame(self, multitask_reg_data, fitted_multitask_regressor):
        X, Y = multitask_reg_data
        est = GNNRegressor(**TINY).fit(X, pd.DataFrame(Y, columns=["a", "b"]))
        # A frame's values are column-major, so the standardization's sums may differ in the last bit.
        np.testing.assert_allclose(est.predict(X), fitted_multitask_regressor.predict(X), rtol=1e-12)

    def test_classifier_accepts_2d_y_as_frame(self, multitask_clf_data, fitted_multitask_classifier):
        X, Y = multitask_clf_data
        est = GNNClassifier(**TINY).fit(pd.Series(X), pd.DataFrame(Y, columns=MULTITASK_TASKS))
        np.testing.assert_array_equal(est.predict_proba(X), fitted_multitask_classifier.predict_proba(X))


# ================================================================== classifier
class TestClassifier:
    def test_is_a_scikit_learn_classifier(self):
        assert is_classifier(GNNClassifier())
        assert not is_regressor(GNNClassifier())

    @pytest.mark.parametrize(
        "labels",
        [
            pytest.param(lambda m: m.astype(np.int64), id="int-0-1"),
            pytest.param(lambda m: np.where(m, 7, 3).astype(np.int32), id="int32-3-7"),
            pytest.param(lambda m: m.astype(bool), id="bool"),
            pytest.param(lambda m: np.where(m, "soluble", "insoluble"), id="str"),
            pytest.param(lambda m: np.where(m, 1.0, -1.0), id="float-pm1"),
        ],
    )
    def test_predict_returns_the_original_labels_with_their_dtype(self, labels, clf_data):
        X, binary = clf_data
        y = labels(binary.astype(bool))
        est = GNNClassifier(**TINY).fit(X, y)
        np.testing.assert_array_equal(est.classes_, np.unique(y))
        assert est.classes_.dtype == y.dtype
        predicted = est.predict(X)
        assert predicted.shape == (len(X),)
        assert predicted.dtype == y.dtype
        assert set(predicted.tolist()) <= set(y.tolist())

    def test_string_labels_from_a_list(self, clf_data):
        X, binary = clf_data
        y = ["yes" if b else "no" for b in binary]
        est = GNNClassifier(**TINY).fit(X, y)
        assert est.classes_.tolist() == ["no", "yes"]
        assert set(est.predict(X).tolist()) <= {"no", "yes"}

    def test_predict_proba_rows_are_probabilities_summing_to_one(self, fitted_classifier, clf_data):
        X, _ = clf_data
        proba = fitted_classifier.predict_proba(X)
        assert proba.shape == (len(X), 2)
        assert np.all((proba >= 0) & (proba <= 1))
        np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)

    def test_predict_is_the_most_probable_class(self, fitted_classifier, clf_data):
        X, _ = clf_data
        proba = fitted_classifier.predict_proba(X)
        np.testing.assert_array_equal(
            fitted_classifier.predict(X), fitted_classifier.classes_[proba.argmax(1)]
        )

    def test_decision_function_is_the_binary_logit(self, fitted_classifier, clf_data):
        X, _ = clf_data
        decision = fitted_classifier.decision_function(X)
        assert decision.shape == (len(X),)
        proba = fitted_classifier.predict_proba(X)
        np.testing.assert_allclose(1 / (1 + np.exp(-decision)), proba[:, 1], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(
            fitted_classifier.predict(X), fitted_classifier.classes_[(decision > 0).astype(int)]
        )

    def test_score_is_accuracy(self, fitted_classifier, clf_data):
        X, y = clf_data
        assert fitted_classifier.score(X, y) == pytest.approx(accuracy_score(y, fitted_classifier.predict(X)))

    def test_multiclass_with_three_string_classes(self, fitted_multiclass, multiclass_data):
        X, y = multiclass_data
        est = fitted_multiclass
        assert est.classes_.tolist() == ["high", "low", "mid"]
        proba = est.predict_proba(X)
        assert proba.shape == (len(X), 3)
        np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
        predicted = est.predict(X)
        assert predicted.dtype.kind == "U"
        np.testing.assert_array_equal(predicted, est.classes_[proba.argmax(1)])
        assert est.decision_function(X).shape == (len(X), 3)
        assert est.score(X, y) == pytest.approx(accuracy_score(y, predicted))

    def test_multitask_0_1_labels_with_missing_values(self, fitted_multitask_classifier, multitask_clf_data):
        X, Y = multitask_clf_data
        est = fitted_multitask_classifier
        proba = est.predict_proba(X)
        assert proba.shape == (len(X), len(MULTITASK_TASKS))
        assert np.all((proba >= 0) & (proba <= 1))
        predicted = est.predict(X)
        assert predicted.shape == (len(X), len(MULTITASK_TASKS))
        assert set(np.unique(predicted).tolist()) <= {0, 1}
        np.testing.assert_array_equal(predicted, (proba >= 0.5).astype(int))
        assert est.decision_function(X).shape == (len(X), len(MULTITASK_TASKS))
        assert est.n_tasks_ == len(MULTITASK_TASKS)

    def test_validation_roc_auc_is_recorded_every_epoch(self, fitted_classifier):
        scores = fitted_classifier.history[:, "valid_roc_auc"]
        assert len(scores) == TINY["max_epochs"]
        assert all(0.0 <= s <= 1.0 for s in scores)


# ================================================================== regressor
class TestRegressor:
    def test_is_a_scikit_learn_regressor(self):
        assert is_regressor(GNNRegressor())
        assert not is_classifier(GNNRegressor())

    def test_predicts_floats_of_shape_n_for_1d_y(self, fitted_regressor, reg_data):
        X, _ = reg_data
        predicted = fitted_regressor.predict(X)
        assert predicted.shape == (len(X),)
        assert predicted.dtype.kind == "f"
        assert np.isfinite(predicted).all()

    def test_predicts_n_by_t_for_2d_y_with_missing_labels(self, fitted_multitask_regressor, multitask_reg_data):
        X, Y = multitask_reg_data
        predicted = fitted_multitask_regressor.predict(X)
        assert predicted.shape == Y.shape
        assert predicted.dtype.kind == "f"
        assert np.isfinite(predicted).all()

    def test_predictions_are_in_the_units_of_y(self, fitted_regressor, reg_data):
        # Targets are standardized for training; predictions must come back in y's units.
        X, y = reg_data
        predicted = fitted_regressor.predict(X)
        assert abs(predicted.mean() - y.mean()) < 2 * y.std()

    def test_score_is_r2(self, fitted_regressor, reg_data):
        X, y = reg_data
        assert fitted_regressor.score(X, y) == pytest.approx(r2_score(y, fitted_regressor.predict(X)))

    def test_score_is_r2_for_multitask(self, fitted_multitask_regressor, multitask_reg_data):
        X, Y = multitask_reg_data
        complete = ~np.isnan(Y).any(1)
        Xc = [s for s, keep in zip(X, complete) if keep]
        est = fitted_multitask_regressor
        assert est.score(Xc, Y[complete]) == pytest.approx(r2_score(Y[complete], est.predict(Xc)))

    def test_validation_rmse_is_recorded_every_epoch(self, fitted_regressor):
        scores = fitted_regressor.history[:, "valid_rmse"]
        assert len(scores) == TINY["max_epochs"]
        assert all(np.isfinite(s) and s >= 0 for s in scores)

    def test_regressor_has_no_predict_proba(self, fitted_regressor):
        # scikit-learn regressors have no predict_proba; skorch's inherited one fails on SMILES
        # with "Dataset does not have consistent lengths".
        assert not hasattr(fitted_regressor, "predict_proba")
        assert not hasattr(fitted_regressor, "decision_function")


# ================================================================== parameters
TOP_LEVEL_PARAMS = [
    "backbone", "attentive_loss", "attention_dim", "num_layers", "hidden_dim", "dropout", "lr",
    "max_epochs", "batch_size", "device", "random_state", "verbose",
]


@pytest.mark.parametrize("Estimator", [GNNClassifier, GNNRegressor])
class TestParameters:
    def test_top_level_parameters_are_in_get_params(self, Estimator):
        params = Estimator().get_params()
        for name in TOP_LEVEL_PARAMS:
            assert name in params, name
        assert params["backbone"] == "gin"
        assert params["attentive_loss"] is False

    def test_constructor_arguments_are_returned_unchanged(self, Estimator):
        est = Estimator(backbone="gat", attention_dim=4, hidden_dim=8, lr=0.01, random_state=3)
        params = est.get_params()
        assert (params["backbone"], params["attention_dim"], params["hidden_dim"]) == ("gat", 4, 8)
        assert (params["lr"], params["random_state"]) == (0.01, 3)

    def test_set_params_returns_self_and_updates(self, Estimator):
        est = Estimator()
        assert est.set_params(attention_dim=4, hidden_dim=8, max_epochs=3) is est
        params = est.get_params()
        assert (params["attention_dim"], params["hidden_dim"], params["max_epochs"]) == (4, 8, 3)

    def test_set_params_of_unknown_parameter_raises(self, Estimator):
        with pytest.raises(ValueError, match="no_such_param"):
            Estimator().set_params(no_such_param=1)

    def test_clone_keeps_parameters(self, Estimator):
        est = Estimator(backbone="gat", attention_dim=4, max_epochs=3, random_state=1, module__heads=1)
        cloned = clone(est)
        assert cloned is not est
        original, copied = est.get_params(deep=False), cloned.get_params(deep=False)
        assert original.keys() == copied.keys()
        for key, value in original.items():
            assert copied[key] is value or copied[key] == value, key

    def test_clone_of_fitted_estimator_is_unfitted(self, Estimator, reg_data, clf_data):
        X, y = clf_data if Estimator is GNNClassifier else reg_data
        est = Estimator(**TINY).fit(X, y)
        cloned = clone(est)
        assert cloned.get_params(deep=False).keys() == est.get_params(deep=False).keys()
        assert not getattr(cloned, "initialized_", False)
        assert not hasattr(cloned, "module_")
        with pytest.raises(NotFittedError):
            check_is_fitted(cloned)
        with pytest.raises(NotFittedError):
            cloned.predict(X)
        check_is_fitted(est)  # the original is untouched

    def test_predict_before_fit_raises_not_fitted(self, Estimator):
        with pytest.raises(NotFittedError):
            Estimator().predict(["CCO"])

    def test_set_params_then_fit_uses_the_new_value(self, Estimator, reg_data, clf_data):
        X, y = clf_data if Estimator is GNNClassifier else reg_data
        est = Estimator(**TINY, backbone="gin").set_params(num_layers=3)  # a backbone with a list of layers
        est.fit(X, y)
        assert len(est.module_.backbone.layers) == 3

    def test_architecture_parameters_with_module_prefix_are_refused(self, Estimator, reg_data, clf_data):
        X, y = clf_data if Estimator is GNNClassifier else reg_data
        with pytest.raises(ValueError, match="hidden_dim"):
            Estimator(**TINY, module__hidden_dim=32).fit(X, y)


class TestSkorchParameters:
    def test_module_heads_reaches_the_gat_layers(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, backbone="gat", module__heads=1).fit(X, y)
        assert est.get_params()["module__heads"] == 1
        assert all(layer.heads == 1 for layer in est.module_.backbone.layers)
        est.set_params(module__heads=3).fit(X, y)
        assert all(layer.heads == 3 for layer in est.module_.backbone.layers)

    def test_optimizer_betas_reach_the_optimizer(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, optimizer__betas=(0.8, 0.95)).fit(X, y)
        assert est.optimizer_.param_groups
        assert all(tuple(g["betas"]) == (0.8, 0.95) for g in est.optimizer_.param_groups)

    def test_lr_and_weight_decays_reach_the_optimizer(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, attentive_loss=True, lr=0.003, weight_decay=1e-4, attention_weight_decay=1e-2,
                           lr_schedule="constant").fit(X, y)  # "noam" would move the rate away from lr
        network, attention = est.optimizer_.param_groups
        assert network["lr"] == attention["lr"] == 0.003
        assert (network["weight_decay"], attention["weight_decay"]) == (1e-4, 1e-2)

    def test_user_callbacks_run_alongside_the_defaults(self, clf_data):
        X, y = clf_data
        counter = EpochCounter()
        est = GNNClassifier(**TINY, callbacks=[("counter", counter)]).fit(X, y)
        assert dict(est.callbacks_)["counter"].epochs_ == TINY["max_epochs"]
        assert "valid_roc_auc" in est.history[-1]
        assert "callbacks__counter" in est.get_params()

    def test_callbacks_as_a_plain_list_of_instances(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, callbacks=[EpochCounter()]).fit(X, y)
        assert dict(est.callbacks_)["EpochCounter"].epochs_ == TINY["max_epochs"]
        assert est.best_epoch_ is not None  # the default model selection still runs

    def test_train_split_none_trains_on_everything(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, train_split=None).fit(X, y)
        assert "valid_loss" not in est.history[-1]
        assert "valid_rmse" not in est.history[-1]
        assert np.isfinite(est.train_gradient_norm_).all()
        assert est.predict(X).shape == (len(X),)

    def test_iterator_train_shuffle_false_is_used(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, iterator_train__shuffle=False)
        assert est.get_params()["iterator_train__shuffle"] is False
        est.fit(X, y)
        loader = est.get_iterator(torch.utils.data.TensorDataset(torch.zeros(3)), training=True)
        assert isinstance(loader.sampler, torch.utils.data.SequentialSampler)
        assert isinstance(GNNRegressor().get_iterator(loader.dataset, training=True).sampler,
                          torch.utils.data.RandomSampler)  # shuffled by default

    def test_skorch_prefixed_parameters_survive_clone(self):
        est = GNNRegressor(backbone="gat", module__heads=1, optimizer__betas=(0.8, 0.95), train_split=None)
        params = clone(est).get_params()
        assert params["module__heads"] == 1
        assert params["optimizer__betas"] == (0.8, 0.95)
        assert params["train_split"] is None


# ============================================================ model selection
# n_jobs=2 starts worker processes (some 18 s per worker): full suite only.
@pytest.mark.parametrize("n_jobs", [1, pytest.param(2, marks=pytest.mark.slow)])
class TestScikitLearnModelSelection:
    def test_pipeline_with_a_preprocessing_step(self, n_jobs, reg_data):
        X, y = reg_data
        padded = ["  " + s + " " for s in X]
        pipe = make_pipeline(FunctionTransformer(strip_whitespace), GNNRegressor(**TINY))
        pipe.fit(padded, y)
        np.testing.assert_array_equal(pipe.predict(padded), pipe[-1].predict(X))
        assert pipe.score(padded, y) == pytest.approx(r2_score(y, pipe.predict(padded)))
        scores = cross_val_score(pipe, padded, y, cv=KFold(3), n_jobs=n_jobs, error_score="raise")
        assert scores.shape == (3,) and np.isfinite(scores).all()

    def test_cross_val_score_classifier(self, n_jobs, clf_data):
        X, y = clf_data
        scores = cross_val_score(
            GNNClassifier(**TINY), X, y, cv=StratifiedKFold(3), n_jobs=n_jobs, error_score="raise"
        )
        assert scores.shape == (3,)
        assert np.all((scores >= 0) & (scores <= 1))

    def test_cross_validate_regressor_with_several_scorers(self, n_jobs, reg_data):
        X, y = reg_data
        result = cross_validate(
            GNNRegressor(**TINY), X, y, cv=KFold(3),
            scoring=["r2", "neg_root_mean_squared_error"], return_train_score=True,
            return_estimator=True, n_jobs=n_jobs, error_score="raise",
        )
        assert np.isfinite(result["test_r2"]).all()
        assert np.all(result["test_neg_root_mean_squared_error"] < 0)
        assert all(isinstance(est, GNNRegressor) and est.best_epoch_ is not None for est in result["estimator"])

    def test_cross_validate_classifier_with_roc_auc(self, n_jobs, clf_data):
        X, y = clf_data
        result = cross_validate(
            GNNClassifier(**TINY), X, y, cv=StratifiedKFold(3), scoring=["accuracy", "roc_auc"],
            n_jobs=n_jobs, error_score="raise",
        )
        assert np.all((result["test_roc_auc"] >= 0) & (result["test_roc_auc"] <= 1))

    def test_grid_search_over_attention_dim(self, n_jobs, reg_data):
        X, y = reg_data
        search = GridSearchCV(
            GNNRegressor(**TINY, attentive_loss=True), {"attention_dim": [4, 8]}, cv=KFold(2), n_jobs=n_jobs,
            error_score="raise",
        ).fit(X, y)
        assert search.best_params_["attention_dim"] in (4, 8)
        assert len(search.cv_results_["params"]) == 2
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
        assert search.best_estimator_.attention_dim == search.best_params_["attention_dim"]
        assert search.best_estimator_.criterion_.attention_dim == search.best_params_["attention_dim"]
        assert search.predict(X).shape == (len(X),)

    def test_randomized_search_classifier(self, n_jobs, clf_data):
        X, y = clf_data
        search = RandomizedSearchCV(
            GNNClassifier(**TINY),
            {"attention_dim": [4, 8], "lr": loguniform(1e-3, 1e-2), "attentive_loss": [True, False]},
            n_iter=2, cv=StratifiedKFold(2), n_jobs=n_jobs, random_state=0, error_score="raise",
        ).fit(X, y)
        assert len(search.cv_results_["params"]) == 2
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
        assert search.predict_proba(X).shape == (len(X), 2)


# ================================================================ reproducibility
class TestReproducibility:
    def test_same_random_state_gives_identical_regressions(self, reg_data, fitted_regressor):
        X, y = reg_data
        again = GNNRegressor(**TINY).fit(X, y)
        np.testing.assert_array_equal(again.predict(X), fitted_regressor.predict(X))
        np.testing.assert_array_equal(again.history[:, "train_loss"], fitted_regressor.history[:, "train_loss"])

    def test_same_random_state_gives_identical_classifications(self, clf_data, fitted_classifier):
        X, y = clf_data
        again = GNNClassifier(**TINY).fit(X, y)
        np.testing.assert_array_equal(again.predict_proba(X), fitted_classifier.predict_proba(X))

    def test_fitting_the_same_object_twice_gives_identical_predictions(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY)
        first = est.fit(X, y).predict(X)
        torch.manual_seed(123)  # the global state must not matter
        np.random.seed(123)
        second = est.fit(X, y).predict(X)
        np.testing.assert_array_equal(first, second)
        assert len(est.history) == TINY["max_epochs"]  # a refit starts afresh

    def test_refit_is_not_influenced_by_a_fit_on_other_data(self, clf_data, fitted_classifier):
        X, y = clf_data
        est = GNNClassifier(**TINY)
        est.fit(X[::-1], 1 - y[::-1])
        est.fit(X, y)
        np.testing.assert_array_equal(est.predict_proba(X), fitted_classifier.predict_proba(X))

    def test_different_random_states_give_different_models(self, reg_data, fitted_regressor):
        X, y = reg_data
        other = GNNRegressor(**{**TINY, "random_state": 1}).fit(X, y)
        assert not np.array_equal(other.predict(X), fitted_regressor.predict(X))

    def test_random_state_instances_with_the_same_seed_agree(self, reg_data):
        X, y = reg_data
        params = {k: v for k, v in TINY.items() if k != "random_state"}
        a = GNNRegressor(**params, random_state=np.random.RandomState(5)).fit(X, y)
        b = GNNRegressor(**params, random_state=np.random.RandomState(5)).fit(X, y)
        np.testing.assert_array_equal(a.predict(X), b.predict(X))

    def test_reproducible_across_multitask_fits(self, multitask_reg_data, fitted_multitask_regressor):
        X, Y = multitask_reg_data
        again = GNNRegressor(**TINY).fit(X, Y)
        np.testing.assert_array_equal(again.predict(X), fitted_multitask_regressor.predict(X))


# ================================================================== persistence
LOAD_AND_PREDICT = textwrap.dedent(
    """
    import json, pickle, sys
    import joblib, numpy as np, torch
    torch.set_num_threads(int(sys.argv[1]))
    jobs = json.loads(sys.argv[2])
    for job in jobs:
        if job["format"] == "pickle":
            with open(job["path"], "rb") as handle:
                est = pickle.load(handle)
        else:
            est = joblib.load(job["path"])
        output = getattr(est, job["method"])(job["smiles"])
        np.save(job["out"], np.asarray(output))
    """
)


@pytest.fixture(scope="module")
def reloaded_in_new_process(tmp_path_factory, fitted_regressor, fitted_classifier, reg_data):
    """Dump the fitted estimators with pickle and joblib, load and predict in a new process."""
    import json

    X, _ = reg_data
    folder = tmp_path_factory.mktemp("persistence")
    jobs, expected = [], {}
    for name, est, method in [
        ("regressor", fitted_regressor, "predict"),
        ("classifier", fitted_classifier, "predict_proba"),
    ]:
        for fmt in ("pickle", "joblib"):
            path = folder / f"{name}.{fmt}"
            if fmt == "pickle":
                with open(path, "wb") as handle:
                    pickle.dump(est, handle)
            else:
                joblib.dump(est, path)
            out = folder / f"{name}-{fmt}.npy"
            jobs.append({"format": fmt, "path": str(path), "method": method, "smiles": X, "out": str(out)})
            expected[name, fmt] = (getattr(est, method)(X), out)
    script = folder / "load_and_predict.py"
    script.write_text(LOAD_AND_PREDICT)
    completed = subprocess.run(
        [sys.executable, str(script), str(torch.get_num_threads()), json.dumps(jobs)],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {key: (before, np.load(out)) for key, (before, out) in expected.items()}


class TestPersistence:
    @pytest.mark.parametrize("fmt", ["pickle", "joblib"])
    @pytest.mark.parametrize("name", ["regressor", "classifier"])
    @pytest.mark.slow  # a subprocess that imports torch
    def test_round_trip_in_a_new_process_gives_identical_predictions(self, name, fmt, reloaded_in_new_process):
        before, after = reloaded_in_new_process[name, fmt]
        np.testing.assert_array_equal(after, before)

    def test_pickle_round_trip_in_process(self, fitted_classifier, clf_data):
        X, _ = clf_data
        restored = pickle.loads(pickle.dumps(fitted_classifier))
        np.testing.assert_array_equal(restored.predict(X), fitted_classifier.predict(X))
        np.testing.assert_array_equal(restored.classes_, fitted_classifier.classes_)
        assert restored.best_epoch_ == fitted_classifier.best_epoch_

    def test_pickled_string_label_classifier_returns_strings(self, multiclass_data, fitted_multiclass):
        X, _ = multiclass_data
        restored = pickle.loads(pickle.dumps(fitted_multiclass))
        np.testing.assert_array_equal(restored.predict(X), fitted_multiclass.predict(X))

    def test_pickle_round_trip_keeps_device_auto(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, device="auto").fit(X, y)
        restored = pickle.loads(pickle.dumps(est))
        assert restored.get_params()["device"] == "auto"
        np.testing.assert_array_equal(restored.predict(X), est.predict(X))
        assert clone(restored).get_params()["device"] == "auto"

    def test_deepcopy_of_fitted_estimator_predicts_the_same(self, fitted_regressor, reg_data):
        X, _ = reg_data
        np.testing.assert_array_equal(copy.deepcopy(fitted_regressor).predict(X), fitted_regressor.predict(X))


# ================================================================== verbosity
class TestVerbosity:
    def test_verbose_regressor_prints_the_epoch_table(self, reg_data, capsys):
        X, y = reg_data
        GNNRegressor(**{**TINY, "verbose": 1}, attentive_loss=True).fit(X, y)
        out = capsys.readouterr().out
        assert "epoch" in out and "valid_rmse" in out and "attention_entropy" in out
        assert len([line for line in out.splitlines() if line.strip().startswith(("1", "2"))]) >= 2

    def test_verbose_classifier_prints_the_epoch_table(self, clf_data, capsys):
        X, y = clf_data
        GNNClassifier(**{**TINY, "verbose": 1}).fit(X, y)
        out = capsys.readouterr().out
        assert "epoch" in out and "valid_roc_auc" in out

    def test_silent_by_default(self, reg_data, capsys):
        X, y = reg_data
        GNNRegressor(**TINY).fit(X, y).predict(X)
        captured = capsys.readouterr()
        assert "epoch" not in captured.out
        assert captured.out == ""

    def test_progress_bar_works(self, reg_data, capsys):
        X, y = reg_data
        est = GNNRegressor(**TINY, progress_bar=True).fit(X, y)
        assert len(est.history) == TINY["max_epochs"]
        assert "progress_bar" in dict(est.callbacks_)
        assert est.predict(X).shape == (len(X),)


# ============================================================ best-epoch model selection
class TestBestEpochSelection:
    def test_regressor_restores_the_epoch_with_the_lowest_validation_rmse(self, reg_data):
        X, y = reg_data
        split = ValidationSplit(0.2, random_state=0)
        est = GNNRegressor(
            **{**TINY, "max_epochs": 5}, lr=0.01, train_split=split, callbacks=[("ruin", RuinLastEpoch())],
            lr_schedule="constant",  # "noam" would reset the ruinous rate before each batch
        ).fit(X, y)
        history = est.history[:, "valid_rmse"]
        assert len(history) == 5
        assert est.best_epoch_ == int(np.argmin(history)) + 1
        assert est.best_epoch_ < 5  # the ruined last epoch is not kept
        _, valid = split.split_indices(len(X))
        predicted = est.predict([X[i] for i in valid])
        assert rmse(predicted, y[valid]) == pytest.approx(history[est.best_epoch_ - 1], abs=1e-4)
        assert rmse(predicted, y[valid]) != pytest.approx(history[-1], abs=1e-4)

    def test_regressor_default_split_reproduces_the_best_validation_rmse(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**{**TINY, "max_epochs": 4}).fit(X, y)
        history = est.history[:, "valid_rmse"]
        assert est.best_epoch_ == int(np.argmin(history)) + 1
        # The default split holds out validation_fraction=0.1, seeded by random_state.
        _, valid = ValidationSplit(0.1, random_state=0).split_indices(len(X))
        predicted = est.predict([X[i] for i in valid])
        assert rmse(predicted, y[valid]) == pytest.approx(history[est.best_epoch_ - 1], abs=1e-4)

    def test_classifier_restores_the_epoch_with_the_highest_validation_roc_auc(self, clf_data):
        X, y = clf_data
        split = ValidationSplit(0.25, stratified=True, random_state=0)
        est = GNNClassifier(**{**TINY, "max_epochs": 5}, train_split=split).fit(X, y)
        history = est.history[:, "valid_roc_auc"]
        assert est.best_epoch_ == int(np.argmax(history)) + 1
        _, valid = split.split_indices(len(X), y)
        scores = est.decision_function([X[i] for i in valid])
        assert roc_auc_score(y[valid], scores) == pytest.approx(history[est.best_epoch_ - 1], abs=1e-4)

    def test_multiclass_selects_by_validation_loss(self, fitted_multiclass):
        losses = fitted_multiclass.history[:, "valid_loss"]
        assert fitted_multiclass.best_epoch_ == int(np.argmin(losses)) + 1

    def test_attention_entropy_is_recorded_every_epoch_with_the_attentive_loss(self, attentive_regressor):
        entropies = attentive_regressor.history[:, "attention_entropy"]
        assert len(entropies) == TINY["max_epochs"]
        assert all(0.0 <= e <= 1.0 + 1e-6 for e in entropies)

    def test_no_attention_entropy_without_the_attentive_loss(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, attentive_loss=False).fit(X, y)
        assert all("attention_entropy" not in row for row in est.history)
        assert "valid_rmse" in est.history[-1]

    def test_patience_stops_training_early(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**{**TINY, "max_epochs": 60}, lr=0.01, patience=2).fit(X, y)
        assert est.stopped_early_
        assert len(est.history) < 60
        assert len(est.history) == est.best_epoch_ + 2
        history = est.history[:, "valid_rmse"]
        assert est.best_epoch_ == int(np.argmin(history)) + 1

    def test_every_epoch_is_fully_recorded_when_stopping_early(self, reg_data, capsys):
        # The epoch that triggers early stopping still belongs in the history and the
        # printed table, like every other epoch.
        X, y = reg_data
        est = GNNRegressor(**{**TINY, "max_epochs": 60, "verbose": 1}, attentive_loss=True, lr=0.01,
                           patience=2).fit(X, y)
        assert est.stopped_early_
        missing = [row["epoch"] for row in est.history if "attention_entropy" not in row]
        assert missing == [], f"epochs without attention_entropy: {missing}"
        table_rows = [line for line in capsys.readouterr().out.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
        assert len(table_rows) == len(est.history)

    def test_validation_fraction_none_trains_on_everything(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, validation_fraction=None).fit(X, y)
        assert all("valid_rmse" not in row and "valid_loss" not in row for row in est.history)
        assert len(est.history) == TINY["max_epochs"]
        assert np.isfinite(est.train_gradient_norm_).all()
        assert est.best_epoch_ in (None, TINY["max_epochs"])  # the last epoch is kept

    def test_validation_fraction_changes_the_held_out_share(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, validation_fraction=0.5).fit(X, y)
        assert np.isnan(est.train_gradient_norm_).sum() == len(X) // 2


# ================================================================== validation by scaffold
def _held_out(estimator) -> np.ndarray:
    """The rows the fit validated on: those without a training gradient norm."""
    return np.isnan(estimator.train_gradient_norm_)


class TestScaffoldValidation:
    """validation_split="scaffold": the epoch is chosen on scaffolds the network never trained on."""

    def test_validation_molecules_share_no_scaffold_with_training(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, validation_split="scaffold", validation_fraction=0.25).fit(X, y)
        held_out = _held_out(est)
        groups = scaffold_groups(X)
        assert 0 < held_out.sum() <= round(0.25 * len(X))
        assert est.n_validation_samples_ == held_out.sum()
        assert not set(groups[held_out]) & set(groups[~held_out])

    def test_large_scaffolds_stay_in_training(self, reg_data):
        # As in chemprop's balanced split: the acyclic molecules and the benzenes are not held out.
        X, y = reg_data
        est = GNNRegressor(**TINY, validation_split="scaffold", validation_fraction=0.25).fit(X, y)
        groups = scaffold_groups(X)
        sizes = np.bincount(groups)
        assert (sizes[groups[_held_out(est)]] <= round(0.25 * len(X)) / 2).all()

    def test_the_random_split_mixes_scaffolds(self, reg_data):
        X, y = reg_data
        held_out = _held_out(GNNRegressor(**TINY, validation_fraction=0.25).fit(X, y))
        groups = scaffold_groups(X)
        assert set(groups[held_out]) & set(groups[~held_out])

    def test_the_split_follows_random_state(self, reg_data):
        X, y = reg_data
        fit = lambda seed: _held_out(GNNRegressor(**{**TINY, "random_state": seed}, validation_split="scaffold",
                                                  validation_fraction=0.25).fit(X, y))
        assert (fit(0) == fit(0)).all()
        assert not (fit(0) == fit(1)).all()

    def test_classifier_and_ensemble_members_hold_out_scaffolds(self, clf_data):
        X, y = clf_data
        est = GNNClassifier(**TINY, validation_split="scaffold", validation_fraction=0.25, n_ensemble=2).fit(X, y)
        groups = scaffold_groups(X)
        for member in est.estimators_:
            held_out = _held_out(member)
            assert held_out.any() and not set(groups[held_out]) & set(groups[~held_out])

    def test_partial_fit_holds_out_scaffolds_of_its_own_molecules(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, validation_split="scaffold", validation_fraction=0.25).fit(X[:30], y[:30])
        est.partial_fit(X, y)
        held_out, groups = _held_out(est), scaffold_groups(X)
        assert len(held_out) == len(X) and held_out.any()
        assert not set(groups[held_out]) & set(groups[~held_out])

    def test_one_scaffold_for_all_is_refused_before_training(self):
        acyclic = ["C" * k + "O" for k in range(1, 21)]
        est = GNNRegressor(**TINY, validation_split="scaffold")
        with pytest.raises(ValueError, match="no group could be held out for validation: the 20 samples form 1"):
            est.fit(acyclic, np.arange(20.0))
        assert len(est.history_) == 0

    def test_the_classifier_validates_on_both_classes(self):
        # Half the small scaffolds are of one class: a validation part of that class alone has no ROC-AUC.
        smiles = (["c1ccccc1" + "C" * k for k in range(10)] + ["C" * k + "O" for k in range(1, 11)]
                  + ["C1CCCCC1", "c1ccncc1", "c1ccoc1", "C1CC1", "C1CCC1", "C1CCOC1", "c1ccsc1", "C1CCNC1"])
        y = np.array([1] * 10 + [0] * 10 + [1, 1, 1, 1, 0, 0, 0, 0])
        for seed in range(5):
            est = GNNClassifier(**{**TINY, "random_state": seed}, validation_split="scaffold",
                                validation_fraction=0.2).fit(smiles, y)
            assert set(y[_held_out(est)]) == {0, 1}
            assert np.isfinite(est.history[:, "valid_roc_auc"]).all()

    def test_a_classifier_with_one_class_in_the_small_scaffolds_is_refused(self):
        smiles = ["c1ccccc1" + "C" * k for k in range(10)] + ["C" * k + "O" for k in range(1, 11)] + [
            "C1CCCCC1", "c1ccncc1", "c1ccoc1", "C1CC1"]
        y = np.array([1] * 10 + [0] * 10 + [1, 1, 1, 1])
        with pytest.raises(ValueError, match="small enough to hold out have 1 of the 2 classes"):
            GNNClassifier(**TINY, validation_split="scaffold", validation_fraction=0.2).fit(smiles, y)

    def test_ignored_without_a_validation_split_of_its_own(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, validation_split="scaffold", validation_fraction=None).fit(X, y)
        assert not _held_out(est).any()
        split = ValidationSplit(0.25, random_state=0)
        est = GNNRegressor(**TINY, validation_split="scaffold", train_split=split).fit(X, y)
        assert (np.flatnonzero(_held_out(est)) == split.split_indices(len(X))[1]).all()

    def test_survives_saving(self, reg_data, tmp_path):
        from molgnba.persistence import load_model, read_metadata, save_model

        X, y = reg_data
        est = GNNRegressor(**TINY, validation_split="scaffold", validation_fraction=0.25).fit(X, y)
        save_model(est, tmp_path / "model.molgnba")
        assert read_metadata(tmp_path / "model.molgnba")["format_version"] == 2
        loaded = load_model(tmp_path / "model.molgnba")
        assert loaded.validation_split == "scaffold"
        np.testing.assert_allclose(loaded.predict(X), est.predict(X), rtol=1e-6)


class TestValidationSplitGroups:
    def test_whole_groups_within_the_fraction(self):
        groups = np.repeat(np.arange(20), np.arange(20) % 4 + 1)
        train, valid = ValidationSplit(0.2, random_state=0).split_indices(len(groups), groups=groups)
        assert not set(groups[train]) & set(groups[valid])
        assert 0 < len(valid) <= round(0.2 * len(groups))
        assert sorted([*train, *valid]) == list(range(len(groups)))

    def test_a_dataset_with_groups_is_split_by_them(self):
        from molgnba.data import GraphDataset
        from molgnba.featurize import featurize_smiles

        graphs, _ = featurize_smiles(["C", "CC", "CCC", "CCO", "CCN", "c1ccccc1", "c1ccncc1", "C1CC1"], cache=None)
        dataset = GraphDataset(graphs, np.zeros(8), groups=[0, 0, 0, 0, 0, 1, 2, 3])
        train, valid = ValidationSplit(0.25, random_state=0)(dataset)
        assert set(valid.indices) <= {5, 6, 7} and len(valid.indices) == 2

    def test_groups_of_the_wrong_length_are_refused(self):
        with pytest.raises(ValueError, match="one label per sample"):
            ValidationSplit(0.25).split_indices(8, groups=[0, 1])


# ================================================================== the loss
class TestLoss:
    @pytest.mark.parametrize("Estimator", [GNNClassifier, GNNRegressor])
    def test_attentive_loss_false_uses_the_plain_masked_loss(self, Estimator, reg_data, clf_data):
        X, y = clf_data if Estimator is GNNClassifier else reg_data
        est = Estimator(**TINY, attentive_loss=False).fit(X, y)
        assert isinstance(est.criterion_, MaskedLoss)
        assert not isinstance(est.criterion_, GNBALoss)
        assert len(est.optimizer_.param_groups) == 1

    @pytest.mark.parametrize("Estimator, loss", [(GNNClassifier, "focal"), (GNNClassifier, "ghm"),
                                                 (GNNRegressor, "ghm")])
    def test_reweighting_baselines_train_with_their_settings(self, Estimator, loss, reg_data, clf_data):
        X, y = clf_data if Estimator is GNNClassifier else reg_data
        settings = {"criterion__gamma": 1.5} if loss == "focal" else {"criterion__bins": 7}
        est = Estimator(**TINY, attentive_loss=False, loss=loss, **settings).fit(X, y)
        assert isinstance(est.criterion_, FocalLoss if loss == "focal" else GHMLoss)
        name, value = next(iter(settings.items()))
        assert getattr(est.criterion_, name.removeprefix("criterion__")) == value
        assert np.isfinite(est.predict(X[:5]).astype(float)).all()

    def test_a_baseline_loss_is_not_combined_with_the_attention(self, clf_data):
        with pytest.raises(ValueError, match="set attentive_loss=False to train with the focal loss"):
            GNNClassifier(**TINY, attentive_loss=True, loss="focal").fit(*clf_data)

    def test_the_focal_loss_is_for_classes_only(self, reg_data):
        with pytest.raises(ValueError, match="loss"):
            GNNRegressor(**TINY, attentive_loss=False, loss="focal").fit(*reg_data)

    def test_attentive_loss_true_uses_gnba(self, attentive_regressor, attentive_classifier):
        assert isinstance(attentive_regressor.criterion_, GNBALoss)
        assert isinstance(attentive_classifier.criterion_, GNBALoss)
        assert attentive_regressor.criterion_.attention_dim == 16

    def test_attention_parameters_are_optimized(self, reg_data):
        X, y = reg_data
        snapshot = SnapshotCriterion()
        est = GNNRegressor(**TINY, attentive_loss=True, callbacks=[("snapshot", snapshot)]).fit(X, y)
        attention = dict(est.criterion_.named_parameters())
        assert attention, "the GNBA loss has no parameters"
        in_optimizer = {id(p) for group in est.optimizer_.param_groups for p in group["params"]}
        assert all(id(p) in in_optimizer for p in attention.values())
        initial = dict(est.callbacks_)["snapshot"].initial_
        changed = [name for name, p in attention.items() if not torch.equal(p.detach(), initial[name])]
        assert changed, "no attention parameter changed during training"

    def test_attention_dim_sets_the_attention_width(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, attentive_loss=True, attention_dim=4).fit(X, y)
        assert est.criterion_.attention_dim == 4
        assert est.criterion_.attention[0].out_features == 4

    @pytest.mark.parametrize("Estimator", [GNNClassifier, GNNRegressor])
    def test_numpy_integer_attention_dim_is_accepted(self, Estimator, reg_data, clf_data):
        # Search spaces such as np.arange(4, 17, 4) or scipy.stats.randint yield numpy
        # integers; the parameter validation accepts them, so fitting must too.
        X, y = clf_data if Estimator is GNNClassifier else reg_data
        est = Estimator(**TINY, attentive_loss=True, attention_dim=np.int64(8)).fit(X, y)
        assert est.criterion_.attention[0].out_features == 8


class HalfAbsoluteError(MolecularLoss):
    """A loss of one's own in the contract, with no attention: half the absolute error."""

    supported_tasks = ("regression",)

    def forward_details(self, input, target, sample_weight=None):
        _, mask = per_sample_loss(input, target, self.task)
        error = 0.5 * (input.reshape(mask.shape) - torch.nan_to_num(target.reshape(mask.shape))).abs()
        error = torch.where(mask, error, torch.zeros_like(error))
        return LossDetails(error.sum() / mask.sum(), error.detach(), mask,
                           relative_gradient_norm(input.detach(), target, self.task), None, None)


class TestLossParameter:
    """``loss`` is the one concept: "auto", a registry name, a MolecularLoss or any torch loss."""

    @pytest.mark.parametrize("name, cls", [("gnba-hard", GNBAHardLoss), ("gnba-guarded", GNBAGuardedLoss),
                                           ("gnba-paper", GNBAPaperLoss)])
    def test_attentive_names_build_their_registry_class(self, name, cls, reg_data):
        est = GNNRegressor(**TINY, attentive_loss=True, loss=name).fit(*reg_data)
        assert type(est.criterion_) is cls is get_loss_class(name)
        assert est.train_attention_.shape == (len(reg_data[0]),)
        assert "attention_entropy" in est.history[-1]

    def test_auto_is_gnba_hard_or_plain(self, reg_data):
        assert type(GNNRegressor(**TINY, attentive_loss=True).fit(*reg_data).criterion_) is GNBAHardLoss
        assert type(GNNRegressor(**TINY, attentive_loss=False).fit(*reg_data).criterion_) is MaskedLoss
        assert type(GNNRegressor(**TINY).fit(*reg_data).criterion_) is MaskedLoss  # the default

    def test_auto_is_bit_identical_to_naming_gnba_hard(self, clf_data):
        auto = GNNClassifier(**TINY, attentive_loss=True).fit(*clf_data)
        named = GNNClassifier(**TINY, attentive_loss=True, loss="gnba-hard").fit(*clf_data)
        for a, b in zip(auto.module_.state_dict().values(), named.module_.state_dict().values()):
            assert torch.equal(a, b)

    def test_a_typo_gets_the_registrys_did_you_mean(self, reg_data):
        est = GNNRegressor(**TINY, loss="gnba-hrad", callbacks=[("never", TrainingMustNotStart())])
        with pytest.raises(InvalidParameterError, match="unknown loss 'gnba-hrad'.*did you mean 'gnba-hard'"):
            est.fit(*reg_data)

    def test_attentive_loss_false_with_an_attentive_loss_is_refused_naming_both(self, reg_data):
        with pytest.raises(ValueError, match="attentive_loss=False .* loss='gnba-guarded' is attentive"):
            GNNRegressor(**TINY, attentive_loss=False, loss="gnba-guarded").fit(*reg_data)

    def test_attentive_loss_true_with_a_plain_loss_is_refused_naming_both(self, reg_data):
        with pytest.raises(ValueError, match="attentive_loss=True .* loss='plain'.*set attentive_loss=False"):
            GNNRegressor(**TINY, attentive_loss=True, loss="plain").fit(*reg_data)

    def test_attention_parameters_reach_the_attentive_variants(self, reg_data):
        est = GNNRegressor(**TINY, attentive_loss=True, loss="gnba-guarded", attention_dim=4, attention_temperature=2.0,
                           attention_entropy_weight=0.25, attention_weight_decay=0.1).fit(*reg_data)
        criterion = est.criterion_
        assert (criterion.attention_dim, criterion.temperature, criterion.entropy_weight) == (4, 2.0, 0.25)
        assert est.optimizer_.param_groups[1]["weight_decay"] == 0.1

    @pytest.mark.parametrize("name, default", [("gnba-hard", 5.0), ("gnba-guarded", 1.0), ("gnba-paper", 0.0)])
    def test_entropy_weight_none_is_the_variants_own_default(self, name, default, reg_data):
        assert GNNRegressor(**TINY, attentive_loss=True, loss=name).fit(*reg_data).criterion_.entropy_weight == default

    def test_an_entropy_weight_the_variant_fixes_is_refused(self, reg_data):
        with pytest.raises(ValueError, match="'gnba-paper' .* takes no entropy_weight"):
            GNNRegressor(**TINY, attentive_loss=True, loss="gnba-paper", attention_entropy_weight=0.5).fit(*reg_data)

    def test_attention_and_criterion_prefix_for_the_same_setting_are_refused(self, reg_data):
        with pytest.raises(ValueError, match="set only one"):
            GNNRegressor(**TINY, attentive_loss=True, loss="gnba-hard", attention_temperature=2.0,
                         criterion__temperature=3.0).fit(*reg_data)

    def test_criterion_prefix_reaches_an_attentive_variant(self, reg_data):
        est = GNNRegressor(**TINY, attentive_loss=True, loss="gnba-guarded", criterion__detach_gradient_norm=False).fit(*reg_data)
        assert est.criterion_.detach_gradient_norm is False

    def test_attention_settings_with_a_loss_without_attention_warn_that_they_are_ignored(self, reg_data):
        with pytest.warns(UserWarning, match=r"attention_temperature=2\.0 ignored: the loss 'plain' has no attention"):
            est = GNNRegressor(**TINY, attentive_loss=False, attention_temperature=2.0).fit(*reg_data)
        assert type(est.criterion_) is MaskedLoss

    def test_default_attention_settings_with_a_plain_loss_warn_nothing(self, reg_data):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            GNNRegressor(**TINY, attentive_loss=False, loss="ghm").fit(*reg_data)

    def test_a_loss_instance_is_copied_and_used(self, reg_data):
        torch.manual_seed(1)
        mine = make_loss("gnba-guarded", "regression", attention_dim=3)
        before = {k: v.clone() for k, v in mine.state_dict().items()}
        est = GNNRegressor(**TINY, attentive_loss=True, loss=mine).fit(*reg_data)
        assert type(est.criterion_) is GNBAGuardedLoss and est.criterion_ is not mine
        assert est.criterion_.attention_dim == 3
        assert all(torch.equal(before[k], v) for k, v in mine.state_dict().items())  # left as given
        assert est.get_params()["loss"] is mine

    def test_a_molecular_loss_of_ones_own_trains_without_the_estimator_knowing_its_class(self, reg_data):
        est = GNNRegressor(**TINY, loss=HalfAbsoluteError("regression"), attentive_loss=False).fit(*reg_data)
        assert type(est.criterion_) is HalfAbsoluteError
        assert np.isfinite(est.history[:, "train_loss"]).all()
        assert np.isnan(est.train_attention_).all()
        assert np.isfinite(est.train_gradient_norm_).sum() == len(reg_data[0]) - round(0.1 * len(reg_data[0]))

    def test_any_torch_loss_is_wrapped(self, reg_data):
        est = GNNRegressor(**TINY, loss=torch.nn.L1Loss(reduction="none"), attentive_loss=False).fit(*reg_data)
        assert type(est.criterion_) is TorchLoss
        assert isinstance(est.criterion_.loss_fn, torch.nn.L1Loss)

    def test_a_torch_loss_class_gets_a_hint(self, reg_data):
        with pytest.raises(ValueError, match=r"did you mean L1Loss\(reduction='none'\)"):
            GNNRegressor(**TINY, loss=torch.nn.L1Loss, attentive_loss=False).fit(*reg_data)

    def test_a_loss_for_another_task_is_refused(self, reg_data):
        with pytest.raises(ValueError, match="built for task 'binary', not 'regression'"):
            GNNRegressor(**TINY, loss=make_loss("plain", "binary"), attentive_loss=False).fit(*reg_data)

    def test_skorch_criterion_still_works_through_the_wrapper(self, reg_data):
        est = GNNRegressor(**TINY, criterion=torch.nn.MSELoss).fit(*reg_data)
        assert type(est.criterion_) is TorchLoss
        assert isinstance(est.criterion_.loss_fn, torch.nn.MSELoss)
        # It also scores the validation set, as it did before the wrapper.
        assert np.isfinite(est.history[:, "valid_loss"]).all()

    def test_skorch_criterion_and_loss_together_are_refused(self, reg_data):
        with pytest.raises(ValueError, match="both choose the loss"):
            GNNRegressor(**TINY, criterion=torch.nn.MSELoss, loss="ghm", attentive_loss=False).fit(*reg_data)

    def test_a_loss_name_survives_clone_and_grid_search(self, reg_data):
        X, y = reg_data
        grid = [{"loss": ["plain", "ghm"], "attentive_loss": [False]},
                {"loss": ["gnba-guarded", "gnba-hard"], "attentive_loss": [True]}]
        search = GridSearchCV(GNNRegressor(**TINY), grid, cv=2, scoring="neg_root_mean_squared_error",
                              error_score="raise").fit(X, y)
        assert len(search.cv_results_["params"]) == 4
        assert clone(GNNRegressor(loss="gnba-paper")).loss == "gnba-paper"


class TestDeprecatedLossParameters:
    @pytest.mark.parametrize("params, equivalent", [
        ({"adversarial_attention": False}, {"loss": "gnba-guarded"}),
        ({"adversarial_attention": True}, {"loss": "gnba-hard"}),
        ({"detach_gradient_norm": True}, {}),
        ({"adversarial_attention": False, "detach_gradient_norm": False},
         {"loss": "gnba-guarded", "criterion__detach_gradient_norm": False}),
        ({"adversarial_attention": False, "attention_entropy_weight": 0.0},
         {"loss": "gnba-guarded", "attention_entropy_weight": 0.0}),
    ])
    def test_old_parameters_warn_and_train_exactly_as_the_loss_they_name(self, params, equivalent, clf_data):
        with pytest.warns(FutureWarning, match="deprecated and will be removed in molgnba 0.3") as record:
            old = GNNClassifier(**TINY, attentive_loss=True, **params).fit(*clf_data)
        name = equivalent.get("loss", "gnba-hard")
        message = next(str(w.message) for w in record if "molgnba 0.3" in str(w.message))
        assert f"loss='{name}'" in message
        if "criterion__detach_gradient_norm" in equivalent:
            assert "criterion__detach_gradient_norm=False" in message
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            new = GNNClassifier(**TINY, attentive_loss=True, **equivalent).fit(*clf_data)
        assert type(old.criterion_) is type(new.criterion_) is get_loss_class(name)
        for state in ("module_", "criterion_"):
            for a, b in zip(getattr(old, state).state_dict().values(), getattr(new, state).state_dict().values()):
                assert torch.equal(a, b)

    def test_old_parameters_without_attention_have_no_effect_and_say_so(self, reg_data):
        with pytest.warns(FutureWarning, match="no effect with this loss"):
            est = GNNRegressor(**TINY, attentive_loss=False, adversarial_attention=False).fit(*reg_data)
        assert type(est.criterion_) is MaskedLoss

    def test_old_parameters_with_a_named_attentive_loss_are_refused(self, reg_data):
        with pytest.raises(ValueError, match="cannot be combined with loss='gnba-hard'"):
            GNNRegressor(**TINY, attentive_loss=True, loss="gnba-hard", adversarial_attention=False).fit(*reg_data)

    def test_the_old_contradiction_is_still_refused(self, reg_data):
        with pytest.raises(ValueError, match="adversarial_attention=True needs detach_gradient_norm=True"):
            GNNRegressor(**TINY, attentive_loss=True, adversarial_attention=True,
                         detach_gradient_norm=False).fit(*reg_data)

    def test_defaults_warn_nothing(self, reg_data):
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            est = GNNRegressor(**TINY).fit(*reg_data)
        assert est.get_params()["adversarial_attention"] == "deprecated"


# ================================================================== per-sample diagnostics
class TestSampleDiagnostics:
    def test_regressor_gradient_norm_is_aligned_with_the_training_input(self, fitted_regressor, reg_data):
        X, _ = reg_data
        _, valid = ValidationSplit(0.1, random_state=0).split_indices(len(X))
        g = fitted_regressor.train_gradient_norm_
        assert g.shape == (len(X),)
        np.testing.assert_array_equal(np.flatnonzero(np.isnan(g)), valid)
        trained = np.delete(g, valid)
        assert np.all((trained >= 0) & (trained < 1))

    def test_regressor_attention_is_aligned_with_the_training_input(self, attentive_regressor, reg_data):
        X, _ = reg_data
        _, valid = ValidationSplit(0.1, random_state=0).split_indices(len(X))
        a = attentive_regressor.train_attention_
        assert a.shape == (len(X),)
        np.testing.assert_array_equal(np.flatnonzero(np.isnan(a)), valid)
        assert np.all(np.delete(a, valid) > 0)

    def test_classifier_diagnostics_are_aligned_with_the_training_input(self, attentive_classifier, clf_data):
        X, y = clf_data
        _, valid = ValidationSplit(0.1, stratified=True, random_state=0).split_indices(len(X), y)
        g, a = attentive_classifier.train_gradient_norm_, attentive_classifier.train_attention_
        assert g.shape == a.shape == (len(X),)
        np.testing.assert_array_equal(np.flatnonzero(np.isnan(g)), valid)
        np.testing.assert_array_equal(np.flatnonzero(np.isnan(a)), valid)
        trained = np.delete(g, valid)
        assert np.all((trained >= 0) & (trained < 1))

    def test_default_attention_weights_hard_molecules(
            self, attentive_classifier, attentive_regressor, clf_data, reg_data):
        # What attentive_loss=True trains with, the benchmark's choice (docs/benchmarks.md, "Choosing the default").
        for criterion in (attentive_classifier.criterion_, attentive_regressor.criterion_):
            assert (type(criterion), criterion.adversarial, criterion.entropy_weight) == (GNBAHardLoss, True, 5.0)
        # The guarded attention has its own price, not the adversary's.
        guarded = GNNClassifier(**TINY, attentive_loss=True, loss="gnba-guarded").fit(*clf_data).criterion_
        assert (guarded.adversarial, guarded.entropy_weight) == (False, 1.0)
        guarded = GNNRegressor(**TINY, attentive_loss=True, loss="gnba-guarded").fit(*reg_data).criterion_
        assert (guarded.adversarial, guarded.entropy_weight) == (False, 1.0)
        paper = GNNRegressor(**TINY, attentive_loss=True, loss="gnba-guarded", attention_entropy_weight=0.0).fit(*reg_data)
        assert (paper.criterion_.adversarial, paper.criterion_.entropy_weight) == (False, 0.0)

    def test_attention_is_nan_without_the_attentive_loss(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, attentive_loss=False).fit(X, y)
        assert est.train_attention_.shape == (len(X),)
        assert np.isnan(est.train_attention_).all()
        g = est.train_gradient_norm_
        assert np.isfinite(g).sum() == len(X) - round(0.1 * len(X))
        assert np.all((g[np.isfinite(g)] >= 0) & (g[np.isfinite(g)] < 1))

    def test_multitask_diagnostics_have_one_column_per_task(self, fitted_multitask_regressor, multitask_reg_data):
        X, Y = multitask_reg_data
        g = fitted_multitask_regressor.train_gradient_norm_
        a = fitted_multitask_regressor.train_attention_
        assert g.shape == a.shape == Y.shape
        # Missing labels have no gradient norm.
        assert np.isnan(g[np.isnan(Y)]).all()
        assert np.isnan(a[np.isnan(Y)]).all()
        _, valid = ValidationSplit(0.1, random_state=0).split_indices(len(X))
        trained = np.setdiff1d(np.arange(len(X)), valid)
        labelled = ~np.isnan(Y[trained])
        assert np.isfinite(g[trained][labelled]).all()
        assert np.isnan(g[valid]).all()


# ================================================================== bad input
VALID_12 = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N", "C", "CC", "CCC", "CCCC"]
Y_12 = np.linspace(-2.0, 1.0, 12)
LABELS_12 = np.array([0, 1] * 6)
BAD_SMILES = {
    "unparseable": "C1CC",
    "empty-string": "",
    "none": None,
    "nan": float("nan"),
    "number": 3,
}


def _fresh(Estimator, **params):
    return Estimator(**{**TINY, **params}, callbacks=[("guard", TrainingMustNotStart())])


def _targets(Estimator):
    return LABELS_12 if Estimator is GNNClassifier else Y_12


def _assert_untrained(est):
    assert not getattr(est, "initialized_", False)
    assert not est.history  # None or empty
    assert not hasattr(est, "module_")


@pytest.mark.parametrize("Estimator", [GNNClassifier, GNNRegressor])
class TestBadInput:
    @pytest.mark.parametrize("bad", list(BAD_SMILES.values()), ids=list(BAD_SMILES))
    def test_invalid_smiles_at_fit_names_position_and_value(self, Estimator, bad):
        X = VALID_12[:7] + [bad] + VALID_12[8:]
        est = _fresh(Estimator)
        with pytest.raises(ValueError) as info:
            est.fit(X, _targets(Estimator))
        message = str(info.value)
        assert "position 7" in message
        assert repr(bad) in message
        _assert_untrained(est)

    @pytest.mark.parametrize("bad", list(BAD_SMILES.values()), ids=list(BAD_SMILES))
    def test_invalid_smiles_at_predict_names_position_and_value(self, Estimator, bad, fitted_regressor, fitted_classifier):
        est = fitted_classifier if Estimator is GNNClassifier else fitted_regressor
        with pytest.raises(ValueError) as info:
            est.predict(["CCO", "CCN", bad])
        assert "position 2" in str(info.value)
        assert repr(bad) in str(info.value)

    def test_several_invalid_smiles_are_all_listed(self, Estimator):
        X = list(VALID_12)
        X[2], X[9] = "C1CC", "not a smiles"
        est = _fresh(Estimator)
        with pytest.raises(ValueError) as info:
            est.fit(X, _targets(Estimator))
        message = str(info.value)
        assert "position 2" in message and "position 9" in message
        assert "'not a smiles'" in message

    def test_mismatched_lengths(self, Estimator):
        est = _fresh(Estimator)
        with pytest.raises(ValueError, match=r"12.*11|11.*12"):
            est.fit(VALID_12, _targets(Estimator)[:11])
        _assert_untrained(est)

    def test_empty_x_at_fit(self, Estimator):
        est = _fresh(Estimator)
        with pytest.raises(ValueError, match="(?i)empty"):
            est.fit([], [])
        _assert_untrained(est)

    def test_empty_x_at_predict(self, Estimator, fitted_regressor, fitted_classifier):
        est = fitted_classifier if Estimator is GNNClassifier else fitted_regressor
        with pytest.raises(ValueError, match="(?i)empty"):
            est.predict([])

    def test_single_string_at_fit(self, Estimator):
        est = _fresh(Estimator)
        with pytest.raises(TypeError, match="single string"):
            est.fit("CCO", [1])
        _assert_untrained(est)

    def test_single_string_at_predict(self, Estimator, fitted_regressor, fitted_classifier):
        est = fitted_classifier if Estimator is GNNClassifier else fitted_regressor
        with pytest.raises(TypeError, match="single string"):
            est.predict("CCO")

    def test_unknown_backbone_names_the_valid_ones(self, Estimator):
        est = _fresh(Estimator, backbone="gcn")
        with pytest.raises(ValueError) as info:
            est.fit(VALID_12, _targets(Estimator))
        message = str(info.value)
        assert "backbone" in message and "'gcn'" in message
        assert "gin" in message and "gat" in message
        _assert_untrained(est)

    @pytest.mark.parametrize("attention_dim", [0, -1])
    def test_non_positive_attention_dim(self, Estimator, attention_dim):
        est = _fresh(Estimator, attention_dim=attention_dim)
        with pytest.raises(ValueError, match="attention_dim"):
            est.fit(VALID_12, _targets(Estimator))
        _assert_untrained(est)

    def test_x_as_2d_numeric_array_is_refused(self, Estimator):
        est = _fresh(Estimator)
        with pytest.raises((ValueError, TypeError)):
            est.fit(np.zeros((12, 3)), _targets(Estimator))
        _assert_untrained(est)


class TestBadRegressionTargets:
    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
    def test_non_finite_1d_targets_name_the_row(self, bad):
        y = Y_12.copy()
        y[4] = bad
        est = _fresh(GNNRegressor)
        with pytest.raises(ValueError, match=r"(?i)(nan|infinite).*\b4\b"):
            est.fit(VALID_12, y)
        _assert_untrained(est)

    def test_non_numeric_targets_name_position_and_value(self):
        y = list(Y_12)
        y[3] = "abc"
        est = _fresh(GNNRegressor)
        with pytest.raises(ValueError) as info:
            est.fit(VALID_12, y)
        assert "row 3" in str(info.value) and "'abc'" in str(info.value)
        _assert_untrained(est)

    def test_2d_targets_with_an_empty_task_column(self):
        Y = np.column_stack([Y_12, np.full(12, np.nan)])
        est = _fresh(GNNRegressor)
        with pytest.raises(ValueError, match="column"):
            est.fit(VALID_12, Y)
        _assert_untrained(est)


class TestBadClassificationLabels:
    @pytest.mark.parametrize("label", [1, "a", True], ids=["int", "str", "bool"])
    def test_a_single_class_is_refused(self, label):
        est = _fresh(GNNClassifier)
        with pytest.raises(ValueError, match="single class") as info:
            est.fit(VALID_12, [label] * 12)
        assert repr(np.array([label])[0]) in str(info.value) or str(label) in str(info.value)
        _assert_untrained(est)

    def test_missing_1d_labels_are_refused(self):
        est = _fresh(GNNClassifier)
        with pytest.raises(ValueError, match=r"\b5\b"):
            est.fit(VALID_12, [0, 1, 0, 1, 0, None, 0, 1, 0, 1, 0, 1])
        _assert_untrained(est)

    def test_multitask_labels_must_be_0_1(self):
        Y = np.column_stack([LABELS_12, LABELS_12 * 2])
        est = _fresh(GNNClassifier)
        with pytest.raises(ValueError, match="0/1"):
            est.fit(VALID_12, Y)
        _assert_untrained(est)


# ================================================================== invalid_smiles="skip"
SKIP_POSITIONS = [3, 8]


def _with_invalid(smiles):
    X = list(smiles)
    X[3], X[8] = "C1CC", None
    return X


class TestSkipInvalidSmiles:
    def test_regressor_fit_warns_records_and_trains(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, invalid_smiles="skip")
        with pytest.warns(UserWarning, match="2 invalid SMILES"):
            est.fit(_with_invalid(X), y)
        assert [item.position for item in est.invalid_smiles_] == SKIP_POSITIONS
        assert [item.value for item in est.invalid_smiles_] == ["C1CC", None]
        assert len(est.history) == TINY["max_epochs"]
        assert est.train_gradient_norm_.shape == (len(X),)
        assert np.isnan(est.train_gradient_norm_[SKIP_POSITIONS]).all()
        predicted = est.predict(_with_invalid(X))
        assert predicted.shape == (len(X),)
        np.testing.assert_array_equal(np.flatnonzero(np.isnan(predicted)), SKIP_POSITIONS)

    def test_skipping_equals_training_without_the_invalid_rows(self, reg_data):
        # Only the valid molecules are used - their targets included (e.g. for the target
        # standardization) - so the fit is the same as on the clean subset.
        X, y = reg_data
        keep = np.setdiff1d(np.arange(len(X)), SKIP_POSITIONS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            skipped = GNNRegressor(**TINY, invalid_smiles="skip").fit(_with_invalid(X), y)
        clean = GNNRegressor(**TINY).fit([X[i] for i in keep], y[keep])
        np.testing.assert_allclose(skipped.predict([X[i] for i in keep]), clean.predict([X[i] for i in keep]), rtol=1e-6)

    def test_multitask_regressor_predicts_nan_rows(self, multitask_reg_data):
        X, Y = multitask_reg_data
        with pytest.warns(UserWarning):
            est = GNNRegressor(**TINY, invalid_smiles="skip").fit(_with_invalid(X), Y)
        predicted = est.predict(_with_invalid(X))
        assert predicted.shape == Y.shape
        assert np.isnan(predicted[SKIP_POSITIONS]).all()
        assert np.isfinite(np.delete(predicted, SKIP_POSITIONS, axis=0)).all()

    def test_binary_classifier_predicts_nan_rows(self, clf_data):
        X, y = clf_data
        with pytest.warns(UserWarning):
            est = GNNClassifier(**TINY, invalid_smiles="skip").fit(_with_invalid(X), y)
        assert [item.position for item in est.invalid_smiles_] == SKIP_POSITIONS
        Xi = _with_invalid(X)
        predicted, proba, decision = est.predict(Xi), est.predict_proba(Xi), est.decision_function(Xi)
        assert predicted.shape == (len(X),) and proba.shape == (len(X), 2) and decision.shape == (len(X),)
        np.testing.assert_array_equal(np.flatnonzero(np.isnan(predicted)), SKIP_POSITIONS)
        np.testing.assert_array_equal(np.flatnonzero(np.isnan(proba).any(1)), SKIP_POSITIONS)
        np.testing.assert_array_equal(np.flatnonzero(np.isnan(decision)), SKIP_POSITIONS)
        assert set(np.delete(predicted, SKIP_POSITIONS).tolist()) <= {0, 1}

    def test_string_label_classifier_predicts_missing_rows(self, multiclass_data):
        X, y = multiclass_data
        with pytest.warns(UserWarning):
            est = GNNClassifier(**TINY, invalid_smiles="skip").fit(_with_invalid(X), y)
        predicted = est.predict(_with_invalid(X))
        assert len(predicted) == len(X)
        for k, value in enumerate(predicted):
            if k in SKIP_POSITIONS:
                assert value is None or (isinstance(value, float) and np.isnan(value)), value
            else:
                assert value in {"low", "mid", "high"}

    def test_multitask_classifier_predicts_nan_rows(self, multitask_clf_data):
        X, Y = multitask_clf_data
        with pytest.warns(UserWarning):
            est = GNNClassifier(**TINY, invalid_smiles="skip").fit(_with_invalid(X), Y)
        Xi = _with_invalid(X)
        proba, predicted = est.predict_proba(Xi), est.predict(Xi)
        assert proba.shape == predicted.shape == Y.shape
        assert np.isnan(proba[SKIP_POSITIONS]).all()
        assert np.isnan(predicted[SKIP_POSITIONS].astype(float)).all()

    def test_skip_estimator_predicts_nan_for_new_invalid_input(self, reg_data):
        X, y = reg_data
        est = GNNRegressor(**TINY, invalid_smiles="skip").fit(X, y)
        assert est.invalid_smiles_ == []
        predicted = est.predict(["CCO", "C1CC", 3, "CCN"])
        assert predicted.shape == (4,)
        np.testing.assert_array_equal(np.isnan(predicted), [False, True, True, False])

    def test_single_class_left_after_skipping_is_refused(self):
        # The label checks must apply to the molecules that are trained on: here the only
        # "b" sits on an invalid SMILES, so what remains is a single class.
        X = VALID_12[:11] + ["C1CC"]
        y = ["a"] * 11 + ["b"]
        est = GNNClassifier(**TINY, invalid_smiles="skip", callbacks=[("guard", TrainingMustNotStart())])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            with pytest.raises(ValueError, match="single class"):
                est.fit(X, y)

    def test_all_invalid_still_raises(self, reg_data):
        est = GNNRegressor(**TINY, invalid_smiles="skip", callbacks=[("guard", TrainingMustNotStart())])
        with pytest.warns(UserWarning), pytest.raises(ValueError, match="no valid SMILES"):
            est.fit(["C1CC", None, ""], [1.0, 2.0, 3.0])


# ================================================================== end to end
@pytest.mark.slow
def test_regressor_learns_esol(esol):
    # From the graph alone (descriptors=None): the RDKit descriptors would add ~25 ms per molecule.
    smiles, y = esol
    X_train, y_train, X_test, y_test = smiles[:900], y[:900], smiles[900:], y[900:]
    est = GNNRegressor(num_layers=3, hidden_dim=64, max_epochs=15, attentive_loss=True, descriptors=None, random_state=0)
    est.fit(X_train, y_train)
    test_rmse = rmse(est.predict(X_test), y_test)
    assert test_rmse < 0.75 * np.std(y_test), (test_rmse, np.std(y_test))


@pytest.mark.slow
def test_classifier_learns_bbbp(bbbp):
    smiles, y = bbbp
    order = np.random.RandomState(0).permutation(len(smiles))
    train, test = order[:1500], order[1500:]
    est = GNNClassifier(num_layers=3, hidden_dim=64, max_epochs=10, attentive_loss=True, descriptors=None, random_state=0)
    est.fit([smiles[i] for i in train], y[train])
    scores = est.predict_proba([smiles[i] for i in test])[:, 1]
    assert roc_auc_score(y[test], scores) > 0.8


# ----------------------------------------------------------------- partial_fit
def test_partial_fit_on_smiles_continues_training(reg_data):
    smiles, y = reg_data
    reg = GNNRegressor(**TINY).partial_fit(smiles, y)
    first_weights = {k: v.clone() for k, v in reg.module_.state_dict().items()}
    mean, scale = reg.target_mean_.copy(), reg.target_scale_.copy()
    reg.partial_fit(smiles[:40], y[:40] + 100.0)  # new data, shifted targets
    assert len(reg.history_) == 2 * TINY["max_epochs"]
    # The standardization of the first fit is kept, not refitted on the new targets.
    np.testing.assert_array_equal(reg.target_mean_, mean)
    np.testing.assert_array_equal(reg.target_scale_, scale)
    changed = [k for k, v in reg.module_.state_dict().items() if not torch.equal(v, first_weights[k])]
    assert changed, "partial_fit did not train"
    assert reg.train_gradient_norm_.shape == (40,)
    assert reg.n_train_samples_ == 40


def test_partial_fit_refuses_labels_the_classifier_never_saw(reg_data):
    smiles, y = reg_data
    labels = np.where(y > np.median(y), "soluble", "insoluble")
    clf = GNNClassifier(**TINY).fit(smiles, labels)
    clf.partial_fit(smiles[:20], labels[:20])
    assert clf.classes_.tolist() == ["insoluble", "soluble"]
    new_labels = labels[:20].copy().astype(object)
    new_labels[7] = "unknown"
    with pytest.raises(ValueError, match=r"not fitted on at rows \[7\]"):
        clf.partial_fit(smiles[:20], new_labels)
    with pytest.raises(ValueError, match="task column"):
        clf.partial_fit(smiles[:20], np.zeros((20, 3)))
