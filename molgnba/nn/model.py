"""The full network: backbone, readout and a linear prediction head."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from molgnba.nn.backbones import MessagePassingBackbone
from molgnba.nn.readout import LayerwiseReadout


class MolecularGNN(nn.Module):
    """Backbone, layer-wise readout, dropout and one linear layer.

    Parameters
    ----------
    atom_feature_dims, bond_feature_dims : sequence of int
        From the featurizer.
    n_outputs : int
        Logits (classification) or values (regression) per molecule.
    backbone : {"gin", "gat"}, default="gin"
    num_layers : int, default=5
    hidden_dim : int, default=300
    dropout : float, default=0.0
    pooling : {"mean", "sum", "max"}, default="mean"
    jumping_knowledge : {"concat", "sum", "last", "max"}, default="concat"
    train_eps : bool, default=False
    heads : int, default=2

    Notes
    -----
    Shapes:

    - input : a :class:`torch_geometric.data.Batch` of ``B`` graphs
    - output : ``B x n_outputs``
    """

    def __init__(
        self,
        atom_feature_dims: Sequence[int],
        bond_feature_dims: Sequence[int],
        n_outputs: int = 1,
        backbone: str = "gin",
        num_layers: int = 5,
        hidden_dim: int = 300,
        dropout: float = 0.0,
        pooling: str = "mean",
        jumping_knowledge: str = "concat",
        train_eps: bool = False,
        heads: int = 2,
    ):
        super().__init__()
        self.backbone = MessagePassingBackbone(
            atom_feature_dims, bond_feature_dims, num_layers=num_layers, hidden_dim=hidden_dim,
            dropout=dropout, backbone=backbone, train_eps=train_eps, heads=heads,
        )
        self.readout = LayerwiseReadout(num_layers, hidden_dim, pooling, jumping_knowledge)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.readout.out_dim, n_outputs)

    def embed(self, batch) -> torch.Tensor:
        """Graph embeddings of shape ``B x readout.out_dim``."""
        layer_outputs = self.backbone(batch.x, batch.edge_index, batch.edge_attr)
        return self.readout(layer_outputs, batch.batch, batch.num_graphs)

    def forward(self, batch) -> torch.Tensor:
        return self.head(self.dropout(self.embed(batch)))
