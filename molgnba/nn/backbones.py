"""Message-passing backbones: GIN and GAT as in Hu et al. (2019).

A backbone maps a batch of graphs to node embeddings after every layer; the
readout (:mod:`molgnba.nn.readout`) turns those into one vector per graph.
Backbones are registered by name so that estimators can sweep
``backbone="gin" | "gat"`` in a grid search.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import add_self_loops, softmax

from molgnba.nn.embedding import CategoricalEmbedding


class GINEdgeConv(MessagePassing):
    """GIN layer with bond embeddings added to each message (Hu et al., 2019).

    ``h_i' = MLP((1 + eps) * h_i + sum_j ReLU(h_j + e_ij))``. The bond embedding
    ``e_ij`` is specific to the layer. With ``train_eps=False`` eps stays 0.

    Parameters
    ----------
    hidden_dim : int
        Width ``d`` of the node states, in and out; the MLP's hidden layer
        is ``2 * d`` wide.
    bond_feature_dims : sequence of int
        Vocabulary sizes of the bond feature columns, as declared by the
        featurizer.
    train_eps : bool, default=False
        Learn eps (GIN) or keep it at 0 (GIN-0).

    Notes
    -----
    Shapes:

    - x : ``V x d``; edge_index : ``2 x E``; edge_attr (codes) : ``E x n_bond_features``
    - output : ``V x d``

    Examples
    --------
    >>> import torch
    >>> from rdkit import Chem
    >>> from molgnba.featurize import HuFeaturizer
    >>> from molgnba.nn.backbones import GINEdgeConv
    >>> graph = HuFeaturizer()(Chem.MolFromSmiles("CC=O"))
    >>> conv = GINEdgeConv(hidden_dim=8, bond_feature_dims=HuFeaturizer.bond_feature_dims)
    >>> h = torch.randn(graph.num_nodes, 8)
    >>> conv(h, graph.edge_index, graph.edge_attr).shape
    torch.Size([3, 8])
    """

    def __init__(self, hidden_dim: int, bond_feature_dims: Sequence[int], train_eps: bool = False):
        super().__init__(aggr="add")
        self.bond_embedding = CategoricalEmbedding(bond_feature_dims, hidden_dim)
        self.mlp = nn.Sequential(
            nn.Linear(hidden_dim, 2 * hidden_dim),
            nn.ReLU(),
            nn.Linear(2 * hidden_dim, hidden_dim),
        )
        self.eps = nn.Parameter(torch.zeros(1), requires_grad=train_eps)

    def forward(self, x, edge_index, edge_attr):
        edge_embedding = self.bond_embedding(edge_attr)
        aggregated = self.propagate(edge_index, x=x, edge_embedding=edge_embedding)
        return self.mlp((1 + self.eps) * x + aggregated)

    def message(self, x_j, edge_embedding):
        return F.relu(x_j + edge_embedding)


class GATEdgeConv(MessagePassing):
    """Graph attention with bond embeddings in both scores and messages (Hu et al., 2019).

    For edge ``j -> i`` and each head, the neighbour's projected state is
    shifted by the layer's bond embedding, ``m_ij = W h_j + e_ij``; the
    attention ``alpha_ij = softmax_j(LeakyReLU(a^T [W h_i || m_ij]))`` is taken
    over ``i``'s incoming edges and ``h_i' = mean_heads(sum_j alpha_ij m_ij) + b``.
    Unlike PyG's ``GATConv(edge_dim=...)``, where bonds only bias the scores,
    the bond type reaches the message itself. Self-loops carry their own bond
    code (the "other" value of every column).

    Parameters
    ----------
    hidden_dim : int
        Width ``d`` of the node states, in and out, and of each head.
    bond_feature_dims : sequence of int
        Vocabulary sizes of the bond feature columns, as declared by the
        featurizer; the last code of each column marks self-loops.
    heads : int, default=2
        Attention heads; their outputs are averaged.
    negative_slope : float, default=0.2
        Slope of the LeakyReLU applied to the attention scores.

    Notes
    -----
    Shapes:

    - x : ``V x d``; edge_index : ``2 x E``; edge_attr (codes) : ``E x n_bond_features``
    - output : ``V x d``

    Examples
    --------
    >>> import torch
    >>> from rdkit import Chem
    >>> from molgnba.featurize import HuFeaturizer
    >>> from molgnba.nn.backbones import GATEdgeConv
    >>> graph = HuFeaturizer()(Chem.MolFromSmiles("CC=O"))
    >>> conv = GATEdgeConv(hidden_dim=8, bond_feature_dims=HuFeaturizer.bond_feature_dims, heads=4)
    >>> h = torch.randn(graph.num_nodes, 8)
    >>> conv(h, graph.edge_index, graph.edge_attr).shape
    torch.Size([3, 8])
    """

    def __init__(self, hidden_dim: int, bond_feature_dims: Sequence[int], heads: int = 2,
                 negative_slope: float = 0.2):
        super().__init__(aggr="add", node_dim=0)
        self.heads = heads
        self.hidden_dim = hidden_dim
        self.negative_slope = negative_slope
        self.weight = nn.Linear(hidden_dim, heads * hidden_dim, bias=False)
        self.bond_embedding = CategoricalEmbedding(bond_feature_dims, heads * hidden_dim)
        self.attention = nn.Parameter(torch.empty(1, heads, 2 * hidden_dim))
        self.bias = nn.Parameter(torch.zeros(hidden_dim))
        nn.init.xavier_uniform_(self.weight.weight)
        nn.init.xavier_uniform_(self.attention)
        self.register_buffer(
            "self_loop_code", torch.tensor([dim - 1 for dim in bond_feature_dims], dtype=torch.long)
        )

    def forward(self, x, edge_index, edge_attr):
        num_nodes = x.size(0)
        edge_index, _ = add_self_loops(edge_index, num_nodes=num_nodes)
        edge_attr = torch.cat([edge_attr, self.self_loop_code.expand(num_nodes, -1)], dim=0)
        edge_embedding = self.bond_embedding(edge_attr).view(-1, self.heads, self.hidden_dim)
        h = self.weight(x).view(-1, self.heads, self.hidden_dim)
        out = self.propagate(edge_index, x=h, edge_embedding=edge_embedding)
        return out.mean(dim=1) + self.bias

    def message(self, x_i, x_j, edge_embedding, index, ptr, size_i):
        message = x_j + edge_embedding
        score = (torch.cat([x_i, message], dim=-1) * self.attention).sum(-1)
        alpha = softmax(F.leaky_relu(score, self.negative_slope), index, ptr, size_i)
        return message * alpha.unsqueeze(-1)


class NodeBatchNorm(nn.BatchNorm1d):
    """Batch normalisation over nodes that tolerates a batch of a single atom.

    A training batch can hold one single-atom molecule (the last batch of an
    epoch, say); batch statistics of one value are undefined, so such a batch
    is normalised with the running statistics instead of failing.

    Parameters
    ----------
    num_features : int
        Width of the node states.
    eps, momentum, affine, track_running_stats, bias, device, dtype
        As for :class:`torch.nn.BatchNorm1d`.

    Examples
    --------
    >>> import torch
    >>> from molgnba.nn.backbones import NodeBatchNorm
    >>> one_atom = torch.tensor([[1.0, -2.0, 0.5]])
    >>> torch.nn.BatchNorm1d(3).train()(one_atom)
    Traceback (most recent call last):
    ...
    ValueError: Expected more than 1 value per channel when training, ...
    >>> out = NodeBatchNorm(3).train()(one_atom)  # the running statistics: mean 0, variance 1
    >>> out.shape, torch.allclose(out, one_atom, atol=1e-4)
    (torch.Size([1, 3]), True)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.size(0) <= 1:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias,
                training=False, eps=self.eps,
            )
        return super().forward(x)


