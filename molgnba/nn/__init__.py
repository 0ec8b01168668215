"""Network modules: embeddings, message-passing backbones, readout, full model."""

from molgnba.nn.backbones import BACKBONES, GATEdgeConv, GINEdgeConv, MessagePassingBackbone
from molgnba.nn.embedding import CategoricalEmbedding
from molgnba.nn.model import MolecularGNN
from molgnba.nn.readout import JUMPING_KNOWLEDGE, POOLINGS, LayerwiseReadout

__all__ = [
    "BACKBONES",
    "CategoricalEmbedding",
    "GATEdgeConv",
    "GINEdgeConv",
    "JUMPING_KNOWLEDGE",
    "LayerwiseReadout",
    "MessagePassingBackbone",
    "MolecularGNN",
    "POOLINGS",
]
