"""Molecule descriptors joined to the graph embedding: descriptors="rdkit2d"."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from molgnba import GNNClassifier, GNNRegressor
from molgnba.featurize import GraphCache, HuFeaturizer, featurize_smiles, graph_cache, rdkit_descriptor_names
from molgnba.featurize import rdkit_descriptors
from molgnba.featurize._descriptors import DescriptorGraphFeaturizer
from molgnba.nn import BACKBONES, MolecularGNN
from molgnba.nn.model import DESCRIPTOR_CLIP
from molgnba.persistence import load_model, save_model

TRAIN = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1", "CC(=O)O", "c1ccccc1O",
         "CC(=O)[O-].[Na+]", "CCOC(=O)C"]
Y = [float(k % 5) for k in range(len(TRAIN))]
LABELS = [k % 2 for k in range(len(TRAIN))]
OTHER = ["CCCCCCCCCCCC", "c1ccc2ccccc2c1", "OCC(O)CO"]
TINY = {"num_layers": 1, "hidden_dim": 8, "max_epochs": 2, "random_state": 0, "descriptors": "rdkit2d"}

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def fitted():
    torch.set_num_threads(1)
    return GNNRegressor(**TINY).fit(TRAIN, Y)


def raw_descriptors(smiles):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return rdkit_descriptors(smiles).astype(np.float64)


class TestFeaturizer:
    def test_graph_is_the_plain_graph_plus_a_row_of_descriptors(self):
        graphs, _ = featurize_smiles(["CCO", "c1ccccc1O"], DescriptorGraphFeaturizer("hu2019"), cache=None)
        plain, _ = featurize_smiles(["CCO", "c1ccccc1O"], "hu2019", cache=None)
        for graph, reference in zip(graphs, plain):
            assert torch.equal(graph.x, reference.x) and torch.equal(graph.edge_attr, reference.edge_attr)
            assert graph.descriptors.shape == (1, len(rdkit_descriptor_names()))
            assert graph.descriptors.dtype == torch.float32
        np.testing.assert_array_equal(
            torch.cat([g.descriptors for g in graphs]).numpy(), rdkit_descriptors(["CCO", "c1ccccc1O"])
        )
        assert Batch.from_data_list(graphs).descriptors.shape == (2, len(rdkit_descriptor_names()))

    def test_cached_plain_graphs_are_left_alone(self):
        cache = GraphCache()
        plain, _ = featurize_smiles(["CCO"], "hu2019", cache=cache)
        with_descriptors, _ = featurize_smiles(["CCO"], DescriptorGraphFeaturizer("hu2019"), cache=cache)
        again, _ = featurize_smiles(["CCO"], "hu2019", cache=cache)
        assert again[0] is plain[0]
        assert "descriptors" not in plain[0]
        assert with_descriptors[0] is not plain[0] and len(cache) == 2

    def test_estimator_fit_leaves_the_process_cache_graphs_without_descriptors(self, fitted):
        plain, _ = featurize_smiles(TRAIN, "hu2019")  # the process-wide cache
        assert all("descriptors" not in graph for graph in plain)

    def test_signature_depends_on_the_names(self):
        one = DescriptorGraphFeaturizer("hu2019", names=["MolWt", "TPSA"])
        other = DescriptorGraphFeaturizer("hu2019", names=["TPSA", "MolWt"])
        assert one.signature != other.signature != HuFeaturizer().signature
        assert DescriptorGraphFeaturizer("extended").signature.startswith("extended:1+rdkit2d:")

    def test_unknown_set_or_name_is_refused(self):
        with pytest.raises(ValueError, match="valid names are \\['rdkit2d'\\]"):
            DescriptorGraphFeaturizer("hu2019", "mordred")
        with pytest.raises(ValueError, match="did you mean 'MolWt'"):
            DescriptorGraphFeaturizer("hu2019", names=["MolWeight"])

    def test_parallel_featurization_carries_the_descriptors(self):
        import pickle

        featurizer = pickle.loads(pickle.dumps(DescriptorGraphFeaturizer("hu2019", names=["MolWt"])))
        graphs, _ = featurize_smiles(["CCO"], featurizer, cache=None)
        assert graphs[0].descriptors.item() == pytest.approx(46.069, abs=1e-3)


class TestModel:
    def test_scaling_imputes_nan_with_the_mean_and_clips(self):
        model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims, num_layers=1,
                             hidden_dim=4, descriptor_dim=3, descriptor_mean=[1.0, 0.0, 0.0],
                             descriptor_scale=[2.0, 1.0, 1.0])
        graphs, _ = featurize_smiles(["CCO", "CC"], "hu2019", cache=None)
        batch = Batch.from_data_list(graphs)
        batch.descriptors = torch.tensor([[5.0, float("nan"), 1e6], [1.0, -3.0, -1e6]])
        expected = torch.tensor([[2.0, 0.0, DESCRIPTOR_CLIP], [0.0, -3.0, -DESCRIPTOR_CLIP]])
        assert torch.equal(model.scaled_descriptors(batch), expected)
        assert model.head.in_features == model.embedding_dim + 3
        assert torch.isfinite(model(batch)).all()

    def test_descriptor_buffers_are_in_the_state_dict(self):
        model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims, num_layers=1,
                             hidden_dim=4, descriptor_dim=2)
        state = model.state_dict()
        assert state["descriptor_mean"].tolist() == [0.0, 0.0] and state["descriptor_scale"].tolist() == [1.0, 1.0]
        assert "descriptor_mean" not in MolecularGNN(HuFeaturizer.atom_feature_dims,
                                                     HuFeaturizer.bond_feature_dims, num_layers=1).state_dict()

    def test_missing_or_misshaped_descriptors_raise_a_clear_error(self):
        model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims, num_layers=1,
                             hidden_dim=4, descriptor_dim=2)
        graphs, _ = featurize_smiles(["CCO"], "hu2019", cache=None)
        batch = Batch.from_data_list(graphs)
        with pytest.raises(ValueError, match="graph_featurizer"):
            model(batch)
        batch.descriptors = torch.zeros(1, 3)
        with pytest.raises(ValueError, match="B x 2"):
            model(batch)
        with pytest.raises(ValueError, match="3 values; descriptor_dim is 2"):
            MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims, num_layers=1,
                         descriptor_dim=2, descriptor_mean=[0.0, 0.0, 0.0])


class TestEstimator:
    def test_shapes(self, fitted):
        n = len(rdkit_descriptor_names())
        assert fitted.descriptor_names_ == rdkit_descriptor_names()
        assert fitted.descriptor_mean_.shape == fitted.descriptor_scale_.shape == (n,)
        assert fitted.module_.descriptor_dim == n
        assert fitted.module_.head[0].in_features == fitted.module_.embedding_dim + n  # the head's hidden layer
        assert fitted.predict(OTHER).shape == (3,)

    def test_statistics_come_from_the_training_molecules_only(self, fitted):
        values = raw_descriptors(TRAIN)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        constant = ~(std > 0)
        np.testing.assert_allclose(fitted.descriptor_mean_[np.isfinite(mean)], mean[np.isfinite(mean)], rtol=1e-6)
        np.testing.assert_allclose(fitted.descriptor_scale_[~constant], std[~constant], rtol=1e-6)
        assert (fitted.descriptor_scale_[constant] == 1.0).all()
        before = fitted.descriptor_mean_.copy()
        fitted.predict(OTHER)
        np.testing.assert_array_equal(fitted.descriptor_mean_, before)
        np.testing.assert_allclose(fitted.module_.descriptor_mean.numpy(), before.astype(np.float32))

    def test_nan_descriptors_are_handled(self, fitted):
        # The salt's BCUT2D descriptors are NaN; it trains and predicts like any other molecule.
        values = raw_descriptors(["CC(=O)[O-].[Na+]"])
        assert np.isnan(values).any()
        assert np.isfinite(fitted.predict(["CC(=O)[O-].[Na+]", "CCO"])).all()

    def test_a_column_nan_for_every_training_molecule_gets_mean_0_scale_1(self):
        reg = GNNRegressor(**TINY)
        graphs, _ = featurize_smiles(["CCO", "CCC"], DescriptorGraphFeaturizer("hu2019", names=["MolWt", "TPSA"]),
                                     cache=None)
        graphs[0].descriptors[0, 1] = graphs[1].descriptors[0, 1] = float("nan")
        reg.descriptor_names_ = ["MolWt", "TPSA"]
        reg._fit_descriptor_scaling(graphs)
        assert reg.descriptor_mean_[1] == 0.0 and reg.descriptor_scale_[1] == 1.0
        assert np.isfinite(reg.descriptor_mean_).all()

    @pytest.mark.parametrize("backbone", sorted(BACKBONES))
    def test_every_backbone(self, backbone):
        reg = GNNRegressor(**{**TINY, "max_epochs": 1}, backbone=backbone, head_hidden_dim=8).fit(TRAIN, Y)
        assert np.isfinite(reg.predict(OTHER)).all()

    @pytest.mark.parametrize("params", [
        {"attentive_loss": True}, {"attentive_loss": False}, {"attentive_loss": False, "loss": "focal"},
        {"attentive_loss": False, "loss": "ghm"},
    ])
    def test_classifier_with_every_loss(self, params):
        clf = GNNClassifier(**{**TINY, "max_epochs": 1}, **params).fit(TRAIN, LABELS)
        proba = clf.predict_proba(OTHER)
        assert proba.shape == (3, 2) and np.allclose(proba.sum(1), 1.0)

    def test_multitask_regression(self):
        y = np.column_stack([Y, Y[::-1]])
        y[0, 1] = np.nan
        reg = GNNRegressor(**{**TINY, "max_epochs": 1}).fit(TRAIN, y)
        assert reg.predict(OTHER).shape == (3, 2)

    def test_invalid_smiles_handling_is_unchanged(self):
        with pytest.raises(ValueError, match="'not a smiles'"):
            GNNRegressor(**TINY).fit(TRAIN + ["not a smiles"], Y + [1.0])
        with pytest.warns(UserWarning, match="skipped"):
            reg = GNNRegressor(**TINY, invalid_smiles="skip").fit(TRAIN + ["not a smiles"], Y + [1.0])
        assert [entry.position for entry in reg.invalid_smiles_] == [len(TRAIN)]
        predictions = reg.predict(["CCO", "not a smiles"])
        assert np.isfinite(predictions[0]) and np.isnan(predictions[1])

    def test_predict_graphs_needs_graphs_with_descriptors(self, fitted):
        graphs, _ = featurize_smiles(OTHER, fitted.graph_featurizer(), cache=None)
        np.testing.assert_allclose(fitted.predict_graphs(graphs), fitted.predict(OTHER), rtol=1e-6)
        plain, _ = featurize_smiles(OTHER, fitted.featurizer, cache=None)
        with pytest.raises(ValueError, match="graph_featurizer"):
            fitted.predict_graphs(plain)

    def test_refit_without_descriptors_forgets_them(self):
        reg = GNNRegressor(**TINY).fit(TRAIN, Y)
        reg.set_params(descriptors=None).fit(TRAIN, Y)
        assert not hasattr(reg, "descriptor_mean_")
        assert "descriptor_mean_" not in reg.get_fitted_state()
        assert reg.module_.descriptor_dim == 0


class TestDefault:
    @pytest.mark.parametrize("Estimator, y", [(GNNRegressor, Y), (GNNClassifier, LABELS)])
    def test_a_default_estimator_joins_the_rdkit_descriptors_and_copes_with_nan_ones(self, Estimator, y):
        # Only the sizes and epochs are set: the descriptors are the default's.
        model = Estimator(num_layers=1, hidden_dim=8, head_hidden_dim=8, max_epochs=1, random_state=0).fit(TRAIN, y)
        n = len(rdkit_descriptor_names())
        assert model.descriptor_names_ == rdkit_descriptor_names()
        assert model.module_.descriptor_dim == n and model.descriptor_mean_.shape == (n,)
        assert model.module_.head[0].in_features == model.module_.embedding_dim + n
        salt = "[Na+].[Cl-]"  # RDKit's BCUT2D descriptors fail on it: NaN in its row
        assert np.isnan(raw_descriptors([salt])).any()
        predictions = model.predict_proba([salt, "CCO"]) if Estimator is GNNClassifier else model.predict([salt, "CCO"])
        assert np.isfinite(predictions).all()


class TestPersistence:
    def test_round_trip(self, fitted, tmp_path):
        path = save_model(fitted, tmp_path / "model.molgnba")
        loaded = load_model(path)
        np.testing.assert_array_equal(loaded.descriptor_mean_, fitted.descriptor_mean_)
        np.testing.assert_array_equal(loaded.descriptor_scale_, fitted.descriptor_scale_)
        assert loaded.descriptor_names_ == fitted.descriptor_names_
        np.testing.assert_array_equal(loaded.predict(OTHER), fitted.predict(OTHER))

    def test_fitted_state_round_trip_and_checks(self, fitted):
        state = fitted.get_fitted_state()
        assert len(state["descriptor_names_"]) == len(state["descriptor_mean_"]) == len(state["descriptor_scale_"])
        twin = GNNRegressor(num_layers=1, hidden_dim=8, descriptors="rdkit2d").set_fitted_state(state).initialize()
        twin.module_.load_state_dict(fitted.module_.state_dict())
        np.testing.assert_array_equal(twin.predict(OTHER), fitted.predict(OTHER))
        with pytest.raises(ValueError, match="descriptor_scale_ missing"):
            GNNRegressor(descriptors="rdkit2d").set_fitted_state(
                {k: v for k, v in state.items() if k != "descriptor_scale_"})
        without = {k: v for k, v in state.items() if not k.startswith("descriptor_")}
        with pytest.raises(ValueError, match="needs the fitted attributes"):
            GNNRegressor(descriptors="rdkit2d").set_fitted_state(without)
        with pytest.raises(ValueError, match="one finite value per descriptor"):
            GNNRegressor(descriptors="rdkit2d").set_fitted_state({**state, "descriptor_mean_": [0.0]})

    def test_state_without_descriptors_has_no_descriptor_entries(self):
        reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0, descriptors=None).fit(TRAIN, Y)
        assert not any(name.startswith("descriptor") for name in reg.get_fitted_state())
        assert not any(name.startswith("descriptor") for name in reg.module_.state_dict())

    def test_process_cache_is_shared_with_clones(self, fitted):
        from sklearn.base import clone

        hits = graph_cache.hits
        clone(fitted).fit(TRAIN, Y)
        assert graph_cache.hits >= hits + len(TRAIN)


def test_screening_featurizes_with_the_descriptors(fitted):
    # molgnba.screening featurizes through the estimator's graph_featurizer(), descriptors included.
    from molgnba.screening import ChunkPredictor

    np.testing.assert_allclose(ChunkPredictor(fitted).predict(OTHER), fitted.predict(OTHER), rtol=1e-6)
