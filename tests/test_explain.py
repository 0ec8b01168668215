"""molgnba.explain: atom contributions land on the atoms that make the target.

The known answer: a regressor fitted on y = number of nitrogen atoms must put
its contributions on the nitrogens, and integrated gradients must add up to
the prediction minus the baseline's.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from molgnba import GNNClassifier, GNNRegressor
from molgnba.explain import METHODS, AtomContributions, atom_contributions
from molgnba.nn.embedding import CategoricalEmbedding
from molgnba.presets import get_preset

from conftest import TINY, TINY_LABELS, TINY_SMILES


def _molecules(n: int, seed: int) -> list[str]:
    """``n`` distinct small molecules of C, N and O, about half of them with nitrogen."""
    rng = np.random.default_rng(seed)
    rings = ["c1ccccc1", "c1ccncc1", "C1CC1", "C1CCOC1"]
    found: dict[str, None] = {}
    while len(found) < n:
        chain = list(rng.choice(["C", "C", "C", "N", "O"], size=rng.integers(2, 8)))
        if rng.random() < 0.4:
            chain.insert(int(rng.integers(1, len(chain) + 1)), "(C)")
        smiles = "".join(chain)
        if rng.random() < 0.3:
            smiles = rng.choice(rings) + smiles
        mol = Chem.MolFromSmiles(smiles)
        if mol is not None:
            found[Chem.MolToSmiles(mol)] = None
    return list(found)


def _n_nitrogens(smiles: str) -> float:
    return float(sum(atom.GetSymbol() == "N" for atom in Chem.MolFromSmiles(smiles).GetAtoms()))


def _elements(smiles: str) -> list[str]:
    return [atom.GetSymbol() for atom in Chem.MolFromSmiles(smiles).GetAtoms()]


@pytest.fixture(scope="module")
def nitrogen_regressor():
    """A GIN fitted on y = number of nitrogens (sum pooling can count; about 10 s on one thread)."""
    torch.manual_seed(0)
    smiles = _molecules(240, seed=0)
    y = [_n_nitrogens(s) for s in smiles]
    reg = GNNRegressor(
        **{**get_preset("paper"), "num_layers": 2, "hidden_dim": 32, "pooling": "sum", "max_epochs": 40, "lr": 3e-3},
        attentive_loss=False, random_state=0,
    )
    return reg.fit(smiles, y)


@pytest.fixture(scope="module")
def held_out():
    train = set(_molecules(240, seed=0))
    return [s for s in _molecules(80, seed=1) if s not in train][:40]


@pytest.mark.slow  # the known-answer model takes seconds to fit
class TestNitrogenCount:
    def test_model_learned_the_count(self, nitrogen_regressor, held_out):
        y = np.array([_n_nitrogens(s) for s in held_out])
        rmse = np.sqrt(np.mean((nitrogen_regressor.predict(held_out) - y) ** 2))
        assert rmse < 0.6  # otherwise the tests below explain a model that learned nothing

    @pytest.mark.parametrize("method", sorted(METHODS))
    def test_contributions_fall_on_nitrogens(self, nitrogen_regressor, held_out, method):
        result = atom_contributions(nitrogen_regressor, held_out, method=method)
        by_element: dict[str, list[float]] = {}
        for smiles, values in zip(held_out, result):
            for element, value in zip(_elements(smiles), values):
                by_element.setdefault(element, []).append(value)
        means = {element: np.mean(values) for element, values in by_element.items()}
        assert set(means) == {"C", "N", "O"}
        others = max(value for element, value in means.items() if element != "N")
        assert means["N"] > others + 0.5, means

    def test_the_nitrogen_is_the_largest_in_each_molecule_with_one(self, nitrogen_regressor, held_out):
        with_one = [s for s in held_out if _n_nitrogens(s) == 1]
        assert len(with_one) >= 5
        for smiles, values in zip(with_one, atom_contributions(nitrogen_regressor, with_one)):
            assert _elements(smiles)[int(np.argmax(values))] == "N", (smiles, values)

    def test_sum_is_prediction_minus_baseline(self, nitrogen_regressor, held_out):
        """Completeness of integrated gradients, in the units of y."""
        result = atom_contributions(nitrogen_regressor, held_out, n_steps=50)
        sums = np.array([values.sum() for values in result])
        difference = result.output - result.baseline_output
        np.testing.assert_allclose(sums, difference, rtol=0.05, atol=0.02)
        assert np.abs(difference).min() > 0.1  # the check above is not about zeros


@pytest.fixture(params=["tiny", pytest.param("nitrogen", marks=pytest.mark.slow)])
def any_regressor(request):
    """A fitted regressor to explain: a copy of the shared tiny one (these tests switch its
    train/eval mode), or the known-answer model."""
    if request.param == "tiny":
        return copy.deepcopy(request.getfixturevalue("tiny_regressor"))
    return request.getfixturevalue("nitrogen_regressor")


class TestAnyModel:
    """What holds for any fitted model, learned or not."""

    def test_output_is_the_prediction_in_units_of_y(self, any_regressor, held_out):
        result = atom_contributions(any_regressor, held_out[:10], method="occlusion")
        np.testing.assert_allclose(result.output, any_regressor.predict(held_out[:10]), atol=1e-4)
        assert result.explained == "predicted value"

    def test_batching_does_not_mix_molecules(self, any_regressor, held_out):
        one_by_one = atom_contributions(any_regressor, held_out[:6], n_steps=8, batch_size=1)
        together = atom_contributions(any_regressor, held_out[:6], n_steps=8, batch_size=64)
        for a, b in zip(one_by_one, together):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

    def test_model_left_unchanged(self, any_regressor, held_out):
        module = any_regressor.module_
        before = {name: p.detach().clone() for name, p in module.named_parameters()}
        requires_grad = {name: p.requires_grad for name, p in module.named_parameters()}
        # Training leaves zeroed .grad tensors (or None); explaining must not add to them.
        grads = {name: None if p.grad is None else p.grad.clone() for name, p in module.named_parameters()}
        predictions = any_regressor.predict(held_out)
        for mode in (True, False):
            module.train(mode)
            for method in METHODS:
                atom_contributions(any_regressor, held_out[:5], method=method, batch_size=2)
            assert all(m.training == mode for m in module.modules())
        for name, parameter in module.named_parameters():
            assert torch.equal(parameter, before[name]), name
            assert parameter.requires_grad == requires_grad[name], name
            if grads[name] is None:
                assert parameter.grad is None, name
            else:
                assert torch.equal(parameter.grad, grads[name]), name
        assert not any(m._forward_hooks for m in module.modules())
        np.testing.assert_array_equal(any_regressor.predict(held_out), predictions)


class TestShape:
    @pytest.mark.slow  # needs the known-answer model: the nitrogen gets the largest value
    def test_one_value_per_heavy_atom_in_rdkit_order(self, nitrogen_regressor):
        smiles = ["[H]OC([H])([H])C", "C", "[Na+].[Cl-]", "NCCO", "OCCN", "c1ccncc1"]
        result = atom_contributions(nitrogen_regressor, smiles)
        assert isinstance(result, AtomContributions) and len(result) == len(smiles)
        assert [v.shape for v in result] == [(3,), (1,), (2,), (4,), (4,), (6,)]
        assert all(v.dtype == np.float64 for v in result)
        # The nitrogen is the first atom of NCCO and the last of OCCN.
        assert int(np.argmax(result[3])) == 0 and int(np.argmax(result[4])) == 3
        np.testing.assert_allclose(result[3], result[4][::-1], atol=1e-5)

    def test_pandas_and_numpy_input(self, tiny_regressor):
        as_list = atom_contributions(tiny_regressor, ["CCN", "CO"], method="occlusion")
        for container in (pd.Series(["CCN", "CO"]), np.array(["CCN", "CO"]), ("CCN", "CO")):
            result = atom_contributions(tiny_regressor, container, method="occlusion")
            for a, b in zip(result, as_list):
                np.testing.assert_array_equal(a, b)

    def test_single_string_and_empty_input_refused(self, tiny_regressor):
        with pytest.raises(TypeError, match="Wrap it in a list"):
            atom_contributions(tiny_regressor, "CCN")
        with pytest.raises(ValueError, match="empty"):
            atom_contributions(tiny_regressor, [])

    def test_not_fitted(self):
        from sklearn.exceptions import NotFittedError

        with pytest.raises(NotFittedError):
            atom_contributions(GNNRegressor(), ["CCO"])


class TestInvalidSmiles:
    def test_raise_names_the_smiles(self, tiny_regressor):
        assert tiny_regressor.invalid_smiles == "raise"
        with pytest.raises(ValueError, match=r"position 1: 'C1CC'"):
            atom_contributions(tiny_regressor, ["CCO", "C1CC", "CCN"])

    def test_skip_puts_none_where_predict_puts_nan(self, tiny_regressor):
        reg = copy.deepcopy(tiny_regressor).set_params(invalid_smiles="skip")
        smiles = ["CCO", "C1CC", "CCN", "not a smiles"]
        result = atom_contributions(reg, smiles)
        predictions = reg.predict(smiles)
        assert [v is None for v in result] == list(np.isnan(predictions))
        assert [v.shape for v in result if v is not None] == [(3,), (3,)]
        assert np.isnan(result.output[1]) and np.isnan(result.baseline_output[3])
        np.testing.assert_allclose(result.output[[0, 2]], predictions[[0, 2]], atol=1e-4)


class TestTarget:
    def test_single_task_regressor_has_nothing_to_choose(self, tiny_regressor):
        atom_contributions(tiny_regressor, ["CCN"], target=0, method="occlusion")
        with pytest.raises(ValueError, match="one output"):
            atom_contributions(tiny_regressor, ["CCN"], target=1)

    def test_multitask_regressor_needs_a_task(self, tiny_multitask_regressor):
        for bad in (None, 2, "a"):
            with pytest.raises(ValueError, match=r"target must be one of \[0, 1\]"):
                atom_contributions(tiny_multitask_regressor, ["CCN"], target=bad)
        result = atom_contributions(tiny_multitask_regressor, TINY_SMILES[:4], target=1)
        assert result.explained == "predicted value of task 1"
        np.testing.assert_allclose(result.output, tiny_multitask_regressor.predict(TINY_SMILES[:4])[:, 1], atol=1e-4)

    def test_binary_classifier_explains_the_positive_logit(self, tiny_classifier):
        logits = tiny_classifier.decision_function(TINY_SMILES[:4])
        positive = atom_contributions(tiny_classifier, TINY_SMILES[:4])
        assert positive.explained == "logit of class 'inactive'"  # classes_ sorted: active, inactive
        np.testing.assert_allclose(positive.output, logits, atol=1e-4)
        negative = atom_contributions(tiny_classifier, TINY_SMILES[:4], target="active")
        for a, b in zip(positive, negative):
            np.testing.assert_allclose(a, -b, atol=1e-6)
        with pytest.raises(ValueError, match=r"classes \['active', 'inactive'\]"):
            atom_contributions(tiny_classifier, ["CCN"], target="unknown")

    def test_multiclass_classifier_needs_a_class(self, tiny_multiclass_classifier):
        with pytest.raises(ValueError, match=r"target must be one of the classes \['a', 'b', 'c'\].*got none"):
            atom_contributions(tiny_multiclass_classifier, ["CCN"])
        result = atom_contributions(tiny_multiclass_classifier, TINY_SMILES[:4], target="b")
        assert result.explained == "log-probability of class 'b'"
        expected = np.log(tiny_multiclass_classifier.predict_proba(TINY_SMILES[:4])[:, 1])
        np.testing.assert_allclose(result.output, expected, atol=1e-4)
        sums = np.array([values.sum() for values in result])
        np.testing.assert_allclose(sums, result.output - result.baseline_output, rtol=0.05, atol=0.02)

    def test_multitask_classifier_needs_a_task(self, tiny_multitask_classifier):
        with pytest.raises(ValueError, match=r"target must be one of \[0, 1\].*multi-task GNNClassifier"):
            atom_contributions(tiny_multitask_classifier, ["CCN"])
        result = atom_contributions(tiny_multitask_classifier, TINY_SMILES[:4], target=0, method="occlusion")
        np.testing.assert_allclose(result.output, tiny_multitask_classifier.decision_function(TINY_SMILES[:4])[:, 0], atol=1e-4)


class TestMethods:
    def test_unknown_method_lists_the_valid_ones(self, tiny_classifier):
        with pytest.raises(ValueError, match=r"valid names are \['integrated_gradients', 'occlusion'\]"):
            atom_contributions(tiny_classifier, ["CCN"], method="shap")

    def test_unknown_or_bad_option(self, tiny_classifier):
        with pytest.raises(TypeError, match=r"unknown option\(s\) \['n_steps'\].*\['batch_size'\]"):
            atom_contributions(tiny_classifier, ["CCN"], method="occlusion", n_steps=5)
        with pytest.raises(ValueError, match="n_steps must be a positive integer"):
            atom_contributions(tiny_classifier, ["CCN"], n_steps=0)

    def test_occlusion_is_the_drop_when_an_atom_is_zeroed(self):
        """Recomputed by hand with a hook on GIN's one atom embedding, for the second atom of CCN."""
        from torch_geometric.data import Batch

        from molgnba.featurize import featurize_smiles

        clf = GNNClassifier(backbone="gin", **TINY).fit(TINY_SMILES, TINY_LABELS)
        result = atom_contributions(clf, ["CCN"], method="occlusion")
        graph = featurize_smiles(["CCN"], clf.featurizer, cache=None)[0][0]
        module = clf.module_.eval()

        def zero_atom_1(embedding, inputs, output):
            output = output.clone()
            output[1] = 0.0
            return output

        handle = module.backbone.atom_embedding.register_forward_hook(zero_atom_1)
        try:
            with torch.no_grad():
                occluded = module(Batch.from_data_list([graph]))[0, 0].item()
        finally:
            handle.remove()
        assert result[0][1] == pytest.approx(result.output[0] - occluded, abs=1e-5)

    def test_gat_backbone(self):
        clf = GNNClassifier(backbone="gat", **TINY).fit(TINY_SMILES, TINY_LABELS)
        result = atom_contributions(clf, ["CC(=O)N", "c1ccncc1"])
        assert [v.shape for v in result] == [(4,), (6,)]
        sums = np.array([values.sum() for values in result])
        np.testing.assert_allclose(sums, result.output - result.baseline_output, rtol=0.05, atol=0.02)

    def test_model_without_atom_embedding_is_refused(self, tiny_classifier, monkeypatch):
        clf = copy.deepcopy(tiny_classifier)
        monkeypatch.setattr(CategoricalEmbedding, "register_forward_hook", lambda self, hook: _NoHandle())
        with pytest.raises(ValueError, match="embeds no atom codes through CategoricalEmbedding"):
            atom_contributions(clf, ["CCN"])


