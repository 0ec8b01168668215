"""The full network: backbone, readout, optional molecule descriptors and a prediction head."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from molgnba.nn.backbones import build_backbone
from molgnba.nn.readout import JUMPING_KNOWLEDGE, POOLINGS, LayerwiseReadout


#: Standardized descriptors are clipped to this many training standard deviations, so
#: that one extreme value of a new molecule (``Ipc`` grows exponentially with size)
#: cannot dominate its prediction.
DESCRIPTOR_CLIP = 10.0


class MolecularGNN(nn.Module):
    """Backbone, readout, dropout and a head: one linear layer, or an MLP.

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
    pooling : {"mean", "sum", "norm", "max"}, default="mean"
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
    mlp_ratio : float, optional
        "gin" only: width of each layer's MLP hidden layer as a multiple of
        ``hidden_dim`` (2, Hu et al.'s, when not given; 1 halves the layers'
        cost).
    head_hidden_dim : int or None, default=None
        None: the head is one linear layer (the paper's). An int: the head is
        ``Linear -> ReLU -> Dropout(dropout) -> Linear`` with that many hidden
        units, chemprop's default feed-forward network (with 300).
    descriptor_dim : int, default=0
        Molecule-level descriptors joined to the graph embedding before the
        head; the batch then carries ``descriptors``, a float tensor of shape
        ``B x descriptor_dim`` (see :meth:`scaled_descriptors`). 0: none.
    descriptor_mean, descriptor_scale : sequence of float, optional
        Standardization of the descriptors (length ``descriptor_dim``); 0
        and 1 when not given. Stored as buffers, so they are part of the
        state dict.

    Attributes
    ----------
    backbone : torch.nn.Module
        Built by :func:`~molgnba.nn.backbones.build_backbone`.
    readout : LayerwiseReadout or None
        None when the backbone pools itself.
    embedding_dim : int
        Width of :meth:`embed`'s output; the head's input is this plus
        ``descriptor_dim``.
    head : torch.nn.Linear or torch.nn.Sequential
        The prediction head.

    Notes
    -----
    Shapes:

    - input : a :class:`torch_geometric.data.Batch` of ``B`` graphs (with
      ``descriptors`` of shape ``B x descriptor_dim`` when ``descriptor_dim > 0``)
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

    A hidden layer in the head, and two descriptors per molecule joined to the
    graph embedding:

    >>> for graph, values in zip(graphs, [[46.1, 1.0], [78.1, float("nan")]]):
    ...     graph.descriptors = torch.tensor([values])  # NaN: imputed with the mean
    >>> model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims,
    ...                      n_outputs=1, num_layers=2, hidden_dim=8, head_hidden_dim=16,
    ...                      descriptor_dim=2, descriptor_mean=[60.0, 1.0], descriptor_scale=[20.0, 1.0])
    >>> model.head
    Sequential(
      (0): Linear(in_features=26, out_features=16, bias=True)
      (1): ReLU()
      (2): Dropout(p=0.0, inplace=False)
      (3): Linear(in_features=16, out_features=1, bias=True)
    )
    >>> model(Batch.from_data_list(graphs)).shape
    torch.Size([2, 1])
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
        mlp_ratio: float | None = None,
        head_hidden_dim: int | None = None,
        descriptor_dim: int = 0,
        descriptor_mean: Sequence[float] | None = None,
        descriptor_scale: Sequence[float] | None = None,
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
            num_timesteps=num_timesteps, mlp_ratio=mlp_ratio,
        )
        if self.backbone.pools_itself:
            self.readout = None
            self.embedding_dim = self.backbone.out_dim
        else:
            self.readout = LayerwiseReadout(self.backbone.num_outputs - 1, hidden_dim, pooling, jumping_knowledge)
            self.embedding_dim = self.readout.out_dim
        self.dropout = nn.Dropout(dropout)
        self.descriptor_dim = int(descriptor_dim)
        if self.descriptor_dim:
            for name, values, fill in (("descriptor_mean", descriptor_mean, 0.0),
                                       ("descriptor_scale", descriptor_scale, 1.0)):
                tensor = torch.full((self.descriptor_dim,), fill) if values is None else \
                    torch.as_tensor(values, dtype=torch.float32).reshape(-1)
                if tensor.shape != (self.descriptor_dim,):
                    raise ValueError(f"{name} has {tensor.numel()} values; descriptor_dim is {self.descriptor_dim}")
                self.register_buffer(name, tensor.clone())
        elif descriptor_mean is not None or descriptor_scale is not None:
            raise ValueError("descriptor_mean and descriptor_scale need descriptor_dim > 0")
        head_in = self.embedding_dim + self.descriptor_dim
        if head_hidden_dim is None:
            # The paper's head; built exactly as before, so seeded weights are unchanged.
            self.head = nn.Linear(head_in, n_outputs)
        else:
            self.head = nn.Sequential(
                nn.Linear(head_in, head_hidden_dim), nn.ReLU(), nn.Dropout(dropout),
                nn.Linear(head_hidden_dim, n_outputs),
            )

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

    def scaled_descriptors(self, batch) -> torch.Tensor:
        """The batch's descriptors standardized, NaN imputed with the mean, clipped.

        Parameters
        ----------
        batch : torch_geometric.data.Batch
            ``B`` molecules carrying ``descriptors``, a float tensor of shape
            ``B x descriptor_dim`` (raw values, NaN where one is missing).

        Returns
        -------
        torch.Tensor of shape ``B x descriptor_dim``
            ``(descriptors - descriptor_mean) / descriptor_scale``, 0 where
            the value is missing, clipped to ``[-DESCRIPTOR_CLIP, DESCRIPTOR_CLIP]``.

        Raises
        ------
        ValueError
            If the batch has no ``descriptors``, or not ``descriptor_dim`` of them.

        Examples
        --------
        >>> import torch
        >>> from torch_geometric.data import Batch
        >>> from molgnba.featurize import HuFeaturizer, featurize_smiles
        >>> from molgnba.nn.model import MolecularGNN
        >>> graphs, _ = featurize_smiles(["CCO", "CC"], HuFeaturizer(), cache=None)
        >>> batch = Batch.from_data_list(graphs)
        >>> batch.descriptors = torch.tensor([[46.0, float("nan")], [30.0, 1e6]])
        >>> model = MolecularGNN(HuFeaturizer.atom_feature_dims, HuFeaturizer.bond_feature_dims,
        ...                      num_layers=1, hidden_dim=8, descriptor_dim=2,
        ...                      descriptor_mean=[38.0, 0.0], descriptor_scale=[8.0, 1.0])
        >>> model.scaled_descriptors(batch)
        tensor([[ 1.,  0.],
                [-1., 10.]])
        """
        raw = getattr(batch, "descriptors", None)
        if raw is None:
            raise ValueError(
                f"this model joins {self.descriptor_dim} molecule descriptors to the graph embedding, but "
                "the batch has none: featurize with the estimator's graph_featurizer() (its featurizer "
                "plus the descriptors)"
            )
        if raw.dim() != 2 or raw.shape[1] != self.descriptor_dim:
            raise ValueError(
                f"the batch's descriptors have shape {tuple(raw.shape)}; this model takes "
                f"B x {self.descriptor_dim}"
            )
        scaled = (raw.float() - self.descriptor_mean) / self.descriptor_scale
        return torch.nan_to_num(scaled, nan=0.0).clamp(-DESCRIPTOR_CLIP, DESCRIPTOR_CLIP)

    def forward(self, batch) -> torch.Tensor:
        hidden = self.dropout(self.embed(batch))
        if self.descriptor_dim:
            hidden = torch.cat([hidden, self.scaled_descriptors(batch).to(hidden.dtype)], dim=1)
        return self.head(hidden)
