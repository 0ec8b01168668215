"""molgnba: graph neural networks for molecules, as scikit-learn estimators.

The main entry points are :class:`GNNClassifier` and :class:`GNNRegressor`,
which take SMILES and train a GIN or GAT with the gradient-norm based
attentive loss (:class:`GNBALoss`), usable on its own with any torch model.
"""

from molgnba.estimators import GNNClassifier, GNNRegressor
from molgnba.featurize import ExtendedFeaturizer, HuFeaturizer, MoleculeFeaturizer, register_featurizer
from molgnba.losses import GNBALoss, MaskedLoss

__version__ = "0.1.0"

__all__ = [
    "ExtendedFeaturizer",
    "GNBALoss",
    "GNNClassifier",
    "GNNRegressor",
    "HuFeaturizer",
    "MaskedLoss",
    "MoleculeFeaturizer",
    "register_featurizer",
    "__version__",
]