class _NoHandle:
    def remove(self):
        pass


class TestPlot:
    @pytest.fixture(autouse=True)
    def _agg(self):
        matplotlib = pytest.importorskip("matplotlib")
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        yield
        plt.close("all")

    def test_writes_png_and_svg_and_returns_a_figure(self, tiny_regressor, tmp_path):
        from matplotlib.figure import Figure

        from molgnba.plotting import plot_atom_contributions

        png, svg = tmp_path / "contributions.png", tmp_path / "contributions.svg"
        figure = plot_atom_contributions(tiny_regressor, "CC(=O)Nc1ccc(O)cc1", filename=png)
        assert isinstance(figure, Figure)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        plot_atom_contributions(tiny_regressor, "CC(=O)Nc1ccc(O)cc1", filename=str(svg), method="occlusion")
        assert b"<svg" in svg.read_bytes()[:1000]
        molecule_axes, colour_bar = figure.axes
        assert colour_bar.get_ylabel() == "contribution to the predicted value"
        low, high = colour_bar.get_ylim()
        assert low == pytest.approx(-high)  # centred on zero

    def test_draws_on_the_given_axes(self, tiny_regressor):
        import matplotlib.pyplot as plt

        from molgnba.plotting import plot_atom_contributions

        figure, axes = plt.subplots(1, 2)
        returned = plot_atom_contributions(tiny_regressor, "NCCO", ax=axes[1], show_values=False)
        assert returned is figure
        assert len(axes[1].images) == 1 and len(axes[0].images) == 0

    def test_bad_input_refused_before_any_work(self, tiny_regressor, tmp_path):
        from molgnba.plotting import plot_atom_contributions

        with pytest.raises(ValueError, match=r"must end in \.png or \.svg"):
            plot_atom_contributions(tiny_regressor, "CCN", filename=tmp_path / "x.jpg")
        with pytest.raises(TypeError, match="one SMILES string"):
            plot_atom_contributions(tiny_regressor, ["CCN", "CCO"])
        with pytest.raises(ValueError, match="C1CC"):
            plot_atom_contributions(tiny_regressor, "C1CC")
        assert not list(tmp_path.iterdir())

