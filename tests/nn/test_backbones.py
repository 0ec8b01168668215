"""Every registered backbone inside MolecularGNN: shapes, invariances, edge cases, options.

The paper's own layers (GINEdgeConv, GATEdgeConv) have their formula tests in
test_model.py; D-MPNN and Attentive FP have theirs in test_dmpnn.py and
test_attentivefp.py.
"""

from __future__ import annotations

import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from molgnba.featurize import ExtendedFeaturizer, HuFeaturizer, MoleculeFeaturizer, featurize_smiles
from molgnba.nn import (
    BACKBONES,
    GATv2EdgeConv,
    MessagePassingBackbone,
    MolecularGNN,
    backbone_options,
    build_backbone,
)

HIDDEN = 16
LAYERS = 3
SMILES = ["CCO", "c1ccccc1", "C", "CC(=O)[O-].[Na+]", "C[C@H](N)C(=O)O", "F/C=C/F", "[Na+].[Cl-]"]


class ElementFeaturizer(MoleculeFeaturizer):
    """A user feature set: element and bond order only."""

    name = "test-element"
    atom_feature_dims = [4]
    bond_feature_dims = [5]

    def atom_features(self, atom):
        return ({"C": 0, "N": 1, "O": 2}.get(atom.GetSymbol(), 3),)

    def bond_features(self, bond):
        return ({1.0: 0, 2.0: 1, 3.0: 2, 1.5: 3}.get(bond.GetBondTypeAsDouble(), 4),)


FEATURIZERS = {"hu2019": HuFeaturizer(), "extended": ExtendedFeaturizer(), "user": ElementFeaturizer()}
# n_outputs of the heads: binary or single regression, 3 classes, 4 tasks
TASK_OUTPUTS = {"binary": 1, "multiclass": 3, "multi-task": 4}

pytestmark = pytest.mark.usefixtures("single_thread")


def make_batch(smiles, featurizer=FEATURIZERS["hu2019"]):
    graphs, invalid = featurize_smiles(smiles, featurizer=featurizer, cache=None)
    assert not invalid
    return Batch.from_data_list(graphs)


def make_model(backbone, featurizer=FEATURIZERS["hu2019"], **kwargs):
    kwargs = {"num_layers": LAYERS, "hidden_dim": HIDDEN, **kwargs}
    return MolecularGNN(featurizer.atom_feature_dims, featurizer.bond_feature_dims, backbone=backbone, **kwargs)


def warm_up(model, featurizer=FEATURIZERS["hu2019"]):
    """One training-mode pass so that batch-norm statistics are not the identity."""
    model.train()
    with torch.no_grad():
        model(make_batch(SMILES * 2, featurizer))
    return model.eval()


def test_registry_names():
    assert set(BACKBONES) == {"gin", "gat", "gatv2", "dmpnn", "attentivefp"}


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
@pytest.mark.parametrize("featurizer", sorted(FEATURIZERS))
@pytest.mark.parametrize("task", sorted(TASK_OUTPUTS))
def test_output_shape_for_every_feature_set_and_head(backbone, featurizer, task):
    n_outputs = TASK_OUTPUTS[task]
    model = make_model(backbone, FEATURIZERS[featurizer], n_outputs=n_outputs, dropout=0.1)
    batch = make_batch(SMILES, FEATURIZERS[featurizer])
    for mode in (model.train, model.eval):
        mode()
        out = model(batch)
        assert out.shape == (len(SMILES), n_outputs)
        assert torch.isfinite(out).all()
    assert model.embed(batch).shape == (len(SMILES), model.embedding_dim)
    assert model.head.in_features == model.embedding_dim


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
@pytest.mark.parametrize("smiles", ["CC(=O)Nc1ccc(O)cc1", "C[C@H](N)C(=O)O", "OC1=CC=CC=C1C(F)(F)F"])
def test_invariant_to_atom_order(backbone, smiles):
    model = warm_up(make_model(backbone, FEATURIZERS["extended"]), FEATURIZERS["extended"])
    mol = Chem.MolFromSmiles(smiles)
    order = list(range(mol.GetNumAtoms()))[::-1]
    renumbered = Chem.RenumberAtoms(mol, order[1::2] + order[0::2])
    featurizer = FEATURIZERS["extended"]
    original, shuffled = featurizer(mol), featurizer(renumbered)
    assert not torch.equal(original.x, shuffled.x)
    with torch.no_grad():
        a = model(Batch.from_data_list([original]))
        b = model(Batch.from_data_list([shuffled]))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_invariant_to_bond_order_in_edge_index(backbone):
    # A user featurizer may list the edges in any order; D-MPNN's reverse-edge
    # look-up must not depend on the featurizers' pairwise layout.
    model = warm_up(make_model(backbone))
    graph = FEATURIZERS["hu2019"](Chem.MolFromSmiles("CC(=O)Nc1ccc(O)cc1"))
    permutation = torch.randperm(graph.edge_index.size(1), generator=torch.Generator().manual_seed(0))
    shuffled = graph.clone()
    shuffled.edge_index, shuffled.edge_attr = graph.edge_index[:, permutation], graph.edge_attr[permutation]
    with torch.no_grad():
        a = model(Batch.from_data_list([graph]))
        b = model(Batch.from_data_list([shuffled]))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
