"""A fitted estimator must be portable across devices.

skorch moves the network, criterion and optimizer to the CPU when it pickles an
estimator fitted on a GPU; any other tensor left in the estimator (in a
callback, say) is pickled on its device and makes the pickle unloadable on a
CPU-only machine. These tests find such tensors on the CPU, where a GPU-fitted
pickle cannot be made.
"""

import pickle

import pytest
import torch

from molgnba import GNNRegressor

from conftest import TINY, TINY_SMILES, TINY_TARGETS



def _tensors(obj, path="estimator", seen=None):
    """Paths of every tensor reachable from ``obj`` through containers and attributes."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        return [path]
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple, set)):
        items = enumerate(obj)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith(("molgnba", "skorch")):
        items = vars(obj).items()
    else:
        return []
    found = []
    for key, value in items:
        found += _tensors(value, f"{path}.{key}", seen)
    return found


@pytest.fixture(scope="module")
def regressor_with_early_stopping():
    # patience adds the early-stopping callback, whose state is pickled too.
    return GNNRegressor(**TINY, patience=1).fit(TINY_SMILES, TINY_TARGETS)


@pytest.mark.parametrize("fitted", ["tiny_classifier", "tiny_multitask_classifier", "regressor_with_early_stopping"])
def test_pickled_state_holds_no_tensor_outside_the_device_mapped_attributes(fitted, request):
    estimator = request.getfixturevalue(fitted)
    state = estimator.__getstate__()
    state.pop("__cuda_dependent_attributes__")
    assert _tensors(state) == []
    restored = pickle.loads(pickle.dumps(estimator))
    assert (restored.predict(TINY_SMILES) == estimator.predict(TINY_SMILES)).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_fitted_pickle_loads_with_cuda_hidden(tmp_path):
    import os
    import subprocess
    import sys

    reg = GNNRegressor(**TINY, device="cuda").fit(TINY_SMILES, TINY_TARGETS)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(reg))
    code = f"import pickle; m = pickle.load(open({str(path)!r}, 'rb')); print(m.device_, m.predict(['CCO']))"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_requested_without_cuda_fails_before_training(device):
    estimator = GNNRegressor(device=device)
    with pytest.raises(ValueError, match=r"0 CUDA device\(s\); use device='auto'"):
        estimator.fit(TINY_SMILES, TINY_TARGETS)
    assert not estimator.initialized_


def test_auto_device_trains_where_it_can():
    estimator = GNNRegressor(**{**TINY, "max_epochs": 1}, device="auto").fit(TINY_SMILES, TINY_TARGETS)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert estimator.device_ == expected and estimator.device == "auto"
    assert next(estimator.module_.parameters()).device.type == expected
