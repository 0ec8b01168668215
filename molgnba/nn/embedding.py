"""Embeddings of categorical atom and bond codes."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class CategoricalEmbedding(nn.Module):
    """Sum of one learned embedding per categorical column (Hu et al., 2019).

    Parameters
    ----------
    feature_dims : sequence of int
        Number of codes in each column, as declared by a featurizer.
    embedding_dim : int
        Width of the output.

    Notes
    -----
    Shapes:

    - input : long tensor of shape ``N x len(feature_dims)``
    - output : float tensor of shape ``N x embedding_dim``

    Examples
    --------
    >>> import torch
    >>> from molgnba.nn.embedding import CategoricalEmbedding
    >>> embedding = CategoricalEmbedding([119, 4], embedding_dim=8)  # atom type, chirality
    >>> codes = torch.tensor([[5, 0], [5, 0], [7, 0]])  # C, C, O
    >>> out = embedding(codes)
    >>> out.shape, torch.equal(out[0], out[1])
    (torch.Size([3, 8]), True)
    """

    def __init__(self, feature_dims: Sequence[int], embedding_dim: int):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(dim, embedding_dim) for dim in feature_dims)
        for embedding in self.embeddings:
            nn.init.xavier_uniform_(embedding.weight)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        out = self.embeddings[0](codes[:, 0])
        for column, embedding in enumerate(self.embeddings[1:], start=1):
            out = out + embedding(codes[:, column])
        return out
