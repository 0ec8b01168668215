"""Tests of molgnba.nn: MolecularGNN, its backbones and readout."""

from __future__ import annotations

import itertools

import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from molgnba.featurize import ExtendedFeaturizer, HuFeaturizer, featurize_smiles
from molgnba.nn import (
    BACKBONES,
    JUMPING_KNOWLEDGE,
    POOLINGS,
    CategoricalEmbedding,
    GATEdgeConv,
    GINEdgeConv,
    LayerwiseReadout,
    MessagePassingBackbone,
    MolecularGNN,
)

HU = HuFeaturizer()
SMILES = ["CCO", "c1ccccc1", "C", "CC(=O)[O-].[Na+]", "C[C@H](N)C(=O)O", "F/C=C/F"]
HIDDEN = 16
LAYERS = 3

pytestmark = pytest.mark.usefixtures("single_thread")


def make_batch(smiles, featurizer=HU):
    graphs, invalid = featurize_smiles(smiles, featurizer=featurizer, cache=None)
    assert not invalid
    return Batch.from_data_list(graphs)


def make_model(featurizer=HU, **kwargs):
    kwargs = {"num_layers": LAYERS, "hidden_dim": HIDDEN, **kwargs}
    return MolecularGNN(featurizer.atom_feature_dims, featurizer.bond_feature_dims, **kwargs)


def single_graph_batch(mol, featurizer=HU):
    return Batch.from_data_list([featurizer(mol)])


COMBINATIONS = list(itertools.product(["gin", "gat"], list(JUMPING_KNOWLEDGE), list(POOLINGS)))


class TestMolecularGNN:
    @pytest.mark.parametrize("backbone, jumping_knowledge, pooling", COMBINATIONS)
    def test_output_shape_including_single_atom(self, backbone, jumping_knowledge, pooling):
        model = make_model(backbone=backbone, jumping_knowledge=jumping_knowledge, pooling=pooling,
                           n_outputs=3)
        batch = make_batch(SMILES)
        for mode in (model.train, model.eval):
            mode()
            out = model(batch)
            assert out.shape == (len(SMILES), 3)
            assert torch.isfinite(out).all()
        expected = (LAYERS + 1) * HIDDEN if jumping_knowledge == "concat" else HIDDEN
        assert model.readout.out_dim == expected
        assert model.embed(batch).shape == (len(SMILES), expected)
        assert model.head.in_features == expected

    @pytest.mark.parametrize("backbone", ["gin", "gat"])
    def test_backward_reaches_every_trainable_parameter(self, backbone):
        model = make_model(backbone=backbone)
        model(make_batch(SMILES)).sum().backward()
        for name, parameter in model.named_parameters():
            if parameter.requires_grad:
                assert parameter.grad is not None, name
                assert torch.isfinite(parameter.grad).all(), name

    @pytest.mark.parametrize("backbone", ["gin", "gat"])
    @pytest.mark.parametrize("smiles", [["C"], ["[Na+]"], ["[Na+].[Cl-]"], ["C", "[Na+]"]])
    def test_batch_of_single_atom_molecules_in_train_mode(self, backbone, smiles):
        # BatchNorm1d over the nodes of one atom has no batch statistics; a last
        # mini-batch holding a single methane must not crash training.
        model = make_model(backbone=backbone, dropout=0.1)
        model.train()
        out = model(make_batch(smiles))
        assert out.shape == (len(smiles), 1)
        assert torch.isfinite(out).all()
        out.sum().backward()
        for norm in model.backbone.norms:
            assert torch.isfinite(norm.running_mean).all()
            assert torch.isfinite(norm.running_var).all()

    @pytest.mark.parametrize("backbone", ["gin", "gat"])
    def test_training_step_on_single_atom_then_eval_is_finite(self, backbone):
        model = make_model(backbone=backbone)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        model.train()
        for smiles in (SMILES, ["C"], SMILES):
            optimizer.zero_grad()
            model(make_batch(smiles)).pow(2).mean().backward()
            optimizer.step()
        model.eval()
        assert torch.isfinite(model(make_batch(SMILES))).all()

    @pytest.mark.parametrize("backbone, jumping_knowledge, pooling",
                             [("gin", "concat", "mean"), ("gin", "sum", "sum"), ("gat", "max", "max"),
                              ("gat", "last", "mean"), ("gin", "concat", "max")])
    @pytest.mark.parametrize("smiles", ["CC(=O)Nc1ccc(O)cc1", "C[C@H](N)C(=O)O", "CC(=O)[O-].[Na+]",
                                        "OC1=CC=CC=C1C(F)(F)F"])
    def test_permutation_invariance(self, backbone, jumping_knowledge, pooling, smiles):
        model = make_model(backbone=backbone, jumping_knowledge=jumping_knowledge, pooling=pooling)
        # a few training steps so that batch-norm statistics are not the identity
        model.train()
        model(make_batch(SMILES * 2))
        model.eval()
        mol = Chem.MolFromSmiles(smiles)
        order = list(range(mol.GetNumAtoms()))[::-1]
        order = order[1::2] + order[0::2]
        renumbered = Chem.RenumberAtoms(mol, order)
        assert Chem.MolToSmiles(renumbered) == Chem.MolToSmiles(mol)
        original_graph, renumbered_graph = HU(mol), HU(renumbered)
        assert not torch.equal(original_graph.x, renumbered_graph.x) or smiles == "CC(=O)[O-].[Na+]"
        with torch.no_grad():
            a = model.embed(Batch.from_data_list([original_graph]))
            b = model.embed(Batch.from_data_list([renumbered_graph]))
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)

    def test_embedding_depends_on_the_molecule(self):
        model = make_model().eval()
        with torch.no_grad():
            embeddings = model.embed(make_batch(["CCO", "CCN"]))
        assert not torch.allclose(embeddings[0], embeddings[1])

    def test_graphs_in_a_batch_do_not_interact(self):
        model = make_model(backbone="gat").eval()
        with torch.no_grad():
            together = model(make_batch(SMILES))
            alone = torch.cat([model(make_batch([s])) for s in SMILES])
        torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)

    def test_extended_featurizer(self):
        featurizer = ExtendedFeaturizer()
        model = make_model(featurizer, n_outputs=2)
        out = model(make_batch(SMILES, featurizer))
        assert out.shape == (len(SMILES), 2)

    @pytest.mark.parametrize(
        "kwargs, valid",
        [
            ({"backbone": "gcn"}, sorted(BACKBONES)),
            ({"pooling": "attention"}, ["max", "mean", "sum"]),
            ({"jumping_knowledge": "lstm"}, ["concat", "sum", "last", "max"]),
        ],
    )
    def test_unknown_option_raises_value_error_naming_valid_values(self, kwargs, valid):
        with pytest.raises(ValueError) as excinfo:
            make_model(**kwargs)
        message = str(excinfo.value)
        assert repr(next(iter(kwargs.values()))) in message
        for name in valid:
            assert repr(name) in message

    def test_registries(self):
        assert {"gin", "gat"} <= set(BACKBONES)  # the paper's; the others are tested in test_backbones.py
        assert set(POOLINGS) == {"mean", "sum", "norm", "max"}
        assert tuple(JUMPING_KNOWLEDGE) == ("concat", "sum", "last", "max")


