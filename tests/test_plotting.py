"""molgnba.plotting: each plot returns its Axes with the expected artists and labels."""

from __future__ import annotations

import copy
import doctest

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from molgnba import GNNRegressor  # noqa: E402
from molgnba import plotting  # noqa: E402
from molgnba.plotting import (  # noqa: E402
    _extreme_indices,
    draw_extreme_molecules,
    plot_attention_vs_gradient_norm,
    plot_gradient_norm_histogram,
    plot_learning_curve,
    plot_predicted_vs_true,
    plot_roc_curve,
)

from conftest import (  # noqa: E402
    TINY,
    TINY_LABELS,
    TINY_MULTICLASS_LABELS,
    TINY_MULTITASK_LABELS,
    TINY_SMILES,
    TINY_TARGETS,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def regression():
    """Fitted with the GNBA attentive loss, so that it has attention to plot."""
    return TINY_SMILES, TINY_TARGETS, GNNRegressor(attentive_loss=True, **TINY).fit(TINY_SMILES, TINY_TARGETS)


@pytest.fixture
def plain_regression(tiny_regressor):
    """The shared tiny regressor: the plain loss, the default."""
    return TINY_SMILES, TINY_TARGETS, tiny_regressor


@pytest.fixture
def binary(tiny_classifier):
    return TINY_SMILES, TINY_LABELS, tiny_classifier


@pytest.fixture
def multitask(tiny_multitask_classifier):
    return TINY_SMILES, TINY_MULTITASK_LABELS, tiny_multitask_classifier


def _labels(ax):
    return ax.get_legend_handles_labels()[1]


class TestPredictedVsTrue:
    def test_scatter_diagonal_and_rmse(self, regression):
        smiles, y, reg = regression
        ax = plot_predicted_vs_true(reg, smiles, y)
        assert isinstance(ax, Axes)
        scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(scatters) == 1 and len(scatters[0].get_offsets()) == len(smiles)
        assert len(ax.lines) == 1  # the diagonal
        rmse = np.sqrt(np.mean((reg.predict(smiles) - y) ** 2))
        assert _labels(ax)[0] == f"RMSE = {rmse:.3f}"
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("true value", "predicted value")

    def test_name_and_given_axes(self, regression):
        smiles, y, reg = regression
        _, ax = plt.subplots()
        assert plot_predicted_vs_true(reg, smiles, y, ax=ax, name="GIN") is ax
        assert _labels(ax)[0].startswith("GIN (RMSE = ")

    def test_missing_labels_and_invalid_smiles_left_out(self, regression):
        smiles, y, reg = regression
        reg_skip = copy.deepcopy(reg).set_params(invalid_smiles="skip")
        y_missing = y.copy()
        y_missing[0] = np.nan
        ax = plot_predicted_vs_true(reg_skip, smiles + ["not a smiles"], np.append(y_missing, 1.0))
        assert len(ax.collections[0].get_offsets()) == len(smiles) - 1

    def test_shape_mismatch(self, regression):
        smiles, y, reg = regression
        with pytest.raises(ValueError, match="do not match"):
            plot_predicted_vs_true(reg, smiles, y[:, None].repeat(2, 1))


class TestRocCurve:
    def test_binary_string_labels(self, binary):
        smiles, labels, clf = binary
        ax = plot_roc_curve(clf, smiles, labels, name="GIN")
        assert isinstance(ax, Axes)
        labels_shown = _labels(ax)
        assert labels_shown[0].startswith("GIN (AUC = ")
        assert any("Chance" in label for label in labels_shown)
        assert len(ax.lines) == 2  # the curve and the chance level

    def test_multitask_one_curve_per_task(self, multitask):
        smiles, y, clf = multitask
        ax = plot_roc_curve(clf, smiles, y, task_names=["a", "b"])
        curves = [label for label in _labels(ax) if "AUC" in label and "Chance" not in label]
        assert [label.split(" ")[0] for label in curves] == ["a", "b"]

    def test_multiclass_one_vs_rest(self, tiny_multiclass_classifier):
        ax = plot_roc_curve(tiny_multiclass_classifier, TINY_SMILES, TINY_MULTICLASS_LABELS)
        assert sum("vs rest" in label for label in _labels(ax)) == 3


class TestLearningCurve:
    def test_lines_and_best_epoch(self, regression):
        _, _, reg = regression
        ax = plot_learning_curve(reg)
        assert isinstance(ax, Axes)
        labels = _labels(ax)
        assert labels[:2] == ["train_loss", "valid_loss"]
        assert labels[2] == f"best epoch ({reg.best_epoch_})"
        assert len(ax.lines[0].get_xdata()) == reg.max_epochs

    def test_label_prefix_and_keys(self, regression, plain_regression):
        ax = plot_learning_curve(regression[2], keys=["attention_entropy"], label="GNBA")
        plot_learning_curve(plain_regression[2], keys=["valid_rmse"], ax=ax, label="plain")
        labels = _labels(ax)
        assert "GNBA: attention_entropy" in labels and "plain: valid_rmse" in labels


class TestGradientNormPlots:
    def test_histogram(self, regression, plain_regression):
        ax = plot_gradient_norm_histogram(
            {"plain": plain_regression[2].train_gradient_norm_, "attentive": regression[2].train_gradient_norm_},
            bins=10,
        )
        assert isinstance(ax, Axes)
        assert len(ax.patches) == 20
        assert _labels(ax) == ["plain", "attentive"]

    def test_attention_vs_gradient_norm(self, regression):
        _, _, reg = regression
        ax = plot_attention_vs_gradient_norm(reg.train_gradient_norm_, reg.train_attention_)
        assert isinstance(ax, Axes)
        sorted_g, attention = ax.lines
        n_train = np.isfinite(reg.train_gradient_norm_).sum()
        assert len(sorted_g.get_ydata()) == n_train
        assert np.all(np.diff(sorted_g.get_ydata()) >= 0)
        assert 0 <= np.min(attention.get_ydata()) and np.max(attention.get_ydata()) <= 1


class TestDrawExtremeMolecules:
    @pytest.mark.parametrize("which", ["hardest", "easiest"])
    def test_picks_extreme_gradient_norms(self, regression, which):
        smiles, _, reg = regression
        chosen, g, _ = _extreme_indices(reg, len(smiles), 4, which)
        finite = np.sort(reg.train_gradient_norm_[np.isfinite(reg.train_gradient_norm_)])
        expected = finite[::-1][:4] if which == "hardest" else finite[:4]
        np.testing.assert_allclose(g[chosen], expected)

    def test_image_size(self, regression):
        smiles, _, reg = regression
        image = draw_extreme_molecules(reg, smiles, n=6, mols_per_row=3, sub_img_size=(100, 80))
        assert image.size == (300, 160)

    def test_plain_loss_and_multitask(self, plain_regression, multitask):
        smiles, _, reg = plain_regression
        assert draw_extreme_molecules(reg, smiles, n=2, mols_per_row=2, sub_img_size=(50, 50)).size == (100, 50)
        smiles, _, clf = multitask
        chosen, g, a = _extreme_indices(clf, len(smiles), 3, "hardest")
        assert g.shape == a.shape == (len(smiles),) and np.isfinite(g[chosen]).all()

    def test_misuse(self, regression):
        smiles, _, reg = regression
        with pytest.raises(ValueError, match="fitted on"):
            draw_extreme_molecules(reg, smiles[:-1])
        with pytest.raises(ValueError, match="which"):
            draw_extreme_molecules(reg, smiles, which="hard")
        from sklearn.exceptions import NotFittedError

        with pytest.raises(NotFittedError):
            draw_extreme_molecules(GNNRegressor(), smiles)


@pytest.mark.slow  # the same examples as tests/test_doctests.py runs for molgnba.plotting
def test_doctests():
    result = doctest.testmod(plotting, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 6
    assert result.failed == 0
