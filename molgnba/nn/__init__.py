"""Network modules: embeddings, message-passing backbones, readout, full model."""

from molgnba.nn.attentivefp import AttentiveFPBackbone
from molgnba.nn.backbones import (
    BACKBONES,
    GATEdgeConv,
    GATv2EdgeConv,
    GINEdgeConv,
    MessagePassingBackbone,
    backbone_options,
    build_backbone,
)
from molgnba.nn.dmpnn import DMPNNBackbone, reverse_edge_index
from molgnba.nn.embedding import CategoricalEmbedding
from molgnba.nn.model import MolecularGNN
from molgnba.nn.readout import JUMPING_KNOWLEDGE, POOLINGS, LayerwiseReadout

__all__ = [
    "AttentiveFPBackbone",
    "BACKBONES",
    "CategoricalEmbedding",
    "DMPNNBackbone",
    "GATEdgeConv",
    "GATv2EdgeConv",
    "GINEdgeConv",
    "JUMPING_KNOWLEDGE",
    "LayerwiseReadout",
    "MessagePassingBackbone",
    "MolecularGNN",
    "POOLINGS",
    "backbone_options",
    "build_backbone",
    "reverse_edge_index",
]
