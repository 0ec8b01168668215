"""Tests of molgnba.metrics against scikit-learn, and of the old import path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, r2_score, roc_auc_score

from molgnba.metrics import classification_scores, masked_rmse, masked_roc_auc, mean_scores, regression_scores

RNG = np.random.default_rng(0)


def test_masked_roc_auc_is_the_mean_of_per_task_scores_over_present_labels():
    y = RNG.integers(0, 2, size=(40, 3)).astype(float)
    scores = RNG.random((40, 3))
    y[::5, 0] = np.nan
    y[:, 2] = 1.0  # a single class: left out of the mean
    present = ~np.isnan(y[:, 0])
    expected = np.mean([roc_auc_score(y[present, 0], scores[present, 0]), roc_auc_score(y[:, 1], scores[:, 1])])
    assert masked_roc_auc(y, scores) == pytest.approx(expected)
    assert math.isnan(masked_roc_auc(y[:, 2:], scores[:, 2:]))


def test_masked_rmse_pools_present_labels_of_every_task():
    y = RNG.normal(size=(30, 2))
    prediction = y + RNG.normal(size=(30, 2))
    y[3, 1] = y[7, 0] = np.nan
    present = ~np.isnan(y)
    assert masked_rmse(y, prediction) == pytest.approx(np.sqrt(mean_squared_error(y[present], prediction[present])))
    assert math.isnan(masked_rmse(np.full((2, 1), np.nan), np.zeros((2, 1))))


def test_the_callbacks_module_still_exports_the_metrics():
    from molgnba import callbacks

    assert callbacks.masked_roc_auc is masked_roc_auc and callbacks.masked_rmse is masked_rmse
    assert {"masked_roc_auc", "masked_rmse"} <= set(callbacks.__all__)


def test_regression_scores_match_scikit_learn():
    y, prediction = RNG.normal(size=25), RNG.normal(size=25)
    scores = regression_scores(y, prediction)
    assert scores["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, prediction)))
    assert scores["mae"] == pytest.approx(mean_absolute_error(y, prediction))
    assert scores["r2"] == pytest.approx(r2_score(y, prediction))
    assert math.isnan(regression_scores([1.0], [1.5])["r2"])


def test_binary_classification_scores_match_scikit_learn():
    classes = np.array(["inactive", "active"])
    codes = RNG.integers(0, 2, size=30)
    positive = RNG.random(30)
    proba = np.column_stack([1 - positive, positive])
    predicted = classes[(positive >= 0.5).astype(int)]
    scores = classification_scores(classes[codes], predicted, proba, classes)
    assert scores["accuracy"] == pytest.approx(accuracy_score(classes[codes], predicted))
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(codes, positive))


def test_multiclass_roc_auc_is_one_vs_rest_and_nan_when_a_class_is_absent():
    classes = np.array([0, 1, 2])
    codes = np.array([0, 1, 2, 0, 1, 2, 1, 0])
    proba = RNG.dirichlet(np.ones(3), size=len(codes))
    predicted = proba.argmax(1)
    scores = classification_scores(codes, predicted, proba, classes)
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(codes, proba, multi_class="ovr"))
    assert scores["accuracy"] == pytest.approx(np.mean(predicted == codes))
    without_class_2 = codes != 2
    partial = classification_scores(codes[without_class_2], predicted[without_class_2], proba[without_class_2], classes)
    assert math.isnan(partial["roc_auc"])


def test_labels_compare_whatever_their_numpy_type():
    classes = np.array([0, 1])
    scores = classification_scores(np.array([0.0, 1.0, 1.0]), np.array([0, 1, 0]), [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], classes)
    assert scores == {"accuracy": pytest.approx(2 / 3), "roc_auc": 1.0}


def test_mean_scores_skip_nan_and_keep_all_nan_metrics_nan():
    means = mean_scores([{"a": 1.0, "b": float("nan")}, {"a": 3.0, "b": float("nan")}])
    assert means["a"] == 2.0 and math.isnan(means["b"])
    assert mean_scores([]) == {}
