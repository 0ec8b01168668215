"""Save and load fitted estimators without pickle.

``pickle`` and ``joblib`` run code while they load, so a model file shared by
someone else is a program you execute. :func:`save_model` writes a format
that holds only data, and :func:`load_model` reads it back without ever
unpickling anything:

* a single zip archive (suggested extension ``.molgnba``) with two members;
* ``metadata.json``: the format version, the molgnba version that wrote it,
  the estimator class (one of a fixed list, never imported by name), its
  JSON-serializable parameters, the featurizer's signature (``name:version``),
  the fitted attributes that prediction needs and the training history;
* ``weights.pt``: ``{"module": state_dict, "criterion": state_dict}`` written
  by :func:`torch.save` and read with ``torch.load(weights_only=True)``,
  which refuses anything but tensors and plain containers.

An ensemble (``n_ensemble > 1``) is stored as member 0 in the fields above
(its network is the estimator's ``module_``) plus, for the other members, a
``members`` list in both files: in ``metadata.json`` each member's seed
(``random_state``), fitted attributes and history, in ``weights.pt`` its
``module`` and ``criterion`` state dicts.

``save_model(..., info={...})`` stores free JSON data with the model (the
command line records the target and SMILES column names there), and
:func:`read_metadata` returns the checked metadata without building the
model.

Compatibility rules
-------------------
* The **format version** must be one this molgnba reads
  (:data:`READABLE_FORMAT_VERSIONS`); any change to the layout or the
  meaning of the stored fields bumps it, and files of another format
  version are refused. A single model without an uncertainty method is
  written as version :data:`FORMAT_VERSION` (1), which every molgnba
  reads; the parameters that only version 2 holds (``n_ensemble``,
  ``n_jobs``, ``uncertainty``, ``n_dropout_samples``, the training recipe's
  ``lr_schedule``, ``warmup_epochs``, ``head_hidden_dim``, ``descriptors``,
  ``class_weight``, ``mlp_ratio`` and ``validation_split``) are then at the
  values version-1 code builds with and left out of the file. A model that
  uses any of them is written as version 2, which molgnba releases before it
  refuse with an "upgrade molgnba" message instead of misreading it.
* A parameter missing from a file is loaded with the value it had when the
  file was written, never with today's constructor default: the defaults
  of molgnba 0.1 (the ``"paper"`` preset with
  ``attentive_loss=True``; ``_PARAMS_OF_OLD_DEFAULTS``), which are also
  the values at which version 1 leaves its parameters out. Changing a
  default therefore changes no saved model.
* The **featurizer signature** must match the featurizer of that name in
  this installation (a model is never run on graphs of another feature set).
  A custom featurizer must be registered with
  :func:`molgnba.register_featurizer` before loading.
* A different **molgnba version** only warns (:class:`ModelVersionWarning`)
  when its major.minor differs: the format version, the featurizer signature
  and the strict loading of the weights already refuse every incompatibility
  the loader can detect.

Parameters that are not JSON-serializable are treated by what they affect:
those that only matter for training (``callbacks``, ``optimizer``,
``train_split``, ``iterator_train``, a ``RandomState`` ``random_state``) are
left out with a warning (the loaded model predicts the same; refitting it
uses the defaults), while a custom module, criterion, featurizer instance,
dataset or validation iterator changes what the model computes and makes
:func:`save_model` refuse.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "save_model", "load_model", "read_metadata", "FORMAT_VERSION", "READABLE_FORMAT_VERSIONS", "ModelVersionWarning",
]

#: Version of the file layout of a single model without uncertainty, which every molgnba reads.
FORMAT_VERSION = 1
#: What :func:`load_model` accepts: 2 adds ensembles, the uncertainty parameters and the
#: training recipe (schedule, head, descriptors).
READABLE_FORMAT_VERSIONS = (1, 2)
# Parameters that a version-1 file cannot hold (an older molgnba rejects them), with the value
# at which the model is one that version-1 code builds the same way: at those values they are
# left out of the file; any other value makes it a version-2 file.
_VERSION_2_PARAMS = {
    "n_ensemble": 1, "n_jobs": None, "uncertainty": None, "n_dropout_samples": 30,
    "lr_schedule": "constant", "warmup_epochs": 2, "head_hidden_dim": None, "descriptors": None,
    "class_weight": None,
    # The GIN's MLP twice as wide as its atom states, the only width before mlp_ratio existed.
    "mlp_ratio": 2,
    # Random validation rows, the only kind before validation_split existed.
    "validation_split": "random",
    # Unset deprecated switches: version-1 code's own defaults mean the same loss ("gnba-hard").
    "adversarial_attention": "deprecated", "detach_gradient_norm": "deprecated",
}
FORMAT_NAME = "molgnba-model"
# What a file that lacks a parameter was written with: the estimators' defaults of 0.1, before 0.2
# made chemprop's configuration the default (the "paper" preset, and attentive_loss=True), and
# the values at which a version-1 file leaves out the version-2 parameters. Written out, not
# derived from the constructors or the presets: the files already written are what it describes.
_PARAMS_OF_OLD_DEFAULTS = {
    "backbone": "gin", "attentive_loss": True, "num_layers": 5, "hidden_dim": 300, "dropout": 0.0,
    "pooling": "mean", "jumping_knowledge": "concat", "train_eps": False, "featurizer": "hu2019",
    "lr": 1e-3, "weight_decay": 0.0, "max_epochs": 100, "batch_size": 32, "validation_fraction": 0.1,
    "patience": None,
    **_VERSION_2_PARAMS,
}

_METADATA = "metadata.json"
_WEIGHTS = "weights.pt"
_MAX_METADATA_BYTES = 256 * 2**20
# A fixed timestamp makes two saves of the same model byte-identical.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Non-JSON parameters that only influence training: left out with a warning.
_TRAINING_ONLY_PREFIXES = ("callbacks", "optimizer", "train_split", "iterator_train", "random_state", "class_weight")
# skorch bookkeeping that the constructor rebuilds by itself.
_INTERNAL_PARAMS = {"_params_to_validate"}



class ModelVersionWarning(UserWarning):
    """A model file was written by a molgnba of another major.minor version.

    :func:`load_model` and :func:`read_metadata` issue it and load the model
    all the same: the file format is checked separately, but the model code
    may have changed. Turn it into an error where a model must be run by the
    version that trained it.

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> from molgnba import GNNRegressor
    >>> from molgnba.persistence import ModelVersionWarning, load_model, save_model
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "c1ccccc1", "CC(=O)O"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    >>> reg = reg.fit(smiles, [float(len(s)) for s in smiles])
    >>> with tempfile.TemporaryDirectory() as directory, warnings.catch_warnings():
    ...     warnings.simplefilter("error", ModelVersionWarning)  # refuse files of other versions
    ...     path = save_model(reg, os.path.join(directory, "model.molgnba"))
    ...     print(type(load_model(path)).__name__)  # written by this version: loads
    GNNRegressor
    >>> issubclass(ModelVersionWarning, UserWarning)
    True
    """


def _estimator_classes() -> dict:
    # A fixed table: load_model never imports a class named in a file.
    from molgnba.estimators import GNNClassifier, GNNRegressor

    return {"GNNClassifier": GNNClassifier, "GNNRegressor": GNNRegressor}


def _molgnba_version() -> str:
    from molgnba._version import __version__

    return __version__


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(str(version).split(".")[:2])


# ----------------------------------------------------------------------- JSON


class _NotJSON(Exception):
    """Raised internally for a value that has no JSON form."""


def _to_json(value):
    """``value`` as JSON-native data (tuples tagged), or :class:`_NotJSON`."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(item) for item in value]}
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value) or "__tuple__" in value:
            raise _NotJSON
        return {key: _to_json(item) for key, item in value.items()}
    raise _NotJSON


