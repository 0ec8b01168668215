"""``mixed_precision``: autocast for the network, float32 for everything users see.

bfloat16 is checked on the CPU (autocast runs there too); float16 with loss
scaling is checked on the CPU as well, since torch's GradScaler works on any
device, and on a GPU by the ``gpu``-marked test.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from molgnba import GNNClassifier, GNNRegressor

from conftest import TINY, TINY_SMILES, TINY_TARGETS


@pytest.fixture(scope="module")
def tiny_data():
    return TINY_SMILES, TINY_TARGETS


class LinearOutputDtypes:
    """Records the dtype every nn.Linear of a module produces."""

    def __init__(self, module):
        self.dtypes = set()
        self.handles = [
            layer.register_forward_hook(lambda _m, _i, out: self.dtypes.add(out.dtype))
            for layer in module.modules()
            if isinstance(layer, torch.nn.Linear)
        ]

    def remove(self):
        for handle in self.handles:
            handle.remove()


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_fit_and_predict_in_reduced_precision(tiny_data, precision):
    smiles, y = tiny_data
    reg = GNNRegressor(mixed_precision=precision, **TINY).fit(smiles, y)
    recorder = LinearOutputDtypes(reg.module_)
    predictions = reg.predict(smiles)
    recorder.remove()
    assert recorder.dtypes == {getattr(torch, precision)}, "the network did not run under autocast"
    assert predictions.dtype == np.float64 or predictions.dtype == np.float32
    assert np.isfinite(predictions).all()
    assert all(np.isfinite(reg.history[:, "train_loss"]))
    # Diagnostics come from float32 losses, as without mixed precision.
    assert np.isfinite(reg.train_gradient_norm_[~np.isnan(reg.train_gradient_norm_)]).all()


def test_float32_by_default(tiny_regressor):
    assert tiny_regressor.mixed_precision is None
    recorder = LinearOutputDtypes(tiny_regressor.module_)
    tiny_regressor.predict(TINY_SMILES[:5])
    recorder.remove()
    assert recorder.dtypes == {torch.float32}


def test_bfloat16_prediction_is_close_to_float32(tiny_regressor):
    smiles, y = TINY_SMILES, TINY_TARGETS
    reg = copy.deepcopy(tiny_regressor)
    exact = reg.predict(smiles)
    reg.set_params(mixed_precision="bfloat16")
    approximate = reg.predict(smiles)
    assert not np.array_equal(exact, approximate), "bfloat16 had no effect"
    # bfloat16 keeps 8 bits of mantissa: a few per cent of the targets' spread.
    assert np.max(np.abs(exact - approximate)) < 0.1 * np.std(y)


def test_float16_gradients_are_unscaled_before_callbacks(tiny_data):
    """Gradient clipping and other on_grad_computed callbacks see true gradients."""

    class GradientNorms(Callback):
        def initialize(self):
            self.norms = []
            return self

        def on_grad_computed(self, net, named_parameters, **kwargs):
            grads = [p.grad for _, p in named_parameters if p.grad is not None]
            self.norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))

    smiles, y = tiny_data
    norms = {}
    for precision in (None, "float16"):
        recorder = GradientNorms()
        GNNRegressor(mixed_precision=precision, callbacks=[recorder], **TINY).fit(smiles, y)
        norms[precision] = np.median([n for n in recorder.norms if np.isfinite(n)])
    # GradScaler starts at a scale of 65536: scaled gradients would be ~1e4x larger.
    assert norms["float16"] == pytest.approx(norms[None], rel=0.5)


def test_float16_model_pickles_and_trains_on(tiny_data):
    smiles, y = tiny_data
    clf = GNNClassifier(mixed_precision="float16", **TINY).fit(smiles, y > np.median(y))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(smiles), clf.predict_proba(smiles))
    restored.partial_fit(smiles, y > np.median(y))
    assert len(restored.history) == 2 * TINY["max_epochs"]
    assert np.isfinite(restored.predict_proba(smiles)).all()


def test_invalid_precision_is_refused_before_training(tiny_data):
    smiles, y = tiny_data
    with pytest.raises(ValueError, match="mixed_precision"):
        GNNRegressor(mixed_precision="fp8", **TINY).fit(smiles, y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_mixed_precision_on_gpu(tiny_data, precision):
    smiles, y = tiny_data
    reg = GNNRegressor(mixed_precision=precision, device="cuda", **TINY).fit(smiles, y)
    assert np.isfinite(reg.predict(smiles)).all()
