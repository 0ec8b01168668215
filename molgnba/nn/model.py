"""The full network: backbone, readout and a linear prediction head."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from molgnba.nn.backbones import build_backbone
from molgnba.nn.readout import JUMPING_KNOWLEDGE, POOLINGS, LayerwiseReadout


class MolecularGNN(nn.Module):
    """Backbone, readout, dropout and one linear layer.

    Parameters
    ----------
    atom_feature_dims, bond_feature_dims : sequence of int
        From the featurizer.
    n_outputs : int
        Logits (classification) or values (regression) per molecule.
    backbone : {"gin", "gat", "gatv2", "dmpnn", "attentivefp"}, default="gin"
        A key of :data:`~molgnba.nn.backbones.BACKBONES`.
    num_layers : int, default=5
        Message-passing layers (steps, for "dmpnn": chemprop's ``depth``;
        atom-level attention layers, for "attentivefp").
    hidden_dim : int, default=300
        Width of the atom (bond, molecule) states.
    dropout : float, default=0.0
        Inside the backbone and before the head.
    pooling : {"mean", "sum", "max"}, default="mean"
        How atom states become a molecule vector. Not used by "attentivefp",
        which has its own attentive readout.
    jumping_knowledge : {"concat", "sum", "last", "max"}, default="concat"
        How the layers' pooled states are combined. No effect for "dmpnn"
        (one output, the final atom states) and not used by "attentivefp".
    train_eps : bool, default=False
        "gin" only: learn GIN's epsilon. True is refused for other backbones.
    heads : int, optional
        "gat" and "gatv2" only: attention heads (2 when not given).
    residual : bool, default=False
        "gin", "gat" and "gatv2" only: add each layer's input to its output
        (the paper's networks have none). True is refused for other backbones.
    num_timesteps : int, optional
        "attentivefp" only: steps of its molecule-level attention (2 when not
        given).

    Attributes
    ----------
    backbone : torch.nn.Module
        Built by :func:`~molgnba.nn.backbones.build_backbone`.
    readout : LayerwiseReadout or None
        None when the backbone pools itself.
    embedding_dim : int
        Width of :meth:`embed`'s output, the input of the head.

    Notes
    -----
    Shapes:

    - input : a :class:`torch_geometric.data.Batch` of ``B`` graphs
    - output : ``B x n_outputs``

    Options that do not apply to the chosen backbone raise a ``ValueError``
    when given (not ``None``); ``pooling`` and ``jumping_knowledge`` are
    always checked but, as documented above, play no part for some backbones,
    so that one grid can sweep ``backbone`` with the estimators' defaults.

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
    >>> model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims,
    ...                      n_outputs=3, backbone="dmpnn", num_layers=3, hidden_dim=8)
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
        heads: int | None = None,
        residual: bool = False,
        num_timesteps: int | None = None,
    ):
        super().__init__()
        # Checked before building anything, also for backbones that ignore them.
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; valid names are {sorted(POOLINGS)}")
        if jumping_knowledge not in JUMPING_KNOWLEDGE:
            raise ValueError(
                f"unknown jumping_knowledge {jumping_knowledge!r}; valid names are {list(JUMPING_KNOWLEDGE)}"
            )
        # False is what every other backbone does anyway, so only True is an option for them.
        self.backbone = build_backbone(
            backbone, atom_feature_dims, bond_feature_dims, num_layers=num_layers, hidden_dim=hidden_dim,
            dropout=dropout, train_eps=True if train_eps else None, heads=heads, residual=True if residual else None,
            num_timesteps=num_timesteps,
        )
        if self.backbone.pools_itself:
            self.readout = None
            self.embedding_dim = self.backbone.out_dim
        else:
            self.readout = LayerwiseReadout(self.backbone.num_outputs - 1, hidden_dim, pooling, jumping_knowledge)
            self.embedding_dim = self.readout.out_dim
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.embedding_dim, n_outputs)

    def embed(self, batch) -> torch.Tensor:
        """Graph embeddings of shape ``B x embedding_dim``: the input of the head.

        Parameters
        ----------
        batch : torch_geometric.data.Batch
            ``B`` featurized molecules.

        Returns
        -------
        torch.Tensor of shape ``B x embedding_dim``

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
        if self.backbone.pools_itself:
            return self.backbone(batch.x, batch.edge_index, batch.edge_attr, batch.batch, batch.num_graphs)
        layer_outputs = self.backbone(batch.x, batch.edge_index, batch.edge_attr)
        return self.readout(layer_outputs, batch.batch, batch.num_graphs)

    def forward(self, batch) -> torch.Tensor:
        return self.head(self.dropout(self.embed(batch)))