class TestGINEdgeConv:
    @pytest.mark.parametrize("train_eps", [True, False])
    def test_train_eps(self, train_eps):
        model = make_model(backbone="gin", train_eps=train_eps)
        layers = model.backbone.layers
        assert all(isinstance(layer, GINEdgeConv) for layer in layers)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
        for _ in range(2):
            optimizer.zero_grad()
            model(make_batch(SMILES)).pow(2).mean().backward()
            optimizer.step()
        for layer in layers:
            assert layer.eps.requires_grad is train_eps
            if train_eps:
                assert layer.eps in set(p for p in model.parameters() if p.requires_grad)
                assert layer.eps.item() != 0.0
            else:
                assert layer.eps.item() == 0.0
                assert layer.eps.grad is None

    def test_formula_on_a_two_atom_graph(self):
        # h_i' = MLP((1 + eps) h_i + sum_j ReLU(h_j + e_ij))
        layer = GINEdgeConv(4, HU.bond_feature_dims, train_eps=True)
        with torch.no_grad():
            layer.eps.fill_(0.5)
        x = torch.randn(2, 4)
        edge_index = torch.tensor([[0, 1], [1, 0]])
        edge_attr = torch.tensor([[1, 0], [1, 0]])
        e = layer.bond_embedding(edge_attr)[0]
        expected = layer.mlp(torch.stack([1.5 * x[0] + torch.relu(x[1] + e), 1.5 * x[1] + torch.relu(x[0] + e)]))
        torch.testing.assert_close(layer(x, edge_index, edge_attr), expected)

    def test_bond_features_change_output(self):
        layer = GINEdgeConv(8, HU.bond_feature_dims)
        x = torch.randn(2, 8)
        edge_index = torch.tensor([[0, 1], [1, 0]])
        single = layer(x, edge_index, torch.tensor([[0, 0], [0, 0]]))
        double = layer(x, edge_index, torch.tensor([[1, 0], [1, 0]]))
        assert not torch.allclose(single, double)


