"""GNNClassifier: class labels (binary, multiclass, multi-task 0/1) from SMILES."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import type_of_target

from molgnba.metrics import masked_roc_auc
from molgnba.estimators._base import GNNBase
from molgnba.estimators._validation import MAX_LISTED, as_float_targets, is_missing, rows_listed
from molgnba.utils._param_validation import StrOptions

__all__ = ["GNNClassifier"]

# Class labels that JSON can hold and numpy can rebuild: bool, int, unsigned, float, str, object.
_CLASS_DTYPE_KINDS = set("biufUO")


def _classes_entry(classes) -> dict:
    """``classes_`` as JSON data: the labels, their dtype and its kind."""
    classes = np.asarray(classes)
    if classes.dtype.kind not in _CLASS_DTYPE_KINDS:
        raise ValueError(f"cannot save class labels of dtype {classes.dtype} (supported: bool, int, float, str)")
    values = classes.tolist()
    for value in values:
        if not isinstance(value, (bool, int, float, str)):
            raise ValueError(
                f"cannot save the class label {value!r} of type {type(value).__name__}: "
                "labels must be bool, int, float or str"
            )
    return {"values": values, "dtype": classes.dtype.str, "kind": classes.dtype.kind}


class GNNClassifier(ClassifierMixin, GNNBase):
    """Graph neural network classifier on SMILES, optionally with the GNBA loss.

    Molecules are parsed with RDKit, featurized once (cached across clones in
    the process), and encoded by a message-passing backbone whose pooled
    readout feeds the head. The defaults are chemprop's recipe (the
    ``"chemprop-like"`` preset of :mod:`molgnba.presets`) with the GIN
    backbone: a GIN with bond embeddings of depth 3 and width 300 on the
    "extended" features, read out over all layers, a head with one hidden
    layer of 300, the "noam" learning-rate schedule, 50 epochs of batch 64,
    and the plain mean loss, plus RDKit's 2-D descriptors joined to the readout
    (``descriptors="rdkit2d"``; None featurizes new molecules some 20 times
    faster, e.g. to screen millions of them). The GNBA paper's configuration is
    ``GNNClassifier(**get_preset("paper"), attentive_loss=True)``: a GIN of 5
    x 300 with one linear layer, trained with the gradient-norm based
    attentive loss (:class:`molgnba.GNBALoss`), everything else identical;
    ``loss`` names any other variant, and ``fit(X, y, sample_weight=...)``
    weights the molecules. The weights of the epoch with the best validation
    ROC-AUC (an unweighted metric) are kept.

    Parameters
    ----------
    backbone : {"gin", "gat", "gatv2", "dmpnn", "attentivefp"}, default="gin"
        The message-passing network, a name of ``molgnba.nn.BACKBONES``:
        the paper's GIN with bond embeddings or bond-aware graph attention
        (Hu et al., 2019), GATv2, chemprop's directed-bond message passing
        (Yang et al., 2019) or Attentive FP (Xiong et al., 2020). See the
        user guide's backbone page for which options each takes.
    attentive_loss : bool, default=False
        Train with an attentive loss: weight each sample's loss by an
        attention over relative gradient norms (GNBA). With ``loss="auto"``
        it picks the loss: True trains with ``"gnba-hard"``, False with
        ``"plain"``, the plain mean loss. With any other ``loss`` it must
        agree with that loss's ``attentive`` flag (a mismatch is an error
        naming both). The paper trains with True. False is the default: in
        the benchmark's paired runs of the paper's configuration no
        attentive variant was significantly better than the plain loss.
    loss : str, MolecularLoss or torch loss, default="auto"
        What training minimizes. "auto" follows ``attentive_loss``. A name
        from :func:`molgnba.losses.list_losses`: ``"gnba-hard"`` (attention
        trained to raise the loss, so weight moves onto the hard samples;
        entropy weight 5.0), ``"gnba-guarded"`` (attention trained to lower
        the loss, the paper's direction; entropy weight 1.0),
        ``"gnba-paper"`` (the paper's equation 14 as written), ``"plain"``,
        ``"focal"`` (Lin et al., 2017; classifier only), ``"ghm"``
        (gradient harmonizing, Li et al., 2019). A misspelt name is refused
        at fit with the closest valid one. Settings of a named loss other
        than the ``attention_*`` ones take the ``criterion__`` prefix
        (``criterion__gamma=2``, ``criterion__bins=10``). A
        :class:`~molgnba.losses.MolecularLoss` instance is trained as built
        (a copy, each fit); any other torch loss is wrapped by
        :func:`~molgnba.losses.as_molecular_loss` (use ``reduction="none"``
        for it to take sample weights). "gnba-hard" is what "auto" picks
        for ``attentive_loss=True`` because it had the best mean test score of the attentive variants in 7 of
        the benchmark's 8 random-split cells (bbbp, bace, lipophilicity with
        both backbones, esol with GIN) and does not leave the confidently
        misclassified molecules unweighted. See the user guide on the
        attentive loss.
    attention_dim : int, default=16
        Width of the attention (``d_attn``) of an attentive loss named by
        ``loss``.
    attention_temperature : float, default=1.0
        Divides the attention scores; larger keeps weights nearer uniform.
    attention_entropy_weight : float or None, default=None
        Price on low attention entropy. With the attention trained to lower
        the loss it guards against collapsing onto the easiest samples; with
        ``"gnba-hard"`` it bounds how far the weight moves onto the hard
        ones. None keeps the variant's own default (5.0 for "gnba-hard",
        1.0 for "gnba-guarded"; "gnba-paper" fixes 0 and refuses another
        value).
    attention_weight_decay : float, default=0.0
        Weight decay on the attention parameters W1, W2 only. The
        ``attention_*`` parameters set away from their defaults with a loss
        without attention are ignored, with a warning.
    detach_gradient_norm : bool, default="deprecated"
        Deprecated, removed in 0.3: ``detach_gradient_norm=False`` is
        ``loss="gnba-guarded", criterion__detach_gradient_norm=False``.
        Still honoured, with a FutureWarning.
    adversarial_attention : bool, default="deprecated"
        Deprecated, removed in 0.3: True is ``loss="gnba-hard"`` (the
        default), False is ``loss="gnba-guarded"``. Still honoured, with a
        FutureWarning.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``: a dict
        ``{label: weight}`` (labels not named weigh 1), or "balanced",
        ``n_samples / (n_classes * count of the class)`` computed by
        :func:`sklearn.utils.class_weight.compute_class_weight` from the
        training labels and their sample weights. Single-task targets only:
        the losses weight whole molecules, not single labels, so multi-task
        ``y`` is refused (pass ``sample_weight``). A dict keyed by
        non-string labels is left out of saved model files (it only affects
        training).
    num_layers : int, default=3
        Message-passing layers (for "dmpnn", chemprop's ``depth``).
    hidden_dim : int, default=300
    dropout : float, default=0.0
    pooling : {"mean", "sum", "norm", "max"}, default="mean"
        How atom states become one vector per molecule; "norm" is the sum
        divided by 100, chemprop's default aggregation.
    jumping_knowledge : {"concat", "sum", "last", "max"}, default="concat"
        How the readout combines the layers; "concat" is the paper's readout
        over all layers. No effect for "dmpnn", which reads its final atom
        states.
    train_eps : bool, default=False
        Learn GIN's epsilon instead of fixing it at 0.
    mlp_ratio : float, default=1
        Width of the hidden layer of each GIN layer's MLP, as a multiple of
        ``hidden_dim``. Hu et al. (and the "paper" preset) use 2; 1, as
        wide as the atom states, halves the arithmetic of a layer and
        scored level with 2 on validation (docs/comparison.md). Ignored by
        the other backbones, which have no such MLP.
    featurizer : str or MoleculeFeaturizer, default="extended"
        "extended" (chemprop-like atom and bond features) or "hu2019" (the
        paper's: atom type, chirality; bond type, direction); see the user
        guide's featurizer page.
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
        Adam weight decay on the network.
    max_epochs : int, default=50
    batch_size : int, default=64
    validation_fraction : float or None, default=0.1
        Share of the training data held out (stratified) to pick the best
        epoch. None trains on everything and keeps the last epoch. Ignored
        when ``train_split`` is given.
    validation_split : {"random", "scaffold"}, default="random"
        Which molecules are held out. "random": a random (stratified)
        share. "scaffold": whole Bemis-Murcko scaffolds, none of them in
        training (up to ``validation_fraction`` of the molecules; scaffolds
        larger than half that stay in training, as in chemprop's balanced
        scaffold split; drawn until every class is held out), so that the
        epoch is chosen for molecules unlike the training ones: for models
        meant for new chemical series. Ignored when ``train_split`` is
        given or ``validation_fraction=None``.
    patience : int or None, default=None
        Stop after this many epochs without a better validation score.
    invalid_smiles : {"raise", "skip"}, default="raise"
        "raise" refuses invalid SMILES before training, naming each one and
        its position. "skip" trains without them (listed in
        ``invalid_smiles_``, with a warning) and predicts NaN in their rows.
    progress_bar : bool, default=False
        Show a tqdm progress bar per epoch.
    checkpoint_dir : str, path or None, default=None
        Save the full training state there after every epoch. A fit with the
        same data and parameters finds it and resumes where the last one was
        killed, ending with the same model an uninterrupted fit gives.
    mixed_precision : {"bfloat16", "float16"} or None, default=None
        Run the network's forward pass under :func:`torch.autocast` in this
        precision, for training and prediction; the losses, the attention
        and the returned predictions stay in float32. "bfloat16" needs no
        loss scaling and speeds up CPUs with bfloat16 instructions and
        recent GPUs; "float16" (mainly for GPUs) scales the loss with
        :class:`torch.amp.GradScaler`. None trains in float32. See the
        performance page for measured speed-ups and accuracy.
    device : str, default="cpu"
        "cpu", "cuda", "cuda:N", or "auto" (CUDA when available).
    random_state : int, RandomState instance or None, default=None
        Seeds weights, shuffling and the validation split. Same seed, same
        predictions (on CPU).
    verbose : int, default=0
        1 prints skorch's table of epochs.
    n_ensemble : int, default=1
        Networks trained, each from its own seed (drawn from
        ``random_state``) on the same featurized molecules and the same
        validation split rule; predictions average them (the classifier's
        probabilities, the regressor's values). The members are
        ``estimators_``; ``history_``, ``best_epoch_`` and the training
        diagnostics are member 0's. Training and prediction cost
        ``n_ensemble`` times as much. For the classifier the members'
        disagreement is not exposed by ``predict``; calibrate the averaged
        probabilities with :class:`~sklearn.calibration.CalibratedClassifierCV`
        (see the user guide's uncertainty page).
    n_jobs : int or None, default=None
        Processes that train the members side by side (joblib; -1 for all
        cores), each with one torch thread. None or 1 trains them one after
        the other in this process. Results do not depend on it beyond
        floating-point rounding.
    lr_schedule : {"constant", "noam"}, default="noam"
        "constant" trains at ``lr`` throughout (the paper). "noam" is
        chemprop's schedule, set before every training batch: linear warm-up
        from ``lr / 10`` to ``lr`` over ``warmup_epochs``, then exponential
        decay to ``lr / 10`` at ``max_epochs`` (see
        :class:`molgnba.callbacks.NoamLRSchedule`; the rates are in
        ``history[:, "batches", :, "lr"]``).
    warmup_epochs : float, default=2
        Epochs of warm-up of the "noam" schedule; ignored by "constant".
    head_hidden_dim : int or None, default=300
        None: one linear layer from the graph embedding to the outputs (the
        paper). An int: a hidden layer of that width, ReLU and dropout
        (``dropout``) before the output layer, as chemprop's feed-forward
        network (300 wide).
    descriptors : {"rdkit2d"} or None, default="rdkit2d"
        Molecule-level descriptors joined to the graph embedding before the
        head. "rdkit2d": RDKit's 2-D descriptors
        (:func:`molgnba.featurize.rdkit_descriptors`, some 200 columns,
        some 10 ms of CPU per new molecule, 20 times its graph; computed
        once per molecule and cached beside its graph). They are the
        default for their better validation scores. They are standardized with the mean and
        standard deviation of the molecules passed to ``fit``; a value RDKit
        cannot compute is set to the mean, and standardized values are
        clipped to +-10. None: the graph alone (the paper, chemprop's
        default), much faster to featurize, for screening millions of molecules.
    **kwargs
        Any skorch parameter: ``callbacks``, ``train_split``, ``module__*``,
        ``optimizer__*``, ``iterator_train__*``, ``criterion`` (a loss class
        of your own, wrapped like ``loss``; not together with ``loss``) ...

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, for single-task targets.
    n_outputs_ : int
        Network outputs: 1 for binary, n_classes for multiclass, n_tasks for
        multi-task targets.
    n_tasks_ : int
    best_epoch_ : int or None
        Epoch whose weights were kept (1-based).
    history_ : skorch.History
        Per epoch: ``train_loss``, ``valid_loss`` (unweighted),
        ``valid_roc_auc``, ``dur``, and with an attentive loss
        ``attention_entropy``.
    train_gradient_norm_ : ndarray of shape (n_samples,) or (n_samples, n_tasks)
        Each training molecule's relative gradient norm in the kept epoch,
        aligned with X (NaN for validation and skipped molecules).
    train_attention_ : ndarray, same shape
        Its attention weight times the number of labelled samples in its
        batch (1 = a uniform share); NaN without the attentive loss.
    invalid_smiles_ : list of InvalidSmiles
        Inputs skipped at fit (``invalid_smiles="skip"``).
    estimators_ : list of GNNClassifier
        With ``n_ensemble > 1`` only: the fitted members, each with
        ``n_ensemble=1``; member 0's network is also ``module_``.
    n_features_out_ : int
        Width of :meth:`transform`'s learned fingerprints.
    descriptor_names_ : list of str
        With ``descriptors``: the descriptor columns, in order.
    descriptor_mean_, descriptor_scale_ : ndarray of shape (n_descriptors,)
        With ``descriptors``: their standardization, from the training
        molecules (NaN ignored; 1 for a constant column).

    See Also
    --------
    GNNRegressor : The same model for continuous targets.
    molgnba.GNBALoss : The attentive loss on its own.
    molgnba.presets.get_preset : Named sets of these parameters ("paper", "chemprop-like": the defaults' recipe).

    Examples
    --------
    >>> from molgnba import GNNClassifier
    >>> smiles = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N"] * 3
    >>> labels = ["a", "b", "b", "b", "a", "a", "a", "b"] * 3
    >>> clf = GNNClassifier(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0)
    >>> clf = clf.fit(smiles, labels)
    >>> clf.classes_.tolist()
    ['a', 'b']
    >>> clf.predict_proba(["CCO"]).shape
    (1, 2)

    Another loss by name, and classes weighted:

    >>> clf = GNNClassifier(num_layers=2, hidden_dim=16, max_epochs=2, random_state=0, attentive_loss=True,
    ...                     loss="gnba-guarded", class_weight="balanced").fit(smiles, labels)
    >>> type(clf.criterion_).__name__, clf.criterion_.entropy_weight
    ('GNBAGuardedLoss', 1.0)
    """

    _parameter_constraints = {
        **GNNBase._parameter_constraints,
        "class_weight": [None, StrOptions({"balanced"}), dict],
    }

    def __init__(self, backbone="gin", attentive_loss=False, class_weight=None, **kwargs):
        super().__init__(backbone=backbone, attentive_loss=attentive_loss, **kwargs)
        self.class_weight = class_weight

    def _check_target_weighting(self, y_array):
        if self.class_weight is None:
            return
        if y_array.ndim == 2 and y_array.shape[1] > 1:
            raise ValueError(
                f"class_weight={self.class_weight!r} needs a single task: for multi-task y the losses "
                "weight whole molecules (one weight per row), not single labels, so per-task class "
                "weights cannot be applied; pass sample_weight instead"
            )
        if not isinstance(self.class_weight, dict):
            return
        bad = [
            f"{label!r}: {weight!r}" for label, weight in self.class_weight.items()
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real)
            or not (math.isfinite(weight) and weight >= 0)
        ]
        if bad:
            raise ValueError(f"class_weight values must be finite non-negative numbers; got {', '.join(bad)}")
        labels = {label for label in np.ravel(y_array).tolist() if not is_missing(label)}
        unknown = [label for label in self.class_weight if label not in labels]
        if unknown:
            raise ValueError(
                f"class_weight names labels that are not in y: {unknown}; "
                f"the labels of y are {sorted(labels, key=repr)[:MAX_LISTED]}"
            )

    def _class_sample_weights(self, targets, sample_weight):
        if self.class_weight is None:
            return None
        codes = targets.astype(np.int64)
        labels = self.classes_[codes]
        if isinstance(self.class_weight, dict):
            return np.array([float(self.class_weight.get(label, 1.0)) for label in labels.tolist()])
        # Only the rows that train: weight 0 leaves a row (and maybe a class) out of the count.
        training = np.ones(len(codes), bool) if sample_weight is None else sample_weight > 0
        classes = np.unique(labels[training])
        per_class = compute_class_weight(
            self.class_weight, classes=classes, y=labels[training],
            sample_weight=None if sample_weight is None else sample_weight[training],
        )
        weights = np.zeros(len(codes))
        weights[training] = per_class[np.searchsorted(classes, labels[training])]
        return weights

    def _prepare_targets(self, y_array, rows, sample_weight=None):
        if y_array.ndim == 2 and y_array.shape[1] > 1:
            values = as_float_targets(y_array, rows, allow_nan=True)
            present_values = np.unique(values[~np.isnan(values)])
            unexpected = present_values[~np.isin(present_values, [0.0, 1.0])]
            if len(unexpected):
                raise ValueError(
                    "multi-task y must hold 0/1 labels (NaN = missing); found values "
                    f"{unexpected[:MAX_LISTED].tolist()}"
                )
            for task in range(values.shape[1]):
                present = np.unique(values[~np.isnan(values[:, task]), task])
                if len(present) < 2:
                    raise ValueError(f"task column {task} of y has a single class ({present.tolist()})")
            self.classes_ = np.array([0, 1])
            self.task_ = "binary"
            self.n_outputs_ = values.shape[1]
            self.target_ndim_ = 2
            return values.astype(np.float32)
        # One task; a column vector (n, 1) is taken as 1-D, as scikit-learn does.
        self.target_ndim_ = 1
        labels = y_array[:, 0] if y_array.ndim == 2 else y_array
        label_list = labels.tolist()
        missing = [int(rows[k]) for k, v in enumerate(label_list) if is_missing(v)]
        if missing:
            raise ValueError(
                f"y contains missing labels (None/NaN) at rows {rows_listed(missing)}. For one task, "
                "drop those rows; for several tasks pass a 2-D 0/1 array with NaN for missing labels."
            )
        infinite = [
            int(rows[k]) for k, v in enumerate(label_list)
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isinf(v)
        ]
        if infinite:
            raise ValueError(f"y contains infinite labels at rows {rows_listed(infinite)}")
        if labels.dtype == object:
            kinds = {"number" if isinstance(v, numbers.Number) else type(v).__name__ for v in label_list}
            if len(kinds) > 1:
                raise TypeError(f"y mixes label types ({', '.join(sorted(kinds))}); use one type of label")
            labels = np.asarray(label_list)  # the labels' own dtype: int, bool, str ...
        if type_of_target(labels) == "continuous":
            raise ValueError(
                "y looks continuous (non-integer floats); GNNClassifier needs class labels. "
                "Use GNNRegressor for continuous targets."
            )
        encoder = LabelEncoder()
        try:
            codes = encoder.fit_transform(labels)
        except TypeError as error:
            raise TypeError(f"y mixes label types that cannot be sorted: {error}") from None
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            skipped = " after skipping invalid SMILES" if self.invalid_smiles_ else ""
            raise ValueError(
                f"y has a single class ({self.classes_[0]!r}){skipped}; a classifier needs at least two"
            )
        if len(self.classes_) == 2:
            self.task_ = "binary"
            self.n_outputs_ = 1
        else:
            self.task_ = "multiclass"
            self.n_outputs_ = len(self.classes_)
        return codes.astype(np.float32)

    def _encode_targets(self, y_array, rows):
        """Targets in the encoding of the first fit (for ``partial_fit``)."""
        self._check_target_shape(y_array)
        if self.target_ndim_ == 2:
            values = as_float_targets(y_array, rows, allow_nan=True)
            if not np.isin(values[~np.isnan(values)], [0.0, 1.0]).all():
                raise ValueError("multi-task y must hold 0/1 labels (NaN = missing)")
            return values.astype(np.float32)
        labels = np.asarray((y_array[:, 0] if y_array.ndim == 2 else y_array).tolist())
        unseen = [int(rows[k]) for k, known in enumerate(np.isin(labels, self.classes_)) if not known]
        if unseen:
            raise ValueError(
                f"y has labels the estimator was not fitted on at rows {rows_listed(unseen)} "
                f"(known classes: {self.classes_.tolist()}); refit to learn new classes"
            )
        return np.searchsorted(self.classes_, labels).astype(np.float32)

    def _probabilities(self, raw: np.ndarray) -> np.ndarray:
        if self._task == "multiclass":
            return torch.softmax(torch.from_numpy(raw), dim=1).numpy()
        positive = 1.0 / (1.0 + np.exp(-raw))
        if self.target_ndim_ == 2:
            return positive
        return np.column_stack([1.0 - positive[:, 0], positive[:, 0]])

    def _score_raw(self, net, y_true, y_pred):
        return masked_roc_auc(y_true, y_pred)

    def _combine_outputs(self, raws):
        """Logits of the members' mean probabilities, so every output method averages probabilities."""
        if len(raws) == 1:
            return raws[0]
        probabilities = np.mean([self._probabilities(raw.astype(np.float64)) for raw in raws], axis=0)
        with np.errstate(divide="ignore"):
            if self._task == "multiclass":
                return np.log(probabilities)  # softmax(log p) = p
            positive = probabilities if self.target_ndim_ == 2 else probabilities[:, 1:]
            return np.log(positive) - np.log1p(-positive)

    def _outputs_from_raw(self, method, raw, kept, n_input):
        if method == "decision_function":
            if self._task == "binary" and not self.target_ndim_ == 2:
                raw = raw[:, 0]
            return self._expand(raw, kept, n_input)
        proba = self._probabilities(raw)
        if method == "predict_proba":
            return self._expand(proba, kept, n_input)
        if self.target_ndim_ == 2:
            return self._expand((proba >= 0.5).astype(np.int64), kept, n_input)
        labels = self.classes_[proba.argmax(1)]
        if len(kept) == n_input:
            return labels
        if np.issubdtype(labels.dtype, np.number) or labels.dtype == bool:
            return self._expand(labels.astype(np.float64), kept, n_input)
        return self._expand(labels, kept, n_input, fill=None)

    def get_fitted_state(self) -> dict:
        state = super().get_fitted_state()
        if hasattr(self, "classes_"):
            state["classes_"] = _classes_entry(self.classes_)
        return state

    def _parse_fitted_state(self, state: dict) -> dict:
        attributes = super()._parse_fitted_state(state)
        if "classes_" not in state:
            raise ValueError("fitted attribute(s) classes_ missing")
        entry = state["classes_"]
        try:
            dtype = np.dtype(entry["dtype"])
            if dtype.kind not in _CLASS_DTYPE_KINDS:
                raise TypeError(f"dtype {dtype}")
            values = entry["values"]
            if not isinstance(values, list) or not all(isinstance(v, (bool, int, float, str)) for v in values):
                raise TypeError("labels must be bool, int, float or str")
            attributes["classes_"] = np.array(values, dtype=dtype)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"fitted attribute 'classes_' is malformed ({error})") from None
        return attributes

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : sequence of str
            SMILES (a list, tuple, ndarray or pandas Series).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_tasks)
            Rows summing to 1; for multi-task targets, the positive-class
            probability of each task. Rows of skipped invalid SMILES are NaN.

        Examples
        --------
        >>> import numpy as np
        >>> from molgnba import GNNClassifier
        >>> clf = GNNClassifier(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> clf = clf.fit(["CCO", "CCN", "c1ccccc1", "CCCl"] * 4, [0, 1, 0, 1] * 4)
        >>> proba = clf.predict_proba(["CCO", "CCC"])
        >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
        ((2, 2), True)
        """
        return self._outputs_from_raw("predict_proba", *self._forward_raw(X))

    def decision_function(self, X):
        """Logits, before the sigmoid or softmax.

        Parameters
        ----------
        X : sequence of str
            SMILES (a list, tuple, ndarray or pandas Series).

        Returns
        -------
        logits : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D for a binary single-task target; rows of skipped invalid
            SMILES are NaN.

        Examples
        --------
        >>> from molgnba import GNNClassifier
        >>> clf = GNNClassifier(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> clf = clf.fit(["CCO", "CCN", "c1ccccc1", "CCCl"] * 4, [0, 1, 0, 1] * 4)
        >>> logits = clf.decision_function(["CCO", "CCC"])
        >>> logits.shape
        (2,)
        >>> bool(((logits > 0) == (clf.predict(["CCO", "CCC"]) == 1)).all())
        True
        """
        return self._outputs_from_raw("decision_function", *self._forward_raw(X))

    def predict(self, X):
        """Predicted labels from ``classes_`` (0/1 per task for multi-task targets).

        Parameters
        ----------
        X : sequence of str
            SMILES (a list, tuple, ndarray or pandas Series).

        Returns
        -------
        labels : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Rows of skipped invalid SMILES hold NaN (None for non-numeric
            labels).

        Examples
        --------
        >>> from molgnba import GNNClassifier
        >>> clf = GNNClassifier(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
        >>> clf = clf.fit(["CCO", "CCN", "c1ccccc1", "CCCl"] * 4, ["no", "yes", "no", "yes"] * 4)
        >>> set(clf.predict(["CCO", "CCC"])) <= {"no", "yes"}
        True
        """
        return self._outputs_from_raw("predict", *self._forward_raw(X))


# The class says it is molgnba.estimators' (see __init__), so doctest would look for
# its methods' examples there, and find none: name it here so that they run.
__test__ = {"GNNClassifier": GNNClassifier}
