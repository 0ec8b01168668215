"""The ``molgnba`` command: fit, predict, evaluate and benchmark from the shell.

Each subcommand is a thin layer over the Python API: CSV files are read with
pandas, models are :class:`~molgnba.GNNRegressor` / :class:`~molgnba.GNNClassifier`
and are stored with :func:`molgnba.persistence.save_model` (a file format that
never runs code when loaded). Run ``molgnba <command> --help`` for the
options and examples of each.

Errors in the input (a missing column, an unreadable or empty file, a model
file that is not valid, non-numeric regression targets) print one line to
stderr and exit with status 2; failures while running exit with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import math
import os
import secrets
import sys
import warnings
from pathlib import Path

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

ERROR_COLUMN = "molgnba_error"
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
    # Every cell as its exact text: columns pass through predict untouched
    # ("007" stays "007", "NA" stays "NA"), and targets are parsed by us.
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
        listed = ", ".join(f"line {_line(r)}: {values.iloc[r]!r}" for r in rows[:5])
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


def _target_names(info: dict, n_columns: int) -> list[str]:
    targets = info.get("targets") if isinstance(info, dict) else None
    if isinstance(targets, list) and len(targets) == n_columns and all(isinstance(t, str) for t in targets):
        return targets
    return ["target"] if n_columns == 1 else [f"target_{k}" for k in range(n_columns)]


def _load(path: str, device=None):
    from molgnba.persistence import load_model, read_metadata

    _check_input_file(path, "model file")
    try:
        metadata = read_metadata(path)
        estimator = load_model(path, device=device)
    except (ValueError, OSError) as error:
        raise CLIError(str(error)) from None
    return estimator, metadata


def _atomic_output(path: Path):
    """A temporary file next to ``path``; renamed over it by the caller on success."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


# ----------------------------------------------------------------------- fit


def _fit(args) -> int:
    import numpy as np

    output = _check_output_file(args.output)
    frame = _read_csv(args.data)
    if len(frame) == 0:
        raise CLIError(f"input file {args.data!r} has a header but no rows")
    targets = list(dict.fromkeys(args.target))
    _check_columns(
        frame.columns,
        [(args.smiles_column, "--smiles-column")] + [(t, "--target") for t in targets],
        args.data,
    )
    if args.smiles_column in targets:
        raise CLIError(f"the SMILES column {args.smiles_column!r} cannot also be a target")

    smiles = frame[args.smiles_column]
    if args.task == "regression":
        columns = [_numeric_column(frame[t], t, args.data) for t in targets]
        y = np.column_stack(columns) if len(columns) > 1 else columns[0]
    elif len(targets) > 1:
        y = np.column_stack([_numeric_column(frame[t], t, args.data) for t in targets])
    else:
        y = frame[targets[0]].str.strip()
    if y.ndim == 1:
        # One target: a row without its value cannot be used (multi-task targets keep NaN as "missing").
        if args.task == "regression":
            missing = np.isnan(y)
        else:
            missing = (y == "").to_numpy()
        if missing.all():
            raise CLIError(f"target column {targets[0]!r} of {args.data!r} has no values")
        if missing.any():
            rows = np.flatnonzero(missing)
            _say(args, f"note: skipping {len(rows)} row(s) without a value in {targets[0]!r} "
                       f"(lines {', '.join(str(_line(r)) for r in rows[:10])}{' ...' if len(rows) > 10 else ''})")
            smiles, y = smiles[~missing], y[~missing]
        if args.task == "classification":
            y = _class_labels(y)

    from molgnba import GNNClassifier, GNNRegressor
    from molgnba.persistence import save_model

    options = {
        "backbone": args.backbone, "attentive_loss": args.attentive_loss, "max_epochs": args.epochs,
        "hidden_dim": args.hidden_dim, "num_layers": args.num_layers, "batch_size": args.batch_size,
        "lr": args.lr, "device": args.device, "random_state": args.seed, "invalid_smiles": args.invalid_smiles,
        "mixed_precision": args.mixed_precision,
    }
    options = {name: value for name, value in options.items() if value is not None}
    options["progress_bar"] = not args.quiet
    estimator_class = GNNRegressor if args.task == "regression" else GNNClassifier
    estimator = estimator_class(**options)
    _say(args, f"training {estimator_class.__name__} ({estimator.backbone}, "
               f"{'attentive' if estimator.attentive_loss else 'plain'} loss) on {len(smiles)} molecules "
               f"from {args.data}")
    try:
        with _warnings_as_notes(args):
            estimator.fit(smiles.reset_index(drop=True), y)
    except (ValueError, TypeError) as error:
        raise CLIError(str(error)) from None
    info = {
        "targets": targets, "smiles_column": args.smiles_column, "task": args.task,
        "training_data": os.path.basename(args.data), "n_rows": int(len(frame)),
    }
    with _warnings_as_notes(args):
        save_model(estimator, output, info=info)
    best = f"; kept epoch {estimator.best_epoch_}" if getattr(estimator, "best_epoch_", None) else ""
    _say(args, f"trained for {len(estimator.history_)} epoch(s){best}; saved to {output}")
    return EXIT_OK


