"""Every metric molgnba computes, in one place.

The estimators' validation score (:class:`~molgnba.callbacks.ValidationScore`),
the benchmark's test score and ``molgnba evaluate`` all use these functions,
so a number means the same thing wherever it is printed.

* :func:`masked_roc_auc` and :func:`masked_rmse` - for ``n x T`` targets in
  which NaN marks a missing label: the validation metric of the estimators
  and the test metric of the benchmark.
* :func:`classification_scores` and :func:`regression_scores` - the metrics
  of one target that ``molgnba evaluate`` reports (accuracy and ROC-AUC;
  RMSE, MAE and R2).
* :func:`mean_scores` - their unweighted mean over several targets.

A metric that is undefined for the data (ROC-AUC with one class, R2 of one
value) is NaN rather than an error, so one degenerate task does not stop an
evaluation of many.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np

__all__ = ["classification_scores", "masked_rmse", "masked_roc_auc", "mean_scores", "regression_scores"]


def masked_roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Mean ROC-AUC over the tasks whose present labels hold both classes.

    Parameters
    ----------
    y_true : ndarray of shape ``n x T``
        Binary labels (0 or 1); NaN marks a missing label.
    scores : ndarray of shape ``n x T``
        Scores of the positive class, any monotonic scale (logits or
        probabilities).

    Returns
    -------
    float
        The unweighted mean over the qualifying tasks; NaN when no task
        has both classes among its present labels.

    Examples
    --------
    >>> import numpy as np
    >>> from molgnba.metrics import masked_roc_auc
    >>> y_true = np.array([[1, 1], [0, np.nan], [1, 1], [0, 1]])
    >>> scores = np.array([[0.9, 0.2], [0.1, 0.5], [0.4, 0.7], [0.6, 0.1]])
    >>> masked_roc_auc(y_true, scores)  # task 2 holds one class only: left out
    0.75
    >>> masked_roc_auc(y_true[:, 1:], scores[:, 1:])
    nan
    """
    from sklearn.metrics import roc_auc_score

    values = []
    for task in range(y_true.shape[1]):
        present = ~np.isnan(y_true[:, task])
        labels = y_true[present, task]
        if len(np.unique(labels)) == 2:
            values.append(roc_auc_score(labels, scores[present, task]))
    return float(np.mean(values)) if values else float("nan")


def masked_rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error over the present (non-NaN) labels, all tasks pooled.

    Parameters
    ----------
    y_true : ndarray of shape ``n x T``
        True values; NaN marks a missing label.
    y_pred : ndarray of shape ``n x T``
        Predicted values.

    Returns
    -------
    float
        The RMSE over every present label; NaN when there is none.

    Examples
    --------
    >>> import numpy as np
    >>> from molgnba.metrics import masked_rmse
    >>> y_true = np.array([[1.0, np.nan], [2.0, 0.0]])
    >>> y_pred = np.array([[2.0, 5.0], [2.0, 2.0]])
    >>> masked_rmse(y_true, y_pred)  # sqrt((1 + 0 + 4) / 3); the NaN label is ignored
    1.2909944487358056
    """
    present = ~np.isnan(y_true)
    if not present.any():
        return float("nan")
    return float(np.sqrt(np.mean((y_pred[present] - y_true[present]) ** 2)))


def classification_scores(y_true, y_pred, proba, classes) -> dict[str, float]:
    """Accuracy of predicted labels and ROC-AUC of class probabilities, for one target.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, every one of them in ``classes``.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    proba : ndarray of shape (n_samples, n_classes)
        Probability of each class, in the order of ``classes``.
    classes : array-like of shape (n_classes,)
        The labels the model knows (a classifier's ``classes_``).

    Returns
    -------
    dict
        ``accuracy`` and ``roc_auc``: binary ROC-AUC of ``classes[1]``, or
        one-vs-rest ROC-AUC (macro average) for more classes. ROC-AUC is NaN
        when ``y_true`` holds a single class, or for several classes when
        one of ``classes`` is absent from ``y_true``.

    Examples
    --------
    >>> import numpy as np
    >>> from molgnba.metrics import classification_scores
    >>> proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    >>> classification_scores(["no", "yes", "yes", "yes"], ["no", "yes", "no", "yes"], proba, ["no", "yes"])
    {'accuracy': 0.75, 'roc_auc': 1.0}
    >>> classification_scores(["yes", "yes"], ["no", "yes"], proba[:2], ["no", "yes"])
    {'accuracy': 0.5, 'roc_auc': nan}
    """
    from sklearn.metrics import roc_auc_score

    y_true, y_pred = list(y_true), list(y_pred)
    classes = list(np.asarray(classes).tolist())
    proba = np.asarray(proba, dtype=float)
    scores = {"accuracy": float(np.mean([p == t for p, t in zip(y_pred, y_true)])), "roc_auc": float("nan")}
    codes = np.array([classes.index(_plain(label)) for label in y_true])
    if len(np.unique(codes)) < 2:
        return scores
    if len(classes) == 2:
        scores["roc_auc"] = float(roc_auc_score(codes == 1, proba[:, 1]))
    elif len(np.unique(codes)) == len(classes):  # one-vs-rest needs every class present
        scores["roc_auc"] = float(roc_auc_score(codes, proba, multi_class="ovr", labels=np.arange(len(classes))))
    return scores


def regression_scores(y_true, y_pred) -> dict[str, float]:
    """RMSE, MAE and R2 of one target.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted values, without missing ones.

    Returns
    -------
    dict
        ``rmse``, ``mae`` and ``r2`` (scikit-learn's coefficient of
        determination; NaN for fewer than two values).

    Examples
    --------
    >>> from molgnba.metrics import regression_scores
    >>> regression_scores([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0])
    {'rmse': 0.5, 'mae': 0.25, 'r2': 0.8}
    >>> regression_scores([1.0], [2.0])
    {'rmse': 1.0, 'mae': 1.0, 'r2': nan}
    """
    from sklearn.metrics import mean_absolute_error, r2_score

    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return {
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
    }


def mean_scores(scores: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Unweighted mean of each metric over several targets, NaN values left out.

    Parameters
    ----------
    scores : iterable of dict
        One ``{metric: value}`` per target, all with the metrics of the first.

    Returns
    -------
    dict
        ``{metric: mean}``; NaN for a metric that is NaN for every target.

    Examples
    --------
    >>> from molgnba.metrics import mean_scores
    >>> mean_scores([{"roc_auc": 0.8, "accuracy": 0.7}, {"roc_auc": float("nan"), "accuracy": 0.9}])
    {'roc_auc': 0.8, 'accuracy': 0.8}
    """
    scores = list(scores)
    if not scores:
        return {}
    means = {}
    for name in scores[0]:
        values = [entry[name] for entry in scores if not math.isnan(entry[name])]
        means[name] = float(np.mean(values)) if values else float("nan")
    return means


def _plain(value):
    """A numpy scalar as the Python value, so labels compare with ``classes_.tolist()``."""
    return value.item() if isinstance(value, np.generic) else value
