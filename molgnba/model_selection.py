"""Splitting molecules into train, validation and test sets.

Random splits (:func:`train_valid_test_split`), Bemis-Murcko scaffold splits
(:func:`scaffold_split`, :func:`scaffold_groups`) and a scaffold-aware
cross-validation splitter (:class:`ScaffoldKFold`) that can be passed as ``cv=`` to
:func:`sklearn.model_selection.cross_val_score` or
:class:`sklearn.model_selection.GridSearchCV`.

Every function accepts the SMILES as a list, a tuple, a 1-D numpy array or a pandas
Series (a single-column DataFrame or an ``(n, 1)`` array is accepted too).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import GroupKFold
from sklearn.utils import check_random_state, indexable
from sklearn.utils.validation import check_array

from molgnba.utils._validation import num_samples

__all__ = [
    "ScaffoldKFold",
    "scaffold_groups",
    "scaffold_split",
    "train_valid_test_split",
]

_FRACTIONS_TOLERANCE = 1e-6


# --------------------------------------------------------------------------- helpers


def _as_smiles_list(smiles, *, name: str = "smiles") -> list:
    """Return ``smiles`` as a plain list, accepting the usual containers.

    Raises a ``TypeError`` for a bare string (a common mistake: iterating over it would
    give one "molecule" per character) and a ``ValueError`` for 2-D input with more
    than one column.
    """
    if isinstance(smiles, (str, bytes)):
        raise TypeError(
            f"{name} must be a sequence of SMILES strings, got a single string "
            f"{smiles!r}; wrap it in a list."
        )
    # pandas objects, without importing pandas.
    if hasattr(smiles, "iloc") and hasattr(smiles, "columns"):
        if smiles.shape[1] != 1:
            raise ValueError(
                f"{name} must be a 1-D sequence of SMILES; got a DataFrame with "
                f"{smiles.shape[1]} columns."
            )
        return smiles.iloc[:, 0].tolist()
    if hasattr(smiles, "iloc"):
        return smiles.tolist()
    if isinstance(smiles, np.ndarray):
        if smiles.ndim == 2 and smiles.shape[1] == 1:
            return smiles.ravel().tolist()
        if smiles.ndim != 1:
            raise ValueError(
                f"{name} must be a 1-D sequence of SMILES; got an array of shape "
                f"{smiles.shape}."
            )
        return smiles.tolist()
    if isinstance(smiles, Sequence):
        return list(smiles)
    raise TypeError(
        f"{name} must be a list, tuple, numpy array or pandas Series of SMILES "
        f"strings, got {type(smiles).__name__}."
    )


def _validate_fractions(fractions) -> tuple[float, float, float]:
    """Check that ``fractions`` holds three positive numbers summing to one."""
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Sequence):
        raise ValueError(
            "fractions must be a sequence of three numbers (train, valid, test), "
            f"got {fractions!r}."
        )
    if len(fractions) != 3:
        raise ValueError(
            "fractions must have exactly three entries (train, valid, test), "
            f"got {len(fractions)}: {tuple(fractions)!r}."
        )
    values = []
    for part, value in zip(("train", "valid", "test"), fractions):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"The {part} fraction must be a number, got {value!r}.")
        value = float(value)
        if not math.isfinite(value) or value <= 0:
            raise ValueError(
                f"Every fraction must be positive and finite; the {part} fraction "
                f"is {value!r}."
            )
        values.append(value)
    total = sum(values)
    if abs(total - 1.0) > _FRACTIONS_TOLERANCE:
        raise ValueError(
            f"fractions must sum to 1 (within {_FRACTIONS_TOLERANCE:g}); "
            f"{tuple(values)!r} sums to {total!r}."
        )
    return values[0], values[1], values[2]


def _split_sizes(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Sizes of the three parts by the largest-remainder method.

    The sizes sum to ``n`` and each differs from ``fraction * n`` by less than one.
    Ties in the remainder go to the earlier part (train before valid before test).
    """
    exact = [f * n for f in fractions]
    sizes = [math.floor(x) for x in exact]
    remainders = [x - s for x, s in zip(exact, sizes)]
    order = sorted(range(3), key=lambda i: (-remainders[i], i))
    for i in order[: n - sum(sizes)]:
        sizes[i] += 1
    return sizes[0], sizes[1], sizes[2]


