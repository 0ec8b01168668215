"""Attentive FP (Xiong et al., 2020) on molgnba's categorical features.

A thin adapter around :class:`torch_geometric.nn.models.AttentiveFP`: the
atom and bond codes are embedded first (:class:`CategoricalEmbedding`), and
the model's own attentive readout makes the molecule vector, so this backbone
pools itself.

References
----------
Xiong, Z. et al. (2020). Pushing the boundaries of molecular representation
for drug discovery with the graph attention mechanism. *J. Med. Chem.*
63(16), 8749-8760.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch_geometric.nn.models import AttentiveFP

from molgnba.nn.embedding import CategoricalEmbedding


class AttentiveFPBackbone(nn.Module):
    """Attentive FP: GRU-gated graph attention on atoms, then on a molecule node.

    ``num_layers`` attention layers update the atom states (the first one
    attends over neighbours through their bonds, GATE convolution; the
    others are GAT layers, each followed by a GRU); then a virtual molecule
    node, started at the sum of the atom states, attends over the atoms for
    ``num_timesteps`` GRU steps. Its final state, through PyG's output
    layer (``hidden_dim`` wide here), is the molecule embedding.

    Parameters
    ----------
    atom_feature_dims, bond_feature_dims : sequence of int
        Vocabulary sizes of the categorical atom and bond columns, as
        declared by the featurizer; each is embedded into ``hidden_dim``.
    num_layers : int, default=2
        Atom-level attention layers (Xiong et al. use 2).
    hidden_dim : int, default=200
        Width of the embeddings, of the atom and molecule states and of the
        output (Xiong et al. use 200).
    dropout : float, default=0.0
        Dropout inside the attention layers and on the molecule state.
    num_timesteps : int, default=2
        Attention steps of the molecule-level readout (Xiong et al. use 2).

    Attributes
    ----------
    pools_itself : bool
        True: ``forward`` takes the graph index of each atom and returns one
        vector per molecule, so the ``pooling`` and ``jumping_knowledge`` of
        :class:`~molgnba.nn.model.MolecularGNN` play no part.
    out_dim : int
        Width of the molecule embedding, ``hidden_dim``.
    network : torch_geometric.nn.models.AttentiveFP
        The wrapped model.

    Notes
    -----
    Shapes (``V`` atoms, ``E`` directed bonds, ``B`` molecules):

    - x : long tensor of shape ``V x len(atom_feature_dims)``
    - edge_index : long tensor of shape ``2 x E``
    - edge_attr : long tensor of shape ``E x len(bond_feature_dims)``
    - batch : long tensor of shape ``V``, the molecule of each atom
    - output : a tensor of shape ``B x hidden_dim``

    References
    ----------
    Xiong, Z. et al. (2020). Pushing the boundaries of molecular
    representation for drug discovery with the graph attention mechanism.
    *J. Med. Chem.* 63(16), 8749-8760.

    Examples
    --------
    >>> from torch_geometric.data import Batch
    >>> from molgnba.featurize import HuFeaturizer, featurize_smiles
    >>> from molgnba.nn.attentivefp import AttentiveFPBackbone
    >>> graphs, _ = featurize_smiles(["CCO", "C", "c1ccccc1"], HuFeaturizer(), cache=None)
    >>> batch = Batch.from_data_list(graphs)
    >>> backbone = AttentiveFPBackbone(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims,
    ...                                num_layers=2, hidden_dim=16)
    >>> backbone(batch.x, batch.edge_index, batch.edge_attr, batch.batch, batch.num_graphs).shape
    torch.Size([3, 16])
    """

    pools_itself = True

    def __init__(
        self,
        atom_feature_dims: Sequence[int],
        bond_feature_dims: Sequence[int],
        num_layers: int = 2,
        hidden_dim: int = 200,
        dropout: float = 0.0,
        num_timesteps: int = 2,
    ):
        super().__init__()
        self.out_dim = hidden_dim
        self.atom_embedding = CategoricalEmbedding(atom_feature_dims, hidden_dim)
        self.bond_embedding = CategoricalEmbedding(bond_feature_dims, hidden_dim)
        self.network = AttentiveFP(
            in_channels=hidden_dim, hidden_channels=hidden_dim, out_channels=hidden_dim,
            edge_dim=hidden_dim, num_layers=num_layers, num_timesteps=num_timesteps, dropout=dropout,
        )

    def forward(self, x, edge_index, edge_attr, batch, num_graphs: int) -> torch.Tensor:
        out = self.network(self.atom_embedding(x), edge_index, self.bond_embedding(edge_attr), batch)
        if out.size(0) != num_graphs:
            # PyG pools to max(batch) + 1 rows; molecules always have atoms, so
            # this only guards against a hand-built batch with empty graphs.
            raise ValueError(
                f"AttentiveFP pooled {out.size(0)} molecules from a batch of {num_graphs}: "
                "every graph needs at least one atom"
            )
        return out
