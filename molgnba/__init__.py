"""molgnba: graph neural networks for molecules, as scikit-learn estimators.

The main entry points are :class:`GNNClassifier` and :class:`GNNRegressor`,
which take SMILES and train a GIN or GAT with the gradient-norm based
attentive loss (:class:`GNBALoss`), usable on its own with any torch model.
"""

from molgnba._version import __version__
from molgnba.estimators import GNNClassifier, GNNRegressor
from molgnba.featurize import ExtendedFeaturizer, HuFeaturizer, MoleculeFeaturizer, register_featurizer
from molgnba.losses import FocalLoss, GHMLoss, GNBALoss, MaskedLoss
from molgnba.persistence import load_model, read_metadata, save_model

__all__ = [
    "ExtendedFeaturizer",
    "FocalLoss",
    "GHMLoss",
    "GNBALoss",
    "GNNClassifier",
    "GNNRegressor",
    "HuFeaturizer",
    "MaskedLoss",
    "MoleculeFeaturizer",
    "load_model",
    "read_metadata",
    "register_featurizer",
    "save_model",
    "__version__",
]
