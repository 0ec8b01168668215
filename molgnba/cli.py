"""The ``molgnba`` command: fit, predict, evaluate and benchmark from the shell.

Each subcommand is a thin layer over the Python API: CSV files are read with
pandas, models are :class:`~molgnba.GNNRegressor` / :class:`~molgnba.GNNClassifier`
and are stored with :func:`molgnba.persistence.save_model` (a file format that
never runs code when loaded). Run ``molgnba <command> --help`` for the
options and examples of each.

Errors in the input (a missing column, an unreadable or empty file, a model
file that is not valid, non-numeric regression targets) print one line to
stderr and exit with status 2; failures while running exit with status 1.

The commands hold no modelling logic of their own: ``predict`` runs
:func:`molgnba.screening.predict_file` (so the command and the Python API
write the same columns), ``fingerprint`` runs the same function with
``method="transform"``, ``evaluate`` scores the same predictions
(:func:`molgnba.screening.predict_frame`) with :mod:`molgnba.metrics`, and
``benchmark`` forwards to ``python -m molgnba.benchmark``. What is left here
is reading the options, checking the input files with errors that name the
column or line at fault, and printing.

Adding a command: write the work as a library function first (with its
docstring and tests), then add here a ``_<command>(args) -> int`` handler
that checks the input, calls that function and reports, an
``_add_<command>_parser(commands)`` that declares its options and examples,
and call the latter from :func:`build_parser`; test it in
``tests/test_cli.py`` through :func:`main`. Raise :class:`CLIError` for
errors in the input.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import math
import os
import sys
import warnings
from pathlib import Path

from molgnba.screening import ERROR_COLUMN

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEFAULT_CHUNK_SIZE = 10_000

_EXIT_CODES = """\
exit status:
  0  success
  1  runtime failure (e.g. training diverged, out of memory, a bug)
  2  usage or input error (bad option, missing column, unreadable, empty or
     invalid file, non-numeric regression target)"""


class CLIError(Exception):
    """An error reported as one line on stderr, with an exit status.

    :func:`main` prints ``molgnba: error: <message>`` and returns ``code``
    instead of showing a traceback.

    Parameters
    ----------
    message : str
        What went wrong and, where possible, what to do about it.
    code : int, default=EXIT_USAGE
        The exit status: ``EXIT_USAGE`` (2) for errors in the input,
        ``EXIT_FAILURE`` (1) for failures while running.

    Examples
    --------
    >>> from molgnba.cli import EXIT_FAILURE, CLIError
    >>> error = CLIError("input file 'data.csv' does not exist")
    >>> str(error), error.code
    ("input file 'data.csv' does not exist", 2)
    >>> CLIError("out of memory", code=EXIT_FAILURE).code
    1
    """

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------- helpers


def _say(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


@contextlib.contextmanager
def _warnings_as_notes(args):
    """Show warnings as one ``warning: ...`` line each (none with --quiet)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen = set()
            for item in caught:
                text = str(item.message)
                if text not in seen and not issubclass(item.category, DeprecationWarning):
                    seen.add(text)
                    _say(args, f"warning: {text}")


def _check_input_file(path: str, what: str = "input file") -> Path:
    file = Path(path)
    if not file.exists():
        raise CLIError(f"{what} {path!r} does not exist")
    if file.is_dir():
        raise CLIError(f"{what} {path!r} is a directory")
    if not os.access(file, os.R_OK):
        raise CLIError(f"{what} {path!r} is not readable (permission denied)")
    if file.stat().st_size == 0:
        raise CLIError(f"{what} {path!r} is empty")
    return file


def _check_output_file(path: str) -> Path:
    file = Path(path)
    directory = file.parent if str(file.parent) else Path(".")
    if not directory.is_dir():
        raise CLIError(f"cannot write {path!r}: directory {str(directory)!r} does not exist")
    if file.is_dir():
        raise CLIError(f"cannot write {path!r}: it is a directory")
    if not os.access(directory, os.W_OK):
        raise CLIError(f"cannot write {path!r}: directory {str(directory)!r} is not writable")
    return file


def _csv_reader_options() -> dict:
    # Every cell as its exact text, as predict_file reads it: targets are parsed by us.
    return dict(dtype=str, keep_default_na=False, na_filter=False)