class TestGATEdgeConv:
    def test_attention_depends_on_bond_features(self):
        # The bond embedding enters both the attention logits and the messages.
        model = make_model(backbone="gat").eval()
        batch = make_batch(["CC(=O)N"])
        changed = batch.clone()
        changed.edge_attr = changed.edge_attr.clone()
        changed.edge_attr[:, 0] = (changed.edge_attr[:, 0] + 1) % 4
        with torch.no_grad():
            assert not torch.allclose(model(batch), model(changed))

    def test_attention_weights_of_layer_change_with_edge_attr(self):
        layer = GATEdgeConv(8, HU.bond_feature_dims, heads=2)
        x = torch.randn(3, 8)
        edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
        codes_a = torch.tensor([[0, 0], [0, 0], [1, 0], [1, 0]])
        codes_b = torch.tensor([[0, 0], [0, 0], [2, 0], [2, 0]])
        out_a, out_b = layer(x, edge_index, codes_a), layer(x, edge_index, codes_b)
        assert out_a.shape == (3, 8)
        # atom 0 sees only atom 1 and itself, both over unchanged edges
        torch.testing.assert_close(out_a[0], out_b[0])
        # atom 1 weighs atoms 0, 2 and itself; the bond to 2 changed
        assert not torch.allclose(out_a[1], out_b[1])

    def test_self_loops_use_other_bond_code(self):
        layer = GATEdgeConv(8, HU.bond_feature_dims)
        assert layer.self_loop_code.tolist() == [d - 1 for d in HU.bond_feature_dims]

    def test_isolated_atom(self):
        layer = GATEdgeConv(8, HU.bond_feature_dims)
        out = layer(torch.randn(1, 8), torch.empty(2, 0, dtype=torch.long), torch.empty(0, 2, dtype=torch.long))
        assert out.shape == (1, 8) and torch.isfinite(out).all()


class TestBackboneAndReadout:
    @pytest.mark.parametrize("backbone", ["gin", "gat"])
    def test_backbone_returns_every_layer(self, backbone):
        net = MessagePassingBackbone(HU.atom_feature_dims, HU.bond_feature_dims, num_layers=4,
                                     hidden_dim=HIDDEN, backbone=backbone)
        batch = make_batch(SMILES)
        outputs = net(batch.x, batch.edge_index, batch.edge_attr)
        assert len(outputs) == 5
        assert all(h.shape == (batch.num_nodes, HIDDEN) for h in outputs)

    @pytest.mark.parametrize(
        "pooling, jumping_knowledge, expected",
        [
            # two layers of node values on two graphs: nodes {0, 1} and {2}
            ("sum", "concat", [[3.0, 30.0], [5.0, 50.0]]),
            ("mean", "concat", [[1.5, 15.0], [5.0, 50.0]]),
            ("max", "concat", [[2.0, 20.0], [5.0, 50.0]]),
            ("sum", "last", [[30.0], [50.0]]),
            ("sum", "sum", [[33.0], [55.0]]),
            ("mean", "max", [[15.0], [50.0]]),
        ],
    )
    def test_readout_by_hand(self, pooling, jumping_knowledge, expected):
        readout = LayerwiseReadout(1, 1, pooling, jumping_knowledge)
        layers = [torch.tensor([[1.0], [2.0], [5.0]]), torch.tensor([[10.0], [20.0], [50.0]])]
        out = readout(layers, torch.tensor([0, 0, 1]), 2)
        assert out.tolist() == expected
        assert readout.out_dim == len(expected[0])

    def test_readout_keeps_trailing_empty_graph(self):
        readout = LayerwiseReadout(0, 2, "sum", "last")
        out = readout([torch.ones(2, 2)], torch.tensor([0, 0]), 3)
        assert out.tolist() == [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]]

    def test_categorical_embedding_sums_columns(self):
        embedding = CategoricalEmbedding([3, 4], 5)
        codes = torch.tensor([[2, 1], [0, 3]])
        expected = embedding.embeddings[0].weight[codes[:, 0]] + embedding.embeddings[1].weight[codes[:, 1]]
        torch.testing.assert_close(embedding(codes), expected)
