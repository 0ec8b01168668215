"""Tests of molgnba.nn.attentivefp: the adapter around PyG's AttentiveFP."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.nn.models import AttentiveFP

from molgnba.featurize import HuFeaturizer, featurize_smiles
from molgnba.nn.attentivefp import AttentiveFPBackbone

HU = HuFeaturizer()


def make_batch(smiles):
    graphs, _ = featurize_smiles(smiles, HU, cache=None)
    return Batch.from_data_list(graphs)


def test_is_pyg_attentivefp_on_the_embedded_codes():
    backbone = AttentiveFPBackbone(HU.atom_feature_dims, HU.bond_feature_dims, num_layers=3, hidden_dim=8,
                                   num_timesteps=3).eval()
    network = backbone.network
    assert isinstance(network, AttentiveFP)
    assert (network.num_layers, network.num_timesteps, network.out_channels) == (3, 3, 8)
    batch = make_batch(["CCO", "c1ccccc1", "[Na+].[Cl-]"])
    with torch.no_grad():
        out = backbone(batch.x, batch.edge_index, batch.edge_attr, batch.batch, batch.num_graphs)
        expected = network(backbone.atom_embedding(batch.x), batch.edge_index,
                           backbone.bond_embedding(batch.edge_attr), batch.batch)
    assert out.shape == (3, 8) and backbone.out_dim == 8
    torch.testing.assert_close(out, expected)


def test_batch_with_a_graph_without_atoms_is_refused():
    backbone = AttentiveFPBackbone(HU.atom_feature_dims, HU.bond_feature_dims, num_layers=2, hidden_dim=8)
    batch = make_batch(["CCO", "C"])
    with pytest.raises(ValueError, match="pooled 2 molecules from a batch of 3"):
        backbone(batch.x, batch.edge_index, batch.edge_attr, batch.batch, num_graphs=3)
