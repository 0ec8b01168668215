"""skorch callbacks behind the estimators' model selection and diagnostics.

* :class:`ValidationScore` - an unweighted validation metric per epoch
  (ROC-AUC or RMSE), computed from the predictions the validation loop
  already made.
* :class:`BestEpoch` - keeps the weights of the best epoch by that metric,
  restores them at the end, and optionally stops early.
* :class:`SampleDiagnostics` - each training sample's relative gradient norm
  and attention weight, kept from the best epoch, and the attention entropy
  of every epoch.
* :class:`NoamLRSchedule` - chemprop's learning-rate schedule (linear
  warm-up, then exponential decay), set before every training batch;
  :func:`noam_lr_factor` is its formula.

The metrics themselves (:func:`~molgnba.metrics.masked_roc_auc`,
:func:`~molgnba.metrics.masked_rmse`) are in :mod:`molgnba.metrics`; importing
them from here still works.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from skorch.callbacks import Callback

# The metrics live in molgnba.metrics; imported here too, where they used to be defined.
from molgnba.metrics import masked_rmse, masked_roc_auc

__all__ = [
    "BestEpoch", "DivergenceGuard", "SampleDiagnostics", "TrainingCheckpoint", "ValidationScore",
    "masked_rmse", "masked_roc_auc", "NoamLRSchedule", "noam_lr_factor", "LR_SCHEDULES",
]


class ValidationScore(Callback):
    """Score the validation predictions of each epoch without extra inference.

    Parameters
    ----------
    name : str
        History key, e.g. ``"valid_roc_auc"``.
    score_fn : callable
        ``score_fn(net, y_true, y_pred_raw) -> float`` on ``n x T`` numpy arrays
        of targets and raw network outputs.
    lower_is_better : bool
        Whether a smaller score is a better one (RMSE) or a larger one (ROC-AUC).

    Notes
    -----
    Each epoch records the score under ``name`` and a flag under
    ``name + "_best"`` in the history; the estimators install this callback
    as ``valid_score`` and :class:`BestEpoch` reads the flag.

    Examples
    --------
    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=2, random_state=0)
    >>> reg = reg.fit(smiles, [0.0, 1.0, 2.0, 3.0, 1.5, 1.2, 2.5, 4.0])
    >>> type(dict(reg.callbacks_)["valid_score"]).__name__
    'ValidationScore'
    >>> len(reg.history[:, "valid_rmse"]), reg.history[0, "valid_rmse_best"]
    (2, True)
    """

    def __init__(self, name: str, score_fn, lower_is_better: bool):
        self.name = name
        self.score_fn = score_fn
        self.lower_is_better = lower_is_better

    def on_epoch_begin(self, net, **kwargs):
        self.y_true_, self.y_pred_ = [], []

    def on_batch_end(self, net, batch, training, y_pred=None, **kwargs):
        if training or y_pred is None:
            return
        self.y_true_.append(batch[1].detach().cpu())
        self.y_pred_.append(y_pred.detach().cpu())

    def on_epoch_end(self, net, **kwargs):
        if not self.y_pred_:
            return
        y_true = torch.cat(self.y_true_).numpy()
        y_pred = torch.cat(self.y_pred_).float().numpy()
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        score = self.score_fn(net, y_true, y_pred)
        history = net.history
        history.record(self.name, score)
        previous = [row[self.name] for row in history[:-1] if not np.isnan(row.get(self.name, np.nan))]
        if np.isnan(score):
            is_best = False
        elif not previous:
            is_best = True
        else:
            best = min(previous) if self.lower_is_better else max(previous)
            is_best = score < best if self.lower_is_better else score > best
        history.record(self.name + "_best", bool(is_best))
        self.y_true_, self.y_pred_ = [], []


class BestEpoch(Callback):
    """Restore the weights of the best validation epoch; optionally stop early.

    Reads the ``<monitor>_best`` flag that :class:`ValidationScore` writes.
    Both the network and the criterion (whose attention parameters are
    learned) are restored, so the fitted estimator is exactly the model of
    the best epoch. The epoch number is written to ``net.best_epoch_``.

    Parameters
    ----------
    monitor : str
        History key of the score, e.g. ``"valid_rmse"``.
    patience : int or None
        Stop after this many epochs without improvement; None trains for
        ``max_epochs``.

    Examples
    --------
    The estimators install it as ``best_epoch``; the fitted model is the one
    of the epoch with the best validation score:

    >>> import numpy as np
    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=2, random_state=0)
    >>> reg = reg.fit(smiles, [0.0, 1.0, 2.0, 3.0, 1.5, 1.2, 2.5, 4.0])
    >>> reg.best_epoch_ == 1 + int(np.argmin(reg.history[:, "valid_rmse"]))
    True
    """

    def __init__(self, monitor: str, patience: int | None = None):
        self.monitor = monitor
        self.patience = patience

    def initialize(self):
        self.best_state_ = None
        self.best_epoch_ = None
        self.epochs_since_best_ = 0
        return self

    def on_train_begin(self, net, **kwargs):
        net.stopped_early_ = False
        # A warm-started fit may not beat the best score of an earlier fit:
        # start the comparison afresh from the weights we have now.
        self.initialize()

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        if row.get(self.monitor + "_best", False) or self.best_state_ is None:
            if self.monitor in row and not np.isnan(row[self.monitor]):
                self.best_state_ = {
                    "module": copy.deepcopy(net.module_.state_dict()),
                    "criterion": copy.deepcopy(net.criterion_.state_dict()),
                }
                self.best_epoch_ = row["epoch"]
                self.epochs_since_best_ = 0
                return
        self.epochs_since_best_ += 1
        if self.patience is not None and self.epochs_since_best_ >= self.patience:
            # The net stops once every callback has seen this epoch (see the
            # estimators' notify), so the last epoch is recorded and printed in full.
            net.stopped_early_ = True

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_["module"])
            net.criterion_.load_state_dict(self.best_state_["criterion"])
            net.best_epoch_ = self.best_epoch_
        # Device tensors must not outlive the fit: a pickled estimator would
        # carry them, and one fitted on a GPU would not load without CUDA.
        self.best_state_ = None


class SampleDiagnostics(Callback):
    """Per-sample relative gradient norm and attention of the training set.

    The estimator's ``get_loss`` leaves each training batch's values in
    ``net.batch_diagnostics_``; this callback gathers them into epoch-wide
    arrays aligned with the training input, records the epoch's mean
    attention entropy in the history (``attention_entropy``), and keeps the
    arrays of the epoch that :class:`ValidationScore` flags as best (or of
    the last epoch, without validation).

    Parameters
    ----------
    monitor : str or None, default=None
        History key of the validation score whose ``<monitor>_best`` flag
        selects the epoch kept; None keeps the last epoch.

    Examples
    --------
    The estimators install it as ``sample_diagnostics``; its arrays become
    the fitted attributes ``train_gradient_norm_`` and ``train_attention_``,
    shaped like ``y``, one entry per training molecule:

    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, attentive_loss=True, random_state=0)
    >>> reg = reg.fit(smiles, [0.0, 1.0, 2.0, 3.0, 1.5, 1.2, 2.5, 4.0])
    >>> reg.train_gradient_norm_.shape, reg.train_attention_.shape
    ((8,), (8,))
    >>> "attention_entropy" in reg.history[-1]
    True
    """

    def __init__(self, monitor: str | None = None):
        self.monitor = monitor

    def initialize(self):
        self.kept_ = None
        return self

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        shape = (net.n_train_samples_, net.n_tasks_)
        self.gradient_norm_ = torch.full(shape, torch.nan, device=net.device_)
        self.attention_ = torch.full(shape, torch.nan, device=net.device_)
        self.entropies_ = []

    def on_batch_end(self, net, training, **kwargs):
        details = getattr(net, "batch_diagnostics_", None)
        if not training or details is None:
            return
        index, gradient_norm, attention, entropy = details
        index = torch.as_tensor(index, device=self.gradient_norm_.device)
        self.gradient_norm_[index] = gradient_norm.to(self.gradient_norm_.dtype)
        if attention is not None:
            self.attention_[index] = attention.to(self.attention_.dtype)
            self.entropies_.append(entropy)
        net.batch_diagnostics_ = None

    def on_epoch_end(self, net, **kwargs):
        if self.entropies_:
            net.history.record("attention_entropy", float(torch.stack(self.entropies_).mean()))
        row = net.history[-1]
        best = row.get(self.monitor + "_best", False) if self.monitor else True
        if best or self.kept_ is None:
            self.kept_ = (self.gradient_norm_.clone(), self.attention_.clone())

    def on_train_end(self, net, **kwargs):
        if self.kept_ is not None:
            net.train_gradient_norm_, net.train_attention_ = (t.cpu().numpy() for t in self.kept_)
        # No device tensors may outlive the fit (see BestEpoch.on_train_end).
        self.kept_ = self.gradient_norm_ = self.attention_ = None
        self.entropies_ = []


class DivergenceGuard(Callback):
    """Stop the fit with :class:`~molgnba.exceptions.TrainingDivergedError` on a NaN or infinite loss.

    Reads the batch loss skorch has already recorded, so it costs no extra
    device synchronisation.

    Examples
    --------
    The estimators install it as ``divergence_guard``. A learning rate far
    too large makes the loss NaN or infinite within a few batches:

    >>> from molgnba import GNNRegressor
    >>> from molgnba.exceptions import TrainingDivergedError
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=20, lr=1e20, batch_size=4,
    ...                    random_state=0)
    >>> try:
    ...     reg.fit(smiles, [0.0, 1.0, 2.0, 3.0, 1.5, 1.2, 2.5, 4.0])
    ... except TrainingDivergedError as error:
    ...     print(error)
    the training loss became ... in epoch ..., batch ... (lr=1e+20). Lower the learning rate
    (e.g. lr=1e-4), ...
    """

    def on_batch_end(self, net, training, **kwargs):
        if not training:
            return
        loss = net.history[-1, "batches", -1, "train_loss"]
        if np.isfinite(loss):
            return
        from molgnba.exceptions import TrainingDivergedError

        epoch = len(net.history)
        batch = len(net.history[-1, "batches"])
        raise TrainingDivergedError(
            f"the training loss became {loss} in epoch {epoch}, batch {batch} (lr={net.lr}). "
            "Lower the learning rate (e.g. lr=1e-4), check the targets for extreme values, "
            "or keep standardize_targets=True for regression. The estimator keeps the weights "
            "of its best epoch so far."
        )


class TrainingCheckpoint(Callback):
    """Save the whole training state after every epoch; resume a killed fit from it.

    The checkpoint holds the network, attention and optimizer states, the
    history, the best-epoch state, the per-sample diagnostics and the random
    number generator states, so a resumed fit ends exactly where the
    uninterrupted fit would have. It is written atomically (a temporary file,
    then a rename), and loaded with ``torch.load(weights_only=True)``, which
    never executes code from the file.

    Parameters
    ----------
    dirname : str or path
        Directory of ``checkpoint.pt``; created if needed.

    Examples
    --------
    The estimators install it with ``checkpoint_dir=...``. A second fit with
    the same data and parameters resumes from the checkpoint; here the first
    fit had finished, so nothing is left to train:

    >>> import shutil, tempfile
    >>> from pathlib import Path
    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"]
    >>> y = [0.0, 1.0, 2.0, 3.0, 1.5, 1.2, 2.5, 4.0]
    >>> directory = tempfile.mkdtemp()
    >>> params = dict(num_layers=1, hidden_dim=8, max_epochs=2, random_state=0, checkpoint_dir=directory)
    >>> first = GNNRegressor(**params).fit(smiles, y)
    >>> sorted(path.name for path in Path(directory).iterdir())
    ['checkpoint.pt']
    >>> again = GNNRegressor(**params).fit(smiles, y)
    >>> again.resumed_epochs_, len(again.history_)
    (2, 2)
    >>> shutil.rmtree(directory)
    """

    filename = "checkpoint.pt"

    def __init__(self, dirname):
        self.dirname = dirname

    @property
    def path(self):
        from pathlib import Path

        return Path(self.dirname) / self.filename

    def on_train_begin(self, net, **kwargs):
        net.resumed_epochs_ = 0
        if not self.path.exists():
            return
        try:
            state = torch.load(self.path, map_location=net.device_, weights_only=True)
        except Exception as error:
            raise ValueError(
                f"cannot resume from {self.path}: not a readable molgnba checkpoint ({error}). "
                "Remove it to start afresh."
            ) from None
        saved, current = state.get("fingerprint") or {}, net.fit_fingerprint_
        if saved != current:
            changed = sorted(
                name for name in set(saved.get("params", {})) | set(current["params"])
                if saved.get("params", {}).get(name) != current["params"].get(name)
            )
            what = (["the training data"] if saved.get("data") != current["data"] else []) + [
                f"{name} ({saved.get('params', {}).get(name)} -> {current['params'].get(name)})"
                for name in changed
            ]
            raise ValueError(
                f"the checkpoint {self.path} was written by a fit with other data or parameters "
                f"(changed: {'; '.join(what)}); remove it or use another checkpoint_dir"
            )
        import json

        from skorch.history import History

        net.module_.load_state_dict(state["module"])
        net.criterion_.load_state_dict(state["criterion"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.history_ = History(json.loads(state["history"]))
        callbacks = dict(net.callbacks_)
        best = callbacks.get("best_epoch")
        if best is not None and state["best_state"] is not None:
            best.best_state_ = state["best_state"]
            best.best_epoch_ = state["best_epoch"]
            best.epochs_since_best_ = state["epochs_since_best"]
        diagnostics = callbacks.get("sample_diagnostics")
        if diagnostics is not None and state["diagnostics"] is not None:
            diagnostics.kept_ = tuple(state["diagnostics"])
        torch.set_rng_state(state["rng_cpu"])
        if torch.cuda.is_available() and state.get("rng_cuda"):
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        net.resumed_epochs_ = len(net.history_)

    def on_epoch_end(self, net, **kwargs):
        import json
        import os

        callbacks = dict(net.callbacks_)
        best = callbacks.get("best_epoch")
        diagnostics = callbacks.get("sample_diagnostics")
        state = {
            "fingerprint": net.fit_fingerprint_,
            "module": net.module_.state_dict(),
            "criterion": net.criterion_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "history": json.dumps(net.history_.to_list(), default=float),
            "best_state": getattr(best, "best_state_", None),
            "best_epoch": getattr(best, "best_epoch_", None),
            "epochs_since_best": getattr(best, "epochs_since_best_", 0),
            "diagnostics": list(diagnostics.kept_) if getattr(diagnostics, "kept_", None) is not None else None,
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)


def noam_lr_factor(step: int, warmup_steps: int, total_steps: int,
                   initial_factor: float = 0.1, final_factor: float = 0.1) -> float:
    """The learning rate of training step ``step`` as a multiple of the peak rate.

    chemprop's "Noam-like" schedule (``chemprop.schedulers.build_NoamLike_LRSched``):
    linear from ``initial_factor`` at step 0 to 1 at ``warmup_steps``, then
    exponential decay reaching ``final_factor`` at ``total_steps``, and
    ``final_factor`` after that.

    Parameters
    ----------
    step : int
        Training batches taken so far (0 for the first).
    warmup_steps : int
        Steps of the linear warm-up; 0 starts at the peak.
    total_steps : int
        Steps at which the decay reaches ``final_factor``.
    initial_factor, final_factor : float, default=0.1
        Start and end of the schedule, relative to the peak.

    Returns
    -------
    float

    Examples
    --------
    Two steps of warm-up, decay over the next four:

    >>> from molgnba.callbacks import noam_lr_factor
    >>> [round(noam_lr_factor(step, 2, 6), 4) for step in range(7)]
    [0.1, 0.55, 1.0, 0.5623, 0.3162, 0.1778, 0.1]
    """
    if step < warmup_steps:
        return initial_factor + (1.0 - initial_factor) * step / warmup_steps
    if step < total_steps:
        return final_factor ** ((step - warmup_steps) / (total_steps - warmup_steps))
    return final_factor


class NoamLRSchedule(Callback):
    """Set the learning rate before every training batch by :func:`noam_lr_factor`.

    The peak rate of each optimizer parameter group is its rate when the fit
    starts (the estimator's ``lr``), kept in the group as ``initial_lr``
    (what torch's schedulers use) so that a resumed or continued fit starts
    from the same peak. The schedule spans ``max_epochs`` epochs of as many
    steps as the training iterator has batches, counted from the first epoch
    of the current ``fit`` (or ``partial_fit``) call; a fit resumed from a
    checkpoint continues at the epoch it resumes from. Each training batch
    records its rate in the history as ``lr``
    (``net.history[:, "batches", :, "lr"]``).

    Parameters
    ----------
    warmup_epochs : float, default=2.0
        Epochs of linear warm-up from ``initial_factor * lr`` to ``lr``.
    initial_factor, final_factor : float, default=0.1
        Rate at the first step and at the end of the last epoch, relative
        to ``lr`` (chemprop: ``init_lr = final_lr = max_lr / 10``).

    Examples
    --------
    The estimators install it as ``lr_schedule`` with ``lr_schedule="noam"``:

    >>> from molgnba import GNNRegressor
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"] * 2
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=3, batch_size=7, lr=1e-2,
    ...                    lr_schedule="noam", warmup_epochs=1, validation_fraction=None,
    ...                    random_state=0).fit(smiles, list(range(16)))
    >>> [round(lr, 5) for lr in reg.history[:, "batches", :, "lr"][0]]  # 3 batches per epoch
    [0.001, 0.004, 0.007]
    >>> [round(lr, 5) for lr in reg.history[-1, "batches", :, "lr"]]
    [0.00316, 0.00215, 0.00147]
    """

    def __init__(self, warmup_epochs: float = 2.0, initial_factor: float = 0.1, final_factor: float = 0.1):
        self.warmup_epochs = warmup_epochs
        self.initial_factor = initial_factor
        self.final_factor = final_factor

    def on_train_begin(self, net, **kwargs):
        # A checkpoint restores its history after this (TrainingCheckpoint runs later),
        # so a resumed fit counts its epochs from 0 like the fit it resumes.
        self.first_epoch_ = len(net.history)
        self.steps_per_epoch_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.steps_per_epoch_ is None:
            self.steps_per_epoch_ = max(1, len(net.get_iterator(dataset_train, training=True)))
        self.batch_in_epoch_ = 0

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        epoch = len(net.history) - 1 - self.first_epoch_
        step = epoch * self.steps_per_epoch_ + self.batch_in_epoch_
        warmup_steps = int(round(self.warmup_epochs * self.steps_per_epoch_))
        total_steps = net.max_epochs * self.steps_per_epoch_
        factor = noam_lr_factor(step, warmup_steps, total_steps, self.initial_factor, self.final_factor)
        for group in net.optimizer_.param_groups:
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = group["initial_lr"] * factor
        net.history.record_batch("lr", net.optimizer_.param_groups[0]["lr"])
        self.batch_in_epoch_ += 1


#: Learning-rate schedules by the name the estimators' ``lr_schedule`` takes:
#: the callback class, or None for a constant rate.
LR_SCHEDULES = {"constant": None, "noam": NoamLRSchedule}