def _from_json(value):
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(_from_json(item) for item in value["__tuple__"])
        return {key: _from_json(item) for key, item in value.items()}
    return value


def _history_to_json(history) -> list:
    def convert(item):
        if isinstance(item, dict):
            return {str(key): convert(value) for key, value in item.items()}
        if isinstance(item, (list, tuple)):
            return [convert(value) for value in item]
        if isinstance(item, torch.Tensor) and item.numel() == 1:
            return item.item()
        if isinstance(item, np.ndarray) and item.size == 1:
            return item.item()
        try:
            return _to_json(item)
        except _NotJSON:
            return repr(item)  # informative only; the history never feeds a prediction

    return [convert(row) for row in history]


# ---------------------------------------------------------------------- save


def _same_as_default(value, default) -> bool:
    if value is default:
        return True
    try:
        return bool(value == default)
    except Exception:  # arrays, objects with odd __eq__
        return False


def _serializable_params(estimator) -> tuple[dict, dict]:
    """JSON parameters, and the training-only ones left out (name -> repr)."""
    params = estimator.get_params(deep=False)
    defaults = type(estimator)().get_params(deep=False)
    stored, dropped, refused = {}, {}, []
    for name, value in sorted(params.items()):
        if name in _INTERNAL_PARAMS or name == "featurizer":  # see _featurizer_entry
            continue
        if name == "checkpoint_dir":
            # A path on the machine that trained; it means nothing where the model is loaded.
            if value is not None:
                dropped[name] = repr(value)[:200]
            continue
        if name == "device" and isinstance(value, torch.device):
            value = str(value)
        try:
            stored[name] = _to_json(value)
            continue
        except _NotJSON:
            pass
        if name in defaults and _same_as_default(value, defaults[name]):
            continue  # the constructor recreates it
        if name.split("__")[0] in _TRAINING_ONLY_PREFIXES:
            dropped[name] = repr(value)[:200]
        else:
            refused.append(f"{name}={value!r:.80}")
    if refused:
        raise ValueError(
            "cannot save this estimator safely: parameter(s) "
            + "; ".join(refused)
            + " are not JSON data and change what the model computes, and the molgnba format "
            "never stores code. Use the built-in options (backbone, featurizer name registered "
            "with molgnba.register_featurizer, ...), or pickle the estimator yourself if you "
            "only ever load it from a trusted source."
        )
    return stored, dropped