def _read_csv(path: str, nrows=None):
    import pandas as pd

    file = _check_input_file(path)
    try:
        frame = pd.read_csv(file, nrows=nrows, **_csv_reader_options())
    except pd.errors.EmptyDataError:
        raise CLIError(f"input file {path!r} is empty (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise CLIError(f"cannot read {path!r} as CSV: {str(error).strip().splitlines()[0]}") from None
    except OSError as error:
        raise CLIError(f"cannot read {path!r}: {error.strerror or error}") from None
    return frame


def _missing_column_message(column: str, columns, path: str, option: str) -> str:
    available = ", ".join(repr(str(c)) for c in columns) or "(none)"
    message = f"column {column!r} (given with {option}) is not in {path!r}; available columns: {available}"
    close = difflib.get_close_matches(column, [str(c) for c in columns], n=1, cutoff=0.5)
    if not close:
        lowered = {str(c).lower(): str(c) for c in columns}
        if column.lower() in lowered:
            close = [lowered[column.lower()]]
    if close:
        message += f". Did you mean {close[0]!r}?"
    return message


def _check_columns(frame_columns, wanted: list[tuple[str, str]], path: str) -> None:
    for column, option in wanted:
        if column not in frame_columns:
            raise CLIError(_missing_column_message(column, list(frame_columns), path, option))


def _line(row: int) -> int:
    """File line of a 0-based data row (the header is line 1)."""
    return int(row) + 2


def _numeric_column(values, column: str, path: str):
    """Text cells as floats; empty cells NaN; anything else is an input error."""
    import numpy as np
    import pandas as pd

    text = values.str.strip()
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = numbers.isna() & (text != "")
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        listed = ", ".join(f"line {_line(values.index[r])}: {values.iloc[r]!r}" for r in rows[:5])
        more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
        raise CLIError(
            f"target column {column!r} of {path!r} must be numeric for regression; "
            f"non-numeric values at {listed}{more}"
        )
    return numbers.to_numpy(dtype=float)


def _class_labels(values):
    """Text labels as ints when they all are integers (``1``, ``1.0``), else as text."""
    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():
        as_float = numbers.to_numpy(dtype=float)
        if np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)):
            return as_float.astype(np.int64)
        return as_float
    return values.to_numpy(dtype=object)


def _saved_target_names(metadata: dict, estimator) -> list[str] | None:
    """The target names stored in the model file, if they fit the model (else the defaults apply)."""
    targets = metadata.get("info", {}).get("targets") if isinstance(metadata.get("info"), dict) else None
    n_targets = estimator.n_tasks_ if estimator.target_ndim_ == 2 else 1
    if isinstance(targets, list) and len(targets) == n_targets and all(isinstance(t, str) for t in targets):
        return targets
    return None


def _smiles_column(args, metadata: dict) -> str:
    return args.smiles_column or metadata["info"].get("smiles_column") or "smiles"


def _read_rows(path: str, columns: list[tuple[str, str]], nrows=None):
    """The CSV (its first ``nrows``), refused without rows or without any of ``columns``."""
    frame = _read_csv(path, nrows=nrows)
    if len(frame) == 0:
        raise CLIError(f"input file {path!r} has a header but no rows")
    _check_columns(frame.columns, columns, path)
    return frame


def _load(path: str, device=None):
    from molgnba.persistence import load_model, read_metadata

    _check_input_file(path, "model file")
    try:
        metadata = read_metadata(path)
        estimator = load_model(path, device=device)
    except (ValueError, OSError) as error:
        raise CLIError(str(error)) from None
    return estimator, metadata


# ----------------------------------------------------------------------- fit


def _fit(args) -> int:
    output = _check_output_file(args.output)
    targets = list(dict.fromkeys(args.target))
    frame = _read_rows(args.data, [(args.smiles_column, "--smiles-column")] + [(t, "--target") for t in targets])
    if args.smiles_column in targets:
        raise CLIError(f"the SMILES column {args.smiles_column!r} cannot also be a target")
    smiles, y = _training_data(args, frame, targets)
    estimator = _new_estimator(args)
    _say(args, f"training {type(estimator).__name__} ({estimator.backbone}, "
               f"{'attentive' if estimator.attentive_loss else 'plain'} loss) on {len(smiles)} molecules "
               f"from {args.data}")
    try:
        with _warnings_as_notes(args):
            estimator.fit(smiles.reset_index(drop=True), y)
    except (ValueError, TypeError) as error:
        raise CLIError(str(error)) from None
    _save(args, estimator, output, targets, n_rows=len(frame))
    return EXIT_OK


def _training_data(args, frame, targets: list[str]):
    """The SMILES and ``y`` to fit: numbers for regression and several targets, else labels."""
    import numpy as np

    smiles = frame[args.smiles_column]
    if args.task == "regression" or len(targets) > 1:
        columns = [_numeric_column(frame[t], t, args.data) for t in targets]
        y = np.column_stack(columns) if len(columns) > 1 else columns[0]
    else:
        y = frame[targets[0]].str.strip()
    if y.ndim == 2:  # several targets: empty cells are missing labels, which the loss masks
        return smiles, y
    smiles, y = _rows_with_a_target(args, smiles, y, targets[0])
    return smiles, (_class_labels(y) if args.task == "classification" else y)


def _rows_with_a_target(args, smiles, y, target: str):
    """Drop (with a note) the rows without a value in the single target column."""
    import numpy as np

    missing = np.isnan(y) if args.task == "regression" else (y == "").to_numpy()
    if missing.all():
        raise CLIError(f"target column {target!r} of {args.data!r} has no values")
    if missing.any():
        rows = np.flatnonzero(missing)
        _say(args, f"note: skipping {len(rows)} row(s) without a value in {target!r} "
                   f"(lines {', '.join(str(_line(r)) for r in rows[:10])}{' ...' if len(rows) > 10 else ''})")
    return smiles[~missing], y[~missing]