@pytest.mark.parametrize("smiles", [["C"], ["[Na+]"], ["[Na+].[Cl-]"], ["C", "[Na+].[Cl-]", "CCO"]])
def test_molecules_without_bonds_train_and_predict(backbone, smiles):
    model = make_model(backbone, dropout=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(2):
        optimizer.zero_grad()
        out = model(make_batch(smiles))
        assert out.shape == (len(smiles), 1)
        out.pow(2).mean().backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(make_batch(smiles))).all()


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_batch_equals_one_by_one(backbone):
    model = warm_up(make_model(backbone, FEATURIZERS["extended"], n_outputs=2), FEATURIZERS["extended"])
    with torch.no_grad():
        together = model(make_batch(SMILES, FEATURIZERS["extended"]))
        alone = torch.cat([model(make_batch([s], FEATURIZERS["extended"])) for s in SMILES])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_gradient_reaches_every_parameter(backbone):
    model = make_model(backbone)
    model(make_batch(SMILES)).sum().backward()
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    assert trainable
    for name, parameter in trainable:
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_embedding_depends_on_the_molecule(backbone):
    model = warm_up(make_model(backbone))
    with torch.no_grad():
        embeddings = model.embed(make_batch(["CCO", "CCN", "CC=O"]))
    assert not torch.allclose(embeddings[0], embeddings[1])
    assert not torch.allclose(embeddings[0], embeddings[2])


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_bond_features_reach_the_output(backbone):
    model = warm_up(make_model(backbone))
    batch = make_batch(["CC(=O)N"])
    changed = batch.clone()
    changed.edge_attr = changed.edge_attr.clone()
    changed.edge_attr[:, 0] = (changed.edge_attr[:, 0] + 1) % 4
    with torch.no_grad():
        assert not torch.allclose(model(batch), model(changed))


