"""Network variants the accuracy benchmark tries before they reach the library.

A variant is a :class:`~molgnba.nn.model.MolecularGNN` subclass passed as the
estimators' ``module``, so that it is measured against the default on the same
splits, with the same seeds and the same initial weights, and so that the
library changes only once validation scores have chosen it.
"""

from __future__ import annotations

import torch.nn.functional as F

from molgnba.nn.dmpnn import DMPNNBackbone, reverse_edge_index
from molgnba.nn.model import MolecularGNN


class PreActivationResidualDMPNN(DMPNNBackbone):
    """:class:`~molgnba.nn.dmpnn.DMPNNBackbone` with chemprop 2's exact bond update.

    chemprop adds the *pre-activation* input ``W_i [x_v || e_vw]`` to every
    update, ``h^t = ReLU(W_i [x_v || e_vw] + W_h m^t)``, where molgnba's
    backbone adds it after its ReLU, ``h^t = ReLU(ReLU(W_i [x_v || e_vw]) + W_h m^t)``
    (chemprop's ``_MessagePassingBase.forward``/``update`` keep ``H_0`` before
    ``tau``). Same parameters, so the same seed gives the same initial weights.
    """

    def forward(self, x, edge_index, edge_attr):
        num_atoms = x.size(0)
        source, target = edge_index
        reverse = reverse_edge_index(edge_index, num_atoms)
        pre_activation = self.input_atom(x)[source] + self.input_bond(edge_attr)
        h = F.relu(pre_activation)
        for _ in range(self.num_layers - 1):
            incoming = self._sum_into_atoms(h, target, num_atoms)
            h = F.relu(pre_activation + self.W_h(incoming[source] - h[reverse]))
            h = F.dropout(h, p=self.dropout, training=self.training)
        incoming = self._sum_into_atoms(h, target, num_atoms)
        atoms = F.relu(self.output_atom(x) + self.W_o(incoming))
        return [F.dropout(atoms, p=self.dropout, training=self.training)]


class PreActivationResidualGNN(MolecularGNN):
    """:class:`~molgnba.nn.model.MolecularGNN` whose ``"dmpnn"`` backbone updates as chemprop's does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if type(self.backbone) is DMPNNBackbone:
            # Same parameters, registered in the same order: only forward changes.
            self.backbone.__class__ = PreActivationResidualDMPNN
