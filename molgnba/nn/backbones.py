"""Message-passing backbones and their registry.

A backbone maps a batch of graphs either to atom states (``pools_itself =
False``: a list of ``V x d`` tensors that the readout,
:mod:`molgnba.nn.readout`, pools into one vector per graph) or straight to
one vector per graph (``pools_itself = True``). Backbones are registered by
name in :data:`BACKBONES`, so that estimators can sweep ``backbone=`` in a
grid search:

- ``"gin"``, ``"gat"``: the GNBA paper's GIN and GAT (Hu et al., 2019), both
  with bond embeddings in their messages (:class:`MessagePassingBackbone`);
- ``"gatv2"``: dynamic attention (Brody et al., 2022) with bond embeddings in
  scores and messages (:class:`GATv2EdgeConv`);
- ``"dmpnn"``: chemprop's directed-bond message passing (Yang et al., 2019;
  :class:`~molgnba.nn.dmpnn.DMPNNBackbone`);
- ``"attentivefp"``: Attentive FP (Xiong et al., 2020), with its own
  attentive readout (:class:`~molgnba.nn.attentivefp.AttentiveFPBackbone`).
"""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import add_self_loops, softmax

from molgnba.nn.attentivefp import AttentiveFPBackbone
from molgnba.nn.dmpnn import DMPNNBackbone
from molgnba.nn.embedding import CategoricalEmbedding