def _featurizer_entry(estimator) -> str:
    """The featurizer as a registry name, refusing instances that carry state."""
    from molgnba.featurize import MoleculeFeaturizer, get_featurizer

    featurizer = estimator.featurizer
    if isinstance(featurizer, MoleculeFeaturizer):
        try:
            registered = get_featurizer(featurizer.name)
        except ValueError:
            registered = None
        if type(registered) is not type(featurizer) or vars(featurizer):
            raise ValueError(
                f"cannot save a model whose featurizer is the instance {featurizer!r}: register its "
                "class with molgnba.register_featurizer and pass featurizer=<its name> instead "
                "(the model file stores the name and version, never code)."
            )
        return featurizer.name
    return featurizer


def _format_version(estimator, params: dict) -> int:
    """1 when the model needs nothing of version 2 (whose parameters are then left out), else 2."""
    extra = {name: params[name] for name in _VERSION_2_PARAMS if name in params}
    if getattr(estimator, "estimators_", None) or any(extra[name] != _VERSION_2_PARAMS[name] for name in extra):
        return 2
    for name in extra:
        del params[name]
    return 1


def _state_dicts(net) -> dict:
    return {
        "module": {k: v.detach().cpu() for k, v in net.module_.state_dict().items()},
        "criterion": {k: v.detach().cpu() for k, v in net.criterion_.state_dict().items()},
    }


def _extra_members(estimator) -> list:
    """The members of an ensemble after member 0 (whose network is the estimator's own)."""
    return list(getattr(estimator, "estimators_", None) or [])[1:]


def _write_zip(handle, metadata: bytes, estimator) -> None:
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(_METADATA, date_time=_ZIP_DATE), metadata,
                         compress_type=zipfile.ZIP_DEFLATED)
        buffer = io.BytesIO()
        weights = _state_dicts(estimator)
        if _extra_members(estimator):
            weights["members"] = [_state_dicts(member) for member in _extra_members(estimator)]
        torch.save(weights, buffer)
        archive.writestr(zipfile.ZipInfo(_WEIGHTS, date_time=_ZIP_DATE), buffer.getvalue(),
                         compress_type=zipfile.ZIP_DEFLATED)


