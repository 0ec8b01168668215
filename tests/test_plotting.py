"""molgnba.plotting: each plot returns its Axes with the expected artists and labels."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from molgnba import GNNClassifier, GNNRegressor  # noqa: E402
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

SMILES = [
    "CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N",
    "C1CCCCC1", "CS(=O)(=O)C", "O=C=O", "C", "CCCC", "CCOC", "c1ccccc1O", "c1ccccc1N",
]  # fmt: skip
SMALL = dict(num_layers=2, hidden_dim=16, max_epochs=3, random_state=0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def regression():
    smiles = SMILES * 2
    y = np.array([len(s) + 0.1 * k for k, s in enumerate(smiles)], dtype=float)
    return smiles, y, GNNRegressor(**SMALL).fit(smiles, y)


@pytest.fixture(scope="module")
def plain_regression(regression):
    smiles, y, _ = regression
    return smiles, y, GNNRegressor(attentive_loss=False, **SMALL).fit(smiles, y)


@pytest.fixture(scope="module")
def binary():
    smiles = SMILES * 2
    labels = np.array(["active" if "c" in s or "Cl" in s else "inactive" for s in smiles])
    return smiles, labels, GNNClassifier(**SMALL).fit(smiles, labels)


@pytest.fixture(scope="module")
def multitask():
    smiles = SMILES * 2
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(len(smiles), 3)).astype(float)
    y[::5, 1] = np.nan
    y[:, 2] = [k % 2 for k in range(len(smiles))]
    return smiles, y, GNNClassifier(**SMALL).fit(smiles, y)


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
        reg_skip = GNNRegressor(invalid_smiles="skip", **SMALL).fit(smiles, y)
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
        ax = plot_roc_curve(clf, smiles, y, task_names=["a", "b", "c"])
        curves = [label for label in _labels(ax) if "AUC" in label and "Chance" not in label]
        assert [label.split(" ")[0] for label in curves] == ["a", "b", "c"]

    def test_multiclass_one_vs_rest(self):
        smiles = SMILES * 2
        labels = [k % 3 for k in range(len(smiles))]
        clf = GNNClassifier(**SMALL).fit(smiles, labels)
        ax = plot_roc_curve(clf, smiles, labels)
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


def test_doctests():
    result = doctest.testmod(plotting, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 6
    assert result.failed == 0