def _as_index_array(indices) -> np.ndarray:
    return np.sort(np.asarray(indices, dtype=np.intp))


@functools.lru_cache(maxsize=1 << 16)
def _scaffold_of(smiles: str, include_chirality: bool) -> str | None:
    """Bemis-Murcko scaffold SMILES of one molecule, or None if it is not a valid SMILES.

    Valid means valid by :func:`molgnba.featurize.parse_smiles`, the rule featurization
    follows. An acyclic molecule has the empty scaffold ``""``.
    """
    from rdkit.Chem.Scaffolds import MurckoScaffold

    from molgnba.featurize import parse_smiles

    mol, _ = parse_smiles(smiles)
    if mol is None:
        return None
    try:
        return MurckoScaffold.MurckoScaffoldSmiles(
            mol=mol, includeChirality=include_chirality
        )
    except Exception:  # RDKit raises several exception types; treat all as unparseable
        return None


# --------------------------------------------------------------------------- public API


def train_valid_test_split(n_or_X, *, fractions=(0.8, 0.1, 0.1), random_state=None):
    """Split sample indices at random into train, validation and test parts.

    Parameters
    ----------
    n_or_X : int or array-like
        The number of samples, or the samples themselves (a list of SMILES, an array,
        a DataFrame, ...), of which only the length is used.

    fractions : tuple of three floats, default=(0.8, 0.1, 0.1)
        Fractions of the samples in the train, validation and test parts. Each must be
        positive and together they must sum to 1 (within 1e-6). The part sizes are
        rounded by the largest-remainder method, so they sum to the number of samples
        and each is within one of ``fraction * n_samples``; a small data set can
        therefore give an empty validation or test part.

    random_state : int, RandomState instance or None, default=None
        Controls the shuffling. Pass an int for reproducible output across calls.

    Returns
    -------
    train : ndarray of shape (n_train,)
        Sorted indices of the training samples.

    valid : ndarray of shape (n_valid,)
        Sorted indices of the validation samples.

    test : ndarray of shape (n_test,)
        Sorted indices of the test samples.

    See Also
    --------
    scaffold_split : Split so that no scaffold is shared between the parts.

    Examples
    --------
    >>> from molgnba.model_selection import train_valid_test_split
    >>> train, valid, test = train_valid_test_split(10, random_state=0)
    >>> len(train), len(valid), len(test)
    (8, 1, 1)
    >>> sorted([*train, *valid, *test]) == list(range(10))
    True
    """
    if isinstance(n_or_X, numbers.Integral) and not isinstance(n_or_X, bool):
        n_samples = int(n_or_X)
        if n_samples < 0:
            raise ValueError(f"The number of samples must be >= 0, got {n_samples}.")
    else:
        if isinstance(n_or_X, (str, bytes)):
            raise TypeError(
                "n_or_X must be an int or a sequence of samples, got a single string."
            )
        n_samples = num_samples(n_or_X)
    fractions = _validate_fractions(fractions)
    if n_samples == 0:
        raise ValueError("Cannot split an empty set of samples.")
    n_train, n_valid, _ = _split_sizes(n_samples, fractions)
    permutation = check_random_state(random_state).permutation(n_samples)
    return (
        _as_index_array(permutation[:n_train]),
        _as_index_array(permutation[n_train : n_train + n_valid]),
        _as_index_array(permutation[n_train + n_valid :]),
    )