# ------------------------------------------------------------------- predict


def _prediction_columns(estimator, metadata) -> list[str]:
    from molgnba import GNNClassifier

    names = _target_names(metadata.get("info", {}), estimator.n_tasks_ if estimator.target_ndim_ == 2 else 1)
    if not isinstance(estimator, GNNClassifier):
        return [f"{name}_pred" for name in names]
    if estimator.target_ndim_ == 2:
        return [column for name in names for column in (f"{name}_pred", f"{name}_proba")]
    name = names[0]
    if len(estimator.classes_) == 2:
        return [f"{name}_pred", f"{name}_proba"]
    return [f"{name}_pred"] + [f"{name}_proba_{label}" for label in estimator.classes_.tolist()]


def _python(value):
    """A numpy scalar as the plain Python value pandas writes without a type suffix."""
    return value.item() if hasattr(value, "item") else value


def _predict_values(estimator, smiles: list, n_columns: int) -> list[list]:
    """One list of output values per prediction column, for the valid ``smiles``."""
    from molgnba import GNNClassifier

    if not smiles:
        return [[] for _ in range(n_columns)]
    if not isinstance(estimator, GNNClassifier):
        values = estimator.predict(smiles)
        values = values.reshape(len(smiles), -1)
        return [[float(v) for v in values[:, k]] for k in range(values.shape[1])]
    proba = estimator.predict_proba(smiles)
    if estimator.target_ndim_ == 2:
        labels = (proba >= 0.5).astype(int)
        columns = []
        for task in range(proba.shape[1]):
            columns.append([int(v) for v in labels[:, task]])
            columns.append([float(v) for v in proba[:, task]])
        return columns
    labels = [_python(v) for v in estimator.classes_[proba.argmax(1)]]
    if proba.shape[1] == 2:
        return [labels, [float(v) for v in proba[:, 1]]]
    return [labels] + [[float(v) for v in proba[:, k]] for k in range(proba.shape[1])]


def _predict(args) -> int:
    import pandas as pd
    from tqdm.auto import tqdm

    from molgnba.featurize import check_smiles

    output = _check_output_file(args.output)
    if Path(args.data).resolve() == output.resolve():
        raise CLIError("the output file must not be the input file")
    estimator, metadata = _load(args.model, device=args.device)
    estimator.set_params(invalid_smiles="skip", progress_bar=False)
    smiles_column = args.smiles_column or metadata["info"].get("smiles_column") or "smiles"
    columns = _prediction_columns(estimator, metadata)

    first = _read_csv(args.data, nrows=1)
    if len(first) == 0:
        raise CLIError(f"input file {args.data!r} has a header but no rows")
    header = first.columns
    _check_columns(header, [(smiles_column, "--smiles-column")], args.data)
    clashes = [c for c in columns + [ERROR_COLUMN] if c in header]
    if clashes:
        raise CLIError(
            f"{args.data!r} already has column(s) {', '.join(map(repr, clashes))}, which predict would "
            "write; rename them (or predict from the original file)"
        )

    temporary = _atomic_output(output)
    n_rows = n_invalid = 0
    try:
        reader = pd.read_csv(args.data, chunksize=args.chunk_size, **_csv_reader_options())
        progress = tqdm(desc="predicting", unit=" rows", disable=args.quiet, file=sys.stderr)
        with reader, progress, _warnings_as_notes(args):
            for number, chunk in enumerate(reader):
                smiles = chunk[smiles_column].tolist()
                _, invalid = check_smiles(smiles)
                reasons = {item.position: item.reason for item in invalid}
                valid = [k for k in range(len(smiles)) if k not in reasons]
                values = _predict_values(estimator, [smiles[k] for k in valid], len(columns))
                result = chunk.copy()
                for name, column_values in zip(columns, values):
                    cells = [""] * len(chunk)
                    for position, value in zip(valid, column_values):
                        cells[position] = "" if isinstance(value, float) and math.isnan(value) else value
                    result[name] = pd.Series(cells, index=chunk.index, dtype=object)
                result[ERROR_COLUMN] = [reasons.get(k, "") for k in range(len(chunk))]
                result.to_csv(temporary, mode="w" if number == 0 else "a", header=number == 0, index=False)
                n_rows += len(chunk)
                n_invalid += len(invalid)
                progress.update(len(chunk))
        if n_rows == 0:
            raise CLIError(f"input file {args.data!r} has a header but no rows")
        os.replace(temporary, output)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise CLIError(f"cannot read {args.data!r} as CSV: {str(error).strip().splitlines()[0]}") from None
    finally:
        temporary.unlink(missing_ok=True)
    invalid_note = f" ({n_invalid} invalid SMILES: see column {ERROR_COLUMN!r})" if n_invalid else ""
    _say(args, f"wrote predictions for {n_rows} rows to {output}{invalid_note}")
    return EXIT_OK