class TestOptions:
    def test_options_of_each_backbone(self):
        assert backbone_options("gin") == {"train_eps": False, "residual": False, "mlp_ratio": 2}
        assert backbone_options("gat") == {"heads": 2, "residual": False}
        assert backbone_options("gatv2") == {"heads": 2, "residual": False}
        assert backbone_options("dmpnn") == {}
        assert backbone_options("attentivefp") == {"num_timesteps": 2}

    @pytest.mark.parametrize(
        "backbone, option, value",
        [
            ("gat", "train_eps", True),
            ("dmpnn", "train_eps", True),
            ("dmpnn", "heads", 4),
            ("attentivefp", "residual", True),
            ("gin", "heads", 4),
            ("gin", "num_timesteps", 3),
            ("dmpnn", "mlp_ratio", 1),
            ("gat", "mlp_ratio", 1),
        ],
    )
    def test_option_of_another_backbone_is_refused(self, backbone, option, value):
        with pytest.raises(ValueError, match=rf"{option}={value!r} does not apply to backbone='{backbone}'"):
            make_model(backbone, **{option: value})

    def test_gin_mlp_ratio_sets_the_width_of_each_layers_mlp(self):
        # The GIN's hidden layer is 2 x hidden_dim (Hu et al.) unless mlp_ratio says otherwise;
        # ratio 1 halves the two matrices that are most of a layer's arithmetic.
        default, narrow = make_model("gin"), make_model("gin", mlp_ratio=1)
        for model, width in ((default, 2 * HIDDEN), (narrow, HIDDEN)):
            for layer in model.backbone.layers:
                assert layer.mlp[0].out_features == width and layer.mlp[2].in_features == width
        assert narrow(make_batch(["CC(=O)N", "c1ccccc1"])).shape == (2, 1)

    @pytest.mark.parametrize("ratio", [0, -1.0])
    def test_gin_mlp_ratio_must_be_positive(self, ratio):
        with pytest.raises(ValueError, match=f"mlp_ratio must be positive, got {ratio!r}"):
            make_model("gin", mlp_ratio=ratio)

    @pytest.mark.parametrize("backbone", sorted(BACKBONES))
    def test_defaults_of_the_estimator_are_accepted_by_every_backbone(self, backbone):
        # The estimators always pass train_eps, pooling and jumping_knowledge.
        make_model(backbone, train_eps=False, residual=False, pooling="mean", jumping_knowledge="concat")

    def test_unknown_backbone_lists_every_name(self):
        with pytest.raises(ValueError, match="unknown backbone 'gcn'") as excinfo:
            build_backbone("gcn", [2], [2], num_layers=1, hidden_dim=4)
        for name in BACKBONES:
            assert repr(name) in str(excinfo.value)

    @pytest.mark.parametrize("backbone", sorted(BACKBONES))
    def test_unknown_pooling_is_refused_by_every_backbone(self, backbone):
        with pytest.raises(ValueError, match="unknown pooling 'attention'"):
            make_model(backbone, pooling="attention")

    def test_heads_and_timesteps_reach_the_layers(self):
        assert all(layer.heads == 3 for layer in make_model("gatv2", heads=3).backbone.layers)
        assert make_model("attentivefp", num_timesteps=4).backbone.network.num_timesteps == 4

    def test_attentivefp_ignores_pooling_and_jumping_knowledge(self):
        batch = make_batch(SMILES)
        outputs = []
        for pooling, jumping_knowledge in [("mean", "concat"), ("sum", "last")]:
            torch.manual_seed(0)
            model = make_model("attentivefp", pooling=pooling, jumping_knowledge=jumping_knowledge).eval()
            assert model.readout is None and model.embedding_dim == HIDDEN
            with torch.no_grad():
                outputs.append(model(batch))
        torch.testing.assert_close(outputs[0], outputs[1])

    @pytest.mark.parametrize("pooling", ["mean", "sum", "norm", "max"])
    def test_dmpnn_pools_with_the_chosen_pooling(self, pooling):
        torch.manual_seed(0)
        model = make_model("dmpnn", pooling=pooling).eval()
        batch = make_batch(["CCO", "c1ccccc1"])
        with torch.no_grad():
            atoms = model.backbone(batch.x, batch.edge_index, batch.edge_attr)[0]
            embedding = model.embed(batch)
        reduce = {"mean": lambda h: h.mean(0), "sum": lambda h: h.sum(0), "norm": lambda h: h.sum(0) / 100,
                  "max": lambda h: h.max(0).values}[pooling]
        expected = torch.stack([reduce(atoms[:3]), reduce(atoms[3:])])
        torch.testing.assert_close(embedding, expected)
        assert model.embedding_dim == HIDDEN


