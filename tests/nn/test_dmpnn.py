"""Tests of molgnba.nn.dmpnn: the reverse-edge index and D-MPNN against hand computation."""

from __future__ import annotations

import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from molgnba.featurize import HuFeaturizer, featurize_smiles
from molgnba.nn.dmpnn import DMPNNBackbone, reverse_edge_index

HU = HuFeaturizer()


def brute_force_reverse(edge_index):
    pairs = [tuple(edge) for edge in edge_index.t().tolist()]
    return torch.tensor([pairs.index((t, s)) for s, t in pairs], dtype=torch.long)


class TestReverseEdgeIndex:
    @pytest.mark.parametrize("smiles", [["CCO"], ["c1ccccc1O", "C", "[Na+].[Cl-]", "CC(=O)[O-].[Na+]"]])
    def test_featurizer_layout_in_a_batch(self, smiles):
        graphs, _ = featurize_smiles(smiles, HU, cache=None)
        edge_index = Batch.from_data_list(graphs).edge_index
        assert torch.equal(reverse_edge_index(edge_index), brute_force_reverse(edge_index))

    def test_any_order_falls_back_to_sorting(self):
        edge_index = HU(Chem.MolFromSmiles("CC(C)(C)c1ccccc1")).edge_index
        shuffled = edge_index[:, torch.randperm(edge_index.size(1), generator=torch.Generator().manual_seed(1))]
        reverse = reverse_edge_index(shuffled)
        assert torch.equal(reverse, brute_force_reverse(shuffled))
        assert torch.equal(shuffled[:, reverse], shuffled.flip(0))

    @pytest.mark.parametrize("smiles", ["C", "[Na+].[Cl-]"])
    def test_molecules_without_bonds(self, smiles):
        edge_index = HU(Chem.MolFromSmiles(smiles)).edge_index
        assert edge_index.shape == (2, 0)
        assert reverse_edge_index(edge_index).shape == (0,)

    def test_edge_without_reverse_is_named(self):
        with pytest.raises(ValueError, match=r"edge 2 \(1 -> 2\) has no reverse edge \(2 -> 1\)"):
            reverse_edge_index(torch.tensor([[0, 1, 1], [1, 0, 2]]))


class TestDMPNNBackbone:
    def hand_computed(self, backbone, x, edge_index, edge_attr):
        """The equations of Yang et al. (2019), one directed bond at a time."""
        edges = [tuple(edge) for edge in edge_index.t().tolist()]
        atom_input, bond_input = backbone.input_atom(x), backbone.input_bond(edge_attr)
        h0 = {(v, w): torch.relu(atom_input[v] + bond_input[e]) for e, (v, w) in enumerate(edges)}
        h = dict(h0)
        zero = torch.zeros(atom_input.size(1))
        for _ in range(backbone.num_layers - 1):
            messages = {
                (v, w): sum((h[(k, v2)] for (k, v2) in edges if v2 == v and k != w), zero) for (v, w) in edges
            }
            h = {edge: torch.relu(h0[edge] + backbone.W_h(messages[edge])) for edge in edges}
        atom_output = backbone.output_atom(x)
        return torch.stack([
            torch.relu(atom_output[v] + backbone.W_o(sum((h[(k, w)] for (k, w) in edges if w == v), zero)))
            for v in range(x.size(0))
        ])

    @pytest.mark.parametrize("smiles", ["CO", "CC=O", "OC(=O)C", "[Na+]", "C1CC1"])
    @pytest.mark.parametrize("num_layers", [1, 2, 3])
    def test_against_hand_computation(self, smiles, num_layers):
        torch.manual_seed(0)
        backbone = DMPNNBackbone(HU.atom_feature_dims, HU.bond_feature_dims, num_layers=num_layers,
                                 hidden_dim=6).eval()
        graph = HU(Chem.MolFromSmiles(smiles))
        with torch.no_grad():
            (atoms,) = backbone(graph.x, graph.edge_index, graph.edge_attr)
            expected = self.hand_computed(backbone, graph.x, graph.edge_index, graph.edge_attr)
        torch.testing.assert_close(atoms, expected)

    def test_message_leaves_out_the_reverse_bond(self):
        # In C-O, the only bond into C is O -> C, the reverse of C -> O: so the
        # state of C -> O never changes, whatever the number of steps.
        torch.manual_seed(0)
        graph = HU(Chem.MolFromSmiles("CO"))
        outputs = []
        for num_layers in (1, 4):
            torch.manual_seed(0)
            backbone = DMPNNBackbone(HU.atom_feature_dims, HU.bond_feature_dims, num_layers=num_layers,
                                     hidden_dim=6).eval()
            with torch.no_grad():
                outputs.append(backbone(graph.x, graph.edge_index, graph.edge_attr)[0])
        torch.testing.assert_close(outputs[0], outputs[1])

    def test_atom_without_bonds(self):
        backbone = DMPNNBackbone(HU.atom_feature_dims, HU.bond_feature_dims, num_layers=3, hidden_dim=6).eval()
        graph = HU(Chem.MolFromSmiles("[Na+]"))
        with torch.no_grad():
            (atoms,) = backbone(graph.x, graph.edge_index, graph.edge_attr)
            expected = torch.relu(backbone.output_atom(graph.x) + backbone.W_o.bias)
        torch.testing.assert_close(atoms, expected)

    def test_no_bias_on_bond_updates(self):
        backbone = DMPNNBackbone(HU.atom_feature_dims, HU.bond_feature_dims, num_layers=3, hidden_dim=6)
        assert backbone.W_h.bias is None and backbone.W_o.bias is not None