# ------------------------------------------------------------------ evaluate


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


def _classification_metrics(y_true, proba, classes) -> dict:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    predicted = classes[proba.argmax(1)].tolist()
    metrics = {"accuracy": float(np.mean([p == t for p, t in zip(predicted, y_true.tolist())]))}
    codes = np.array([classes.tolist().index(v) for v in y_true])
    metrics["roc_auc"] = float("nan")
    if len(np.unique(codes)) >= 2:
        try:
            if len(classes) == 2:
                metrics["roc_auc"] = float(roc_auc_score(codes == 1, proba[:, 1]))
            else:
                metrics["roc_auc"] = float(roc_auc_score(codes, proba, multi_class="ovr",
                                                         labels=np.arange(len(classes))))
        except ValueError:  # a class absent from the data: one-vs-rest is undefined
            pass
    return metrics


def _regression_metrics(y_true, y_pred) -> dict:
    import numpy as np
    from sklearn.metrics import mean_absolute_error, r2_score

    return {
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
    }


def _evaluate(args) -> int:
    import numpy as np

    from molgnba import GNNClassifier
    from molgnba.featurize import check_smiles

    if args.json and args.json != "-":
        _check_output_file(args.json)
    estimator, metadata = _load(args.model, device=args.device)
    estimator.set_params(invalid_smiles="skip", progress_bar=False)
    info = metadata["info"]
    smiles_column = args.smiles_column or info.get("smiles_column") or "smiles"
    n_columns = estimator.n_tasks_ if estimator.target_ndim_ == 2 else 1
    targets = list(dict.fromkeys(args.target or []))
    if not targets:
        saved = info.get("targets")
        if not (isinstance(saved, list) and saved):
            raise CLIError("give the column(s) of the true values with --target (the model file does not name them)")
        targets = saved
    if len(targets) != n_columns:
        raise CLIError(f"the model predicts {n_columns} target(s), but {len(targets)} --target column(s) were given")
    frame = _read_csv(args.data)
    if len(frame) == 0:
        raise CLIError(f"input file {args.data!r} has a header but no rows")
    _check_columns(frame.columns, [(smiles_column, "--smiles-column")] + [(t, "--target") for t in targets],
                   args.data)

    smiles = frame[smiles_column].tolist()
    _, invalid = check_smiles(smiles)
    bad = {item.position for item in invalid}
    valid = np.array([k for k in range(len(smiles)) if k not in bad], dtype=np.int64)
    report = {
        "model": str(args.model), "data": str(args.data), "estimator": type(estimator).__name__,
        "n_rows": int(len(frame)), "n_invalid_smiles": len(bad), "targets": {},
    }
    with _warnings_as_notes(args):
        if len(valid) == 0:
            raise CLIError(f"no valid SMILES in column {smiles_column!r} of {args.data!r}")
        valid_smiles = [smiles[k] for k in valid]
        if isinstance(estimator, GNNClassifier):
            proba = estimator.predict_proba(valid_smiles)
        else:
            predictions = estimator.predict(valid_smiles).reshape(len(valid), -1)

    for task, target in enumerate(targets):
        text = frame[target].iloc[valid]
        present = (text.str.strip() != "").to_numpy()
        entry = {"n_evaluated": int(present.sum()), "n_missing_target": int((~present).sum())}
        if not present.any():
            raise CLIError(f"target column {target!r} has no values in rows with valid SMILES")
        if isinstance(estimator, GNNClassifier) and estimator.target_ndim_ == 2:
            y_true = _numeric_column(text, target, args.data)[present]
            scores = proba[present, task]
            from sklearn.metrics import roc_auc_score

            entry["accuracy"] = float(np.mean((scores >= 0.5) == (y_true == 1)))
            entry["roc_auc"] = float(roc_auc_score(y_true, scores)) if len(np.unique(y_true)) == 2 else float("nan")
        elif isinstance(estimator, GNNClassifier):
            y_true = _labels_like(text[present].tolist(), estimator.classes_)
            known = set(estimator.classes_.tolist())
            unknown = sorted({t.strip() for v, t in zip(y_true, text[present]) if v is None or v not in known})
            if unknown:
                raise CLIError(
                    f"column {target!r} holds label(s) the model was not trained on: {', '.join(unknown[:10])}; "
                    f"the model's classes are {estimator.classes_.tolist()}"
                )
            entry.update(_classification_metrics(y_true, proba[present], estimator.classes_))
        else:
            y_true = _numeric_column(text, target, args.data)[present]
            entry.update(_regression_metrics(y_true, predictions[present, task]))
        report["targets"][target] = entry

    metric_names = [k for k in next(iter(report["targets"].values())) if not k.startswith("n_")]
    report["metrics"] = {
        name: float(np.nanmean([entry[name] for entry in report["targets"].values()]))
        if not all(math.isnan(entry[name]) for entry in report["targets"].values()) else float("nan")
        for name in metric_names
    }
    # The table is the command's output; with --json - it goes to stderr so that stdout is pure JSON.
    if not (args.json == "-" and args.quiet):
        _print_report(report, metric_names, sys.stderr if args.json == "-" else sys.stdout)
    if args.json:
        text = json.dumps(_json_safe(report), indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return EXIT_OK


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

  # binary classification with a GAT and the plain (non-attentive) loss
  molgnba fit bbbp.csv --target p_np --task classification --backbone gat \\
      --no-attentive-loss --epochs 50 --seed 0 -o bbbp.molgnba

  # several 0/1 tasks at once (empty cells are missing labels)
  molgnba fit tox21.csv --target NR-AR --target NR-AhR --task classification -o tox.molgnba

Rows whose single target is empty are skipped (with a note). With several
--target columns the targets form a 2-D array and empty cells are missing
labels. The model file stores the target and SMILES column names, which
predict and evaluate use by default.
"""

_PREDICT_EXAMPLES = f"""\
examples:
  molgnba predict esol.molgnba new.csv -o predictions.csv
  molgnba predict bbbp.molgnba library.csv --smiles-column SMILES -o out.csv --chunk-size 50000

output:
  Every input row and column, in order and unchanged, followed by:
    regression           <target>_pred
    binary               <target>_pred (label), <target>_proba (probability of
                         the second class in sorted order, e.g. 1)
    multiclass           <target>_pred, <target>_proba_<class> for each class
    several 0/1 tasks    <target>_pred and <target>_proba for each task
    always               {ERROR_COLUMN}: empty, or why the SMILES is invalid
  Invalid SMILES keep their row, with empty predictions. The file is read and
  written in chunks, so memory does not grow with its size; the output appears
  only once complete.
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
        With the ``fit``, ``predict``, ``evaluate`` and ``benchmark``
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
    from molgnba import GNNClassifier, __version__

    # The help shows the estimators' own defaults, so it cannot drift from them.
    default = GNNClassifier().get_params(deep=False)
    on_off = {True: "on", False: "off"}

    parser = argparse.ArgumentParser(
        prog="molgnba",
        description=(
            "Graph neural networks (GIN, GAT) for molecular property prediction from SMILES,\n"
            "with the gradient-norm based attentive loss (GNBA).\n\n"
            "  molgnba fit       train on a CSV of SMILES and targets, save the model\n"
            "  molgnba predict   add predictions to a CSV\n"
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

    # fit
    fit = commands.add_parser(
        "fit",
        help="train a model on a CSV and save it",
        description=(
            "Train a GNNRegressor or GNNClassifier on the SMILES and target column(s) of a CSV\n"
            "file and save it as a .molgnba model file. Options left out take the estimators'\n"
            "defaults (shown in brackets)."
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
    fit.add_argument("--backbone", choices=["gin", "gat"], help=f"message-passing layers [{default['backbone']}]")
    fit.add_argument("--attentive-loss", action=argparse.BooleanOptionalAction, default=None,
                     help=f"weight the loss by the GNBA attention [{on_off[default['attentive_loss']]}]")
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
    fit.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    fit.set_defaults(handler=_fit)

    # predict
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
    predict.add_argument("model", help="model file written by 'molgnba fit' or save_model")
    predict.add_argument("data", help="CSV file with a SMILES column")
    predict.add_argument("-o", "--output", required=True, help="CSV file to write")
    predict.add_argument("--smiles-column",
                         help="column of SMILES strings [the one the model was trained on, else smiles]")
    predict.add_argument("--chunk-size", type=_positive_int, default=DEFAULT_CHUNK_SIZE, metavar="N",
                         help=f"rows read, predicted and written at a time [{DEFAULT_CHUNK_SIZE}]")
    predict.add_argument("--device", help="cpu, cuda, cuda:N or auto [the saved device if available, else cpu]")
    predict.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    predict.set_defaults(handler=_predict)

    # evaluate
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

    # benchmark (arguments are forwarded untouched; see _split_benchmark)
    commands.add_parser(
        "benchmark",
        help="run the paper's paired benchmark (python -m molgnba.benchmark)",
        description="Forwards every argument to 'python -m molgnba.benchmark'; see 'molgnba benchmark --help'.",
        add_help=False,
    )
    return parser


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
