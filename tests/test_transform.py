"""Learned fingerprints: transform, fit_transform, get_feature_names_out and their pipelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from molgnba import GNNClassifier, GNNRegressor
from molgnba.featurize import featurize_smiles
from molgnba.screening import predict_frame

TINY = dict(num_layers=2, hidden_dim=8, head_hidden_dim=8, max_epochs=2, random_state=0, descriptors=None)
SMILES = [("C" * n) + tail for n in range(1, 7) for tail in ("", "O", "N", "Cl")]
Y = np.array([float(len(s)) for s in SMILES])
# The default GIN's readout concatenates its atom embedding and every layer, each pooled.
EMBEDDING_WIDTH = (TINY["num_layers"] + 1) * TINY["hidden_dim"]


@pytest.fixture(scope="module")
def regressor():
    return GNNRegressor(**TINY).fit(SMILES, Y)


@pytest.fixture(scope="module")
def ensemble():
    return GNNRegressor(**TINY, n_ensemble=2).fit(SMILES, Y)


class TestTransform:
    def test_shape_dtype_and_feature_names(self, regressor):
        fingerprints = regressor.transform(SMILES[:5])
        assert fingerprints.shape == (5, EMBEDDING_WIDTH) and fingerprints.dtype == np.float32
        assert regressor.n_features_out_ == EMBEDDING_WIDTH
        names = regressor.get_feature_names_out()
        assert names.dtype == object and names.tolist() == [f"gnnregressor{k}" for k in range(EMBEDDING_WIDTH)]

    def test_is_the_input_of_the_head(self, regressor):
        fingerprints = torch.from_numpy(regressor.transform(SMILES))
        with torch.no_grad():
            standardized = regressor.module_.head(fingerprints).numpy()[:, 0]
        values = standardized * regressor.target_scale_[0] + regressor.target_mean_[0]
        np.testing.assert_allclose(values, regressor.predict(SMILES), rtol=1e-5, atol=1e-5)

    def test_is_deterministic_and_leaves_the_model_unchanged(self, regressor):
        before = regressor.predict(SMILES)
        np.testing.assert_array_equal(regressor.transform(SMILES), regressor.transform(SMILES))
        np.testing.assert_array_equal(regressor.predict(SMILES), before)

    def test_invalid_smiles_raise_naming_them(self, regressor):
        with pytest.raises(ValueError, match=r"position 1: .not a smiles."):
            regressor.transform(["CCO", "not a smiles"])

    def test_invalid_smiles_give_nan_rows_with_skip(self):
        reg = GNNRegressor(**TINY, invalid_smiles="skip").fit(SMILES, Y)
        fingerprints = reg.transform(["CCO", "not a smiles", "CCN"])
        assert fingerprints.dtype == np.float32
        assert np.isnan(fingerprints).all(axis=1).tolist() == [False, True, False]
        np.testing.assert_array_equal(fingerprints[[0, 2]], reg.transform(["CCO", "CCN"]))

    def test_unfitted_raises(self):
        with pytest.raises(NotFittedError):
            GNNRegressor().transform(["CCO"])
        with pytest.raises(NotFittedError):
            GNNRegressor().get_feature_names_out()

    def test_fit_transform_is_fit_then_transform(self, regressor):
        fingerprints = GNNRegressor(**TINY).fit_transform(SMILES, Y)
        np.testing.assert_array_equal(fingerprints, regressor.transform(SMILES))

    def test_dmpnn_fingerprints_are_its_pooled_final_atom_states_alone(self):
        reg = GNNRegressor(**TINY, backbone="dmpnn").fit(SMILES, Y)
        width = TINY["hidden_dim"]
        assert reg.transform(SMILES[:3]).shape == (3, width) and reg.n_features_out_ == width

    def test_classifier_names_and_width(self):
        clf = GNNClassifier(**TINY).fit(SMILES, (Y > 3).astype(int))
        assert clf.transform(SMILES[:3]).shape == (3, EMBEDDING_WIDTH)
        assert clf.get_feature_names_out()[0] == "gnnclassifier0"

    def test_ensemble_concatenates_the_members_in_order(self, ensemble):
        fingerprints = ensemble.transform(SMILES)
        assert fingerprints.shape == (len(SMILES), 2 * EMBEDDING_WIDTH)
        assert len(ensemble.get_feature_names_out()) == 2 * EMBEDDING_WIDTH
        for k, member in enumerate(ensemble.estimators_):
            block = fingerprints[:, k * EMBEDDING_WIDTH:(k + 1) * EMBEDDING_WIDTH]
            np.testing.assert_array_equal(block, member.transform(SMILES))

    def test_predict_graphs_transform_matches_and_fills_nan(self, regressor):
        graphs, _ = featurize_smiles(["CCO", "C1CC", "CCN"], regressor.featurizer, cache=None)
        fingerprints = regressor.predict_graphs(graphs, "transform")
        assert fingerprints.dtype == np.float32 and np.isnan(fingerprints[1]).all()
        np.testing.assert_allclose(fingerprints[[0, 2]], regressor.transform(["CCO", "CCN"]), rtol=1e-6, atol=1e-6)

    def test_predict_frame_transform_names_columns_and_explains_invalid_rows(self, regressor):
        table = predict_frame(regressor, ["CCO", "C1CC"], method="transform")
        assert list(table.columns) == regressor.get_feature_names_out().tolist() + ["molgnba_error"]
        assert table.iloc[1, :-1].isna().all() and table["molgnba_error"].tolist() == [None, "RDKit could not parse it"]


class TestPipeline:
    def test_random_forest_on_learned_fingerprints_trains_end_to_end(self):
        model = Pipeline([("gnn", GNNRegressor(**TINY)), ("rf", RandomForestRegressor(n_estimators=10, random_state=0))])
        model.fit(SMILES, Y)
        forest = model.named_steps["rf"]
        assert forest.n_features_in_ == EMBEDDING_WIDTH
        predictions = model.predict(["CCCO", "CCCCCl"])
        assert predictions.shape == (2,) and np.isfinite(predictions).all()
        # The forest reads exactly the fitted network's fingerprints.
        expected = forest.predict(model.named_steps["gnn"].transform(["CCCO", "CCCCCl"]))
        np.testing.assert_array_equal(predictions, expected)

    def test_pandas_series_input(self, regressor):
        series = pd.Series(SMILES[:4], index=[10, 11, 12, 13])
        np.testing.assert_array_equal(regressor.transform(series), regressor.transform(SMILES[:4]))


@pytest.mark.parametrize("extra", [{"head_hidden_dim": None}, {"descriptors": "rdkit2d"}])
def test_fingerprints_and_empty_screens_with_a_linear_head_or_descriptors(extra):
    """The embedding is the graph part of the head's input, whatever the head or the descriptors."""
    from conftest import TINY, TINY_SMILES, TINY_TARGETS
    from molgnba import GNNRegressor

    model = GNNRegressor(**{**TINY, **extra}, n_ensemble=2, uncertainty="ensemble", attentive_loss=False)
    model.fit(TINY_SMILES, TINY_TARGETS)
    fingerprints = model.transform(TINY_SMILES[:3])
    assert fingerprints.shape == (3, model.n_features_out_)
    assert model.n_features_out_ == 2 * model.estimators_[0].module_.embedding_dim
    assert model.predict_graphs([], return_std=True)[1].shape == (0,)
    assert model.predict_graphs([], "transform").shape == (0, model.n_features_out_)