def _new_estimator(args):
    """A GNNRegressor or GNNClassifier with the options given over ``--preset``; the rest keep their defaults."""
    from molgnba.estimators import GNNClassifier, GNNRegressor
    from molgnba.presets import get_preset

    options = {
        "backbone": args.backbone, "attentive_loss": args.attentive_loss, "max_epochs": args.epochs,
        "hidden_dim": args.hidden_dim, "num_layers": args.num_layers, "batch_size": args.batch_size,
        "lr": args.lr, "device": args.device, "random_state": args.seed, "invalid_smiles": args.invalid_smiles,
        "mixed_precision": args.mixed_precision, "n_ensemble": args.ensemble, "dropout": args.dropout,
        "validation_split": args.validation_split,
    }
    if args.uncertainty is not None:
        if args.task != "regression":
            raise CLIError("--uncertainty is for regression models (--task regression)")
        options["uncertainty"] = args.uncertainty
        if args.uncertainty == "mve" and args.attentive_loss is None:
            options["attentive_loss"] = False  # the Gaussian likelihood replaces the (attentive) squared error
    options = {name: value for name, value in options.items() if value is not None}
    if args.descriptors is not None:  # after the filter above: "none" is the value None
        options["descriptors"] = None if args.descriptors == "none" else args.descriptors
    preset = get_preset(args.preset) if args.preset else {}
    estimator_class = GNNRegressor if args.task == "regression" else GNNClassifier
    return estimator_class(**{**preset, **options}, progress_bar=not args.quiet)


def _save(args, estimator, output: Path, targets: list[str], n_rows: int) -> None:
    from molgnba.persistence import save_model

    info = {
        "targets": targets, "smiles_column": args.smiles_column, "task": args.task,
        "training_data": os.path.basename(args.data), "n_rows": int(n_rows),
    }
    with _warnings_as_notes(args):
        save_model(estimator, output, info=info)
    best = f"; kept epoch {estimator.best_epoch_}" if getattr(estimator, "best_epoch_", None) else ""
    _say(args, f"trained for {len(estimator.history_)} epoch(s){best}; saved to {output}")


# ------------------------------------------------------------------- predict


def _predict(args) -> int:
    import pandas as pd

    from molgnba.screening import predict_file

    output = _check_output_file(args.output)
    estimator, metadata = _load(args.model, device=args.device)
    smiles_column = _smiles_column(args, metadata)
    if args.uncertainty and getattr(estimator, "uncertainty", None) is None:
        raise CLIError(
            f"--uncertainty needs a regression model fitted with an uncertainty method, and {args.model!r} "
            "has none; fit one with 'molgnba fit ... --uncertainty ensemble|mve|dropout'"
        )
    _read_rows(args.data, [(smiles_column, "--smiles-column")], nrows=1)
    try:
        with _warnings_as_notes(args):
            summary = predict_file(
                estimator, args.data, output, smiles_column=smiles_column, chunk_size=args.chunk_size,
                target_names=_saved_target_names(metadata, estimator), progress_bar=not args.quiet,
                return_std=args.uncertainty,
            )
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise CLIError(f"cannot read {args.data!r} as CSV: {str(error).strip().splitlines()[0]}") from None
    except ValueError as error:  # checked before any prediction: a column it would overwrite, output = input
        raise CLIError(str(error)) from None
    n_invalid = summary["n_invalid"]
    invalid_note = f" ({n_invalid} invalid SMILES: see column {ERROR_COLUMN!r})" if n_invalid else ""
    _say(args, f"wrote predictions for {summary['n_rows']} rows to {output}{invalid_note}")
    return EXIT_OK


# --------------------------------------------------------------- fingerprint


def _fingerprint(args) -> int:
    import pandas as pd

    from molgnba.screening import predict_file

    output = _check_output_file(args.output)
    estimator, metadata = _load(args.model, device=args.device)
    smiles_column = _smiles_column(args, metadata)
    _read_rows(args.data, [(smiles_column, "--smiles-column")], nrows=1)
    try:
        with _warnings_as_notes(args):
            summary = predict_file(
                estimator, args.data, output, smiles_column=smiles_column, chunk_size=args.chunk_size,
                method="transform", progress_bar=not args.quiet,
            )
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise CLIError(f"cannot read {args.data!r} as CSV: {str(error).strip().splitlines()[0]}") from None
    except ValueError as error:  # checked before any work: a column it would overwrite, output = input
        raise CLIError(str(error)) from None
    n_invalid = summary["n_invalid"]
    invalid_note = f" ({n_invalid} invalid SMILES: see column {ERROR_COLUMN!r})" if n_invalid else ""
    _say(args, f"wrote {len(summary['columns'])} fingerprint columns for {summary['n_rows']} rows "
               f"to {output}{invalid_note}")
    return EXIT_OK