def scaffold_groups(smiles, include_chirality=False):
    """Integer labels grouping molecules by their Bemis-Murcko scaffold.

    Molecules with the same scaffold get the same label. Labels are numbered
    0, 1, 2, ... in order of first appearance. All acyclic molecules share the empty
    scaffold, hence one label, as in the standard method. Each invalid entry (by
    :func:`molgnba.featurize.parse_smiles`, the rule the estimators follow: an
    unparseable SMILES, an empty string, a non-string, ...) gets a label of its own,
    so that invalid entries are not lumped into one large group.

    Parameters
    ----------
    smiles : list, tuple, ndarray or pandas Series of str
        The molecules.

    include_chirality : bool, default=False
        Whether stereochemistry is kept in the scaffold, so that enantiomeric
        scaffolds form different groups.

    Returns
    -------
    groups : ndarray of shape (n_molecules,), dtype=intp
        The group label of each molecule.

    See Also
    --------
    ScaffoldKFold : Cross-validation with these groups.

    Examples
    --------
    >>> from molgnba.model_selection import scaffold_groups
    >>> scaffold_groups(["c1ccccc1O", "CCO", "c1ccccc1N", "not a smiles", "CCC"])
    array([0, 1, 0, 2, 1])
    """
    from rdkit import rdBase

    smiles = _as_smiles_list(smiles)
    include_chirality = bool(include_chirality)
    labels = np.empty(len(smiles), dtype=np.intp)
    label_of_scaffold: dict[str, int] = {}
    next_label = 0
    with rdBase.BlockLogs():
        for i, smi in enumerate(smiles):
            scaffold = _scaffold_of(smi, include_chirality) if isinstance(smi, str) else None
            if scaffold is None:
                labels[i] = next_label
                next_label += 1
                continue
            label = label_of_scaffold.get(scaffold)
            if label is None:
                label = label_of_scaffold[scaffold] = next_label
                next_label += 1
            labels[i] = label
    return labels


def _index_sets(groups: np.ndarray) -> list[list[int]]:
    """Indices of each group, groups in order of their label (= first appearance)."""
    sets: list[list[int]] = [[] for _ in range(int(groups.max()) + 1 if len(groups) else 0)]
    for i, g in enumerate(groups.tolist()):
        sets[g].append(i)
    return sets


