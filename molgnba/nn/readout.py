"""Graph readout: node embeddings of every layer to one vector per graph."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool

#: The constant that "norm" pooling divides the sum by: chemprop's default aggregation
#: (``NormAggregation``, norm 100), which keeps the molecule's size in its vector, as a
#: sum does, at the scale of a mean for molecules of typical size.
NORM_POOLING_CONSTANT = 100.0


def global_norm_pool(x: torch.Tensor, batch: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """Sum the node states of each graph and divide by :data:`NORM_POOLING_CONSTANT`.

    Examples
    --------
    >>> import torch
    >>> from molgnba.nn.readout import global_norm_pool
    >>> global_norm_pool(torch.full((3, 2), 10.0), torch.tensor([0, 0, 1]))
    tensor([[0.2000, 0.2000],
            [0.1000, 0.1000]])
    """
    return global_add_pool(x, batch, size=size) / NORM_POOLING_CONSTANT


POOLINGS = {"mean": global_mean_pool, "sum": global_add_pool, "norm": global_norm_pool, "max": global_max_pool}
JUMPING_KNOWLEDGE = ("concat", "sum", "last", "max")


class LayerwiseReadout(nn.Module):
    """Pool the nodes of each graph, combining the layers (jumping knowledge).

    With ``jumping_knowledge="concat"`` this is equation 5 of the GNBA paper
    (after Xu et al., 2019): ``h_G = CONCAT_k POOL({h_v^(k)})`` over the atom
    embedding and every layer.

    Parameters
    ----------
    num_layers, hidden_dim : int
    pooling : {"mean", "sum", "norm", "max"}, default="mean"
        "norm" is the sum divided by 100, chemprop's default aggregation.
    jumping_knowledge : {"concat", "sum", "last", "max"}, default="concat"

    Notes
    -----
    Shapes:

    - layer_outputs : ``num_layers + 1`` tensors of shape ``V x hidden_dim``
    - batch : long tensor of shape ``V`` (graph index of each node)
    - output : ``B x out_dim`` where ``out_dim`` is ``(num_layers + 1) * hidden_dim`` for "concat" and ``hidden_dim`` otherwise.

    Examples
    --------
    >>> import torch
    >>> from molgnba.nn.readout import LayerwiseReadout
    >>> layer_outputs = [torch.ones(3, 4), 2 * torch.ones(3, 4), 3 * torch.ones(3, 4)]
    >>> batch = torch.tensor([0, 0, 1])  # nodes 0 and 1 form graph 0, node 2 graph 1
    >>> readout = LayerwiseReadout(num_layers=2, hidden_dim=4)
    >>> readout(layer_outputs, batch, num_graphs=2).shape, readout.out_dim
    (torch.Size([2, 12]), 12)
    >>> LayerwiseReadout(2, 4, pooling="sum", jumping_knowledge="last")(layer_outputs, batch, 2)
    tensor([[6., 6., 6., 6.],
            [3., 3., 3., 3.]])
    """

    def __init__(self, num_layers: int, hidden_dim: int, pooling="mean", jumping_knowledge="concat"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; valid names are {sorted(POOLINGS)}")
        if jumping_knowledge not in JUMPING_KNOWLEDGE:
            raise ValueError(
                f"unknown jumping_knowledge {jumping_knowledge!r}; valid names are {list(JUMPING_KNOWLEDGE)}"
            )
        self.pool = POOLINGS[pooling]
        self.jumping_knowledge = jumping_knowledge
        n = num_layers + 1 if jumping_knowledge == "concat" else 1
        self.out_dim = n * hidden_dim

    def forward(self, layer_outputs, batch, num_graphs: int) -> torch.Tensor:
        if self.jumping_knowledge == "last":
            layer_outputs = layer_outputs[-1:]
        elif self.jumping_knowledge == "sum":
            layer_outputs = [torch.stack(layer_outputs).sum(0)]
        elif self.jumping_knowledge == "max":
            layer_outputs = [torch.stack(layer_outputs).max(0).values]
        # ``size`` keeps graphs without nodes as zero rows instead of dropping them.
        pooled = [self.pool(h, batch, size=num_graphs) for h in layer_outputs]
        return torch.cat(pooled, dim=1)
