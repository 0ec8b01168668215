"""Checks of the estimators' inputs: SMILES containers, targets, invalid SMILES.

Every check names what was wrong (which rows, which values) and runs before
any featurization or training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

__all__ = [
    "FLOAT32_MAX",
    "MAX_LISTED",
    "as_float_targets",
    "check_sample_weight",
    "check_smiles_input",
    "format_invalid",
    "is_missing",
    "rows_listed",
    "target_array",
]

MAX_LISTED = 10
FLOAT32_MAX = float(np.finfo(np.float32).max)


def format_invalid(invalid, what="SMILES") -> str:
    listed = "; ".join(str(item) for item in invalid[:MAX_LISTED])
    more = f" (and {len(invalid) - MAX_LISTED} more)" if len(invalid) > MAX_LISTED else ""
    return f"{len(invalid)} invalid {what}: {listed}{more}"


def check_smiles_input(X) -> list:
    """Turn the supported containers of SMILES into a list, refusing the rest."""
    if isinstance(X, (str, bytes)):
        raise TypeError(
            "X must be a sequence of SMILES strings (list, tuple, 1-D array or pandas Series); "
            f"got a single string {X!r:.60}. Wrap it in a list: [smiles]."
        )
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValueError(
                f"X is a DataFrame with {X.shape[1]} columns; pass the SMILES column alone, e.g. df['smiles']"
            )
        X = X.iloc[:, 0]
    if isinstance(X, pd.Series):
        return X.tolist()
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        if X.ndim != 1:
            raise ValueError(f"X must be 1-D (one SMILES per row), got an array of shape {X.shape}")
        return X.tolist()
    if isinstance(X, torch.Tensor):
        raise TypeError("X must hold SMILES strings, got a torch.Tensor")
    try:
        return list(X)
    except TypeError:
        raise TypeError(
            f"X must be a sequence of SMILES strings, got {type(X).__name__}"
        ) from None


def is_missing(value) -> bool:
    """None, NaN of any float type, pandas' NA and NaT."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # sequences: not a scalar label
        return False


def rows_listed(rows) -> str:
    rows = list(rows)
    more = f" (and {len(rows) - MAX_LISTED} more)" if len(rows) > MAX_LISTED else ""
    return f"{[int(r) for r in rows[:MAX_LISTED]]}{more}"


def target_array(y, n_samples: int) -> np.ndarray:
    """``y`` as an array of ``n_samples`` rows (1-D or 2-D), dtype kept; shape checked."""
    if y is None:
        raise ValueError("fit needs y (the targets)")
    if hasattr(y, "to_numpy"):  # pandas Series or DataFrame
        y_array = y.to_numpy()
    elif isinstance(y, torch.Tensor):
        y_array = y.detach().cpu().numpy()
    elif isinstance(y, np.ndarray):
        y_array = y
    else:
        # dtype=object keeps each label as given: a plain np.asarray would turn
        # ['a', nan] into the strings 'a', 'nan' and fail on ragged rows.
        try:
            y_array = np.asarray(y, dtype=object)
        except ValueError as error:
            raise ValueError(f"y has rows of different lengths: {error}") from None
    if y_array.dtype == object and y_array.ndim == 1:
        ragged = [k for k, v in enumerate(y_array) if isinstance(v, (list, tuple, np.ndarray))]
        if ragged and len(ragged) < len(y_array):
            raise ValueError(f"y mixes scalars and sequences; rows {rows_listed(ragged)} hold sequences")
        if ragged:
            lengths = {len(y_array[k]) for k in ragged}
            if len(lengths) > 1:
                raise ValueError(f"y has rows of different lengths ({sorted(lengths)})")
            y_array = np.array([list(v) for v in y_array], dtype=object)
    if y_array.ndim == 0 or y_array.ndim > 2:
        raise ValueError(f"y must be 1-D or 2-D (n_samples, n_tasks), got shape {y_array.shape}")
    if len(y_array) != n_samples:
        raise ValueError(f"X and y have different lengths: {n_samples} SMILES but {len(y_array)} targets")
    if y_array.ndim == 2 and y_array.shape[1] == 0:
        raise ValueError("y has zero task columns")
    return y_array


