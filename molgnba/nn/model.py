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

    Examples
    --------
    >>> from torch_geometric.data import Batch
    >>> from molgnba.featurize import HuFeaturizer, featurize_smiles
    >>> from molgnba.nn.model import MolecularGNN
    >>> graphs, _ = featurize_smiles(["CCO", "c1ccccc1"], HuFeaturizer(), cache=None)
    >>> model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims,
    ...                      n_outputs=3, num_layers=2, hidden_dim=8)
    >>> model(Batch.from_data_list(graphs)).shape
    torch.Size([2, 3])
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
        """Graph embeddings of shape ``B x readout.out_dim``: the input of the head.

        Parameters
        ----------
        batch : torch_geometric.data.Batch
            ``B`` featurized molecules.

        Returns
        -------
        torch.Tensor of shape ``B x readout.out_dim``

        Examples
        --------
        >>> from torch_geometric.data import Batch
        >>> from molgnba.featurize import HuFeaturizer, featurize_smiles
        >>> from molgnba.nn.model import MolecularGNN
        >>> graphs, _ = featurize_smiles(["CCO", "c1ccccc1"], HuFeaturizer(), cache=None)
        >>> model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims,
        ...                      num_layers=2, hidden_dim=8)
        >>> model.embed(Batch.from_data_list(graphs)).shape  # (2 layers + atom embedding) x 8
        torch.Size([2, 24])
        """
        layer_outputs = self.backbone(batch.x, batch.edge_index, batch.edge_attr)
        return self.readout(layer_outputs, batch.batch, batch.num_graphs)

    def forward(self, batch) -> torch.Tensor:
        return self.head(self.dropout(self.embed(batch)))