def _open_temporary(directory: Path, name: str) -> tuple[int, Path]:
    """A new file next to the target; mode 0o666 minus the umask, like open()."""
    for _ in range(100):
        candidate = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {directory}")  # pragma: no cover


def save_model(estimator, path, *, info=None) -> Path:
    """Save a fitted GNNClassifier or GNNRegressor to a single, code-free file.

    The file is a zip archive holding ``metadata.json`` (parameters, fitted
    attributes, history, featurizer signature, versions) and ``weights.pt``
    (the network's and the loss's tensors). Loading it with
    :func:`load_model` never executes code from the file. The write is
    atomic: the archive is written to a temporary file in the same directory
    and renamed over ``path``, so an interrupted save never destroys an
    existing file.

    Parameters
    ----------
    estimator : GNNClassifier or GNNRegressor
        A fitted estimator (exactly one of these two classes).
    path : str or path-like
        Where to write; ``.molgnba`` is the suggested extension. An existing
        file is replaced.
    info : dict, optional
        Free JSON data stored with the model (str keys; str, numbers, bool,
        None, lists and dicts), e.g. the target column names; read back
        with :func:`read_metadata` (``metadata["info"]``). The command line
        stores the target and SMILES column names here.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        If ``estimator`` is not a GNNClassifier or GNNRegressor, or ``info``
        is not JSON data.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If a parameter that changes what the model computes cannot be
        stored as data (a custom module or criterion class, a featurizer
        instance with state, ...).
    FileNotFoundError
        If the directory of ``path`` does not exist.

    Warns
    -----
    UserWarning
        When training-only parameters that are not JSON data (callbacks,
        optimizer, train_split, iterator_train, a RandomState) are left out.

    See Also
    --------
    load_model

    Examples
    --------
    >>> import os, tempfile
    >>> from molgnba import GNNRegressor
    >>> from molgnba.persistence import load_model, save_model
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "c1ccccc1", "CC(=O)O"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    >>> reg = reg.fit(smiles, [float(len(s)) for s in smiles])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.molgnba")
    >>> save_model(reg, path).name
    'model.molgnba'
    >>> bool((load_model(path).predict(["CCO"]) == reg.predict(["CCO"])).all())
    True
    """
    from sklearn.utils.validation import check_is_fitted

    classes = _estimator_classes()
    name = type(estimator).__name__
    if classes.get(name) is not type(estimator):
        raise TypeError(
            f"save_model saves a fitted GNNClassifier or GNNRegressor; got {name}. "
            "(Subclasses and pipelines may hold code, which this format never stores.)"
        )
    check_is_fitted(estimator)
    try:
        info = _to_json(dict(info or {}))
    except (_NotJSON, TypeError, ValueError):
        raise TypeError("info must be a dict of JSON data (str keys; str, numbers, bool, None, lists, dicts)") from None
    params, dropped = _serializable_params(estimator)
    params["featurizer"] = _featurizer_entry(estimator)
    format_version = _format_version(estimator, params)

    from molgnba.featurize import get_featurizer

    featurizer = get_featurizer(params["featurizer"])
    metadata = {
        "format": FORMAT_NAME,
        "format_version": format_version,
        "molgnba_version": _molgnba_version(),
        "torch_version": torch.__version__,
        "estimator": name,
        "params": params,
        "params_not_saved": dropped,
        "featurizer": {
            "signature": featurizer.signature,
            "atom_feature_dims": list(featurizer.atom_feature_dims),
            "bond_feature_dims": list(featurizer.bond_feature_dims),
        },
        "fitted": estimator.get_fitted_state(),
        "device": str(getattr(estimator, "device_", estimator.device)),
        "history": _history_to_json(estimator.history_),
        "info": info,
    }
    if _extra_members(estimator):
        metadata["members"] = [
            {
                "random_state": _to_json(member.random_state),
                "fitted": member.get_fitted_state(),
                "history": _history_to_json(member.history_),
            }
            for member in _extra_members(estimator)
        ]
    if dropped:
        warnings.warn(
            f"not saved (training-only, not JSON data): {', '.join(sorted(dropped))}. The loaded "
            "model predicts the same; refitting it uses the defaults for these.",
            UserWarning,
            stacklevel=2,
        )
    encoded = json.dumps(metadata, indent=1, sort_keys=True).encode("utf-8")

    path = Path(os.fspath(path))
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot save the model to {str(path)!r}: directory {str(directory)!r} does not exist")
    fd, temporary = _open_temporary(directory, path.name)
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_zip(handle, encoded, estimator)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


