"""Training faults: Ctrl-C, diverging loss, and a killed fit resumed from its checkpoint."""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from skorch.callbacks import Callback

from molgnba import GNNClassifier, GNNRegressor
from molgnba.exceptions import TrainingDivergedError

from conftest import TINY, TINY_SMILES, TINY_TARGETS


def tiny(max_epochs, **params):
    """The shared tiny parameters, trained for ``max_epochs``."""
    return {**TINY, "max_epochs": max_epochs, **params}


@pytest.fixture(scope="module")
def data():
    return TINY_SMILES, TINY_TARGETS


class RaiseAtEpoch(Callback):
    """Raise ``error`` when epoch ``epoch`` ends (runs after molgnba's own callbacks)."""

    def __init__(self, epoch, error):
        self.epoch = epoch
        self.error = error

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise self.error


class TestKeyboardInterrupt:
    def test_interrupted_fit_keeps_a_usable_estimator_and_says_so(self, data):
        X, y = data
        reg = GNNRegressor(**tiny(10, callbacks=[RaiseAtEpoch(3, KeyboardInterrupt())]))
        with pytest.warns(UserWarning, match=r"interrupted during epoch 3 of 10.*usable"):
            reg.fit(X, y)
        assert reg.interrupted_
        assert len(reg.history) == 3
        assert reg.best_epoch_ in (1, 2, 3)
        assert np.isfinite(reg.predict(X)).all()

    def test_early_stopping_is_not_reported_as_an_interrupt(self, data):
        X, y = data
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            reg = GNNRegressor(**tiny(40, lr=0.05, patience=1)).fit(X, y)
        assert reg.stopped_early_ and not reg.interrupted_

    @pytest.mark.slow  # a fresh Python process importing torch
    def test_sigint_in_a_real_process_keeps_best_weights(self, tmp_path, data):
        X, y = data
        script = textwrap.dedent(
            f"""
            import json, os, signal, warnings
            import numpy as np
            from skorch.callbacks import Callback
            from molgnba import GNNRegressor

            # A process started in the background inherits SIGINT as ignored;
            # a user's terminal process has Python's KeyboardInterrupt handler.
            signal.signal(signal.SIGINT, signal.default_int_handler)

            class CtrlC(Callback):
                def on_epoch_end(self, net, **kwargs):
                    if len(net.history) == 2:
                        os.kill(os.getpid(), signal.SIGINT)

            X, y = json.load(open({str(tmp_path / "data.json")!r}))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                reg = GNNRegressor(max_epochs=20, callbacks=[CtrlC()], num_layers=1, hidden_dim=8,
                                   random_state=0).fit(X, y)
            json.dump({{"epochs": len(reg.history), "warned": any("interrupted" in str(w.message) for w in caught),
                        "finite": bool(np.isfinite(reg.predict(X)).all())}}, open({str(tmp_path / "out.json")!r}, "w"))
            """
        )
        (tmp_path / "data.json").write_text(json.dumps([list(X), list(map(float, y))]))
        subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
        result = json.loads((tmp_path / "out.json").read_text())
        assert result["warned"] and result["finite"]
        assert result["epochs"] <= 3


class TestDivergence:
    def test_extreme_learning_rate_stops_with_a_clear_error_naming_the_epoch(self, data):
        X, y = data
        est = GNNRegressor(**tiny(30, lr=1e8))
        with pytest.raises(TrainingDivergedError, match=r"epoch \d+, batch \d+ .*Lower the learning rate"):
            est.fit(X, y)

    @pytest.mark.parametrize("Estimator", [GNNRegressor, GNNClassifier])
    def test_diverged_estimator_keeps_its_best_epoch(self, data, Estimator):
        X, y = data
        labels = (y > np.median(y)).astype(int) if Estimator is GNNClassifier else y

        class Poison(Callback):
            def on_epoch_begin(self, net, **kwargs):
                if len(net.history) == 3:  # the third epoch has begun
                    for p in net.module_.parameters():
                        p.data.fill_(float("nan"))

        est = Estimator(**tiny(10, callbacks=[Poison()]))
        with pytest.raises(TrainingDivergedError, match="epoch 3"):
            est.fit(X, labels)
        assert est.best_epoch_ in (1, 2)
        assert np.isfinite(est.decision_function(X) if Estimator is GNNClassifier else est.predict(X)).all()


RESUME_SCRIPT = """
import json, os, signal, sys
import numpy as np
from skorch.callbacks import Callback
from molgnba import GNNRegressor

mode, data_path, checkpoint_dir, out_path = sys.argv[1:5]
X, y = json.load(open(data_path))

class Kill(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 3:
            os.kill(os.getpid(), signal.SIGKILL)

callbacks = [Kill()] if mode == "killed" else None
reg = GNNRegressor(max_epochs=6, num_layers=1, hidden_dim=8, random_state=0, callbacks=callbacks,
                   checkpoint_dir=None if mode == "plain" else checkpoint_dir)
reg.fit(X, y)
np.save(out_path, np.concatenate([reg.predict(X), reg.train_gradient_norm_, [reg.best_epoch_]]))
"""


class TestCheckpointResume:
    @pytest.mark.slow  # three fresh Python processes importing torch
    def test_killed_fit_resumes_to_the_uninterrupted_result(self, tmp_path, data):
        X, y = data
        data_path = tmp_path / "data.json"
        data_path.write_text(json.dumps([list(X), list(map(float, y))]))
        script = tmp_path / "fit.py"
        script.write_text(RESUME_SCRIPT)
        checkpoints = tmp_path / "checkpoints"

        def run(mode, out):
            return subprocess.run(
                [sys.executable, str(script), mode, str(data_path), str(checkpoints), str(tmp_path / out)],
                timeout=300,
            )

        killed = run("killed", "never.npy")
        assert killed.returncode == -9  # SIGKILL: no chance to clean up
        assert (checkpoints / "checkpoint.pt").exists()
        assert not (tmp_path / "never.npy").exists()
        assert run("resume", "resumed.npy").returncode == 0
        assert run("plain", "uninterrupted.npy").returncode == 0
        np.testing.assert_array_equal(np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "uninterrupted.npy"))

    def test_checkpoint_of_other_data_is_refused(self, tmp_path, data):
        X, y = data
        GNNRegressor(**tiny(1, checkpoint_dir=tmp_path)).fit(X, y)
        with pytest.raises(ValueError, match="other data or parameters"):
            GNNRegressor(**tiny(1, checkpoint_dir=tmp_path)).fit(X[:-1], y[:-1])

    def test_corrupted_checkpoint_is_refused_without_running_it(self, tmp_path, data):
        X, y = data
        (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
        with pytest.raises(ValueError, match="not a readable molgnba checkpoint"):
            GNNRegressor(**tiny(1, checkpoint_dir=tmp_path)).fit(X, y)

    def test_finished_fit_is_not_trained_again(self, tmp_path, data):
        X, y = data
        first = GNNRegressor(**tiny(2, checkpoint_dir=tmp_path)).fit(X, y)
        again = GNNRegressor(**tiny(2, checkpoint_dir=tmp_path)).fit(X, y)
        assert again.resumed_epochs_ == 2 and len(again.history) == 2
        np.testing.assert_array_equal(first.predict(X), again.predict(X))