class TestResidual:
    @pytest.mark.parametrize("backbone", ["gin", "gat", "gatv2"])
    def test_each_layer_adds_its_input(self, backbone):
        net = MessagePassingBackbone(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims,
                                     num_layers=2, hidden_dim=HIDDEN, backbone=backbone, residual=True).eval()
        batch = make_batch(SMILES)
        with torch.no_grad():
            outputs = net(batch.x, batch.edge_index, batch.edge_attr)
            first = net.norms[0](net.layers[0](outputs[0], batch.edge_index, batch.edge_attr))
            second = net.norms[1](net.layers[1](outputs[1], batch.edge_index, batch.edge_attr))
        torch.testing.assert_close(outputs[1], outputs[0] + torch.relu(first))
        torch.testing.assert_close(outputs[2], outputs[1] + second)  # no ReLU after the last layer

    def test_off_by_default(self):
        assert make_model("gin").backbone.residual is False


class TestGATv2EdgeConv:
    def test_formula_on_a_two_atom_graph(self):
        # m_ij = W_s h_j + e_ij, s_ij = a^T LeakyReLU(W_t h_i + m_ij), softmax over j in {other, self}
        layer = GATv2EdgeConv(4, HuFeaturizer.bond_feature_dims, heads=1)
        x = torch.randn(2, 4)
        edge_index = torch.tensor([[0, 1], [1, 0]])
        codes = torch.tensor([[1, 0], [1, 0]])
        with torch.no_grad():
            bond = layer.bond_embedding(codes)[0]
            loop = layer.bond_embedding(layer.self_loop_code.unsqueeze(0))[0]
            source, target, a = layer.weight_source(x), layer.weight_target(x), layer.attention[0, 0]
            expected = []
            for i, j in [(0, 1), (1, 0)]:
                messages = torch.stack([source[j] + bond, source[i] + loop])
                scores = (torch.nn.functional.leaky_relu(target[i] + messages, 0.2) * a).sum(-1)
                expected.append((torch.softmax(scores, 0).unsqueeze(-1) * messages).sum(0) + layer.bias)
            torch.testing.assert_close(layer(x, edge_index, codes), torch.stack(expected))

    def test_isolated_atom(self):
        layer = GATv2EdgeConv(8, HuFeaturizer.bond_feature_dims)
        out = layer(torch.randn(1, 8), torch.empty(2, 0, dtype=torch.long), torch.empty(0, 2, dtype=torch.long))
        assert out.shape == (1, 8) and torch.isfinite(out).all()


TINY_SMILES = ["CCO", "CCN", "CCC", "c1ccccc1", "CC(=O)O", "CCCl", "C", "[Na+].[Cl-]", "OCCO", "CC#N",
               "c1ccncc1", "CCOC(=O)C"]


