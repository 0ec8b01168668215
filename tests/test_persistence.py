"""Saving and loading fitted estimators with molgnba.persistence.

The format must never execute code on load, must round-trip predictions
exactly, and must refuse files it cannot trust with a clear ValueError.
Models are tiny (1 layer, 8 hidden units, 1-2 epochs) fitted on the first 40
molecules of ESOL; fitted models that several tests read are module-scoped.
"""

from __future__ import annotations

import doctest
import io
import json
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch.callbacks import Callback

import molgnba
from molgnba import GNNClassifier, GNNRegressor, HuFeaturizer
from molgnba.nn import MolecularGNN
from molgnba.persistence import (
    FORMAT_VERSION,
    READABLE_FORMAT_VERSIONS,
    ModelVersionWarning,
    load_model,
    read_metadata,
    save_model,
)
from molgnba.presets import get_preset

from conftest import SMALL_SMILES, SMALL_TARGETS, TINY, TINY_SMILES, TINY_TARGETS

N_MOLECULES = len(SMALL_SMILES)
QUERY = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "[Na+].[Cl-]", "C[C@H](N)C(=O)O"]


# ------------------------------------------------------------------ helpers


def _leave_mark(path):
    """What a malicious pickle would run on load: here it only writes a file."""
    Path(path).write_text("code from the model file ran")
    return {}


class MaliciousPayload:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (_leave_mark, (self.path,))


class NoOpCallback(Callback):
    pass


class CustomModule(MolecularGNN):
    pass


class UnregisteredFeaturizer(HuFeaturizer):
    name = "unregistered-for-tests"


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_members(path, contents: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return Path(path)


def rewrite_metadata(source, target, change) -> Path:
    """Copy a model file, passing its metadata dict through ``change``."""
    contents = members(source)
    metadata = json.loads(contents["metadata.json"])
    change(metadata)
    contents["metadata.json"] = json.dumps(metadata).encode()
    return write_members(target, contents)


def run_docstring_examples(function):
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(function, globs={}):
        runner.run(test)
    return runner.summarize(verbose=False)


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def data():
    smiles, y = list(SMALL_SMILES), np.asarray(SMALL_TARGETS)
    median = np.median(y)
    return {
        "smiles": smiles,
        "y": y,
        "strings": np.where(y > median, "soluble", "insoluble"),
        "binary": (y > median).astype(int),
        "bools": y > median,
        "multiclass": np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])),
        "multitask": np.column_stack([
            np.where(np.arange(N_MOLECULES) % 7 == 0, np.nan, (y > median).astype(float)),
            (np.arange(N_MOLECULES) % 2).astype(float),
        ]),
        "two_targets": np.column_stack([y, -2.0 * y + 1.0]),
    }