def scaffold_split(
    smiles,
    *,
    fractions=(0.8, 0.1, 0.1),
    random_state=None,
    include_chirality=False,
    balanced=False,
):
    """Split molecules into train, validation and test parts by scaffold.

    Molecules sharing a Bemis-Murcko scaffold always land in the same part, so the
    test part measures generalisation to new chemotypes.

    Parameters
    ----------
    smiles : list, tuple, ndarray or pandas Series of str
        The molecules.

    fractions : tuple of three floats, default=(0.8, 0.1, 0.1)
        Target fractions of the train, validation and test parts; positive, summing
        to 1. Since whole scaffold sets are moved, the parts reach them only
        approximately.

    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle of the balanced variant. Ignored when
        ``balanced=False``, which is deterministic.

    include_chirality : bool, default=False
        Whether stereochemistry is kept in the scaffolds.

    balanced : bool, default=False
        Which variant to use:

        - ``False``: the deterministic split of MoleculeNet (Wu et al. 2018) and
          Hu et al. (2020). Scaffold sets are sorted by size, largest first, ties
          broken by the index of their first molecule, in the same (reversed) order
          as DeepChem, and each set goes to train while it fits under
          ``fractions[0] * n``, else to validation while train + validation fit
          under ``(fractions[0] + fractions[1]) * n``, else to test. The test part
          thus gets the rarest scaffolds.
        - ``True``: the balanced scaffold split of chemprop. Sets larger than half
          the validation or the test size go first, the rest after them, each group
          shuffled with ``random_state``; each set goes to train if it fits, else to
          validation if it fits, else to test.

    Returns
    -------
    train : ndarray of shape (n_train,)
        Sorted indices of the training molecules.

    valid : ndarray of shape (n_valid,)
        Sorted indices of the validation molecules.

    test : ndarray of shape (n_test,)
        Sorted indices of the test molecules.

    See Also
    --------
    scaffold_groups : The scaffold labels this split is based on.
    train_valid_test_split : A random split.

    Notes
    -----
    Acyclic molecules all share the empty scaffold and so form one set, as in the
    standard method. A SMILES that RDKit cannot parse forms a set of its own, so
    invalid entries are spread like singletons rather than lumped into one set.

    References
    ----------
    Bemis, G. W. & Murcko, M. A. The properties of known drugs. 1. Molecular
    frameworks. J. Med. Chem. 39, 2887-2893 (1996).

    Examples
    --------
    >>> from molgnba.model_selection import scaffold_split
    >>> smiles = ["c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "C1CCCCC1O", "C1CCCCC1N",
    ...           "c1ccncc1", "CCO", "c1ccc2ccccc2c1", "C1CC1", "C1CCC1"]
    >>> train, valid, test = scaffold_split(smiles, fractions=(0.6, 0.2, 0.2))
    >>> train, valid, test
    (array([0, 1, 2, 3, 4, 9]), array([7, 8]), array([5, 6]))
    """
    smiles = _as_smiles_list(smiles)
    frac_train, frac_valid, frac_test = _validate_fractions(fractions)
    n = len(smiles)
    if n == 0:
        raise ValueError("Cannot split an empty set of molecules.")
    index_sets = _index_sets(scaffold_groups(smiles, include_chirality=include_chirality))

    train: list[int] = []
    valid: list[int] = []
    test: list[int] = []
    if balanced:
        train_size, valid_size, test_size = frac_train * n, frac_valid * n, frac_test * n
        big = [s for s in index_sets if len(s) > valid_size / 2 or len(s) > test_size / 2]
        small = [s for s in index_sets if not (len(s) > valid_size / 2 or len(s) > test_size / 2)]
        rng = check_random_state(random_state)
        ordered = [big[i] for i in rng.permutation(len(big))] + [
            small[i] for i in rng.permutation(len(small))
        ]
        for index_set in ordered:
            if len(train) + len(index_set) <= train_size:
                train += index_set
            elif len(valid) + len(index_set) <= valid_size:
                valid += index_set
            else:
                test += index_set
    else:
        train_cutoff = frac_train * n
        valid_cutoff = (frac_train + frac_valid) * n
        ordered = sorted(index_sets, key=lambda s: (len(s), s[0]), reverse=True)
        for index_set in ordered:
            if len(train) + len(index_set) > train_cutoff:
                if len(train) + len(valid) + len(index_set) > valid_cutoff:
                    test += index_set
                else:
                    valid += index_set
            else:
                train += index_set
    return _as_index_array(train), _as_index_array(valid), _as_index_array(test)


