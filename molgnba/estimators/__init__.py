"""scikit-learn estimators that learn from SMILES: GNNClassifier and GNNRegressor.

Both are skorch nets (:class:`skorch.NeuralNet`), so skorch's prefixed
parameters (``module__``, ``optimizer__``, ``callbacks__``, ``iterator_train__``),
callbacks, ``train_split`` and ``history`` all work; on top of that they take
SMILES directly, validate every input before training starts, and select the
model of the best validation epoch by an unweighted metric.

The code is split by role: ``_validation`` (checks of X and y), ``_device``
(devices and mixed precision), ``_base`` (the shared skorch net: parameters,
loss, fit, prediction, fitted state), ``_classifier`` and ``_regressor``.
"""

from molgnba.estimators._classifier import GNNClassifier
from molgnba.estimators._regressor import GNNRegressor

__all__ = ["GNNClassifier", "GNNRegressor"]

# Documented, and pickled, under the module users import them from: pickles
# written before the split into parts (and after it) load in either version.
GNNClassifier.__module__ = __name__
GNNRegressor.__module__ = __name__