# ------------------------------------------------------------------ evaluate


def _evaluate(args) -> int:
    from molgnba.metrics import mean_scores
    from molgnba.screening import predict_frame

    if args.json and args.json != "-":
        _check_output_file(args.json)
    estimator, metadata = _load(args.model, device=args.device)
    smiles_column = _smiles_column(args, metadata)
    targets = _evaluation_targets(args, metadata, estimator)
    frame = _read_rows(args.data, [(smiles_column, "--smiles-column")] + [(t, "--target") for t in targets])
    with _warnings_as_notes(args):
        predictions = predict_frame(estimator, frame[smiles_column].tolist(), target_names=targets)
    valid = predictions[ERROR_COLUMN].isna().to_numpy()
    if not valid.any():
        raise CLIError(f"no valid SMILES in column {smiles_column!r} of {args.data!r}")
    scores = {
        target: _score_target(args, estimator, frame[target][valid], predictions[valid], target)
        for target in targets
    }
    metric_names = [name for name in next(iter(scores.values())) if not name.startswith("n_")]
    report = {
        "model": str(args.model), "data": str(args.data), "estimator": type(estimator).__name__,
        "n_rows": int(len(frame)), "n_invalid_smiles": int((~valid).sum()), "targets": scores,
        "metrics": mean_scores({name: entry[name] for name in metric_names} for entry in scores.values()),
    }
    _write_report(args, report, metric_names)
    return EXIT_OK


def _evaluation_targets(args, metadata: dict, estimator) -> list[str]:
    """The --target columns, else the model's target names; one per target of the model."""
    n_targets = estimator.n_tasks_ if estimator.target_ndim_ == 2 else 1
    targets = list(dict.fromkeys(args.target or []))
    if not targets:
        saved = metadata["info"].get("targets")
        if not (isinstance(saved, list) and saved):
            raise CLIError("give the column(s) of the true values with --target (the model file does not name them)")
        targets = saved
    if len(targets) != n_targets:
        raise CLIError(f"the model predicts {n_targets} target(s), but {len(targets)} --target column(s) were given")
    return targets


def _score_target(args, estimator, text, predictions, target: str) -> dict:
    """The metrics of one target over the rows with a true value (``text``: its cells as text)."""
    import numpy as np

    from molgnba.estimators import GNNClassifier
    from molgnba.metrics import classification_scores, regression_scores

    present = (text.str.strip() != "").to_numpy()
    if not present.any():
        raise CLIError(f"target column {target!r} has no values in rows with valid SMILES")
    entry = {"n_evaluated": int(present.sum()), "n_missing_target": int((~present).sum())}
    text, predictions = text[present], predictions[present]
    predicted = predictions[f"{target}_pred"]
    if not isinstance(estimator, GNNClassifier):
        y_true = _numeric_column(text, target, args.data)
        return {**entry, **regression_scores(y_true, predicted.to_numpy(dtype=float))}
    if estimator.target_ndim_ == 2:
        y_true, classes = _binary_column(text, target, args.data), np.array([0, 1])
    else:
        y_true, classes = _known_labels(text, target, estimator.classes_), estimator.classes_
    return {**entry, **classification_scores(y_true, predicted, _class_probabilities(predictions, target, classes),
                                             classes)}


def _class_probabilities(predictions, target: str, classes):
    """``n x n_classes`` probabilities from the ``<target>_proba...`` columns of the predictions."""
    import numpy as np

    if len(classes) == 2:
        positive = predictions[f"{target}_proba"].to_numpy(dtype=float)
        return np.column_stack([1.0 - positive, positive])
    return predictions[[f"{target}_proba_{label}" for label in classes.tolist()]].to_numpy(dtype=float)


def _binary_column(text, target: str, path: str):
    """The 0/1 labels of one task of a multi-task classifier."""
    import numpy as np

    y_true = _numeric_column(text, target, path)
    bad = np.flatnonzero(~np.isin(y_true, [0.0, 1.0]))
    if len(bad):
        listed = ", ".join(f"line {_line(text.index[r])}: {text.iloc[r]!r}" for r in bad[:5])
        raise CLIError(f"column {target!r} of {path!r} must hold 0 or 1 for this multi-task classifier; {listed}")
    return y_true


def _known_labels(text, target: str, classes):
    """The labels of ``text`` in the type of ``classes``; labels the model never saw are an input error."""
    y_true = _labels_like(text.tolist(), classes)
    known = set(classes.tolist())
    unknown = sorted({cell.strip() for value, cell in zip(y_true, text) if value is None or value not in known})
    if unknown:
        raise CLIError(
            f"column {target!r} holds label(s) the model was not trained on: {', '.join(unknown[:10])}; "
            f"the model's classes are {classes.tolist()}"
        )
    return y_true