class ScaffoldKFold(GroupKFold):
    """K-fold cross-validation with molecules grouped by Bemis-Murcko scaffold.

    A :class:`~sklearn.model_selection.GroupKFold` whose groups are, unless given,
    the scaffolds of the SMILES passed as ``X``: no scaffold appears in more than one
    test fold and every molecule is in exactly one test fold. Use it as ``cv=`` in
    :func:`~sklearn.model_selection.cross_val_score`,
    :class:`~sklearn.model_selection.GridSearchCV` and friends.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.

    shuffle : bool, default=False
        If False, the scaffold sets are dealt out deterministically, the largest first
        (ties in order of first appearance), each to the fold with the fewest
        molecules so far. If True, sets of equal size are dealt in random order and
        the folds are numbered at random, so the folds change with ``random_state``
        while staying balanced in size.

    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle; only allowed when ``shuffle=True``.

    include_chirality : bool, default=False
        Whether stereochemistry is kept in the scaffolds.

    See Also
    --------
    scaffold_groups : The scaffold labels used as groups.
    scaffold_split : A single train / validation / test split by scaffold.

    Notes
    -----
    ``split(X, y=None, groups=None)`` computes the groups with
    :func:`scaffold_groups` from ``X``, which must then be a 1-D sequence of SMILES
    (list, tuple, array, pandas Series). Pass ``groups`` to use other group labels,
    for example precomputed scaffolds when ``X`` is a feature matrix. SMILES that
    RDKit cannot parse each form a group of their own.

    Examples
    --------
    >>> from molgnba.model_selection import ScaffoldKFold
    >>> smiles = ["c1ccccc1O", "c1ccccc1N", "C1CCCCC1O", "C1CCCCC1N", "CCO", "CCN"]
    >>> cv = ScaffoldKFold(n_splits=3)
    >>> for train, test in cv.split(smiles):
    ...     print(train, test)
    [2 3 4 5] [0 1]
    [0 1 4 5] [2 3]
    [0 1 2 3] [4 5]
    """

    def __init__(
        self, n_splits=5, *, shuffle=False, random_state=None, include_chirality=False
    ):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)
        self.include_chirality = include_chirality

    def split(self, X, y=None, groups=None):
        """Generate indices to split the molecules into training and test sets.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str
            The SMILES. Only their number is used when ``groups`` is given, and
            then ``X`` may be any array-like (a feature matrix, say).

        y : array-like of shape (n_samples,), default=None
            Ignored; present for API compatibility.

        groups : array-like of shape (n_samples,), default=None
            Group labels. If None, the Bemis-Murcko scaffolds of ``X``.

        Yields
        ------
        train : ndarray
            The training set indices for that split.

        test : ndarray
            The testing set indices for that split.
        """
        if groups is None:
            try:
                groups = scaffold_groups(X, include_chirality=self.include_chirality)
            except (TypeError, ValueError) as exc:
                raise type(exc)(
                    f"{exc} ScaffoldKFold computes scaffolds from X when groups is "
                    "None; pass the SMILES as X, or pass groups= explicitly."
                ) from exc
        groups = check_array(groups, input_name="groups", ensure_2d=False, dtype=None)
        n_groups = len(np.unique(groups))
        if self.n_splits > n_groups:
            raise ValueError(
                f"ScaffoldKFold(n_splits={self.n_splits}) needs at least "
                f"{self.n_splits} distinct scaffolds (groups), but the data have "
                f"only {n_groups}. Use fewer splits."
            )
        # The checks above run at the call; the folds are dealt lazily, as GroupKFold does.
        return self._iter_splits(X, y, groups)

    def _iter_splits(self, X, y, groups):
        # GroupKFold deals its folds through a private hook: this is its split
        # (checks, then train = every sample outside the test fold) on our folds.
        X, y, groups = indexable(X, y, groups)
        n_samples = num_samples(X)
        if self.n_splits > n_samples:
            raise ValueError(
                f"Cannot have number of splits n_splits={self.n_splits} greater than the "
                f"number of samples: n_samples={n_samples}."
            )
        indices = np.arange(n_samples)
        for test_index in self._scaffold_test_folds(groups):
            test_mask = np.zeros(n_samples, dtype=bool)
            test_mask[test_index] = True
            yield indices[~test_mask], indices[test_mask]

    def _scaffold_test_folds(self, groups):
        groups = check_array(groups, input_name="groups", ensure_2d=False, dtype=None)
        _, group_idx = np.unique(groups, return_inverse=True)
        group_idx = group_idx.ravel()
        n_groups = int(group_idx.max()) + 1
        sizes = np.bincount(group_idx, minlength=n_groups)
        first_seen = np.full(n_groups, len(group_idx), dtype=np.intp)
        np.minimum.at(first_seen, group_idx, np.arange(len(group_idx)))

        if self.shuffle:
            rng = check_random_state(self.random_state)
            tie_break = rng.permutation(n_groups)
            fold_names = rng.permutation(self.n_splits)
        else:
            tie_break = first_seen
            fold_names = np.arange(self.n_splits)
        # Largest sets first, each to the currently lightest fold (lowest number on ties).
        order = np.lexsort((tie_break, -sizes))
        fold_load = np.zeros(self.n_splits, dtype=np.intp)
        fold_of_group = np.empty(n_groups, dtype=np.intp)
        for g in order:
            lightest = int(np.argmin(fold_load))
            fold_load[lightest] += sizes[g]
            fold_of_group[g] = fold_names[lightest]
        fold_of_sample = fold_of_group[group_idx]
        for fold in range(self.n_splits):
            yield np.flatnonzero(fold_of_sample == fold)