class GINEdgeConv(MessagePassing):
    """GIN layer with bond embeddings added to each message (Hu et al., 2019).

    ``h_i' = MLP((1 + eps) * h_i + sum_j ReLU(h_j + e_ij))``. The bond embedding
    ``e_ij`` is specific to the layer. With ``train_eps=False`` eps stays 0.

    Parameters
    ----------
    hidden_dim : int
        Width ``d`` of the node states, in and out.
    bond_feature_dims : sequence of int
        Vocabulary sizes of the bond feature columns, as declared by the
        featurizer.
    train_eps : bool, default=False
        Learn eps (GIN) or keep it at 0 (GIN-0).
    mlp_ratio : float, default=2
        Width of the MLP's hidden layer as a multiple of ``d``: 2 in Hu et
        al.; the MLP's two matrices are most of the layer's cost, so 1
        halves it.

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

    def __init__(self, hidden_dim: int, bond_feature_dims: Sequence[int], train_eps: bool = False,
                 mlp_ratio: float = 2):
        super().__init__(aggr="add")
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be positive, got {mlp_ratio!r}")
        mlp_width = max(1, round(mlp_ratio * hidden_dim))
        self.bond_embedding = CategoricalEmbedding(bond_feature_dims, hidden_dim)
        self.mlp = nn.Sequential(
            nn.Linear(hidden_dim, mlp_width),
            nn.ReLU(),
            nn.Linear(mlp_width, hidden_dim),
        )
        self.eps = nn.Parameter(torch.zeros(1), requires_grad=train_eps)

    def forward(self, x, edge_index, edge_attr):
        edge_embedding = self.bond_embedding(edge_attr)
        aggregated = self.propagate(edge_index, x=x, edge_embedding=edge_embedding)
        return self.mlp((1 + self.eps) * x + aggregated)

    def message(self, x_j, edge_embedding):
        return F.relu(x_j + edge_embedding)


def _self_loop_code(bond_feature_dims: Sequence[int]) -> torch.Tensor:
    """The bond codes a self-loop carries: the last ("other") code of each bond column."""
    return torch.tensor([dim - 1 for dim in bond_feature_dims], dtype=torch.long)


def _self_looped_bond_embedding(conv, num_nodes: int, edge_index, edge_attr):
    """``edge_index`` with a self-loop on every atom, and each edge's bond embedding per head.

    ``conv`` is an attention convolution of this module (``heads``,
    ``hidden_dim``, ``bond_embedding``, buffer ``self_loop_code``); the
    embedding has shape ``E' x heads x hidden_dim``.
    """
    edge_index, _ = add_self_loops(edge_index, num_nodes=num_nodes)
    edge_attr = torch.cat([edge_attr, conv.self_loop_code.expand(num_nodes, -1)], dim=0)
    return edge_index, conv.bond_embedding(edge_attr).view(-1, conv.heads, conv.hidden_dim)


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
        self.register_buffer("self_loop_code", _self_loop_code(bond_feature_dims))

    def forward(self, x, edge_index, edge_attr):
        edge_index, edge_embedding = _self_looped_bond_embedding(self, x.size(0), edge_index, edge_attr)
        h = self.weight(x).view(-1, self.heads, self.hidden_dim)
        out = self.propagate(edge_index, x=h, edge_embedding=edge_embedding)
        return out.mean(dim=1) + self.bias

    def message(self, x_i, x_j, edge_embedding, index, ptr, size_i):
        message = x_j + edge_embedding
        score = (torch.cat([x_i, message], dim=-1) * self.attention).sum(-1)
        alpha = softmax(F.leaky_relu(score, self.negative_slope), index, ptr, size_i)
        return message * alpha.unsqueeze(-1)


class GATv2EdgeConv(MessagePassing):
    """Dynamic graph attention (GATv2) with bond embeddings in scores and messages.

    For edge ``j -> i`` and each head, the message is ``m_ij = W_s h_j + e_ij``
    (``W_s`` for the source) and the score ``s_ij = a^T LeakyReLU(W_t h_i + m_ij)``
    (``W_t`` for the target): the nonlinearity
    comes before ``a``, so the ranking of neighbours can depend on the
    receiving atom (Brody et al., 2022), which the score of GAT,
    ``LeakyReLU(a^T [W h_i || m_ij])``, cannot. Then
    ``alpha_ij = softmax_j(s_ij)`` over ``i``'s incoming edges and
    ``h_i' = mean_heads(sum_j alpha_ij m_ij) + b``. Self-loops carry the
    "other" code of every bond column, as in :class:`GATEdgeConv`. PyG's
    ``GATv2Conv(edge_dim=...)`` puts the bond only in the score; here it is
    in the message as well.

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
        Slope of the LeakyReLU inside the score.

    Notes
    -----
    Shapes:

    - x : ``V x d``; edge_index : ``2 x E``; edge_attr (codes) : ``E x n_bond_features``
    - output : ``V x d``

    References
    ----------
    Brody, S., Alon, U. and Yahav, E. (2022). How attentive are graph
    attention networks? *ICLR*.

    Examples
    --------
    >>> import torch
    >>> from rdkit import Chem
    >>> from molgnba.featurize import HuFeaturizer
    >>> from molgnba.nn.backbones import GATv2EdgeConv
    >>> graph = HuFeaturizer()(Chem.MolFromSmiles("CC=O"))
    >>> conv = GATv2EdgeConv(hidden_dim=8, bond_feature_dims=HuFeaturizer.bond_feature_dims, heads=4)
    >>> conv(torch.randn(graph.num_nodes, 8), graph.edge_index, graph.edge_attr).shape
    torch.Size([3, 8])
    """

    def __init__(self, hidden_dim: int, bond_feature_dims: Sequence[int], heads: int = 2,
                 negative_slope: float = 0.2):
        super().__init__(aggr="add", node_dim=0)
        self.heads = heads
        self.hidden_dim = hidden_dim
        self.negative_slope = negative_slope
        self.weight_target = nn.Linear(hidden_dim, heads * hidden_dim, bias=False)
        self.weight_source = nn.Linear(hidden_dim, heads * hidden_dim, bias=False)
        self.bond_embedding = CategoricalEmbedding(bond_feature_dims, heads * hidden_dim)
        self.attention = nn.Parameter(torch.empty(1, heads, hidden_dim))
        self.bias = nn.Parameter(torch.zeros(hidden_dim))
        nn.init.xavier_uniform_(self.weight_target.weight)
        nn.init.xavier_uniform_(self.weight_source.weight)
        nn.init.xavier_uniform_(self.attention)
        self.register_buffer("self_loop_code", _self_loop_code(bond_feature_dims))

    def forward(self, x, edge_index, edge_attr):
        edge_index, edge_embedding = _self_looped_bond_embedding(self, x.size(0), edge_index, edge_attr)
        receiver = self.weight_target(x).view(-1, self.heads, self.hidden_dim)
        sender = self.weight_source(x).view(-1, self.heads, self.hidden_dim)
        out = self.propagate(edge_index, receiver=receiver, sender=sender, edge_embedding=edge_embedding)
        return out.mean(dim=1) + self.bias

    def message(self, receiver_i, sender_j, edge_embedding, index, ptr, size_i):
        message = sender_j + edge_embedding
        score = (F.leaky_relu(receiver_i + message, self.negative_slope) * self.attention).sum(-1)
        alpha = softmax(score, index, ptr, size_i)
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
    last layer, as in Hu et al.) and dropout; with ``residual=True`` the
    layer's input is then added to its output.

    Parameters
    ----------
    atom_feature_dims, bond_feature_dims : sequence of int
        Vocabulary sizes declared by the featurizer.
    num_layers : int, default=5
    hidden_dim : int, default=300
    dropout : float, default=0.0
    backbone : {"gin", "gat", "gatv2"}, default="gin"
        The layer: :class:`GINEdgeConv`, :class:`GATEdgeConv` or
        :class:`GATv2EdgeConv`.
    train_eps : bool, default=False
        GIN only: learn epsilon (GIN) or keep it at 0 (GIN-0).
    mlp_ratio : float, default=2
        GIN only: width of each layer's MLP hidden layer as a multiple of
        ``hidden_dim`` (see :class:`GINEdgeConv`).
    heads : int, default=2
        GAT and GATv2 only: attention heads, averaged.
    residual : bool, default=False
        Add each layer's input to its output (He et al., 2016), which keeps
        deep stacks trainable; the paper's networks have none.

    Attributes
    ----------
    pools_itself : bool
        False: ``forward`` returns atom states for the readout.
    num_outputs : int
        ``num_layers + 1``, the length of the list ``forward`` returns.

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

    pools_itself = False

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
        residual: bool = False,
        mlp_ratio: float = 2,
    ):
        super().__init__()
        if backbone not in MESSAGE_PASSING_LAYERS:
            raise ValueError(
                f"unknown backbone {backbone!r}; valid names are {sorted(MESSAGE_PASSING_LAYERS)}"
            )
        self.atom_embedding = CategoricalEmbedding(atom_feature_dims, hidden_dim)
        layer_class, option_names = MESSAGE_PASSING_LAYERS[backbone]
        given = {"train_eps": train_eps, "heads": heads, "mlp_ratio": mlp_ratio}
        options = {name: given[name] for name in option_names}
        self.layers = nn.ModuleList(
            layer_class(hidden_dim, bond_feature_dims, **options) for _ in range(num_layers)
        )
        self.norms = nn.ModuleList(NodeBatchNorm(hidden_dim) for _ in range(num_layers))
        self.dropout = dropout
        self.residual = residual
        self.num_outputs = num_layers + 1

    def forward(self, x, edge_index, edge_attr) -> list[torch.Tensor]:
        h = self.atom_embedding(x)
        layer_outputs = [h]
        last = len(self.layers) - 1
        for k, (layer, norm) in enumerate(zip(self.layers, self.norms)):
            update = norm(layer(h, edge_index, edge_attr))
            if k < last:
                update = F.relu(update)
            update = F.dropout(update, p=self.dropout, training=self.training)
            h = h + update if self.residual else update
            layer_outputs.append(h)
        return layer_outputs


MESSAGE_PASSING_LAYERS = {
    "gin": (GINEdgeConv, ("train_eps", "mlp_ratio")),
    "gat": (GATEdgeConv, ("heads",)),
    "gatv2": (GATv2EdgeConv, ("heads",)),
}
"""The layers :class:`MessagePassingBackbone` stacks, by name: the class and the
options of the backbone it takes (each called as ``layer_class(hidden_dim,
bond_feature_dims, **options)``)."""


def _gin(atom_feature_dims, bond_feature_dims, num_layers, hidden_dim, dropout, *,
         train_eps=False, residual=False, mlp_ratio=2):
    return MessagePassingBackbone(atom_feature_dims, bond_feature_dims, num_layers, hidden_dim, dropout,
                                  backbone="gin", train_eps=train_eps, residual=residual, mlp_ratio=mlp_ratio)


def _gat(atom_feature_dims, bond_feature_dims, num_layers, hidden_dim, dropout, *, heads=2, residual=False):
    return MessagePassingBackbone(atom_feature_dims, bond_feature_dims, num_layers, hidden_dim, dropout,
                                  backbone="gat", heads=heads, residual=residual)


def _gatv2(atom_feature_dims, bond_feature_dims, num_layers, hidden_dim, dropout, *, heads=2, residual=False):
    return MessagePassingBackbone(atom_feature_dims, bond_feature_dims, num_layers, hidden_dim, dropout,
                                  backbone="gatv2", heads=heads, residual=residual)


BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "gin": _gin,
    "gat": _gat,
    "gatv2": _gatv2,
    "dmpnn": DMPNNBackbone,
    "attentivefp": AttentiveFPBackbone,
}
"""Backbones by name: what ``backbone=`` of the estimators and of
:class:`~molgnba.nn.model.MolecularGNN` accepts.