class TestThroughTheEstimators:
    """A quick fit of each backbone the paper does not have, with each kind of loss and task."""

    NEW = ["gatv2", "dmpnn", "attentivefp"]

    @pytest.mark.parametrize("backbone", NEW)
    def test_regressor_fits_and_predicts(self, backbone):
        from molgnba import GNNRegressor

        y = torch.linspace(-2, 2, len(TINY_SMILES)).numpy()
        est = GNNRegressor(backbone=backbone, num_layers=2, hidden_dim=16, max_epochs=2, random_state=0)
        est.fit(TINY_SMILES, y)
        prediction = est.predict(TINY_SMILES)
        assert prediction.shape == (len(TINY_SMILES),)
        assert torch.isfinite(torch.as_tensor(prediction)).all()
        assert len(est.history_) == 2

    @pytest.mark.parametrize("backbone", NEW)
    @pytest.mark.parametrize(
        "task, loss",
        [("binary", "focal"), ("multiclass", "gnba"), ("multi-task", "ghm"), ("multi-task", "plain")],
    )
    def test_classifier_fits_with_each_loss(self, backbone, task, loss):
        import numpy as np

        from molgnba import GNNClassifier

        n = len(TINY_SMILES)
        y = {
            "binary": np.arange(n) % 2,
            "multiclass": np.arange(n) % 3,
            "multi-task": np.stack([np.arange(n) % 2, (np.arange(n) // 2) % 2], axis=1).astype(float),
        }[task]
        if task == "multi-task":
            y[0, 1] = np.nan
        loss_params = {
            "focal": dict(attentive_loss=False, loss="focal"),
            "ghm": dict(attentive_loss=False, loss="ghm"),
            "gnba": dict(attentive_loss=True),
            "plain": dict(attentive_loss=False),
        }[loss]
        est = GNNClassifier(backbone=backbone, num_layers=2, hidden_dim=16, max_epochs=2, random_state=0,
                            featurizer="extended", **loss_params)
        est.fit(TINY_SMILES, y)
        probabilities = est.predict_proba(TINY_SMILES)
        assert np.isfinite(probabilities).all()
        assert probabilities.shape[0] == n

    def test_estimator_refuses_an_unknown_backbone_naming_the_new_ones(self):
        from molgnba import GNNRegressor

        with pytest.raises(ValueError, match="backbone") as excinfo:
            GNNRegressor(backbone="gcn", max_epochs=1).fit(TINY_SMILES, list(range(len(TINY_SMILES))))
        for name in self.NEW:
            assert name in str(excinfo.value)

    def test_estimator_user_featurizer(self):
        from molgnba import GNNRegressor

        est = GNNRegressor(backbone="dmpnn", featurizer=ElementFeaturizer(), num_layers=2, hidden_dim=16,
                           max_epochs=1, random_state=0)
        est.fit(TINY_SMILES, list(range(len(TINY_SMILES))))
        assert est.predict(TINY_SMILES).shape == (len(TINY_SMILES),)

    @pytest.mark.parametrize("backbone, options", [("dmpnn", {}), ("attentivefp", {"module__num_timesteps": 3}),
                                                   ("gatv2", {"module__residual": True})])
    def test_saved_model_predicts_the_same(self, backbone, options, tmp_path):
        import numpy as np

        from molgnba import GNNRegressor
        from molgnba.persistence import load_model, save_model

        est = GNNRegressor(backbone=backbone, num_layers=2, hidden_dim=16, max_epochs=1, random_state=0, **options)
        est.fit(TINY_SMILES, np.arange(len(TINY_SMILES), dtype=float))
        loaded = load_model(save_model(est, tmp_path / f"{backbone}.molgnba"))
        np.testing.assert_array_equal(loaded.predict(TINY_SMILES), est.predict(TINY_SMILES))

    @pytest.mark.parametrize("mlp_ratio, width", [(1, 16), (2, 32), (0.5, 8)])
    def test_mlp_ratio_sets_the_gin_mlp_and_survives_saving(self, mlp_ratio, width, tmp_path):
        import numpy as np

        from molgnba import GNNRegressor
        from molgnba.persistence import load_model, save_model

        est = GNNRegressor(num_layers=2, hidden_dim=16, max_epochs=1, random_state=0, descriptors=None,
                           mlp_ratio=mlp_ratio)
        est.fit(TINY_SMILES, np.arange(len(TINY_SMILES), dtype=float))
        assert [layer.mlp[0].out_features for layer in est.module_.backbone.layers] == [width, width]
        loaded = load_model(save_model(est, tmp_path / "gin.molgnba"))
        assert loaded.mlp_ratio == mlp_ratio
        np.testing.assert_array_equal(loaded.predict(TINY_SMILES), est.predict(TINY_SMILES))

    def test_mlp_ratio_is_ignored_by_backbones_without_that_mlp(self):
        import numpy as np

        from molgnba import GNNRegressor

        y = np.arange(len(TINY_SMILES), dtype=float)
        predictions = [
            GNNRegressor(backbone="dmpnn", num_layers=2, hidden_dim=16, max_epochs=1, random_state=0,
                         descriptors=None, mlp_ratio=ratio).fit(TINY_SMILES, y).predict(TINY_SMILES)
            for ratio in (1, 3)
        ]
        np.testing.assert_array_equal(*predictions)

    def test_mlp_ratio_through_module_prefix_is_refused(self):
        from molgnba import GNNRegressor

        with pytest.raises(ValueError, match="set mlp_ratio as top-level parameter"):
            GNNRegressor(max_epochs=1, module__mlp_ratio=2).fit(TINY_SMILES, list(range(len(TINY_SMILES))))