def as_float_targets(y_array: np.ndarray, rows: np.ndarray, allow_nan: bool) -> np.ndarray:
    """Check numeric targets; ``rows`` maps each entry to its row in the user's input."""
    if np.iscomplexobj(y_array) or any(isinstance(v, complex) for v in np.ravel(y_array)[:1000]):
        raise ValueError("y holds complex numbers; targets must be real")
    try:
        values = np.asarray(y_array, dtype=np.float64)
    except (TypeError, ValueError):
        bad = []
        for position, value in enumerate(np.asarray(y_array, dtype=object).reshape(len(y_array), -1)):
            for item in value:
                try:
                    float(item)
                except (TypeError, ValueError):
                    bad.append(f"row {int(rows[position])}: {item!r}")
            if len(bad) >= MAX_LISTED:
                break
        raise ValueError(f"y must be numeric; non-numeric values at {'; '.join(bad)}") from None
    flat = values.reshape(len(values), -1)
    inf_rows = rows[np.isinf(flat).any(1)]
    if len(inf_rows):
        raise ValueError(f"y contains infinite values at rows {rows_listed(inf_rows)}")
    nan_rows = rows[np.isnan(flat).any(1)]
    if len(nan_rows) and not allow_nan:
        raise ValueError(
            f"y contains NaN at rows {rows_listed(nan_rows)}. A 1-D target has no missing-label mask: "
            "drop those rows, or pass y as a 2-D array (n_samples, n_tasks) where NaN marks a missing label."
        )
    too_large = rows[(np.abs(np.nan_to_num(flat)) > FLOAT32_MAX).any(1)]
    if len(too_large):
        raise ValueError(
            f"y has values beyond the float32 range (about 3.4e38) at rows {rows_listed(too_large)}; "
            "rescale the target (e.g. take its logarithm)"
        )
    if values.ndim == 2:
        empty = np.flatnonzero(np.isnan(values).all(0))
        if len(empty):
            raise ValueError(f"y has no label at all in task column(s) {empty.tolist()} (after skipped rows)")
    return values


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of ``n_samples`` checked weights, or None.

    One weight per row of X: finite, non-negative, not all zero, within the
    float32 range. Every error names the offending rows.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, (str, bytes)):
        raise TypeError(f"sample_weight must be a sequence of numbers, one per SMILES; got {sample_weight!r:.60}")
    if hasattr(sample_weight, "to_numpy"):  # pandas Series
        values = sample_weight.to_numpy()
    elif isinstance(sample_weight, torch.Tensor):
        values = sample_weight.detach().cpu().numpy()
    else:
        try:
            values = np.asarray(sample_weight)
        except ValueError as error:
            raise ValueError(f"sample_weight must be 1-D, one weight per SMILES: {error}") from None
    if values.ndim != 1:
        what = "a scalar" if values.ndim == 0 else f"an array of shape {values.shape}"
        raise ValueError(f"sample_weight must be 1-D, one weight per SMILES; got {what}")
    if len(values) != n_samples:
        raise ValueError(
            f"X and sample_weight have different lengths: {n_samples} SMILES but {len(values)} weights"
        )
    if values.dtype.kind == "c":
        raise ValueError("sample_weight holds complex numbers; weights must be real")
    if values.dtype.kind in "US" and not isinstance(sample_weight, np.ndarray):
        values = np.asarray(list(sample_weight), dtype=object)  # each item as given: [1, "a"] stays mixed
    if values.dtype.kind not in "biuf":
        bad = [
            f"row {row}: {value!r}" for row, value in enumerate(values.tolist())
            if isinstance(value, (complex, np.complexfloating)) or not isinstance(value, (int, float, np.number))
        ]
        if bad:
            raise ValueError(
                f"sample_weight must be numeric (real numbers); non-numeric values at {'; '.join(bad[:MAX_LISTED])}"
            )
    values = values.astype(np.float64)
    rows = np.arange(n_samples)
    not_finite = rows[~np.isfinite(values)]
    if len(not_finite):
        raise ValueError(f"sample_weight must be finite; NaN or infinite at rows {rows_listed(not_finite)}")
    negative = rows[values < 0]
    if len(negative):
        raise ValueError(f"sample_weight must be non-negative; negative at rows {rows_listed(negative)}")
    too_large = rows[values > FLOAT32_MAX]
    if len(too_large):
        raise ValueError(
            f"sample_weight has values beyond the float32 range at rows {rows_listed(too_large)}; "
            "only the ratios of the weights matter, so divide them by their maximum"
        )
    if not (values > 0).any():
        raise ValueError("sample_weight is 0 for every row; at least one molecule needs a positive weight")
    return values