Each value is called as ``build(atom_feature_dims, bond_feature_dims,
num_layers, hidden_dim, dropout, **options)``; its keyword arguments after
``dropout`` are the options it takes (see :func:`backbone_options`).
"""


def backbone_options(name: str) -> dict[str, object]:
    """The options a registered backbone takes beyond the shared ones, with their defaults.

    The shared parameters are ``num_layers``, ``hidden_dim`` and ``dropout``.

    Parameters
    ----------
    name : str
        A key of :data:`BACKBONES`.

    Returns
    -------
    dict
        Option name to default value.

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.

    Examples
    --------
    >>> from molgnba.nn.backbones import backbone_options
    >>> backbone_options("gin")
    {'train_eps': False, 'residual': False, 'mlp_ratio': 2}
    >>> backbone_options("attentivefp")
    {'num_timesteps': 2}
    >>> backbone_options("dmpnn")
    {}
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; valid names are {sorted(BACKBONES)}")
    shared = ("atom_feature_dims", "bond_feature_dims", "num_layers", "hidden_dim", "dropout")
    parameters = inspect.signature(BACKBONES[name]).parameters
    return {key: p.default for key, p in parameters.items() if key not in shared}


def build_backbone(
    name: str,
    atom_feature_dims: Sequence[int],
    bond_feature_dims: Sequence[int],
    num_layers: int,
    hidden_dim: int,
    dropout: float = 0.0,
    **options,
) -> nn.Module:
    """Build a registered backbone, refusing options that it does not take.

    An option left at ``None`` counts as not given, so that a caller can pass
    every option of every backbone and let each take its own default.

    Parameters
    ----------
    name : str
        A key of :data:`BACKBONES`.
    atom_feature_dims, bond_feature_dims : sequence of int
        Vocabulary sizes declared by the featurizer.
    num_layers, hidden_dim : int
    dropout : float, default=0.0
    **options
        Backbone-specific options (:func:`backbone_options`).

    Returns
    -------
    torch.nn.Module
        With a ``pools_itself`` attribute: False for a backbone whose
        ``forward(x, edge_index, edge_attr)`` returns ``num_outputs``
        tensors of shape ``V x hidden_dim``; True for one whose
        ``forward(x, edge_index, edge_attr, batch, num_graphs)`` returns a
        tensor of shape ``B x out_dim``.

    Raises
    ------
    ValueError
        For an unknown name, or an option the backbone does not take.

    Examples
    --------
    >>> from molgnba.featurize import HuFeaturizer
    >>> from molgnba.nn.backbones import build_backbone
    >>> dims = HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims
    >>> build_backbone("dmpnn", *dims, num_layers=3, hidden_dim=16).pools_itself
    False
    >>> build_backbone("attentivefp", *dims, num_layers=2, hidden_dim=16, num_timesteps=3).out_dim
    16
    >>> build_backbone("dmpnn", *dims, num_layers=3, hidden_dim=16, heads=4)
    Traceback (most recent call last):
    ...
    ValueError: heads=4 does not apply to backbone='dmpnn', which takes no options
    """
    accepted = backbone_options(name)
    given = {key: value for key, value in options.items() if value is not None}
    for key, value in given.items():
        if key not in accepted:
            takes = f"takes {sorted(accepted)}" if accepted else "takes no options"
            raise ValueError(f"{key}={value!r} does not apply to backbone={name!r}, which {takes}")
    return BACKBONES[name](atom_feature_dims, bond_feature_dims, num_layers, hidden_dim, dropout, **given)