VARIANTS = {
    "classifier-strings-gin-gnba": (GNNClassifier, dict(backbone="gin", attentive_loss=True), "strings"),
    "classifier-binary-gat-plain": (GNNClassifier, dict(backbone="gat", attentive_loss=False), "binary"),
    "classifier-bools-gin-plain": (GNNClassifier, dict(backbone="gin", attentive_loss=False), "bools"),
    "classifier-multiclass-gat-gnba": (GNNClassifier, dict(backbone="gat", attentive_loss=True), "multiclass"),
    "classifier-multitask-gin-gnba": (GNNClassifier, dict(backbone="gin", attentive_loss=True), "multitask"),
    "regressor-1d-gat-gnba": (GNNRegressor, dict(backbone="gat", attentive_loss=True), "y"),
    "regressor-2d-gin-plain": (
        GNNRegressor, dict(backbone="gin", attentive_loss=False, standardize_targets=False), "two_targets",
    ),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def fitted(request, data):
    estimator_class, params, target = VARIANTS[request.param]
    return estimator_class(**TINY, **params).fit(data["smiles"], data[target])


@pytest.fixture(scope="module")
def regressor(tiny_regressor):
    """The shared ``GNNRegressor(**TINY)`` fitted on ``TINY_SMILES`` (read-only)."""
    return tiny_regressor


#: The paper's configuration (molgnba 0.1's defaults), made tiny: a model that version 1 holds.
PAPER_TINY = {**get_preset("paper"), **TINY, "head_hidden_dim": None}


@pytest.fixture(scope="module")
def paper_model(data):
    """A tiny GNNRegressor of the paper's configuration and attentive loss."""
    return GNNRegressor(**PAPER_TINY, attentive_loss=True).fit(data["smiles"], data["y"])


@pytest.fixture(scope="module")
def saved(regressor, tmp_path_factory):
    """A valid model file of ``regressor``; tests copy it before changing it."""
    return save_model(regressor, tmp_path_factory.mktemp("saved") / "model.molgnba")


# -------------------------------------------------------------------- tests


class TestSaveModel:
    def test_writes_a_zip_with_json_metadata_and_tensor_weights(self, saved):
        contents = members(saved)
        assert set(contents) == {"metadata.json", "weights.pt"}
        metadata = json.loads(contents["metadata.json"])
        assert metadata["format_version"] == 2  # the default recipe (noam, a hidden head) is version 2's
        assert metadata["molgnba_version"] == molgnba.__version__
        assert metadata["estimator"] == "GNNRegressor"
        assert metadata["featurizer"]["signature"] == "extended:1"
        assert metadata["fitted"]["n_outputs_"] == 1
        weights = torch.load(io.BytesIO(contents["weights.pt"]), weights_only=True)
        assert set(weights) == {"module", "criterion"}
        assert all(isinstance(t, torch.Tensor) for part in weights.values() for t in part.values())

    def test_returns_the_path_and_replaces_an_existing_file(self, regressor, tmp_path):
        path = tmp_path / "model.molgnba"
        path.write_bytes(b"old content")
        assert save_model(regressor, str(path)) == path
        assert zipfile.is_zipfile(path)

    def test_saving_twice_gives_identical_bytes(self, regressor, tmp_path):
        first = save_model(regressor, tmp_path / "a.molgnba").read_bytes()
        assert save_model(regressor, tmp_path / "b.molgnba").read_bytes() == first

    def test_a_crash_while_writing_keeps_the_old_file_and_leaves_no_temporary(self, regressor, tmp_path, monkeypatch):
        path = save_model(regressor, tmp_path / "model.molgnba")
        before = path.read_bytes()

        def crash(*args, **kwargs):
            raise OSError("disk full (simulated)")

        monkeypatch.setattr(torch, "save", crash)
        with pytest.raises(OSError, match="simulated"):
            save_model(regressor, path)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model.molgnba"]

    def test_file_permissions_follow_the_umask(self, regressor, tmp_path):
        umask = os.umask(0o022)
        try:
            path = save_model(regressor, tmp_path / "model.molgnba")
        finally:
            os.umask(umask)
        assert path.stat().st_mode & 0o777 == 0o644

    def test_refuses_a_missing_directory(self, regressor, tmp_path):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            save_model(regressor, tmp_path / "nowhere" / "model.molgnba")

    def test_refuses_an_unfitted_estimator(self, tmp_path):
        with pytest.raises(NotFittedError):
            save_model(GNNRegressor(), tmp_path / "model.molgnba")

    def test_refuses_objects_other_than_the_two_estimators(self, regressor, tmp_path):
        pipeline = make_pipeline(FunctionTransformer(), regressor)
        with pytest.raises(TypeError, match="GNNClassifier or GNNRegressor"):
            save_model(pipeline, tmp_path / "model.molgnba")

    def test_refuses_a_custom_module_class_and_writes_nothing(self, data, tmp_path):
        estimator = GNNRegressor(module=CustomModule, **TINY).fit(data["smiles"], data["y"])
        with pytest.raises(ValueError, match="module=.*change what the model computes"):
            save_model(estimator, tmp_path / "model.molgnba")
        assert list(tmp_path.iterdir()) == []

    def test_refuses_a_featurizer_instance_of_an_unregistered_class(self, data, tmp_path):
        estimator = GNNRegressor(featurizer=UnregisteredFeaturizer(), **TINY).fit(data["smiles"], data["y"])
        with pytest.raises(ValueError, match="register_featurizer"):
            save_model(estimator, tmp_path / "model.molgnba")

    def test_stores_a_stateless_registered_featurizer_instance_by_name(self, data, tmp_path):
        estimator = GNNRegressor(featurizer=HuFeaturizer(), **TINY).fit(data["smiles"], data["y"])
        loaded = load_model(save_model(estimator, tmp_path / "model.molgnba"))
        assert loaded.featurizer == "hu2019"
        np.testing.assert_array_equal(loaded.predict(QUERY), estimator.predict(QUERY))

    def test_leaves_out_training_only_objects_with_a_warning(self, data, tmp_path):
        estimator = GNNRegressor(callbacks=[("noop", NoOpCallback())], **TINY).fit(data["smiles"], data["y"])
        with pytest.warns(UserWarning, match="not saved.*callbacks"):
            path = save_model(estimator, tmp_path / "model.molgnba")
        assert "callbacks" in read_metadata(path)["params_not_saved"]
        loaded = load_model(path)
        assert loaded.callbacks is None
        np.testing.assert_array_equal(loaded.predict(QUERY), estimator.predict(QUERY))

    def test_refuses_info_that_is_not_json_data(self, regressor, tmp_path):
        with pytest.raises(TypeError, match="info must be"):
            save_model(regressor, tmp_path / "model.molgnba", info={"when": object()})

    def test_docstring_example_runs(self):
        assert run_docstring_examples(save_model).failed == 0


class TestLoadModel:
    # ------------------------------------------------------------ round trip
    def test_predictions_are_identical_after_loading(self, fitted, tmp_path):
        loaded = load_model(save_model(fitted, tmp_path / "model.molgnba"))
        assert type(loaded) is type(fitted)
        np.testing.assert_array_equal(loaded.predict(QUERY), fitted.predict(QUERY))
        if isinstance(fitted, GNNClassifier):
            np.testing.assert_array_equal(loaded.predict_proba(QUERY), fitted.predict_proba(QUERY))
            np.testing.assert_array_equal(loaded.decision_function(QUERY), fitted.decision_function(QUERY))

    def test_fitted_attributes_round_trip_with_their_types(self, fitted, tmp_path):
        loaded = load_model(save_model(fitted, tmp_path / "model.molgnba"))
        for name in ("n_outputs_", "n_tasks_", "target_ndim_", "best_epoch_", "n_train_samples_"):
            assert getattr(loaded, name) == getattr(fitted, name)
        assert getattr(loaded, "task_", None) == getattr(fitted, "task_", None)
        if isinstance(fitted, GNNClassifier):
            assert loaded.classes_.dtype == fitted.classes_.dtype
            np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
        else:
            np.testing.assert_array_equal(loaded.target_mean_, fitted.target_mean_)
            np.testing.assert_array_equal(loaded.target_scale_, fitted.target_scale_)

    def test_parameters_and_history_round_trip(self, fitted, tmp_path):
        loaded = load_model(save_model(fitted, tmp_path / "model.molgnba"))
        original = fitted.get_params(deep=False)
        for name, value in loaded.get_params(deep=False).items():
            if isinstance(value, (str, int, float, bool, type(None))):
                assert value == original[name], name
        assert len(loaded.history_) == len(fitted.history_)
        assert loaded.history_[:, "epoch"] == fitted.history_[:, "epoch"]
        assert loaded.history_[:, "train_loss"] == pytest.approx(fitted.history_[:, "train_loss"])

    def test_loaded_model_can_be_refitted(self, regressor, saved):
        loaded = load_model(saved)
        loaded.fit(TINY_SMILES, TINY_TARGETS)  # the data regressor was fitted on
        np.testing.assert_array_equal(loaded.predict(QUERY), regressor.predict(QUERY))

    def test_docstring_example_runs(self):
        assert run_docstring_examples(load_model).failed == 0

    # -------------------------------------------------------- never unpickles
    @pytest.mark.parametrize("how", ["torch.save", "pickle.dumps"])
    def test_a_pickled_object_in_the_weights_is_never_executed(self, saved, tmp_path, how):
        def serialized(mark):
            payload = {"module": MaliciousPayload(mark), "criterion": {}}
            if how == "pickle.dumps":
                return pickle.dumps(payload, protocol=2)
            buffer = io.BytesIO()
            torch.save(payload, buffer)
            return buffer.getvalue()

        # The payload is live: an unrestricted load runs it.
        control = tmp_path / "control"
        if how == "pickle.dumps":
            pickle.loads(serialized(control))
        else:
            torch.load(io.BytesIO(serialized(control)), weights_only=False)
        assert control.exists()

        mark = tmp_path / "executed"
        weights = serialized(mark)
        contents = members(saved)
        contents["weights.pt"] = weights
        crafted = write_members(tmp_path / "crafted.molgnba", contents)
        with pytest.raises(ValueError, match="not a valid molgnba model file.*weights.pt"):
            load_model(crafted)
        assert not mark.exists()

    def test_a_pickle_file_passed_by_mistake_is_refused_unread(self, regressor, tmp_path):
        mark = tmp_path / "executed"
        path = tmp_path / "model.pkl"
        path.write_bytes(pickle.dumps(MaliciousPayload(mark), protocol=4))
        with pytest.raises(ValueError, match="looks like a pickle"):
            load_model(path)
        assert not mark.exists()
        joblib.dump(regressor, tmp_path / "model.joblib")
        with pytest.raises(ValueError, match="not a valid molgnba model file.*pickle"):
            load_model(tmp_path / "model.joblib")

    def test_a_torch_saved_estimator_is_refused(self, regressor, tmp_path):
        torch.save(regressor.module_, tmp_path / "module.pt")  # a zip archive, but not ours
        with pytest.raises(ValueError, match="missing member"):
            load_model(tmp_path / "module.pt")

    # -------------------------------------------------------- damaged files
    def test_a_truncated_file_is_refused(self, saved, tmp_path):
        data = saved.read_bytes()
        for size in (0, 10, len(data) // 2, len(data) - 10):
            path = tmp_path / f"truncated-{size}.molgnba"
            path.write_bytes(data[:size])
            with pytest.raises(ValueError, match="not a valid molgnba model file"):
                load_model(path)

    def test_corrupted_bytes_are_refused(self, saved, tmp_path):
        data = bytearray(saved.read_bytes())
        start = data.find(b"weights.pt") + 200
        data[start:start + 64] = bytes(64)
        path = tmp_path / "corrupted.molgnba"
        path.write_bytes(bytes(data))
        with pytest.raises(ValueError, match="not a valid molgnba model file"):
            load_model(path)

    @pytest.mark.parametrize("missing", ["metadata.json", "weights.pt"])
    def test_a_missing_member_is_named(self, saved, tmp_path, missing):
        contents = members(saved)
        del contents[missing]
        with pytest.raises(ValueError, match=f"missing member.*{missing}"):
            load_model(write_members(tmp_path / "model.molgnba", contents))

    def test_invalid_json_is_refused(self, saved, tmp_path):
        contents = members(saved)
        contents["metadata.json"] = contents["metadata.json"][:-20]
        with pytest.raises(ValueError, match="metadata.json is not valid JSON"):
            load_model(write_members(tmp_path / "model.molgnba", contents))

    def test_weights_that_do_not_fit_the_architecture_are_refused(self, saved, tmp_path):
        path = rewrite_metadata(saved, tmp_path / "model.molgnba", lambda m: m["params"].update(hidden_dim=9))
        with pytest.raises(ValueError, match="weights do not fit"):
            load_model(path)

    def test_unknown_parameters_are_refused(self, saved, tmp_path):
        path = rewrite_metadata(saved, tmp_path / "model.molgnba", lambda m: m["params"].update(colour="red"))
        with pytest.raises(ValueError, match="not a valid molgnba model file"):
            load_model(path)

    def test_a_missing_file_raises_file_not_found(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            load_model(tmp_path / "absent.molgnba")

    # ----------------------------------------------------------- versions
    @pytest.mark.parametrize("version", [max(READABLE_FORMAT_VERSIONS) + 1, 0])
    def test_another_format_version_is_refused_naming_file_and_versions(self, saved, tmp_path, version):
        path = rewrite_metadata(saved, tmp_path / "model.molgnba", lambda m: m.update(format_version=version))
        with pytest.raises(ValueError, match=rf"model.molgnba.*format version {version}.*{FORMAT_VERSION}"):
            load_model(path)

    def test_another_featurizer_version_is_refused(self, saved, tmp_path):
        path = rewrite_metadata(
            saved, tmp_path / "model.molgnba", lambda m: m["featurizer"].update(signature="extended:2")
        )
        with pytest.raises(ValueError, match=r"model.molgnba.*'extended:2'.*'extended:1'"):
            load_model(path)

    def test_an_unregistered_featurizer_is_refused(self, saved, tmp_path):
        def change(metadata):
            metadata["params"]["featurizer"] = "mine"
            metadata["featurizer"]["signature"] = "mine:1"

        path = rewrite_metadata(saved, tmp_path / "model.molgnba", change)
        with pytest.raises(ValueError, match="no featurizer named 'mine' is registered"):
            load_model(path)

    def test_another_molgnba_minor_version_only_warns(self, regressor, saved, tmp_path):
        path = rewrite_metadata(saved, tmp_path / "model.molgnba", lambda m: m.update(molgnba_version="0.0.9"))
        with pytest.warns(ModelVersionWarning, match="0.0.9"):
            loaded = load_model(path)
        np.testing.assert_array_equal(loaded.predict(QUERY), regressor.predict(QUERY))

    def test_another_patch_version_loads_silently(self, saved, tmp_path, recwarn):
        major, minor = molgnba.__version__.split(".")[:2]
        path = rewrite_metadata(
            saved, tmp_path / "model.molgnba", lambda m: m.update(molgnba_version=f"{major}.{minor}.99")
        )
        load_model(path)
        assert not [w for w in recwarn if issubclass(w.category, ModelVersionWarning)]

    # ------------------------------------------------------------- devices
    def test_device_cpu_maps_the_model_to_the_cpu(self, saved):
        loaded = load_model(saved, device="cpu")
        assert loaded.device == "cpu"
        assert all(p.device.type == "cpu" for p in loaded.module_.parameters())

    @pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback without CUDA")
    def test_a_cuda_model_falls_back_to_the_cpu_with_a_warning(self, regressor, saved, tmp_path):
        path = rewrite_metadata(saved, tmp_path / "model.molgnba", lambda m: m["params"].update(device="cuda"))
        with pytest.warns(UserWarning, match="not available here; loading it on the CPU"):
            loaded = load_model(path)
        assert loaded.device == "cpu"
        np.testing.assert_array_equal(loaded.predict(QUERY), regressor.predict(QUERY))

    @pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
    def test_asking_for_cuda_without_cuda_is_refused(self, saved):
        with pytest.raises(ValueError, match="CUDA is not available"):
            load_model(saved, device="cuda")

    def test_device_auto_is_kept(self, data, tmp_path):
        estimator = GNNRegressor(device="auto", **TINY).fit(data["smiles"], data["y"])
        loaded = load_model(save_model(estimator, tmp_path / "model.molgnba"))
        assert loaded.device == "auto"
        np.testing.assert_allclose(loaded.predict(QUERY), estimator.predict(QUERY), rtol=1e-6)

    @pytest.mark.gpu
    @pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    def test_a_gpu_model_loads_on_the_cpu(self, data, tmp_path):
        estimator = GNNRegressor(device="cuda", **TINY).fit(data["smiles"], data["y"])
        path = save_model(estimator, tmp_path / "model.molgnba")
        on_gpu = load_model(path)
        assert next(on_gpu.module_.parameters()).is_cuda
        np.testing.assert_array_equal(on_gpu.predict(QUERY), estimator.predict(QUERY))
        on_cpu = load_model(path, device="cpu")
        assert all(p.device.type == "cpu" for p in on_cpu.module_.parameters())
        np.testing.assert_allclose(on_cpu.predict(QUERY), estimator.predict(QUERY), rtol=1e-4, atol=1e-5)


LEGACY_DATA = Path(__file__).parent / "data"


def assert_as_stored(predictions, stored):
    """Predictions equal those stored with a legacy file, to float32's last place.

    The stored ones were made on another machine; another CPU or torch build may
    round a float32 kernel differently (1 unit in the last place seen on an H200
    machine's CPU, torch 2.11), which no user can tell from the model's own.
    """
    np.testing.assert_allclose(predictions, stored, rtol=2e-7, atol=0)
LEGACY_SMILES = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N"] * 2


class TestLossParameters:
    """Files name the loss by ``loss``; those of molgnba 0.1 by the deprecated parameters."""

    def test_files_of_the_deprecated_parameters_load_and_predict_as_they_did(self):
        # Written by molgnba at 646b9e2 (the last commit before loss= named the variants),
        # with the predictions it made then. The one warning is the version notice: 0.1 wrote them.
        expected = np.load(LEGACY_DATA / "legacy-models-input-predictions.npy")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            classifier = load_model(LEGACY_DATA / "classifier-0.1-default.molgnba")
            regressor = load_model(LEGACY_DATA / "regressor-0.1-guarded-undetached.molgnba")
        assert [w.category for w in caught] == [ModelVersionWarning] * 2
        assert all("saved by molgnba 0.1.0" in str(w.message) for w in caught)
        assert "adversarial_attention" in read_metadata(LEGACY_DATA / "classifier-0.1-default.molgnba")["params"]
        assert (classifier.loss, type(classifier.criterion_).__name__) == ("auto", "GNBAHardLoss")
        assert (regressor.loss, type(regressor.criterion_).__name__) == ("gnba-guarded", "GNBAGuardedLoss")
        assert regressor.criterion_.detach_gradient_norm is False
        assert regressor.get_params()["adversarial_attention"] == "deprecated"
        assert_as_stored(classifier.predict_proba(LEGACY_SMILES)[:, 1], expected[0])
        assert_as_stored(regressor.predict(LEGACY_SMILES), expected[1])

    def test_a_loaded_legacy_model_refits_without_deprecation_warnings(self):
        regressor = load_model(LEGACY_DATA / "regressor-0.1-guarded-undetached.molgnba")
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            regressor.set_params(max_epochs=1).fit(LEGACY_SMILES, [float(len(s)) for s in LEGACY_SMILES])

    def test_deprecated_parameters_set_today_are_mapped_on_load(self, data, tmp_path):
        with pytest.warns(FutureWarning):
            old = GNNRegressor(**TINY, attentive_loss=True, adversarial_attention=False).fit(data["smiles"], data["y"])
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            loaded = load_model(save_model(old, tmp_path / "old.molgnba"))
        assert loaded.loss == "gnba-guarded"
        np.testing.assert_array_equal(loaded.predict(data["smiles"]), old.predict(data["smiles"]))

    def test_contradictory_deprecated_parameters_make_an_invalid_file(self, saved, tmp_path):
        def contradict(metadata):
            metadata["params"].update(attentive_loss=True, adversarial_attention=True, detach_gradient_norm=False)

        path = rewrite_metadata(saved, tmp_path / "bad.molgnba", contradict)
        with pytest.raises(ValueError, match="contradictory"):
            load_model(path)

    @pytest.mark.parametrize("params", [
        dict(loss="gnba-guarded", attentive_loss=True, criterion__detach_gradient_norm=False,
             attention_temperature=2.0),
        dict(loss="gnba-paper", attentive_loss=True),
        dict(loss="ghm", attentive_loss=False, criterion__bins=7),
    ])
    def test_a_named_loss_round_trips(self, params, data, tmp_path):
        regressor = GNNRegressor(**TINY, **params).fit(data["smiles"], data["y"])
        loaded = load_model(save_model(regressor, tmp_path / "named.molgnba"))
        assert {key: loaded.get_params()[key] for key in params} == params
        assert type(loaded.criterion_) is type(regressor.criterion_)
        np.testing.assert_array_equal(loaded.predict(data["smiles"]), regressor.predict(data["smiles"]))


class TestParametersAFileLacks:
    """A file may lack a parameter (version 1 leaves out the version-2 ones at their version-1
    values; a file of an older molgnba predates newer ones): it loads with the value the
    parameter had when the file was written, the defaults of molgnba 0.1, not today's."""

    def test_a_file_of_molgnba_0_1_loads_with_the_recipe_it_was_trained_with(self):
        path = LEGACY_DATA / "classifier-0.1-default.molgnba"
        assert not {"lr_schedule", "head_hidden_dim", "descriptors"} & set(read_metadata(path)["params"])
        loaded = load_model(path)
        assert {name: loaded.get_params()[name] for name in ("lr_schedule", "warmup_epochs", "head_hidden_dim",
                                                              "descriptors", "num_layers", "backbone")} == {
            "lr_schedule": "constant", "warmup_epochs": 2, "head_hidden_dim": None, "descriptors": None,
            "num_layers": 1, "backbone": "gin",  # what the file holds stays
        }

    def test_parameters_at_the_old_defaults_left_out_load_as_those_defaults(self, tmp_path):
        def leave_out_old_defaults(metadata):
            for name in ("backbone", "attentive_loss", "featurizer", "batch_size", "max_epochs", "loss"):
                del metadata["params"][name]

        path = rewrite_metadata(LEGACY_DATA / "classifier-0.1-default.molgnba", tmp_path / "old.molgnba",
                                leave_out_old_defaults)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", ModelVersionWarning)  # 0.1 wrote it; tested above
            loaded = load_model(path)
        assert {name: loaded.get_params()[name] for name in (
            "backbone", "attentive_loss", "featurizer", "batch_size", "max_epochs", "loss", "head_hidden_dim",
            "lr_schedule",
        )} == {
            "backbone": "gin", "attentive_loss": True, "featurizer": "hu2019", "batch_size": 32,
            "max_epochs": 100, "loss": "auto", "head_hidden_dim": None, "lr_schedule": "constant",
        }
        assert type(loaded.criterion_).__name__ == "GNBAHardLoss"
        expected = np.load(LEGACY_DATA / "legacy-models-input-predictions.npy")
        assert_as_stored(loaded.predict_proba(LEGACY_SMILES)[:, 1], expected[0])

    def test_a_version_1_file_written_today_loads_with_what_it_left_out(self, paper_model, data, tmp_path):
        path = save_model(paper_model, tmp_path / "paper.molgnba")
        metadata = read_metadata(path)
        assert metadata["format_version"] == 1 and "lr_schedule" not in metadata["params"]
        loaded = load_model(path)
        assert loaded.get_params(deep=False) == paper_model.get_params(deep=False)
        np.testing.assert_array_equal(loaded.predict(data["smiles"]), paper_model.predict(data["smiles"]))


class TestReadMetadata:
    def test_returns_the_metadata_and_the_saved_info(self, regressor, tmp_path):
        path = save_model(regressor, tmp_path / "model.molgnba", info={"targets": ["logS"], "pair": (1, 2)})
        metadata = read_metadata(path)
        assert metadata["estimator"] == "GNNRegressor"
        assert metadata["info"] == {"targets": ["logS"], "pair": (1, 2)}
        assert metadata["params"]["hidden_dim"] == TINY["hidden_dim"]

    def test_info_defaults_to_an_empty_dict(self, saved):
        assert read_metadata(saved)["info"] == {}

    def test_refuses_what_load_model_refuses(self, tmp_path):
        path = tmp_path / "model.molgnba"
        path.write_bytes(b"not a zip")
        with pytest.raises(ValueError, match="not a valid molgnba model file"):
            read_metadata(path)

    def test_docstring_example_runs(self):
        assert run_docstring_examples(read_metadata).failed == 0


# ------------------------------------------------------------ fitted state
# The "fitted" entry of metadata.json is the estimator's get_fitted_state(): its
# keys are part of the file format (files of older versions must keep loading).
FITTED_KEYS = {"n_outputs_", "n_tasks_", "target_ndim_", "task_", "best_epoch_", "n_train_samples_", "stopped_early_"}


class TestFittedState:
    def test_the_file_stores_the_estimators_fitted_state_with_the_format_keys(self, fitted, tmp_path):
        state = fitted.get_fitted_state()
        assert json.loads(json.dumps(state)) == state  # JSON data only
        metadata = read_metadata(save_model(fitted, tmp_path / "model.molgnba"))
        assert metadata["fitted"] == state
        own = {"classes_"} if isinstance(fitted, GNNClassifier) else {"target_mean_", "target_scale_"}
        assert own <= set(state) <= FITTED_KEYS | own

    def test_set_fitted_state_round_trip_predicts_the_same(self, fitted):
        state = json.loads(json.dumps(fitted.get_fitted_state()))
        twin = type(fitted)(**fitted.get_params()).set_fitted_state(state).initialize()
        twin.module_.load_state_dict(fitted.module_.state_dict())
        twin.criterion_.load_state_dict(fitted.criterion_.state_dict())
        assert twin.get_fitted_state() == fitted.get_fitted_state()
        np.testing.assert_array_equal(twin.predict(QUERY), fitted.predict(QUERY))
        if isinstance(fitted, GNNClassifier):
            assert twin.classes_.dtype == fitted.classes_.dtype

    def test_an_unfitted_estimator_has_no_state(self):
        with pytest.raises(NotFittedError):
            GNNRegressor().get_fitted_state()

    @pytest.mark.parametrize(
        "change, message",
        [
            (lambda s: s.update(n_outputs_=0), "'n_outputs_' is missing or out of range: 0"),
            (lambda s: s.pop("n_tasks_"), "'n_tasks_' is missing"),
            (lambda s: s.update(target_ndim_=True), "'target_ndim_' is missing or out of range"),
            (lambda s: s.update(task_="ranking"), "'task_' is 'ranking'"),
            (lambda s: s.pop("target_scale_"), r"fitted attribute\(s\) target_scale_ missing"),
            (lambda s: s.update(target_mean_=["a"]), "'target_mean_' is not a list of numbers"),
            (lambda s: s.update(target_mean_=[0.0, 1.0]), "'target_mean_' does not have n_tasks_ entries"),
        ],
    )
    def test_a_malformed_state_is_refused_naming_the_attribute_and_changes_nothing(self, regressor, change, message):
        state = regressor.get_fitted_state()
        change(state)
        fresh = GNNRegressor(**TINY)
        before = dict(vars(fresh))
        with pytest.raises(ValueError, match=message):
            fresh.set_fitted_state(state)
        assert vars(fresh).keys() == before.keys()

    @pytest.mark.parametrize(
        "entry", [None, {"values": ["a", "b"]}, {"values": [["a"], "b"], "dtype": "<U1"}, {"values": [1], "dtype": "M8"}]
    )
    def test_malformed_classes_are_refused(self, entry):
        state = {"n_outputs_": 1, "n_tasks_": 1, "target_ndim_": 1, "task_": "binary"}
        if entry is not None:
            state["classes_"] = entry
        with pytest.raises(ValueError, match="classes_"):
            GNNClassifier(descriptors=None).set_fitted_state(state)  # a state without descriptor statistics

    def test_a_malformed_fitted_entry_in_a_file_is_named(self, saved, tmp_path):
        path = rewrite_metadata(saved, tmp_path / "model.molgnba", lambda m: m["fitted"].pop("target_mean_"))
        with pytest.raises(ValueError, match=r"not a valid molgnba model file.*target_mean_ missing"):
            load_model(path)
        path = rewrite_metadata(saved, tmp_path / "model.molgnba", lambda m: m.update(fitted=[1]))
        with pytest.raises(ValueError, match="field 'fitted' is missing or malformed"):
            load_model(path)


# --------------------------------------------------- ensembles and uncertainty


@pytest.fixture(scope="module")
def uncertain(data):
    """An ensemble of two mean-variance networks."""
    return GNNRegressor(**TINY, n_ensemble=2, uncertainty="mve", attentive_loss=False).fit(data["smiles"], data["y"])


class TestEnsembleFiles:
    def test_round_trip_keeps_predictions_std_and_members(self, uncertain, data, tmp_path):
        loaded = load_model(save_model(uncertain, tmp_path / "ensemble.molgnba"))
        smiles = data["smiles"]
        for saved_values, loaded_values in zip(uncertain.predict(smiles, return_std=True),
                                               loaded.predict(smiles, return_std=True)):
            np.testing.assert_array_equal(loaded_values, saved_values)
        np.testing.assert_array_equal(loaded.transform(smiles), uncertain.transform(smiles))
        assert len(loaded.estimators_) == 2 and loaded.module_ is loaded.estimators_[0].module_
        for saved_member, loaded_member in zip(uncertain.estimators_, loaded.estimators_):
            assert loaded_member.random_state == saved_member.random_state
            assert loaded_member.best_epoch_ == saved_member.best_epoch_
            assert len(loaded_member.history_) == len(saved_member.history_)
            np.testing.assert_array_equal(loaded_member.predict(smiles), saved_member.predict(smiles))
        assert loaded.get_params()["uncertainty"] == "mve" and loaded.get_params()["n_ensemble"] == 2

    def test_a_single_model_of_the_version_1_recipe_stays_format_version_1(self, paper_model, tmp_path):
        metadata = read_metadata(save_model(paper_model, tmp_path / "paper.molgnba"))
        assert metadata["format_version"] == FORMAT_VERSION == 1
        # An older molgnba's constructor would reject these, so they are left out at their version-1 values.
        assert not {
            "n_ensemble", "n_jobs", "uncertainty", "n_dropout_samples", "lr_schedule", "head_hidden_dim",
        } & set(metadata["params"])
        assert "members" not in metadata

    def test_the_default_recipe_is_format_version_2(self, saved):
        metadata = read_metadata(saved)
        assert metadata["format_version"] == 2
        assert {key: metadata["params"][key] for key in ("lr_schedule", "head_hidden_dim")} == {
            "lr_schedule": "noam", "head_hidden_dim": TINY["head_hidden_dim"],
        }

    @pytest.mark.parametrize("params", [dict(n_ensemble=2), dict(uncertainty="mve", attentive_loss=False)])
    def test_ensembles_and_uncertainty_are_format_version_2(self, data, tmp_path, params):
        estimator = GNNRegressor(**{**TINY, "max_epochs": 1}, **params).fit(data["smiles"], data["y"])
        metadata = read_metadata(save_model(estimator, tmp_path / "model.molgnba"))
        assert metadata["format_version"] == 2 and 2 in READABLE_FORMAT_VERSIONS
        assert len(metadata.get("members", [])) == params.get("n_ensemble", 1) - 1

    def test_an_older_reader_refuses_version_2_asking_for_an_upgrade(self, uncertain, tmp_path, monkeypatch):
        import molgnba.persistence as persistence

        path = save_model(uncertain, tmp_path / "ensemble.molgnba")
        monkeypatch.setattr(persistence, "READABLE_FORMAT_VERSIONS", (1,))
        with pytest.raises(ValueError, match=r"format version 2.*reads format versions 1 only \(upgrade molgnba\)"):
            load_model(path)

    def test_members_that_do_not_match_the_weights_are_refused(self, uncertain, tmp_path):
        source = save_model(uncertain, tmp_path / "ensemble.molgnba")
        path = rewrite_metadata(source, tmp_path / "broken.molgnba", lambda m: m.update(members=[]))
        with pytest.raises(ValueError, match="field 'members' does not match"):
            load_model(path)


# The constructor parameters of molgnba 0.1.0 (eb83576): a file that names any other is
# refused by that release, so a model it can build must be written without them.
PARAMETERS_OF_0_1_0 = {
    "adversarial_attention", "attention_dim", "attention_entropy_weight", "attention_temperature",
    "attention_weight_decay", "attentive_loss", "backbone", "batch_size", "callbacks", "checkpoint_dir",
    "compile", "criterion", "dataset", "detach_gradient_norm", "device", "dropout", "featurizer",
    "hidden_dim", "invalid_smiles", "iterator_train", "iterator_train__collate_fn", "iterator_train__shuffle",
    "iterator_valid", "iterator_valid__collate_fn", "jumping_knowledge", "loss", "lr", "max_epochs",
    "mixed_precision", "module", "num_layers", "optimizer", "patience", "pooling", "predict_nonlinearity",
    "progress_bar", "random_state", "torch_load_kwargs", "train_eps", "train_split", "use_caching",
    "validation_fraction", "verbose", "warm_start", "weight_decay", "standardize_targets",
}


@pytest.mark.parametrize("Estimator", [GNNRegressor, GNNClassifier])
def test_a_model_the_first_release_can_build_is_written_for_it(Estimator, tmp_path):
    """Version-1 files stay readable by molgnba 0.1.0: parameters added since are left out at their 0.1 values."""
    from molgnba.persistence import read_metadata

    y = TINY_TARGETS if Estimator is GNNRegressor else TINY_TARGETS > 0
    model = Estimator(**PAPER_TINY, attentive_loss=True).fit(TINY_SMILES, y)  # 0.1's defaults, made tiny
    path = save_model(model, tmp_path / "model.molgnba")
    metadata = read_metadata(path)
    assert metadata["format_version"] == 1
    assert set(metadata["params"]) <= PARAMETERS_OF_0_1_0, set(metadata["params"]) - PARAMETERS_OF_0_1_0