class MessagePassingBackbone(nn.Module):
    """Atom embedding followed by ``num_layers`` message-passing layers.

    Each layer is followed by batch normalisation, ReLU (except after the
    last layer, as in Hu et al.) and dropout.

    Parameters
    ----------
    atom_feature_dims, bond_feature_dims : sequence of int
        Vocabulary sizes declared by the featurizer.
    num_layers : int, default=5
    hidden_dim : int, default=300
    dropout : float, default=0.0
    backbone : {"gin", "gat"}, default="gin"
    train_eps : bool, default=False
        GIN only: learn epsilon (GIN) or keep it at 0 (GIN-0).
    heads : int, default=2
        GAT only: attention heads, averaged.

    Notes
    -----
    ``forward`` returns a list of ``num_layers + 1`` tensors of shape ``V x hidden_dim``: the atom
    embedding, then each layer's output.

    Examples
    --------
    >>> from rdkit import Chem
    >>> from molgnba.featurize import HuFeaturizer
    >>> from molgnba.nn.backbones import MessagePassingBackbone
    >>> graph = HuFeaturizer()(Chem.MolFromSmiles("c1ccccc1O"))
    >>> backbone = MessagePassingBackbone(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims,
    ...                                   num_layers=2, hidden_dim=16, backbone="gat")
    >>> layer_outputs = backbone(graph.x, graph.edge_index, graph.edge_attr)
    >>> len(layer_outputs), layer_outputs[-1].shape
    (3, torch.Size([7, 16]))
    """

    def __init__(
        self,
        atom_feature_dims: Sequence[int],
        bond_feature_dims: Sequence[int],
        num_layers: int = 5,
        hidden_dim: int = 300,
        dropout: float = 0.0,
        backbone: str = "gin",
        train_eps: bool = False,
        heads: int = 2,
    ):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; valid names are {sorted(BACKBONES)}")
        self.atom_embedding = CategoricalEmbedding(atom_feature_dims, hidden_dim)
        make_layer = BACKBONES[backbone]
        self.layers = nn.ModuleList(
            make_layer(hidden_dim, bond_feature_dims, train_eps=train_eps, heads=heads)
            for _ in range(num_layers)
        )
        self.norms = nn.ModuleList(NodeBatchNorm(hidden_dim) for _ in range(num_layers))
        self.dropout = dropout

    def forward(self, x, edge_index, edge_attr) -> list[torch.Tensor]:
        h = self.atom_embedding(x)
        layer_outputs = [h]
        last = len(self.layers) - 1
        for k, (layer, norm) in enumerate(zip(self.layers, self.norms)):
            h = norm(layer(h, edge_index, edge_attr))
            if k < last:
                h = F.relu(h)
            h = F.dropout(h, p=self.dropout, training=self.training)
            layer_outputs.append(h)
        return layer_outputs


BACKBONES = {
    "gin": lambda hidden_dim, bond_dims, train_eps, heads: GINEdgeConv(hidden_dim, bond_dims, train_eps),
    "gat": lambda hidden_dim, bond_dims, train_eps, heads: GATEdgeConv(hidden_dim, bond_dims, heads),
}