# ---------------------------------------------------------------------- load


def _invalid(path, reason: str) -> ValueError:
    return ValueError(f"not a valid molgnba model file: {str(path)!r}: {reason}")


def _looks_like_pickle(head: bytes) -> bool:
    # Pickle protocol >= 2 starts with PROTO (0x80); joblib's compressed files with zlib/gzip/lzma/bz2 magic.
    return head[:1] == b"\x80" or head[:2] in (b"\x78\x9c", b"\x78\x01", b"\x78\xda", b"\x1f\x8b") \
        or head[:6] == b"\xfd7zXZ\x00" or head[:3] == b"BZh"


def _read_archive(path: Path, weights: bool = True) -> tuple[dict, bytes | None]:
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not zipfile.is_zipfile(path):
        hint = ""
        if _looks_like_pickle(head):
            hint = (
                " (it looks like a pickle/joblib file; molgnba never unpickles model files. "
                "Save the model with molgnba.persistence.save_model instead.)"
            )
        elif not head:
            hint = " (the file is empty)"
        raise _invalid(path, "not a zip archive" + hint)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [member for member in (_METADATA, _WEIGHTS) if member not in names]
            if missing:
                raise _invalid(path, f"missing member(s) {', '.join(missing)}")
            info = archive.getinfo(_METADATA)
            if info.file_size > _MAX_METADATA_BYTES:
                raise _invalid(path, f"{_METADATA} is implausibly large ({info.file_size} bytes)")
            raw_metadata = archive.read(_METADATA)
            weight_bytes = archive.read(_WEIGHTS) if weights else None
    except ValueError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            KeyError, NotImplementedError, RuntimeError) as error:
        raise _invalid(path, f"corrupted archive ({type(error).__name__}: {error})") from None
    try:
        metadata = json.loads(raw_metadata.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise _invalid(path, f"{_METADATA} is not valid JSON ({error})") from None
    if not isinstance(metadata, dict):
        raise _invalid(path, f"{_METADATA} does not hold a JSON object")
    return metadata, weight_bytes


def _require(path, metadata: dict, key: str, kind, what: str):
    value = metadata.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _invalid(path, f"{_METADATA} field {key!r} is missing or not {what}")
    return value


def _check_versions(path, metadata: dict) -> None:
    if metadata.get("format") != FORMAT_NAME:
        raise _invalid(path, f"{_METADATA} does not declare format {FORMAT_NAME!r}")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _invalid(path, f"{_METADATA} field 'format_version' is missing or not an integer")
    if version not in READABLE_FORMAT_VERSIONS:
        written_by = metadata.get("molgnba_version", "an unknown version")
        newest = max(READABLE_FORMAT_VERSIONS)
        advice = "upgrade molgnba" if version > newest else "re-save it with a matching molgnba version"
        readable = " and ".join(map(str, READABLE_FORMAT_VERSIONS))
        raise ValueError(
            f"cannot load {str(path)!r}: it uses model file format version {version}, written by molgnba "
            f"{written_by}; this molgnba ({_molgnba_version()}) reads format versions {readable} "
            f"only ({advice})."
        )
    saved = str(metadata.get("molgnba_version", "unknown"))
    if _major_minor(saved) != _major_minor(_molgnba_version()):
        warnings.warn(
            f"{str(path)!r} was saved by molgnba {saved} and is loaded by molgnba {_molgnba_version()}; "
            "the file format is the same, but predictions may differ if the model code changed. "
            "Check them on known molecules.",
            ModelVersionWarning,
            stacklevel=3,
        )


def _check_featurizer(path, metadata: dict, params: dict) -> None:
    from molgnba.featurize import get_featurizer

    entry = metadata.get("featurizer")
    if not isinstance(entry, dict) or not isinstance(entry.get("signature"), str):
        raise _invalid(path, f"{_METADATA} field 'featurizer' is missing or malformed")
    signature = entry["signature"]
    name = params.get("featurizer")
    if not isinstance(name, str):
        raise _invalid(path, "the featurizer parameter is not a registry name")
    try:
        available = get_featurizer(name)
    except ValueError:
        raise ValueError(
            f"cannot load {str(path)!r}: the model was trained on the featurizer {signature!r}, and no "
            f"featurizer named {name!r} is registered in this installation. Register it with "
            "molgnba.register_featurizer before loading."
        ) from None
    if available.signature != signature:
        raise ValueError(
            f"cannot load {str(path)!r}: the model was trained on featurizer {signature!r}, but this "
            f"installation provides {available.signature!r}; the atom and bond codes differ, so its "
            "predictions would be meaningless."
        )
    for key in ("atom_feature_dims", "bond_feature_dims"):
        if key in entry and list(entry[key]) != list(getattr(available, key)):
            raise ValueError(
                f"cannot load {str(path)!r}: featurizer {signature!r} had {key}={entry[key]}, this "
                f"installation's has {list(getattr(available, key))}."
            )


def _resolve_device(path, saved_param, device):
    """The device parameter for the loaded estimator, and where to map tensors."""
    if device is not None:
        target = str(device)
        if target.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={target!r} was requested to load {str(path)!r}, but CUDA is not available")
        param = target
    elif saved_param == "auto":
        param = "auto"
        target = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        param = target = str(saved_param) if saved_param is not None else "cpu"
        if target.startswith("cuda"):
            try:
                index = torch.device(target).index or 0
            except RuntimeError:
                index = 0
            if not torch.cuda.is_available() or index >= torch.cuda.device_count():
                warnings.warn(
                    f"{str(path)!r} was saved on device {target!r}, which is not available here; "
                    "loading it on the CPU (pass device='cpu' to silence this warning).",
                    UserWarning,
                    stacklevel=3,
                )
                param = target = "cpu"
    return param, target


def _with_old_defaults(estimator_class, params: dict) -> dict:
    """``params`` completed with the values that the parameters it lacks had when it was written.

    A file holds every JSON parameter but those that version 1 leaves out at
    their version-1 values; a file written before a parameter existed was
    trained as that parameter's value then. Both are
    ``_PARAMS_OF_OLD_DEFAULTS``, whatever the constructors' defaults are now.
    """
    accepted = estimator_class().get_params(deep=False)
    missing = {name: value for name, value in _PARAMS_OF_OLD_DEFAULTS.items()
               if name in accepted and name not in params}
    return {**params, **missing}


def _map_deprecated_params(path, params: dict) -> dict:
    """Parameters of files written before the loss became one parameter, in today's terms.

    Those files always hold ``adversarial_attention`` and
    ``detach_gradient_norm`` (deprecated since): they are mapped, silently,
    onto the ``loss`` name (and ``criterion__`` parameter) that trains and
    predicts the same, since the user has nothing to change in the file.
    """
    from molgnba.estimators._base import DEFAULT_ATTENTIVE_LOSS, DEPRECATED, legacy_loss_choice

    legacy = {
        name: params.pop(name) for name in ("adversarial_attention", "detach_gradient_norm") if name in params
    }
    legacy = {name: value for name, value in legacy.items() if value != DEPRECATED}
    if not legacy:
        return params
    chooses_by_attention = (
        params.get("loss", "auto") == "auto" and params.get("attentive_loss", True) is True
        and params.get("criterion") is None
    )
    if chooses_by_attention:
        try:
            name, implied = legacy_loss_choice(**legacy)
        except ValueError as error:
            raise _invalid(path, f"its loss parameters are contradictory ({error})") from None
        if (name, implied) != (DEFAULT_ATTENTIVE_LOSS, {}):
            params["loss"] = name
            params.update({f"criterion__{key}": value for key, value in implied.items()})
    return params


def _restore_fitted(path, estimator, fitted) -> None:
    if not isinstance(fitted, dict):
        raise _invalid(path, f"{_METADATA} field 'fitted' is missing or malformed")
    try:
        estimator.set_fitted_state(fitted)
    except ValueError as error:
        raise _invalid(path, str(error)) from None


def _load_weights(path, data: bytes, map_location) -> dict:
    try:
        # weights_only=True: a restricted unpickler that builds tensors and plain
        # containers only and refuses every other global, so no code can run.
        weights = torch.load(io.BytesIO(data), weights_only=True, map_location=map_location)
    except Exception as error:  # UnpicklingError, RuntimeError, EOFError, ...
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise _invalid(path, f"{_WEIGHTS} could not be read as tensors ({type(error).__name__}: {first_line})") from None
    if not isinstance(weights, dict) or set(weights) - {"members"} != {"module", "criterion"}:
        raise _invalid(path, f"{_WEIGHTS} does not hold the 'module' and 'criterion' state dicts")
    members = weights.get("members", [])
    if not isinstance(members, list) or not all(
        isinstance(member, dict) and set(member) == {"module", "criterion"} for member in members
    ):
        raise _invalid(path, f"{_WEIGHTS} entry 'members' is not a list of 'module' and 'criterion' state dicts")
    parts = [(part, weights[part]) for part in ("module", "criterion")]
    parts += [(f"members[{k}].{part}", member[part]) for k, member in enumerate(members) for part in member]
    for part, state in parts:
        if not isinstance(state, dict) or not all(
            isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()
        ):
            raise _invalid(path, f"{_WEIGHTS} entry {part!r} is not a dict of tensors")
    return weights


def read_metadata(path) -> dict:
    """The checked ``metadata.json`` of a model file, without building the model.

    Cheap (the weights are not read) and safe (JSON only). Useful to see what
    a file holds before loading it: ``estimator``, ``params``,
    ``featurizer["signature"]``, ``fitted`` attributes, ``history``,
    ``molgnba_version`` and the ``info`` given to :func:`save_model`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict
        The metadata; ``info`` is ``{}`` when none was saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a valid molgnba model file or has another format
        version.

    Examples
    --------
    >>> import os, tempfile
    >>> from molgnba import GNNRegressor
    >>> from molgnba.persistence import read_metadata, save_model
    >>> smiles = ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "c1ccccc1", "CC(=O)O"]
    >>> reg = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    >>> reg = reg.fit(smiles, [float(len(s)) for s in smiles])
    >>> path = save_model(reg, os.path.join(tempfile.mkdtemp(), "m.molgnba"), info={"targets": ["size"]})
    >>> meta = read_metadata(path)
    >>> meta["estimator"], meta["featurizer"]["signature"], meta["info"]
    ('GNNRegressor', 'extended:1', {'targets': ['size']})
    """
    path = _existing_file(path)
    metadata, _ = _read_archive(path, weights=False)
    _check_versions(path, metadata)
    info = metadata.get("info", {})
    metadata["info"] = _from_json(info) if isinstance(info, dict) else {}
    return metadata


def _existing_file(path) -> Path:
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a molgnba model file")
    return path


def load_model(path, device=None):
    """Load an estimator saved with :func:`save_model`; no code from the file runs.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.
    device : str or torch.device, optional
        Where to put the model ("cpu", "cuda", "cuda:N", "auto"). By default
        the device it was saved with when that is available here, else the
        CPU (with a warning).

    Returns
    -------
    GNNClassifier or GNNRegressor
        A fitted estimator whose predictions equal those of the saved one.
        Its ``history_`` is the saved training history; the per-sample
        training diagnostics (``train_gradient_norm_``, ``train_attention_``,
        ``invalid_smiles_``) are not saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a valid molgnba model file (not a zip archive, a
        pickle file, truncated or corrupted, missing members, malformed
        JSON, weights that are not plain tensors or do not fit the
        architecture), uses another format version, or was trained on a
        featurizer that is unknown here or has another version; also if
        ``device`` asks for CUDA where there is none.

    Warns
    -----
    ModelVersionWarning
        If the file was written by a molgnba of another major.minor version.
    UserWarning
        If the saved device is unavailable and the model is loaded on CPU.

    See Also
    --------
    save_model

    Examples
    --------
    >>> import os, tempfile
    >>> from molgnba import GNNClassifier
    >>> from molgnba.persistence import load_model, save_model
    >>> smiles = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N"]
    >>> labels = ["a", "b", "b", "b", "a", "a", "a", "b"]
    >>> clf = GNNClassifier(num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    >>> clf = clf.fit(smiles, labels)
    >>> path = save_model(clf, os.path.join(tempfile.mkdtemp(), "clf.molgnba"))
    >>> loaded = load_model(path, device="cpu")
    >>> loaded.classes_.tolist()
    ['a', 'b']
    >>> bool((loaded.predict_proba(smiles) == clf.predict_proba(smiles)).all())
    True
    """
    path = _existing_file(path)
    metadata, weight_bytes = _read_archive(path)
    _check_versions(path, metadata)

    name = _require(path, metadata, "estimator", str, "a string")
    classes = _estimator_classes()
    if name not in classes:
        raise _invalid(path, f"unknown estimator class {name!r} (expected one of {sorted(classes)})")
    raw_params = _require(path, metadata, "params", dict, "an object")
    params = _with_old_defaults(classes[name], _from_json(raw_params))
    params = _map_deprecated_params(path, params)
    _check_featurizer(path, metadata, params)
    param_device, map_location = _resolve_device(path, params.get("device"), device)
    params["device"] = param_device

    try:
        estimator = classes[name](**params)
    except TypeError as error:
        raise _invalid(path, f"parameters rejected by {name} ({error})") from None
    _restore_fitted(path, estimator, metadata.get("fitted"))
    weights = _load_weights(path, weight_bytes, map_location)
    _build_network(path, estimator, weights, metadata.get("history", []))
    members = metadata.get("members", [])
    if not isinstance(members, list) or len(members) != len(weights.get("members", [])):
        raise _invalid(path, f"{_METADATA} field 'members' does not match the members of {_WEIGHTS}")
    if members:
        _restore_members(path, estimator, metadata["fitted"], members, weights["members"])
    return estimator


def _build_network(path, net, weights: dict, history) -> None:
    """Initialize ``net`` (fitted attributes set), load its weights and history, evaluation mode."""
    from skorch.history import History

    try:
        # Building the modules draws initial weights that the saved ones replace:
        # fork the RNG so that loading a model leaves the caller's random stream alone.
        with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
            warnings.simplefilter("ignore", UserWarning)  # skorch's re-initialization notices
            net.initialize()
    except (ValueError, TypeError) as error:
        raise _invalid(path, f"its parameters do not build a model ({error})") from None
    try:
        net.module_.load_state_dict(weights["module"], strict=True)
        net.criterion_.load_state_dict(weights["criterion"], strict=True)
    except RuntimeError as error:
        raise _invalid(
            path, f"the weights do not fit the model described by its parameters ({str(error).splitlines()[0]})"
        ) from None
    if not isinstance(history, list) or not all(isinstance(row, dict) for row in history):
        raise _invalid(path, f"{_METADATA} field 'history' is not a list of objects")
    net.history_ = History(history)
    net.module_.eval()
    net.criterion_.eval()


def _restore_members(path, estimator, fitted: dict, entries: list, weights: list) -> None:
    """Rebuild an ensemble's members: member 0 from the estimator's own entries, the others from ``members``."""
    first = estimator._make_member(estimator.random_state, 0)
    _restore_fitted(path, first, fitted)
    _build_network(path, first, {"module": estimator.module_.state_dict(),
                                 "criterion": estimator.criterion_.state_dict()}, list(estimator.history_))
    members = [first]
    for index, (entry, state) in enumerate(zip(entries, weights), start=1):
        if not isinstance(entry, dict):
            raise _invalid(path, f"{_METADATA} field 'members' entry {index} is not an object")
        seed = entry.get("random_state")
        member = estimator._make_member(seed if isinstance(seed, int) else None, index)
        _restore_fitted(path, member, entry.get("fitted"))
        _build_network(path, member, state, entry.get("history", []))
        members.append(member)
    estimator.estimators_ = members
    estimator._adopt_first_member()
