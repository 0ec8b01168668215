"""The machinery both estimators share: parameters, skorch hooks, fit, prediction.

:class:`GNNBase` is a skorch net (:class:`skorch.NeuralNet`) that takes SMILES:
it checks every input before training starts, featurizes the molecules,
trains with the loss chosen by the parameters and keeps the model of the best
validation epoch by an unweighted metric. :class:`~molgnba.GNNClassifier` and
:class:`~molgnba.GNNRegressor` add the encoding of the targets and the
post-processing of the network's outputs.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import os
import re
import warnings
from collections.abc import Callable

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import ProgressBar
from skorch.utils import to_tensor

from molgnba.callbacks import BestEpoch, DivergenceGuard, SampleDiagnostics, TrainingCheckpoint, ValidationScore
from molgnba.callbacks import LR_SCHEDULES
from molgnba.data import GraphDataset, ValidationSplit, collate_graphs
from molgnba.estimators._device import AUTOCAST_DTYPES, DevicePrecisionMixin, check_device
from molgnba.estimators._ensemble import EnsembleMixin
from molgnba.estimators._validation import check_sample_weight, check_smiles_input, format_invalid, target_array
from molgnba.exceptions import InvalidParameterError, TrainingDivergedError
from molgnba.featurize import MoleculeFeaturizer, featurize_smiles, get_featurizer, graph_cache
from molgnba.featurize._descriptors import DESCRIPTOR_SETS, DescriptorGraphFeaturizer
from molgnba.losses import MaskedLoss, as_molecular_loss, get_loss_class, list_losses, make_loss
from molgnba.model_selection import scaffold_groups
from molgnba.nn import BACKBONES, JUMPING_KNOWLEDGE, POOLINGS, MolecularGNN
from molgnba.utils._param_validation import Interval, StrOptions, validate_parameter_constraints

__all__ = ["ATTENTION_PARAMETERS", "DEFAULT_ATTENTIVE_LOSS", "OUTPUT_METHODS", "GNNBase"]

#: The prediction methods whose output :meth:`GNNBase.predict_graphs` returns.
OUTPUT_METHODS = ("predict", "predict_proba", "decision_function", "transform")
_TASKS = ("binary", "multiclass", "regression")

#: What ``loss="auto"`` trains with when ``attentive_loss=True``.
DEFAULT_ATTENTIVE_LOSS = "gnba-hard"
#: The value of a deprecated parameter the user did not set.
DEPRECATED = "deprecated"
_DEPRECATED_LOSS_PARAMS = ("adversarial_attention", "detach_gradient_norm")
#: The estimators' attention parameters: (estimator parameter, the attentive losses'
#: constructor parameter it reaches, the estimator's default).
ATTENTION_PARAMETERS = (
    ("attention_dim", "attention_dim", 16),
    ("attention_temperature", "temperature", 1.0),
    ("attention_entropy_weight", "entropy_weight", None),
)


def legacy_loss_choice(adversarial_attention=DEPRECATED, detach_gradient_norm=DEPRECATED) -> tuple[str, dict]:
    """The registry name (and parameters) that the deprecated parameters select.

    For ``loss="auto"`` with ``attentive_loss=True``, as before 0.2: the
    attention trained to raise the loss ("gnba-hard") unless
    ``adversarial_attention=False`` ("gnba-guarded", whose default entropy
    weight 1.0 is what ``attention_entropy_weight=None`` meant then).
    """
    adversarial = True if isinstance(adversarial_attention, str) else bool(adversarial_attention)
    detach = True if isinstance(detach_gradient_norm, str) else bool(detach_gradient_norm)
    if adversarial and not detach:
        raise ValueError("adversarial_attention=True needs detach_gradient_norm=True")
    if adversarial:
        return "gnba-hard", {}
    return "gnba-guarded", ({} if detach else {"detach_gradient_norm": False})


def _attentive_names() -> list[str]:
    return [name for name in list_losses() if get_loss_class(name).attentive]


class GNNBase(EnsembleMixin, DevicePrecisionMixin, NeuralNet):
    """Shared machinery: input checks, featurization, model selection."""

    # One table of parameter constraints, checked at fit (scikit-learn style).
    _parameter_constraints: dict = {
        "backbone": [StrOptions(set(BACKBONES))],
        "attentive_loss": ["boolean"],
        "loss": [str, Callable],
        "attention_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "attention_temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "attention_entropy_weight": [Interval(numbers.Real, 0, None, closed="left"), None],
        "attention_weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "detach_gradient_norm": ["boolean", StrOptions({DEPRECATED})],
        "adversarial_attention": ["boolean", StrOptions({DEPRECATED})],
        "num_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "pooling": [StrOptions(set(POOLINGS))],
        "jumping_knowledge": [StrOptions(set(JUMPING_KNOWLEDGE))],
        "train_eps": ["boolean"],
        "mlp_ratio": [Interval(numbers.Real, 0, None, closed="neither")],
        "featurizer": [str, MoleculeFeaturizer],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "validation_split": [StrOptions({"random", "scaffold"})],
        "patience": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "invalid_smiles": [StrOptions({"raise", "skip"})],
        "progress_bar": ["boolean"],
        "checkpoint_dir": [str, os.PathLike, None],
        "mixed_precision": [StrOptions(set(AUTOCAST_DTYPES)), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_ensemble": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "warmup_epochs": [Interval(numbers.Real, 0, None, closed="left")],
        "head_hidden_dim": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "descriptors": [StrOptions(set(DESCRIPTOR_SETS)), None],
    }
    _default_task = "binary"
    #: The tasks this estimator may train for (a loss must support one of them).
    _possible_tasks = ("binary", "multiclass")

    @property
    def _task(self) -> str:
        """"binary", "multiclass" or "regression": set by fit from the targets."""
        return getattr(self, "task_", self._default_task)

    # The defaults are the "chemprop-like" preset (molgnba.presets) with backbone="gin",
    # mlp_ratio=1, attentive_loss=False and descriptors="rdkit2d" (each chosen on validation scores in
    # docs/comparison.md; the preset stays chemprop's own), written out as scikit-learn does;
    # tests/test_presets.py holds them to the preset. A model
    # file never relies on them (molgnba.persistence fills what it lacks with the old ones).
    def __init__(
        self,
        backbone="gin",
        attentive_loss=False,
        loss="auto",
        attention_dim=16,
        attention_temperature=1.0,
        attention_entropy_weight=None,
        attention_weight_decay=0.0,
        detach_gradient_norm=DEPRECATED,
        adversarial_attention=DEPRECATED,
        num_layers=3,
        hidden_dim=300,
        dropout=0.0,
        pooling="mean",
        jumping_knowledge="concat",
        train_eps=False,
        mlp_ratio=1,
        featurizer="extended",
        lr=1e-3,
        weight_decay=0.0,
        max_epochs=50,
        batch_size=64,
        validation_fraction=0.1,
        validation_split="random",
        patience=None,
        invalid_smiles="raise",
        progress_bar=False,
        checkpoint_dir=None,
        mixed_precision=None,
        device="cpu",
        random_state=None,
        verbose=0,
        n_ensemble=1,
        n_jobs=None,
        lr_schedule="noam",
        warmup_epochs=2,
        head_hidden_dim=300,
        descriptors="rdkit2d",
        **kwargs,
    ):
        kwargs.setdefault("module", MolecularGNN)
        kwargs.setdefault("criterion", None)
        kwargs.setdefault("optimizer", torch.optim.Adam)
        kwargs.setdefault("train_split", "auto")
        kwargs.setdefault("iterator_train__collate_fn", collate_graphs)
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("iterator_valid__collate_fn", collate_graphs)
        super().__init__(
            lr=lr, max_epochs=max_epochs, batch_size=batch_size, device=device, verbose=verbose, **kwargs
        )
        self.backbone = backbone
        self.attentive_loss = attentive_loss
        self.loss = loss
        self.attention_dim = attention_dim
        self.attention_temperature = attention_temperature
        self.attention_entropy_weight = attention_entropy_weight
        self.attention_weight_decay = attention_weight_decay
        self.detach_gradient_norm = detach_gradient_norm
        self.adversarial_attention = adversarial_attention
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.pooling = pooling
        self.jumping_knowledge = jumping_knowledge
        self.train_eps = train_eps
        self.mlp_ratio = mlp_ratio
        self.featurizer = featurizer
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
        self.patience = patience
        self.invalid_smiles = invalid_smiles
        self.progress_bar = progress_bar
        self.checkpoint_dir = checkpoint_dir
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.n_ensemble = n_ensemble
        self.n_jobs = n_jobs
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.head_hidden_dim = head_hidden_dim
        self.descriptors = descriptors

    def __setattr__(self, name, value):
        if name == "loss":
            # A parameter that may hold a loss module: skorch refuses torch modules set
            # outside its initialize methods, but this one is only read (and copied) there.
            self.__dict__[name] = value
            return
        super().__setattr__(name, value)

    # ------------------------------------------------------------------ params
    def _validate_estimator_params(self) -> None:
        own = {name: getattr(self, name) for name in self._parameter_constraints}
        validate_parameter_constraints(self._parameter_constraints, own, caller_name=type(self).__name__)
        self._validate_loss_params()
        check_device(self.device)
        duplicated = {
            "num_layers", "hidden_dim", "dropout", "pooling", "jumping_knowledge", "train_eps",
            "mlp_ratio", "backbone", "n_outputs", "atom_feature_dims", "bond_feature_dims",
        } & set(self.get_params_for("module"))
        duplicated |= {"head_hidden_dim", "descriptor_dim", "descriptor_mean", "descriptor_scale"} & set(
            self.get_params_for("module")
        )
        if duplicated:
            names = sorted(duplicated)
            raise ValueError(
                f"set {', '.join(names)} as top-level parameter(s), not with the module__ prefix "
                f"(module__{names[0]} would silently shadow {names[0]}=...)"
            )

    def initialize(self):
        self._validate_estimator_params()
        return super().initialize()  # DevicePrecisionMixin resolves device="auto" first

    def initialize_module(self):
        featurizer = get_featurizer(self.featurizer)
        kwargs = dict(
            atom_feature_dims=featurizer.atom_feature_dims,
            bond_feature_dims=featurizer.bond_feature_dims,
            n_outputs=self._n_network_outputs,
            backbone=self.backbone,
            num_layers=self.num_layers,
            hidden_dim=self.hidden_dim,
            dropout=self.dropout,
            pooling=self.pooling,
            jumping_knowledge=self.jumping_knowledge,
            train_eps=self.train_eps,
        )
        # Passed only when used, so that a module of the user's own need not know them.
        if self.backbone == "gin":
            kwargs["mlp_ratio"] = self.mlp_ratio  # the only backbone with that MLP; the others ignore it
        if self.head_hidden_dim is not None:
            kwargs["head_hidden_dim"] = self.head_hidden_dim
        if self.descriptors is not None and hasattr(self, "descriptor_mean_"):
            kwargs.update(
                descriptor_dim=len(self.descriptor_mean_),
                descriptor_mean=self.descriptor_mean_.tolist(),
                descriptor_scale=self.descriptor_scale_.tolist(),
            )
        kwargs.update(self.get_params_for("module"))
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    @property
    def _n_network_outputs(self) -> int:
        """Outputs of the network's head: ``n_outputs_``, doubled by the regressor's variance head."""
        return self.n_outputs_

    # ---- molecule descriptors
    def graph_featurizer(self) -> MoleculeFeaturizer:
        """The featurizer whose graphs this estimator takes: ``featurizer``, plus ``descriptors``.

        Without ``descriptors`` this is ``featurizer`` itself (resolved from
        its name). With them, the graphs also carry the molecule
        descriptors: after fit, exactly the ``descriptor_names_`` the model
        was trained on. Use it to featurize for :meth:`predict_graphs`.

        Returns
        -------
        MoleculeFeaturizer

        Examples
        --------
        >>> from molgnba import GNNRegressor
        >>> GNNRegressor(descriptors=None).graph_featurizer()
        ExtendedFeaturizer()
        >>> featurizer = GNNRegressor().graph_featurizer()  # the default descriptors="rdkit2d"
        >>> featurizer.signature.startswith("extended:1+rdkit2d:")
        True
        """
        featurizer = get_featurizer(self.featurizer)
        if self.descriptors is None:
            return featurizer
        return DescriptorGraphFeaturizer(featurizer, self.descriptors, names=getattr(self, "descriptor_names_", None))

    def _reset_descriptor_state(self) -> None:
        """Forget the descriptor columns and statistics of an earlier fit (fit learns them anew)."""
        for name in ("descriptor_names_", "descriptor_mean_", "descriptor_scale_"):
            if hasattr(self, name):
                delattr(self, name)

    def _fit_descriptor_scaling(self, graphs: list, weights=None) -> None:
        """Set ``descriptor_mean_`` and ``descriptor_scale_`` from the training graphs, ignoring NaN.

        With ``weights`` (one per graph) the mean and standard deviation are
        weighted, as the targets' are, so that weight 0 is leaving the
        molecule out and weight 2 is counting it twice here too.
        """
        if self.descriptors is None:
            return
        values = torch.cat([graph.descriptors for graph in graphs]).numpy().astype(np.float64)
        weights = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=np.float64)
        present = np.isfinite(values)
        column_weights = np.where(present, weights[:, None], 0.0)
        values = np.where(present, values, 0.0)
        with warnings.catch_warnings():  # a column without any finite value gives NaN here
            warnings.simplefilter("ignore", RuntimeWarning)
            total = column_weights.sum(axis=0)
            mean = (column_weights * values).sum(axis=0) / total
            scale = np.sqrt((column_weights * (values - mean) ** 2).sum(axis=0) / total)
        mean[~np.isfinite(mean)] = 0.0
        scale[~(np.isfinite(scale) & (scale > 0))] = 1.0
        self.descriptor_names_ = list(self.graph_featurizer().names)
        self.descriptor_mean_, self.descriptor_scale_ = mean, scale

    # ---- end of molecule descriptors


    # ---- loss (see molgnba.losses)
    def _loss_choice(self) -> tuple:
        """``(loss, params)``: a registry name with the parameters it implies, or a loss object.

        Checks that ``loss``, ``attentive_loss`` and the deprecated parameters
        agree; warns about nothing (see :meth:`_warn_about_loss_params`).
        """
        legacy = {name: getattr(self, name) for name in _DEPRECATED_LOSS_PARAMS
                  if getattr(self, name) != DEPRECATED}
        loss = self.loss
        if isinstance(loss, str) and loss == "auto":
            return legacy_loss_choice(**legacy) if legacy and self.attentive_loss else self._auto_loss()
        if isinstance(loss, str):
            attentive = get_loss_class(loss).attentive
        else:
            if isinstance(loss, type):
                raise ValueError(
                    f"loss must be a registry name or a loss instance, got the class {loss.__name__}; "
                    f"did you mean {loss.__name__}(reduction='none')?"
                )
            attentive = bool(getattr(loss, "attentive", False))  # any torch loss joins as a plain one
        shown = loss if isinstance(loss, str) else type(loss).__name__
        if attentive and not self.attentive_loss:
            raise ValueError(
                f"attentive_loss=False asks for a loss without attention, but loss={shown!r} is attentive; "
                "set attentive_loss=True to train with it, or choose a loss without attention"
            )
        if not attentive and self.attentive_loss:
            raise ValueError(
                f"attentive_loss=True weights the loss by the attention and cannot be combined with "
                f"loss={shown!r}, which has none; set attentive_loss=False to train with the {shown} loss, "
                f"or choose an attentive loss ({', '.join(repr(n) for n in _attentive_names())})"
            )
        if legacy and attentive:
            raise ValueError(
                f"{' and '.join(legacy)} (deprecated) cannot be combined with loss={shown!r}: the loss "
                "already says how the attention trains; remove them"
            )
        return loss, {}

    def _auto_loss(self) -> tuple:
        """``(name, params)`` of the registry loss that ``loss="auto"`` stands for."""
        return (DEFAULT_ATTENTIVE_LOSS, {}) if self.attentive_loss else ("plain", {})

    def _point_prediction(self, y_pred):
        """The part of the network's output that is the prediction (a hook for extra outputs)."""
        return y_pred

    def _validate_loss_params(self) -> None:
        try:
            loss, _ = self._loss_choice()
        except ValueError as error:
            raise InvalidParameterError(f"The 'loss' parameter of {type(self).__name__}: {error}") from None
        if self.criterion is not None and not (isinstance(self.loss, str) and self.loss == "auto"):
            raise InvalidParameterError(
                f"criterion={self.criterion!r} and loss={self.loss!r} both choose the loss; set only one"
            )
        if isinstance(loss, str) and self.criterion is None:
            tasks = get_loss_class(loss).supported_tasks
            if not set(tasks) & set(self._possible_tasks):
                raise InvalidParameterError(
                    f"The 'loss' parameter of {type(self).__name__}: the loss {loss!r} is defined for "
                    f"{list(tasks)}, and {type(self).__name__} trains for {list(self._possible_tasks)}"
                )

    def _warn_about_loss_params(self) -> None:
        """FutureWarning for the deprecated parameters, UserWarning for settings that reach nothing."""
        legacy = {name: getattr(self, name) for name in _DEPRECATED_LOSS_PARAMS
                  if getattr(self, name) != DEPRECATED}
        if legacy:
            if self.criterion is None and isinstance(self.loss, str) and self.loss == "auto" and self.attentive_loss:
                name, params = legacy_loss_choice(**legacy)
                spelled = f"loss={name!r}" + "".join(f", criterion__{k}={v!r}" for k, v in params.items())
                advice = f"they select {spelled}; write that instead"
            else:
                advice = "they have no effect with this loss; remove them"
            settings = ", ".join(f"{k}={v!r}" for k, v in legacy.items())
            warnings.warn(
                f"{settings}: adversarial_attention and detach_gradient_norm are deprecated and will be "
                f"removed in molgnba 0.3; {advice} (see the user guide on the attentive loss)",
                FutureWarning,
                stacklevel=2,
            )
        if self.criterion is not None:
            return
        loss, _ = self._loss_choice()
        attentive = get_loss_class(loss).attentive if isinstance(loss, str) else getattr(loss, "attentive", False)
        # attention_weight_decay reaches any attention (it is the optimizer's); the others are
        # constructor parameters, which a loss instance already received.
        checked = ATTENTION_PARAMETERS + (("attention_weight_decay", None, 0.0),) if not attentive else (
            () if isinstance(loss, str) else ATTENTION_PARAMETERS
        )
        ignored = [
            f"{name}={getattr(self, name)!r}" for name, _, default in checked
            if getattr(self, name) is not None and getattr(self, name) != default
        ]
        if ignored:
            shown = loss if isinstance(loss, str) else type(loss).__name__
            reason = (f"the loss {shown!r} has no attention" if not attentive
                      else f"the loss instance {shown} was built with its own settings")
            warnings.warn(f"{', '.join(ignored)} ignored: {reason}", UserWarning, stacklevel=2)

    def _criterion_params(self, name: str, implied: dict) -> dict:
        """Constructor parameters of the registry loss ``name``: implied, attention_*, criterion__*."""
        loss_class = get_loss_class(name)
        params = {**implied, **self.get_params_for("criterion")}
        if not loss_class.attentive:
            return params
        accepted = inspect.signature(loss_class.__init__).parameters
        for estimator_name, loss_name, default in ATTENTION_PARAMETERS:
            value = getattr(self, estimator_name)
            if value is None:  # the variant's own default
                continue
            chosen = value != default
            if chosen and loss_name in self.get_params_for("criterion"):
                raise ValueError(
                    f"{estimator_name}={value!r} and criterion__{loss_name}={params[loss_name]!r} both set "
                    f"the {loss_name} of the loss {name!r}; set only one"
                )
            if loss_name not in accepted:
                if chosen:
                    raise ValueError(
                        f"the loss {name!r} ({loss_class.__name__}) takes no {loss_name}, so "
                        f"{estimator_name}={value!r} cannot reach it"
                    )
                continue
            params.setdefault(loss_name, value)
        return params

    def _build_criterion(self, task: str):
        """The :class:`~molgnba.losses.MolecularLoss` the parameters choose, for ``task``, on the CPU."""
        if self.criterion is not None:  # skorch's own parameter: a criterion of the user's
            super().initialize_criterion()
            return as_molecular_loss(self.criterion_, task)
        loss, implied = self._loss_choice()
        if isinstance(loss, str):
            return make_loss(loss, task, **self._criterion_params(loss, implied))
        if self.get_params_for("criterion"):
            raise ValueError(
                "criterion__ parameters reach a loss chosen by name; a loss instance carries its own settings"
            )
        # A copy, so that every fit starts from the loss as given (and clones share nothing).
        return as_molecular_loss(copy.deepcopy(loss), task)

    def initialize_criterion(self):
        self._warn_about_loss_params()
        self.criterion_ = self._build_criterion(self._task).to(self.device_)
        return self

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device_)
        if not training:
            # Validation loss is unweighted: model selection never sees the attention,
            # the focal/GHM weights or the sample weights. A criterion of the user's own
            # (skorch's criterion=) keeps scoring the validation set as it always did.
            if self.criterion is not None:
                return self.criterion_(y_pred, y_true)
            return MaskedLoss(self._task)(self._point_prediction(y_pred), y_true)
        details = self.criterion_.forward_details(y_pred, y_true, sample_weight=getattr(X, "sample_weight", None))
        index = getattr(X, "sample_index", None)
        if index is not None:
            # Diagnostics stay on the device: no host synchronisation per batch. Only an
            # attention (a loss with an entropy) is recorded as train_attention_.
            attention = entropy = None
            if details.entropy is not None and details.weights is not None:
                attention = torch.where(details.mask, details.weights, torch.nan)
                entropy = details.entropy
            self.batch_diagnostics_ = (
                index, details.gradient_norm.masked_fill(~details.mask, torch.nan), attention, entropy,
            )
        return details.loss

    # ---- end of loss

    def initialize_optimizer(self, *args, **kwargs):
        optimizer_kwargs = self.get_params_for("optimizer")
        if "param_groups" in optimizer_kwargs:
            return super().initialize_optimizer(*args, **kwargs)
        # The attention's W1, W2 train with the network, under their own weight decay.
        groups = [{"params": list(self.module_.parameters()), "weight_decay": self.weight_decay}]
        attention = [p for p in self.criterion_.parameters() if p.requires_grad]
        if attention:
            groups.append({"params": attention, "weight_decay": self.attention_weight_decay})
        optimizer_kwargs.setdefault("lr", self.lr)
        self.optimizer_ = self.optimizer(groups, **optimizer_kwargs)
        return self

    @property
    def _monitor(self) -> tuple[str, bool]:
        """History key of the model-selection metric and whether lower is better."""
        if self._task == "regression":
            return "valid_rmse", True
        if self._task == "multiclass":
            return "valid_loss", True
        return "valid_roc_auc", False

    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        print_log = callbacks.pop()  # PrintLog must come last to print our columns
        callbacks.append(("divergence_guard", DivergenceGuard()))
        schedule = LR_SCHEDULES[self.lr_schedule] if self.lr_schedule in LR_SCHEDULES else None
        if schedule is not None:  # before "checkpoint", which may then restore the history
            callbacks.append(("lr_schedule", schedule(warmup_epochs=self.warmup_epochs)))
        monitor, lower_is_better = self._monitor
        if monitor != "valid_loss":  # skorch already flags the best valid_loss
            callbacks.append(("valid_score", ValidationScore(monitor, self._score_raw, lower_is_better)))
        callbacks.append(("sample_diagnostics", SampleDiagnostics(monitor)))
        if self.progress_bar:
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks.append(print_log)
        callbacks.append(("best_epoch", BestEpoch(monitor, patience=self.patience)))
        if self.checkpoint_dir is not None:
            # After best_epoch: resuming restores the state best_epoch has just reset.
            callbacks.append(("checkpoint", TrainingCheckpoint(self.checkpoint_dir)))
        return callbacks

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        if epochs is None and getattr(self, "resumed_epochs_", 0):
            epochs = max(self.max_epochs - self.resumed_epochs_, 0)
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            # skorch ends the fit quietly on KeyboardInterrupt, which is also how
            # early stopping stops; remember which of the two it was.
            self.interrupted_ = not self.stopped_early_
            raise

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train ``max_epochs`` more epochs on SMILES ``X``, keeping the weights.

        The first call on an unfitted estimator is :meth:`fit`. Later calls
        keep the network, the optimizer state and the targets' encoding
        (classes, standardization) of the first fit: labels it never saw are
        refused. The best-epoch selection runs anew over the new epochs.

        Parameters
        ----------
        X : sequence of str
            SMILES: list, tuple, 1-D array or pandas Series.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets of the same kind as at the first fit.
        classes : ignored
            Present for scikit-learn's signature; the classes are those of
            the first fit.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each molecule's training loss, as in :meth:`fit`.
        **fit_params
            Passed on to skorch.

        Returns
        -------
        self

        Examples
        --------
        >>> from molgnba import GNNRegressor
        >>> smiles, y = ["C", "CC", "CCC", "CCCC"] * 4, [1.0, 2.0, 3.0, 4.0] * 4
        >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=2, random_state=0)
        >>> reg = reg.partial_fit(smiles, y).partial_fit(smiles, y)
        >>> len(reg.history_)
        4
        """
        if not isinstance(X, GraphDataset):
            if not (getattr(self, "initialized_", False) and hasattr(self, "target_ndim_")):
                return self.fit(X, y, sample_weight=sample_weight, **fit_params)
            smiles = check_smiles_input(X)
            if len(smiles) == 0:
                raise ValueError("X is empty: at least one SMILES is needed")
            y_array = target_array(y, len(smiles))
            sample_weight = check_sample_weight(sample_weight, len(smiles))
            self._check_target_weighting(y_array)
            self.invalid_smiles_ = []
            graphs, kept = self._featurize(smiles, training=True)
            row_weight = None if sample_weight is None else sample_weight[kept]
            targets = self._encode_targets(y_array[kept], kept)
            weights = self._training_weights(row_weight, targets)
            graphs, kept, targets, weights = self._drop_unweighted(graphs, kept, targets, weights)
            groups = self._validation_groups(smiles, kept)
            if getattr(self, "estimators_", None):
                return self._partial_fit_ensemble(graphs, kept, len(smiles), targets, sample_weight=weights,
                                                  groups=groups, **fit_params)
            self.n_train_samples_ = len(graphs)
            self.stopped_early_ = self.interrupted_ = False
            self.best_epoch_ = None
            self.partial_fit(GraphDataset(graphs, targets, sample_weight=weights, groups=groups), targets, **fit_params)
            self._realign_diagnostics(kept, len(smiles), self.target_ndim_)
            return self
        if sample_weight is not None:
            raise ValueError("X is a GraphDataset: give it the weights (GraphDataset(graphs, y, sample_weight))")
        # skorch's fit hands the featurized data on to here.
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        except TrainingDivergedError:
            self.notify("on_train_end", X=X, y=y)  # back to the best epoch so far
            raise

    def _check_target_shape(self, y_array: np.ndarray) -> None:
        n_columns = 1 if y_array.ndim == 1 else y_array.shape[1]
        expected = 1 if self.target_ndim_ == 1 else self.n_outputs_
        if n_columns != expected:
            raise ValueError(f"y has {n_columns} task column(s); the estimator was fitted on {expected}")

    def notify(self, method_name, **cb_kwargs):
        super().notify(method_name, **cb_kwargs)
        # Early stopping takes effect after all callbacks (PrintLog included,
        # which skorch always runs last) have handled the epoch.
        if method_name == "on_epoch_end" and getattr(self, "stopped_early_", False):
            raise KeyboardInterrupt

    def _uses_own_validation_split(self) -> bool:
        """Whether the estimator holds out validation molecules itself (``train_split="auto"``)."""
        return isinstance(self.train_split, str) and self.train_split == "auto" and self.validation_fraction is not None

    def _validation_groups(self, smiles: list, kept: np.ndarray) -> np.ndarray | None:
        """The scaffold of each kept molecule where ``validation_split="scaffold"`` needs it, else None."""
        if self.validation_split != "scaffold" or not self._uses_own_validation_split():
            return None
        return scaffold_groups([smiles[k] for k in kept])

    def get_split_datasets(self, X, y=None, **fit_params):
        if self._uses_own_validation_split():
            if self.validation_split == "scaffold" and getattr(X, "groups", None) is None:
                raise ValueError(
                    "validation_split='scaffold' holds out whole scaffolds, which needs the molecules' SMILES: "
                    "fit on SMILES, or pass train_split=ValidationSplit(...) with a GraphDataset that has groups"
                )
            splitter = ValidationSplit(
                self.validation_fraction,
                stratified=self._task != "regression",
                random_state=self._seed_,
            )
            train, valid = splitter(X, y)
        elif isinstance(self.train_split, str) and self.train_split == "auto":  # validation_fraction=None
            train, valid = X, None
        else:
            train, valid = super().get_split_datasets(X, y, **fit_params)
        self.n_validation_samples_ = 0 if valid is None else len(valid)
        return train, valid


    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit on SMILES ``X`` and targets ``y``, optionally weighting the molecules.

        Every check of the input runs before training starts; with
        ``invalid_smiles="skip"`` the targets are checked (and, for the
        regressor, standardized) on the rows that are kept, and the weights
        of the skipped rows are dropped with them.

        Parameters
        ----------
        X : sequence of str
            SMILES: list, tuple, 1-D array or pandas Series.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            See the class docstring for what each estimator accepts.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each molecule's training loss: finite, non-negative,
            not all zero. Weight 0 leaves the molecule out (of the
            validation split too), weight 2 counts it twice; only ratios
            matter. Every loss takes it, the attentive ones included (see
            :class:`molgnba.losses.MolecularLoss` for how weights and
            attention combine, and the user guide on sample weights). The
            validation metric that selects the best epoch stays unweighted.
        **fit_params
            Passed on to skorch's ``fit``.

        Returns
        -------
        self

        Examples
        --------
        >>> from molgnba import GNNRegressor
        >>> smiles, y = ["C", "CC", "CCC", "CCCC", "CCO", "CCN"] * 2, [1.0, 2.0, 3.0, 4.0, 2.5, 2.5] * 2
        >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> reg = reg.fit(smiles, y, sample_weight=[1.0, 1.0, 1.0, 1.0, 0.0, 2.0] * 2)
        >>> reg.n_train_samples_  # the molecules of weight 0 are left out
        10
        """
        self._validate_estimator_params()
        smiles = check_smiles_input(X)
        if len(smiles) == 0:
            raise ValueError("X is empty: at least one SMILES is needed")
        y_array = target_array(y, len(smiles))
        sample_weight = check_sample_weight(sample_weight, len(smiles))
        self._check_target_weighting(y_array)
        self.invalid_smiles_ = []
        self._reset_descriptor_state()
        graphs, kept = self._featurize(smiles, training=True)
        row_weight = None if sample_weight is None else sample_weight[kept]
        targets = self._prepare_targets(y_array[kept], kept, sample_weight=row_weight)
        weights = self._training_weights(row_weight, targets)
        self._fit_descriptor_scaling(graphs, weights)
        graphs, kept, targets, weights = self._drop_unweighted(graphs, kept, targets, weights)
        groups = self._validation_groups(smiles, kept)
        self.__dict__.pop("estimators_", None)  # of an earlier fit
        if self.n_ensemble > 1:
            return self._fit_ensemble(graphs, kept, len(smiles), targets, sample_weight=weights, groups=groups,
                                      **fit_params)
        return self._fit_graphs(graphs, kept, len(smiles), targets, sample_weight=weights, groups=groups,
                                **fit_params)

    def _prepare_targets(self, y_array: np.ndarray, rows: np.ndarray, sample_weight=None) -> np.ndarray:
        """Check and encode the targets of the kept rows; set target-derived attributes."""
        raise NotImplementedError

    def _check_target_weighting(self, y_array: np.ndarray) -> None:
        """Refuse weighting options that cannot apply to these targets (the classifier's class_weight)."""

    def _class_sample_weights(self, targets: np.ndarray, sample_weight) -> np.ndarray | None:
        """Per-row weights from the classes (the classifier's ``class_weight``); None for none."""
        return None

    def _training_weights(self, sample_weight, targets: np.ndarray) -> np.ndarray | None:
        """The weight of each kept row: sample weight times class weight; None when unweighted."""
        class_weight = self._class_sample_weights(targets, sample_weight)
        if class_weight is None:
            return sample_weight
        return class_weight if sample_weight is None else sample_weight * class_weight

    @staticmethod
    def _drop_unweighted(graphs, kept, targets, weights):
        """Leave out the rows of weight 0: they would still shift the batch normalisation."""
        if weights is None:
            return graphs, kept, targets, weights
        positive = weights > 0
        if not positive.any():
            raise ValueError(
                "every molecule left to train on has weight 0 (sample_weight times class_weight, after "
                "skipping invalid SMILES); at least one needs a positive weight"
            )
        if positive.all():
            return graphs, kept, targets, weights
        graphs = [graph for graph, keep in zip(graphs, positive) if keep]
        return graphs, kept[positive], targets[positive], weights[positive]

    def _featurize(self, smiles: list, *, training: bool, cache=graph_cache):
        """Featurize, enforcing ``invalid_smiles``; return graphs and kept positions.

        ``cache=None`` bypasses the process-wide graph cache (screening does, so
        that millions of one-off molecules do not fill it).
        """
        graphs, invalid = featurize_smiles(smiles, self.graph_featurizer(), cache=cache)
        if invalid and self.invalid_smiles == "raise":
            raise ValueError(
                format_invalid(invalid)
                + ". Fix or remove them, or pass invalid_smiles='skip' to "
                + ("train without them." if training else "get NaN predictions in their place.")
            )
        kept = np.array([k for k, graph in enumerate(graphs) if graph is not None], dtype=np.int64)
        if training and invalid:
            self.invalid_smiles_ = invalid
            warnings.warn(
                f"skipped {format_invalid(invalid)}; see the estimator's invalid_smiles_ attribute",
                UserWarning,
                stacklevel=3,
            )
        if len(kept) == 0:
            raise ValueError(f"no valid SMILES in X ({len(smiles)} given, all invalid)")
        return [graphs[k] for k in kept], kept

    def _fit_graphs(self, graphs, kept, n_input, targets: np.ndarray, sample_weight=None, groups=None, **fit_params):
        """Seed, run skorch's fit on the graphs, and align diagnostics with the input.

        ``groups``: the scaffold of each graph, for ``validation_split="scaffold"``.
        """
        self.n_tasks_ = 1 if targets.ndim == 1 else targets.shape[1]
        self.n_train_samples_ = len(graphs)
        self.stopped_early_ = False
        self.interrupted_ = False
        self.best_epoch_ = None
        self._seed_ = self._draw_seed()
        if self.checkpoint_dir is not None:
            self.fit_fingerprint_ = self._fingerprint(graphs, targets, sample_weight)
        if self._seed_ is not None:
            torch.manual_seed(self._seed_)
            np.random.seed(self._seed_ % (2**32))
        dataset = GraphDataset(graphs, targets, sample_weight=sample_weight, groups=groups)
        super().fit(dataset, targets, **fit_params)
        self._realign_diagnostics(kept, n_input, self.target_ndim_)
        if self.interrupted_:
            kept_epoch = f"epoch {self.best_epoch_}" if self.best_epoch_ else "the last epoch"
            warnings.warn(
                f"training was interrupted during epoch {len(self.history_)} of {self.max_epochs}; "
                f"the estimator is usable and keeps the weights of {kept_epoch} and the history so far",
                UserWarning,
                stacklevel=3,
            )
        return self

    def _fingerprint(self, graphs, targets, sample_weight=None) -> dict:
        """What a checkpoint must match to be resumed: a hash of the data, and the parameters."""
        import hashlib

        digest = hashlib.sha256()
        for graph in graphs:
            digest.update(graph.x.numpy().tobytes())
            digest.update(graph.edge_index.numpy().tobytes())
        digest.update(np.ascontiguousarray(targets).tobytes())
        if sample_weight is not None:
            digest.update(np.ascontiguousarray(sample_weight, dtype=np.float64).tobytes())
        # Not part of the model: output, where to save, and skorch's bookkeeping.
        ignored = {"verbose", "progress_bar", "checkpoint_dir", "device"}
        params = {
            # Object reprs carry memory addresses, which differ from process to process.
            name: re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))
            for name, value in self.get_params(deep=False).items()
            if name not in ignored and not name.startswith(("callbacks", "_"))
        }
        return {"data": digest.hexdigest(), "params": params}

    def _draw_seed(self):
        rs = self.random_state
        if rs is None:
            return None
        if isinstance(rs, numbers.Integral):
            return int(rs)
        return int(rs.randint(0, 2**31 - 1))  # a RandomState instance

    def _realign_diagnostics(self, kept, n_input, y_ndim):
        """Put per-sample diagnostics back in the positions of the user's X."""
        for name in ("train_gradient_norm_", "train_attention_"):
            values = getattr(self, name, None)
            if values is None:
                continue
            full = np.full((n_input, values.shape[1]), np.nan, dtype=np.float32)
            full[kept] = values
            setattr(self, name, full[:, 0] if y_ndim == 1 else full)

    def _forward_raw(self, X) -> tuple[np.ndarray, np.ndarray, int]:
        """Raw network outputs (``n_valid x n_outputs``), kept positions, input length."""
        self._check_fitted()
        smiles = check_smiles_input(X)
        if len(smiles) == 0:
            raise ValueError("X is empty: at least one SMILES is needed")
        graphs, kept = self._featurize(smiles, training=False)
        return self._forward_graphs(graphs), kept, len(smiles)

    def _outputs_from_raw(self, method: str, raw: np.ndarray, kept: np.ndarray, n_input: int) -> np.ndarray:
        """What ``method`` returns for the raw outputs of the ``kept`` rows of ``n_input``."""
        raise NotImplementedError

    def predict_graphs(self, graphs, method: str = "predict", *, batch_size: int | None = None,
                       return_std: bool = False):
        """Output of ``method`` for molecules already featurized; None entries give NaN rows.

        The prediction methods featurize SMILES through the process-wide graph
        cache (:data:`molgnba.featurize.graph_cache`) and enforce
        ``invalid_smiles``. This one takes the graphs instead, so the caller
        decides how they are built (screening builds them without the cache,
        chunk by chunk; see :mod:`molgnba.screening`), and never raises for
        invalid molecules: a None in ``graphs`` (what
        :func:`~molgnba.featurize.featurize_smiles` returns for an invalid
        SMILES) gives a row of NaN (None for non-numeric class labels), as
        ``predict`` gives with ``invalid_smiles="skip"``. The estimator is not
        changed.

        Parameters
        ----------
        graphs : sequence of torch_geometric.data.Data or None
            Graphs made by this estimator's featurizer, descriptors included
            (:meth:`graph_featurizer`), e.g. the first element of
            ``featurize_smiles(smiles, estimator.graph_featurizer(), cache=None)``.
        method : {"predict", "predict_proba", "decision_function", "transform"}, default="predict"
            The method whose output is returned; "transform" gives the
            learned fingerprints (float32, NaN rows for None entries).
        batch_size : int or None, default=None
            Molecules per forward pass; None keeps the estimator's
            (``iterator_valid__batch_size`` or ``batch_size``).
        return_std : bool, default=False
            With ``method="predict"`` on a :class:`~molgnba.GNNRegressor`
            fitted with an ``uncertainty`` method: also return the standard
            deviations, as ``predict(X, return_std=True)`` does.

        Returns
        -------
        ndarray of shape (len(graphs),) or (len(graphs), n)
            What ``getattr(self, method)`` returns on the same molecules;
            with ``return_std=True``, the tuple ``(mean, std)``.

        Raises
        ------
        ValueError
            For a ``method`` that is not a prediction method, or
            ``return_std=True`` where the estimator has no uncertainty.
        AttributeError
            If the estimator has no such method (a regressor's ``predict_proba``).
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        Examples
        --------
        >>> from molgnba import GNNRegressor
        >>> from molgnba.featurize import featurize_smiles
        >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "c1ccccc1", "CC(=O)O"]
        >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> reg = reg.fit(smiles, [float(len(s)) for s in smiles])
        >>> graphs, invalid = featurize_smiles(["CCO", "not a smiles"], reg.graph_featurizer(), cache=None)
        >>> values = reg.predict_graphs(graphs)
        >>> bool(values[0] == reg.predict(["CCO"])[0]), bool(np.isnan(values[1]))
        (True, True)
        """
        if method not in OUTPUT_METHODS:
            raise ValueError(f"method must be one of {list(OUTPUT_METHODS)}, got {method!r}")
        if not hasattr(self, method):
            raise AttributeError(f"{type(self).__name__} has no {method}")
        self._check_fitted()
        if return_std:
            self._check_return_std()
            if method != "predict":
                raise ValueError(f"return_std=True goes with method='predict', not {method!r}")
        graphs = list(graphs)
        kept = np.array([k for k, graph in enumerate(graphs) if graph is not None], dtype=np.int64)
        valid = [graphs[k] for k in kept]
        if method == "transform":
            return self._expand_float32(self._embeddings(valid, batch_size), kept, len(graphs))
        if return_std:
            return self._mean_and_std(valid, kept, len(graphs), batch_size)
        raw = self._forward_graphs(valid, batch_size=batch_size)
        return self._outputs_from_raw(method, raw, kept, len(graphs))

    def _check_return_std(self) -> None:
        """Refuse ``return_std=True`` (ValueError) where the estimator cannot give it."""
        raise ValueError(
            f"{type(self).__name__} has no return_std: predictive standard deviations are a "
            "GNNRegressor feature (see its uncertainty parameter)"
        )

    # ----------------------------------------------------------- fitted state
    def get_fitted_state(self) -> dict:
        """The fitted attributes that prediction needs besides the weights, as JSON data.

        With the network's weights (``module_`` and ``criterion_`` state
        dicts) this is the whole fitted model: :func:`molgnba.save_model`
        stores it as the ``fitted`` entry of the model file and
        :meth:`set_fitted_state` restores it. Training diagnostics
        (``history_``, ``train_gradient_norm_``, ...) are not part of it.

        Returns
        -------
        dict
            ``n_outputs_``, ``n_tasks_``, ``target_ndim_`` and, where set,
            ``task_``, ``best_epoch_``, ``n_train_samples_``,
            ``stopped_early_``, and with ``descriptors`` the
            ``descriptor_names_``, ``descriptor_mean_`` and
            ``descriptor_scale_`` (lists); the classifier adds ``classes_`` (``{"values":
            [...], "dtype": str, "kind": str}``), the regressor
            ``target_mean_`` and ``target_scale_`` (lists of floats). Only
            str keys and JSON values (str, int, float, bool, None, lists,
            dicts).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If a class label cannot be written as JSON (see the classifier).

        Examples
        --------
        >>> from molgnba import GNNRegressor
        >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "c1ccccc1", "CC(=O)O"]
        >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> state = reg.fit(smiles, [float(len(s)) for s in smiles]).get_fitted_state()
        >>> state["n_outputs_"], state["target_ndim_"], len(state["target_mean_"])
        (1, 1, 1)
        >>> twin = GNNRegressor(num_layers=1, hidden_dim=8).set_fitted_state(state).initialize()
        >>> _ = twin.module_.load_state_dict(reg.module_.state_dict())
        >>> bool((twin.predict(smiles) == reg.predict(smiles)).all())
        True
        """
        self._check_fitted()
        state = {
            "n_outputs_": int(self.n_outputs_),
            "n_tasks_": int(self.n_tasks_),
            "target_ndim_": int(self.target_ndim_),
        }
        if hasattr(self, "task_"):
            state["task_"] = str(self.task_)
        for name in ("best_epoch_", "n_train_samples_"):
            if hasattr(self, name):
                value = getattr(self, name)
                state[name] = None if value is None else int(value)
        if hasattr(self, "stopped_early_"):
            state["stopped_early_"] = bool(self.stopped_early_)
        if hasattr(self, "descriptor_mean_"):
            state["descriptor_names_"] = list(self.descriptor_names_)
            for name in ("descriptor_mean_", "descriptor_scale_"):
                state[name] = np.asarray(getattr(self, name), dtype=np.float64).tolist()
        return state

    def set_fitted_state(self, state: dict):
        """Set the fitted attributes from :meth:`get_fitted_state`'s output, checked.

        Every entry is checked before any attribute is set, so a malformed
        state leaves the estimator as it was. Afterwards, :meth:`initialize`
        builds a network of the right shape for the saved weights.

        Parameters
        ----------
        state : dict
            As returned by :meth:`get_fitted_state` (read back from JSON).
            Entries it does not know are ignored.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If an entry is missing, of the wrong type or out of range; the
            message names it.

        Examples
        --------
        >>> from molgnba import GNNClassifier
        >>> clf = GNNClassifier(descriptors=None).set_fitted_state(  # a state without descriptor statistics
        ...     {"n_outputs_": 1, "n_tasks_": 1, "target_ndim_": 1, "task_": "binary",
        ...      "classes_": {"values": ["no", "yes"], "dtype": "<U3", "kind": "U"}})
        >>> clf.classes_.tolist(), clf.n_outputs_
        (['no', 'yes'], 1)
        >>> GNNClassifier().set_fitted_state({"n_outputs_": 0})
        Traceback (most recent call last):
        ...
        ValueError: fitted attribute 'n_outputs_' is missing or out of range: 0
        """
        if not isinstance(state, dict):
            raise ValueError(f"the fitted state must be a dict, got {type(state).__name__}")
        for name, value in self._parse_fitted_state(state).items():
            setattr(self, name, value)
        return self

    def _parse_fitted_state(self, state: dict) -> dict:
        """The checked attributes of ``state`` (name -> value); subclasses add their own."""
        attributes = {}

        def integer(name, low, high=None, optional=False):
            value = state.get(name)
            if value is None and optional:
                if name in state:
                    attributes[name] = None
                return
            if not isinstance(value, int) or isinstance(value, bool) or value < low or (high and value > high):
                raise ValueError(f"fitted attribute {name!r} is missing or out of range: {value!r}")
            attributes[name] = value

        integer("n_outputs_", 1)
        integer("n_tasks_", 1)
        integer("target_ndim_", 1, 2)
        integer("best_epoch_", 0, optional=True)
        integer("n_train_samples_", 0, optional=True)
        if "task_" in state:
            if state["task_"] not in _TASKS:
                raise ValueError(f"fitted attribute 'task_' is {state['task_']!r}")
            attributes["task_"] = state["task_"]
        if isinstance(state.get("stopped_early_"), bool):
            attributes["stopped_early_"] = state["stopped_early_"]
        attributes.update(self._parse_descriptor_state(state))
        return attributes

    def _parse_descriptor_state(self, state: dict) -> dict:
        names = ("descriptor_names_", "descriptor_mean_", "descriptor_scale_")
        present = [name for name in names if name in state]
        if not present:
            if self.descriptors is not None:
                raise ValueError(
                    f"descriptors={self.descriptors!r} needs the fitted attributes {', '.join(names)}, "
                    "which the state does not have"
                )
            return {}
        if len(present) < len(names):
            missing = sorted(set(names) - set(present))
            raise ValueError(f"fitted attribute(s) {', '.join(missing)} missing")
        columns = state["descriptor_names_"]
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
            raise ValueError("fitted attribute 'descriptor_names_' is not a non-empty list of str")
        attributes = {"descriptor_names_": list(columns)}
        for name in ("descriptor_mean_", "descriptor_scale_"):
            try:
                values = np.asarray(state[name], dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"fitted attribute {name!r} is not a list of numbers") from None
            if values.shape != (len(columns),) or not np.isfinite(values).all():
                raise ValueError(f"fitted attribute {name!r} does not have one finite value per descriptor")
            attributes[name] = values
        if not (attributes["descriptor_scale_"] > 0).all():
            raise ValueError("fitted attribute 'descriptor_scale_' must be positive")
        return attributes

    def _check_fitted(self):
        from sklearn.exceptions import NotFittedError

        if not getattr(self, "initialized_", False) or not hasattr(self, "n_outputs_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(smiles, y) first"
            )

    def fitted_summary(self) -> str:
        """One line on what was fitted: backbone, loss, molecules, best validation score.

        Examples
        --------
        >>> from molgnba import GNNRegressor
        >>> GNNRegressor().fitted_summary()
        'GNNRegressor (gin backbone, plain loss): not fitted'
        >>> GNNRegressor(backbone="gin", attentive_loss=True).fitted_summary()
        'GNNRegressor (gin backbone, adversarial attentive loss): not fitted'
        >>> GNNRegressor(loss="gnba-guarded", attentive_loss=True).fitted_summary()
        'GNNRegressor (gin backbone, gnba-guarded loss): not fitted'
        """
        try:
            chosen, _ = self._loss_choice()
        except ValueError:  # parameters that fit will refuse: describe what was asked for
            chosen = self.loss
        if isinstance(self.loss, str) and self.loss == "auto":
            loss = {DEFAULT_ATTENTIVE_LOSS: "adversarial attentive loss", "plain": "plain loss"}.get(
                chosen, "attentive loss")
        else:
            loss = f"{chosen if isinstance(chosen, str) else type(chosen).__name__} loss"
        head = f"{type(self).__name__} ({self.backbone} backbone, {loss})"
        if not self.__sklearn_is_fitted__():
            return f"{head}: not fitted"
        n_valid = getattr(self, "n_validation_samples_", 0)
        text = (
            f"{head}: fitted on {self.n_train_samples_} molecules ({n_valid} held out for validation), "
            f"{len(self.history_)} epochs"
        )
        monitor, _ = self._monitor
        best = self.best_epoch_
        if best and monitor in self.history_[best - 1]:
            names = {"valid_roc_auc": "validation ROC-AUC", "valid_rmse": "validation RMSE"}
            text += f"; best epoch {best}, {names.get(monitor, 'validation loss')} {self.history_[best - 1][monitor]:.4f}"
        return text

    def _html_repr(self):
        # scikit-learn's diagram, headed by what was fitted (Jupyter shows this).
        from html import escape

        return f"<div><p><b>{escape(self.fitted_summary())}</b></p>{super()._html_repr()}</div>"

    def __sklearn_is_fitted__(self):
        return getattr(self, "initialized_", False) and hasattr(self, "n_outputs_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.non_deterministic = self.random_state is None
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"X_types": ["string"], "non_deterministic": self.random_state is None}

    @staticmethod
    def _expand(values: np.ndarray, kept: np.ndarray, n_input: int, fill=np.nan) -> np.ndarray:
        """Rows of ``values`` put back at ``kept`` positions of ``n_input`` rows, ``fill`` elsewhere."""
        if len(kept) == n_input:
            return values
        dtype = object if fill is None else np.result_type(values.dtype, np.float64)
        full = np.full((n_input,) + values.shape[1:], fill, dtype=dtype)
        full[kept] = values
        return full