def _labels_like(values, classes):
    """Text labels converted to the dtype of ``classes``; None where impossible."""
    import numpy as np

    kind = classes.dtype.kind
    out = []
    for text in values:
        text = text.strip()
        try:
            if kind in "iu":
                number = float(text)
                out.append(int(number) if number == int(number) else None)
            elif kind == "f":
                out.append(float(text))
            elif kind == "b":
                out.append({"true": True, "1": True, "false": False, "0": False}.get(text.lower()))
            else:
                out.append(text)
        except (ValueError, OverflowError):
            out.append(None)
    return np.array(out, dtype=object)


def _write_report(args, report: dict, metric_names: list[str]) -> None:
    # The table is the command's output; with --json - it goes to stderr so that stdout is pure JSON.
    if not (args.json == "-" and args.quiet):
        _print_report(report, metric_names, sys.stderr if args.json == "-" else sys.stdout)
    if args.json:
        text = json.dumps(_json_safe(report), indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")


def _json_safe(value):
    """NaN as null: the report is strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _print_report(report: dict, metric_names: list[str], stream) -> None:
    targets = report["targets"]
    lines = [f"{report['estimator']} from {report['model']} on {report['data']}: {report['n_rows']} rows"
             + (f", {report['n_invalid_smiles']} invalid SMILES skipped" if report["n_invalid_smiles"] else "")]
    width = max(len(t) for t in targets) if targets else 6
    width = max(width, len("target"), len("mean"))
    lines.append(f"{'target':<{width}}  " + "  ".join(f"{m:>9}" for m in metric_names) + f"  {'n':>7}")
    for target, entry in targets.items():
        cells = "  ".join(f"{entry[m]:>9.4f}" for m in metric_names)
        lines.append(f"{target:<{width}}  {cells}  {entry['n_evaluated']:>7}")
    if len(targets) > 1:
        cells = "  ".join(f"{report['metrics'][m]:>9.4f}" for m in metric_names)
        lines.append(f"{'mean':<{width}}  {cells}")
    print("\n".join(lines), file=stream)


# ----------------------------------------------------------------- benchmark


def _benchmark(argv: list[str]) -> int:
    from molgnba.benchmark.__main__ import main as benchmark_main

    try:
        code = benchmark_main(argv)
    except SystemExit as exit_:  # its argparse: --help, usage errors
        return _exit_code(exit_.code)
    return EXIT_OK if code is None else int(code)


# -------------------------------------------------------------------- parser

_FIT_EXAMPLES = """\
examples:
  # regression on one column
  molgnba fit esol.csv --smiles-column smiles --target logSolubility \\
      --task regression -o esol.molgnba

  # binary classification with a GAT, 30 epochs, seeded
  molgnba fit bbbp.csv --target p_np --task classification --backbone gat \\
      --epochs 30 --seed 0 -o bbbp.molgnba

  # the GNBA paper's configuration (GIN, 5 x 300, constant rate, 100 epochs of
  # batch 32) with its attentive loss; the defaults are chemprop's recipe with a GIN
  molgnba fit bbbp.csv --target p_np --task classification --preset paper \\
      --attentive-loss -o bbbp-paper.molgnba

  # several 0/1 tasks at once (empty cells are missing labels)
  molgnba fit tox21.csv --target NR-AR --target NR-AhR --task classification -o tox.molgnba

  # five networks whose spread estimates each prediction's uncertainty
  molgnba fit esol.csv --target logSolubility --task regression \\
      --ensemble 5 --uncertainty ensemble -o esol-ensemble.molgnba

Rows whose single target is empty are skipped (with a note). With several
--target columns the targets form a 2-D array and empty cells are missing
labels. The model file stores the target and SMILES column names, which
predict and evaluate use by default.
"""

_PREDICT_EXAMPLES = f"""\
examples:
  molgnba predict esol.molgnba new.csv -o predictions.csv
  molgnba predict bbbp.molgnba library.csv --smiles-column SMILES -o out.csv --chunk-size 50000
  molgnba predict esol-ensemble.molgnba new.csv -o predictions.csv --uncertainty

output:
  Every input row and column, in order and unchanged, followed by:
    regression           <target>_pred
    binary               <target>_pred (label), <target>_proba (probability of
                         the second class in sorted order, e.g. 1)
    multiclass           <target>_pred, <target>_proba_<class> for each class
    several 0/1 tasks    <target>_pred and <target>_proba for each task
    --uncertainty        <target>_std after each <target>_pred (regression
                         models fitted with --uncertainty)
    always               {ERROR_COLUMN}: empty, or why the SMILES is invalid
  Invalid SMILES keep their row, with empty predictions. The file is read and
  written in chunks, so memory does not grow with its size; the output appears
  only once complete. In Python: molgnba.screening.predict_file, which writes
  the same columns.
"""

_FINGERPRINT_EXAMPLES = f"""\
examples:
  molgnba fingerprint esol.molgnba library.csv -o fingerprints.csv
  molgnba fingerprint bbbp.molgnba library.csv --smiles-column SMILES -o fp.csv.gz

output:
  Every input row and column, in order and unchanged, followed by one column
  per learned feature (gnnregressor0, gnnregressor1, ... or gnnclassifier0,
  ...: the graph embedding the model's head reads, concatenated over
  the members of an ensemble) and {ERROR_COLUMN}. Invalid SMILES keep their
  row, with empty feature cells and the reason in {ERROR_COLUMN}. In Python:
  estimator.transform, or molgnba.screening.predict_file(..., method="transform").
"""

_EVALUATE_EXAMPLES = """\
examples:
  molgnba evaluate esol.molgnba test.csv --target logSolubility
  molgnba evaluate bbbp.molgnba test.csv --json metrics.json

metrics:
  classification  accuracy and ROC-AUC (one-vs-rest for multiclass; NaN when
                  the data hold a single class)
  regression      RMSE, MAE and R2
  With several targets, each is reported and the mean over targets is added.
  Rows with invalid SMILES or an empty target are left out (and counted).
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``molgnba`` command.

    The ``benchmark`` command is listed, but :func:`main` hands its
    arguments to ``python -m molgnba.benchmark`` before this parser sees them.

    Returns
    -------
    argparse.ArgumentParser
        With the ``fit``, ``predict``, ``fingerprint``, ``evaluate`` and ``benchmark``
        subcommands; options left out are None, so that the estimators'
        own defaults apply.

    Examples
    --------
    >>> from molgnba.cli import build_parser
    >>> args = build_parser().parse_args(
    ...     ["fit", "train.csv", "-o", "model.molgnba", "--target", "logS", "--task", "regression",
    ...      "--epochs", "50"])
    >>> args.command, args.target, args.epochs, args.hidden_dim
    ('fit', ['logS'], 50, None)
    """
    from molgnba._version import __version__

    parser = argparse.ArgumentParser(
        prog="molgnba",
        description=(
            "Graph neural networks (D-MPNN, GIN, GAT, ...) for molecular property prediction\n"
            "from SMILES, optionally with the gradient-norm based attentive loss (GNBA).\n\n"
            "  molgnba fit       train on a CSV of SMILES and targets, save the model\n"
            "  molgnba predict   add predictions to a CSV\n"
            "  molgnba fingerprint  add a model's learned fingerprints to a CSV\n"
            "  molgnba evaluate  score a model on a labelled CSV\n"
            "  molgnba benchmark run the GNBA paper's paired benchmark protocol\n\n"
            "Model files (.molgnba) hold data only: loading one never runs code from it."
        ),
        epilog=_EXIT_CODES + "\n\nRun 'molgnba <command> --help' for the options of a command.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"molgnba {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of a failure")
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    _add_fit_parser(commands)
    _add_predict_parser(commands)
    _add_fingerprint_parser(commands)
    _add_evaluate_parser(commands)
    _add_benchmark_parser(commands)
    return parser


def _add_fit_parser(commands) -> None:
    """``molgnba fit``: train on a CSV and save the model."""
    from molgnba.estimators import GNNClassifier
    from molgnba.featurize._descriptors import DESCRIPTOR_SETS
    from molgnba.nn import BACKBONES
    from molgnba.presets import PRESETS

    # The help shows the estimators' own defaults, so it cannot drift from them.
    default = GNNClassifier().get_params(deep=False)
    on_off = {True: "on", False: "off"}

    fit = commands.add_parser(
        "fit",
        help="train a model on a CSV and save it",
        description=(
            "Train a GNNRegressor or GNNClassifier on the SMILES and target column(s) of a CSV\n"
            "file and save it as a .molgnba model file. Options left out take the values of\n"
            "--preset, if given, else the estimators' defaults (shown in brackets): chemprop's\n"
            "recipe, the \"chemprop-like\" preset, with the GIN backbone, the plain loss and\n"
            "RDKit's 2-D descriptors."
        ),
        epilog=_FIT_EXAMPLES + "\n" + _EXIT_CODES,
        formatter_class=_Formatter,
    )
    fit.add_argument("data", help="CSV file with a header row")
    fit.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.molgnba)")
    fit.add_argument("--smiles-column", default="smiles", help="column of SMILES strings [smiles]")
    fit.add_argument("--target", action="append", required=True, metavar="COLUMN",
                     help="target column; repeat for several tasks")
    fit.add_argument("--task", required=True, choices=["regression", "classification"],
                     help="learn numbers (GNNRegressor) or labels (GNNClassifier)")
    fit.add_argument("--preset", choices=sorted(PRESETS),
                     help="start from a named configuration (molgnba.presets; it sets the network, features "
                          "and training recipe, not the loss): 'paper' is the GNBA paper's GIN, 5 x 300, "
                          "100 epochs of batch 32 at a constant rate; 'chemprop-like' is chemprop's own "
                          "defaults (its D-MPNN), the estimators' defaults with a D-MPNN for their GIN and "
                          "without the descriptors. The options below "
                          "override it [none]")
    fit.add_argument("--backbone", choices=sorted(BACKBONES), help=f"message-passing layers [{default['backbone']}]")
    fit.add_argument("--attentive-loss", action=argparse.BooleanOptionalAction, default=None,
                     help=f"weight the loss by the GNBA attention [{on_off[default['attentive_loss']]}]")
    fit.add_argument("--descriptors", choices=[*sorted(DESCRIPTOR_SETS), "none"],
                     help="molecule descriptors joined to the graph embedding: RDKit's 2-D descriptors "
                          "(some 200; they dominate the featurization time, some 10 ms per molecule), or "
                          f"none (the graph alone, ~20 times faster to featurize) [{default['descriptors'] or 'none'}]")
    fit.add_argument("--epochs", type=_positive_int, metavar="N", help=f"maximum number of epochs [{default['max_epochs']}]")
    fit.add_argument("--hidden-dim", type=_positive_int, metavar="N", help=f"width of the network [{default['hidden_dim']}]")
    fit.add_argument("--num-layers", type=_positive_int, metavar="N", help=f"message-passing layers [{default['num_layers']}]")
    fit.add_argument("--batch-size", type=_positive_int, metavar="N", help=f"molecules per batch [{default['batch_size']}]")
    fit.add_argument("--lr", type=_positive_float, help=f"Adam learning rate [{default['lr']}]")
    fit.add_argument("--device", help=f"cpu, cuda, cuda:N or auto [{default['device']}]")
    fit.add_argument("--mixed-precision", choices=["bfloat16", "float16"],
                     help="run the network in bfloat16 (fast on CPUs with bfloat16 instructions and recent "
                          "GPUs) or float16 (GPUs); losses and predictions stay float32 [float32 throughout]")
    fit.add_argument("--seed", type=int, help="random seed, for reproducible training "
                          f"[{'none' if default['random_state'] is None else default['random_state']}]")
    fit.add_argument("--invalid-smiles", choices=["raise", "skip"],
                     help=f"refuse invalid SMILES, or train without them [{default['invalid_smiles']}]")
    fit.add_argument("--ensemble", type=_positive_int, metavar="N",
                     help=f"train N networks from different seeds and average them [{default['n_ensemble']}]")
    fit.add_argument("--dropout", type=float, metavar="P", help=f"dropout rate [{default['dropout']}]")
    fit.add_argument("--validation-split", choices=["random", "scaffold"],
                     help="molecules held out to choose the best epoch: a random share, or whole scaffolds none "
                          "of which are trained on (for models meant for new chemical series) "
                          f"[{default['validation_split']}]")
    fit.add_argument("--uncertainty", choices=["ensemble", "mve", "dropout"],
                     help="regression: how 'molgnba predict --uncertainty' estimates standard deviations: the "
                          "spread of an --ensemble of N >= 2, a variance head (mve; trains with the Gaussian "
                          "likelihood, so not with --attentive-loss), or Monte Carlo dropout (needs "
                          "--dropout > 0) [none]")
    fit.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    fit.set_defaults(handler=_fit)


def _add_model_on_csv_arguments(parser, done_to_rows: str) -> None:
    """The arguments of the commands that run a saved model over a CSV in chunks (predict, fingerprint)."""
    parser.add_argument("model", help="model file written by 'molgnba fit' or save_model")
    parser.add_argument("data", help="CSV file with a SMILES column")
    parser.add_argument("-o", "--output", required=True, help="CSV file to write")
    parser.add_argument("--smiles-column",
                        help="column of SMILES strings [the one the model was trained on, else smiles]")
    parser.add_argument("--chunk-size", type=_positive_int, default=DEFAULT_CHUNK_SIZE, metavar="N",
                        help=f"rows read, {done_to_rows} and written at a time [{DEFAULT_CHUNK_SIZE}]")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or auto [the saved device if available, else cpu]")


def _add_predict_parser(commands) -> None:
    """``molgnba predict``: add a model's predictions to a CSV (:func:`molgnba.screening.predict_file`)."""
    predict = commands.add_parser(
        "predict",
        help="add a model's predictions to a CSV",
        description=(
            "Predict every row of a CSV with a saved model and write the CSV back with the\n"
            "prediction columns appended."
        ),
        epilog=_PREDICT_EXAMPLES + "\n" + _EXIT_CODES,
        formatter_class=_Formatter,
    )
    _add_model_on_csv_arguments(predict, "predicted")
    predict.add_argument("--uncertainty", action="store_true",
                         help="add <target>_std, the standard deviation of each prediction (models fitted with "
                              "--uncertainty)")
    predict.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    predict.set_defaults(handler=_predict)


def _add_fingerprint_parser(commands) -> None:
    """``molgnba fingerprint``: add a model's learned fingerprints to a CSV (``predict_file(method="transform")``)."""
    fingerprint = commands.add_parser(
        "fingerprint",
        help="add a model's learned fingerprints to a CSV",
        description=(
            "Write every row of a CSV with the learned fingerprint of its molecule appended: the\n"
            "graph embedding a saved model feeds its head, for use as features elsewhere."
        ),
        epilog=_FINGERPRINT_EXAMPLES + "\n" + _EXIT_CODES,
        formatter_class=_Formatter,
    )
    _add_model_on_csv_arguments(fingerprint, "computed")
    fingerprint.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    fingerprint.set_defaults(handler=_fingerprint)


def _add_evaluate_parser(commands) -> None:
    """``molgnba evaluate``: score a model on a labelled CSV with :mod:`molgnba.metrics`."""
    evaluate = commands.add_parser(
        "evaluate",
        help="score a model on a labelled CSV",
        description="Score a saved model on a CSV with SMILES and true values; print the metrics.",
        epilog=_EVALUATE_EXAMPLES + "\n" + _EXIT_CODES,
        formatter_class=_Formatter,
    )
    evaluate.add_argument("model", help="model file written by 'molgnba fit' or save_model")
    evaluate.add_argument("data", help="CSV file with SMILES and true values")
    evaluate.add_argument("--target", action="append", metavar="COLUMN",
                          help="column of true values; repeat for several tasks [the model's target names]")
    evaluate.add_argument("--smiles-column",
                          help="column of SMILES strings [the one the model was trained on, else smiles]")
    evaluate.add_argument("--json", metavar="PATH", help="also write the metrics as JSON ('-' for stdout)")
    evaluate.add_argument("--device", help="cpu, cuda, cuda:N or auto [the saved device if available, else cpu]")
    evaluate.add_argument("-q", "--quiet", action="store_true", help="no warnings or messages on stderr")
    evaluate.set_defaults(handler=_evaluate)


def _add_benchmark_parser(commands) -> None:
    """``molgnba benchmark``: listed in the help; :func:`main` forwards its arguments untouched (see ``_split_benchmark``)."""
    commands.add_parser(
        "benchmark",
        help="run the paper's paired benchmark (python -m molgnba.benchmark)",
        description="Forwards every argument to 'python -m molgnba.benchmark'; see 'molgnba benchmark --help'.",
        add_help=False,
    )


def _exit_code(code) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_FAILURE


def _split_benchmark(argv: list[str]):
    """The arguments after ``benchmark`` if that is the command, else None.

    They go to the benchmark's own parser untouched (argparse would otherwise
    try to interpret options such as ``--datasets`` itself).
    """
    position = 0
    while position < len(argv) and argv[position] == "--debug":
        position += 1
    if position < len(argv) and argv[position] == "benchmark":
        return argv[position + 1:]
    return None


def main(argv=None) -> int:
    """Run the ``molgnba`` command with ``argv`` (default: ``sys.argv[1:]``).

    Errors are printed as one line on stderr (the full traceback with
    ``--debug``); nothing is raised, except with ``--debug``.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments after the program name, e.g.
        ``["predict", "model.molgnba", "in.csv", "-o", "out.csv"]``.

    Returns
    -------
    int
        The exit status: 0 success, 1 runtime failure, 2 usage or input error
        (130 if interrupted with Ctrl-C).

    Examples
    --------
    Train a model on a CSV file, then add its predictions to another; rows
    that cannot be predicted say why:

    >>> import os, tempfile
    >>> import pandas as pd
    >>> from molgnba.cli import main
    >>> directory = tempfile.TemporaryDirectory()
    >>> train, model, screen, out = (os.path.join(directory.name, name)
    ...                              for name in ("train.csv", "model.molgnba", "screen.csv", "out.csv"))
    >>> pd.DataFrame({"smiles": ["C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1"],
    ...               "logS": [-0.6, -1.4, -1.9, -2.6, 1.1, 0.8, -1.2, -1.6]}).to_csv(train, index=False)
    >>> main(["fit", train, "-o", model, "--target", "logS", "--task", "regression",
    ...       "--epochs", "1", "--hidden-dim", "8", "--num-layers", "1", "--seed", "0", "-q"])
    0
    >>> pd.DataFrame({"id": ["a", "b"], "smiles": ["CCCO", "C1CC"]}).to_csv(screen, index=False)
    >>> main(["predict", model, screen, "-o", out, "-q"])
    0
    >>> result = pd.read_csv(out)
    >>> list(result.columns), result["molgnba_error"].tolist()
    (['id', 'smiles', 'logS_pred', 'molgnba_error'], [nan, 'RDKit could not parse it'])

    An error in the input prints one line on stderr and returns status 2:

    >>> main(["predict", model, os.path.join(directory.name, "missing.csv"), "-o", out, "-q"])
    2
    >>> directory.cleanup()
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        benchmark = _split_benchmark(argv)
        if benchmark is not None:
            return _benchmark(benchmark)
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:
            return _exit_code(exit_.code)
        debug = args.debug
        return args.handler(args)
    except CLIError as error:
        if debug:
            raise
        print(f"molgnba: error: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("molgnba: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the command line reports, it does not crash
        if debug:
            raise
        message = str(error).strip() or type(error).__name__
        print(f"molgnba: error: {type(error).__name__}: {message} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
