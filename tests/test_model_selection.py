"""Tests of molgnba.model_selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from molgnba.model_selection import (
    ScaffoldKFold,
    scaffold_groups,
    scaffold_split,
    train_valid_test_split,
)

RINGS = [
    "c1ccccc1", "C1CCCCC1", "c1ccncc1", "c1ccc2ccccc2c1", "C1CCNCC1", "c1ccsc1",
    "c1ccoc1", "C1CC1", "C1CCC1", "C1CCOC1", "c1ccc(-c2ccccc2)cc1", "c1cnc2ccccc2c1",
]  # fmt: skip
SUBSTITUENTS = ["", "C", "O", "N", "Cl", "CC", "OC", "F"]
ACYCLIC = ["CCO", "CCN", "CCCC", "CC(=O)O", "CCOCC"]
INVALID = ["not a smiles", "C1CC", "c1cccc", "X"]


def make_smiles() -> list[str]:
    """Molecules in 12 ring scaffolds of decreasing size (8, 7, ..., 1 members, then
    singletons), plus acyclics (one shared empty scaffold) and unparseable SMILES."""
    smiles = []
    for k, ring in enumerate(RINGS):
        smiles += [sub + ring for sub in SUBSTITUENTS[: max(1, 8 - k)]]
    smiles += ACYCLIC + INVALID
    # interleave deterministically so that groups are not contiguous
    return [smiles[i] for i in np.random.RandomState(0).permutation(len(smiles))]


SMILES = make_smiles()
N = len(SMILES)


def smiles_lengths(X):
    return np.array([[len(s)] for s in X], dtype=float)


def assert_partition(parts, n):
    joined = np.concatenate(parts)
    assert len(joined) == n
    np.testing.assert_array_equal(np.sort(joined), np.arange(n))


def assert_sorted_int_arrays(parts):
    for part in parts:
        assert isinstance(part, np.ndarray)
        assert np.issubdtype(part.dtype, np.integer)
        assert np.all(np.diff(part) > 0)


# Tests on all of BBBP compute 2,000 scaffolds a call (seconds): they are in the slow tier.
@pytest.fixture(scope="module")
def bbbp_smiles(shared_data_dir) -> list[str]:
    return pd.read_csv(shared_data_dir / "bbbp.csv")["smiles"].tolist()


CONTAINERS = {
    "list": list,
    "tuple": tuple,
    "ndarray": lambda s: np.asarray(s, dtype=object),
    "str ndarray": np.asarray,
    "column ndarray": lambda s: np.asarray(s, dtype=object).reshape(-1, 1),
    "Series": pd.Series,
    "DataFrame": lambda s: pd.DataFrame({"smiles": s}),
}


BAD_FRACTIONS = [
    ((0.8, 0.2), "exactly three"),
    ((0.5, 0.25, 0.15, 0.1), "exactly three"),
    ((0.8, 0.1, 0.2), "sum to 1"),
    ((1.0, 0.0, 0.0), "positive"),
    ((0.9, -0.1, 0.2), "positive"),
    ((float("nan"), 0.1, 0.1), "positive and finite"),
    (("a", 0.1, 0.1), "must be a number"),
    (0.8, "sequence of three"),
]


class TestTrainValidTestSplit:
    @pytest.mark.parametrize("n", [1, 2, 10, 101, 1000])
    @pytest.mark.parametrize(
        "fractions", [(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (1 / 3, 1 / 3, 1 / 3)]
    )
    def test_every_index_is_in_exactly_one_part(self, n, fractions):
        parts = train_valid_test_split(n, fractions=fractions, random_state=0)
        assert_partition(parts, n)
        assert_sorted_int_arrays(parts)

    @pytest.mark.parametrize("n", [7, 10, 99, 1000, 1001])
    @pytest.mark.parametrize("fractions", [(0.8, 0.1, 0.1), (0.7, 0.2, 0.1), (0.5, 0.3, 0.2)])
    def test_sizes_respect_the_fractions_within_rounding(self, n, fractions):
        parts = train_valid_test_split(n, fractions=fractions, random_state=0)
        for part, fraction in zip(parts, fractions):
            assert abs(len(part) - fraction * n) < 1

    def test_same_seed_gives_the_same_split(self):
        a = train_valid_test_split(500, random_state=42)
        b = train_valid_test_split(500, random_state=42)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)

    def test_different_seeds_give_different_splits(self):
        a = train_valid_test_split(500, random_state=0)
        b = train_valid_test_split(500, random_state=1)
        assert not np.array_equal(a[2], b[2])

    def test_accepts_a_random_state_instance(self):
        parts = train_valid_test_split(50, random_state=np.random.RandomState(3))
        assert_partition(parts, 50)

    @pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
    def test_uses_the_length_of_a_sequence_of_samples(self, container):
        by_data = train_valid_test_split(container(SMILES), random_state=0)
        by_count = train_valid_test_split(N, random_state=0)
        for x, y in zip(by_data, by_count):
            np.testing.assert_array_equal(x, y)

    @pytest.mark.parametrize("fractions, message", BAD_FRACTIONS)
    def test_invalid_fractions_are_rejected(self, fractions, message):
        with pytest.raises(ValueError, match=message):
            train_valid_test_split(10, fractions=fractions)

    def test_fractions_summing_to_one_within_tolerance_are_accepted(self):
        parts = train_valid_test_split(10, fractions=(0.8, 0.1, 0.1 + 5e-7), random_state=0)
        assert_partition(parts, 10)

    def test_empty_input_is_rejected(self):
        with pytest.raises(ValueError, match="empty"):
            train_valid_test_split(0)
        with pytest.raises(ValueError, match="empty"):
            train_valid_test_split([])

    def test_single_string_is_rejected(self):
        with pytest.raises(TypeError, match="single string"):
            train_valid_test_split("CCO")


class TestScaffoldGroups:
    def test_same_scaffold_same_label_in_order_of_first_appearance(self):
        groups = scaffold_groups(["c1ccccc1O", "CCO", "c1ccccc1N", "C1CCCCC1", "Cc1ccccc1"])
        np.testing.assert_array_equal(groups, [0, 1, 0, 2, 0])
        assert np.issubdtype(groups.dtype, np.integer)

    def test_acyclic_molecules_share_the_empty_scaffold(self):
        groups = scaffold_groups(ACYCLIC)
        assert len(set(groups.tolist())) == 1

    def test_each_unparseable_smiles_gets_its_own_group(self):
        smiles = ["CCO", *INVALID, "", None, "CCN"]
        groups = scaffold_groups(smiles)
        assert groups[0] == groups[-1]
        invalid_groups = groups[1:-1].tolist()
        assert len(set(invalid_groups)) == len(invalid_groups)
        assert groups[0] not in invalid_groups

    def test_include_chirality_separates_enantiomeric_scaffolds(self):
        smiles = ["C1CC[C@H](c2ccccc2)N1", "C1CC[C@@H](c2ccccc2)N1"]
        assert len(set(scaffold_groups(smiles).tolist())) == 1
        assert len(set(scaffold_groups(smiles, include_chirality=True).tolist())) == 2

    @pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
    def test_accepts_common_containers(self, container):
        np.testing.assert_array_equal(scaffold_groups(container(SMILES)), scaffold_groups(SMILES))

    def test_rejects_a_single_string(self):
        with pytest.raises(TypeError, match="single string"):
            scaffold_groups("c1ccccc1")

    def test_rejects_a_two_column_array(self):
        with pytest.raises(ValueError, match="1-D"):
            scaffold_groups(np.zeros((3, 2)))

    def test_empty_input_gives_empty_labels(self):
        assert scaffold_groups([]).shape == (0,)


def scaffolds_of_parts(smiles, parts, include_chirality=False):
    groups = scaffold_groups(smiles, include_chirality=include_chirality)
    return [set(groups[part].tolist()) for part in parts]


class TestScaffoldSplit:
    @pytest.mark.parametrize("balanced", [False, True])
    def test_partition_and_scaffold_disjointness(self, balanced):
        parts = scaffold_split(SMILES, balanced=balanced, random_state=0)
        assert_partition(parts, N)
        assert_sorted_int_arrays(parts)
        train, valid, test = scaffolds_of_parts(SMILES, parts)
        assert not (train & valid or train & test or valid & test)

    @pytest.mark.slow
    @pytest.mark.parametrize("balanced", [False, True])
    def test_on_bbbp_parts_are_disjoint_by_scaffold_and_near_the_fractions(
        self, bbbp_smiles, balanced
    ):
        n = len(bbbp_smiles)
        parts = scaffold_split(bbbp_smiles, balanced=balanced, random_state=0)
        assert_partition(parts, n)
        train, valid, test = scaffolds_of_parts(bbbp_smiles, parts)
        assert not (train & valid or train & test or valid & test)
        assert len(parts[0]) <= 0.8 * n
        for part, fraction in zip(parts, (0.8, 0.1, 0.1)):
            assert abs(len(part) - fraction * n) <= 0.02 * n

    def test_default_is_the_deterministic_moleculenet_split(self):
        smiles = ["c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "C1CCCCC1O", "C1CCCCC1N",
                  "c1ccncc1", "CCO", "c1ccc2ccccc2c1", "C1CC1", "C1CCC1"]  # fmt: skip
        train, valid, test = scaffold_split(smiles, fractions=(0.6, 0.2, 0.2))
        # sets by size, largest first, equal sizes by first index, latest first
        np.testing.assert_array_equal(train, [0, 1, 2, 3, 4, 9])
        np.testing.assert_array_equal(valid, [7, 8])
        np.testing.assert_array_equal(test, [5, 6])

    def test_default_ignores_random_state(self):
        a = scaffold_split(SMILES, random_state=0)
        b = scaffold_split(SMILES, random_state=123)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)

    def test_largest_scaffold_set_goes_to_train(self):
        train, _, _ = scaffold_split(SMILES)
        groups = scaffold_groups(SMILES)
        largest = np.bincount(groups).argmax()
        assert set(np.flatnonzero(groups == largest)) <= set(train.tolist())

    @pytest.mark.slow
    def test_balanced_same_seed_gives_the_same_split(self, bbbp_smiles):
        a = scaffold_split(bbbp_smiles, balanced=True, random_state=7)
        b = scaffold_split(bbbp_smiles, balanced=True, random_state=7)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)

    @pytest.mark.slow
    def test_balanced_different_seeds_give_different_splits(self, bbbp_smiles):
        a = scaffold_split(bbbp_smiles, balanced=True, random_state=0)
        b = scaffold_split(bbbp_smiles, balanced=True, random_state=1)
        assert not np.array_equal(a[2], b[2])

    def test_balanced_keeps_train_and_valid_within_their_sizes(self):
        train, valid, _ = scaffold_split(SMILES, balanced=True, random_state=0)
        assert len(train) <= 0.8 * N and len(valid) <= 0.1 * N

    def test_unparseable_smiles_are_not_lumped_together(self):
        smiles = [f"c1ccccc1{'C' * k}" for k in range(20)] + [f"invalid{k}(" for k in range(20)]
        smiles += [f"C1CCCCC1{'O' * (k % 3)}N" for k in range(10)] + ["c1ccncc1", "C1CC1"] * 5
        parts = scaffold_split(smiles, fractions=(0.4, 0.3, 0.3))
        invalid = set(range(20, 40))
        # one lumped set of 20 would land wholly in one part; spread, they reach two
        assert sum(bool(invalid & set(p.tolist())) for p in parts) >= 2

    @pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
    def test_accepts_common_containers(self, container):
        expected = scaffold_split(SMILES, balanced=True, random_state=0)
        got = scaffold_split(container(SMILES), balanced=True, random_state=0)
        for x, y in zip(got, expected):
            np.testing.assert_array_equal(x, y)

    def test_include_chirality_keeps_enantiomeric_scaffolds_apart(self):
        smiles = ["C1CC[C@H](c2ccccc2)N1", "C1CC[C@@H](c2ccccc2)N1"] * 3 + ["c1ccccc1"] * 4
        parts = scaffold_split(smiles, fractions=(0.4, 0.3, 0.3), include_chirality=True)
        assert_partition(parts, len(smiles))
        train, valid, test = scaffolds_of_parts(smiles, parts, include_chirality=True)
        assert not (train & valid or train & test or valid & test)
        assert len(parts[1]) == 3 and len(parts[2]) == 3

    @pytest.mark.parametrize("fractions, message", BAD_FRACTIONS)
    def test_invalid_fractions_are_rejected(self, fractions, message):
        with pytest.raises(ValueError, match=message):
            scaffold_split(SMILES, fractions=fractions)

    def test_empty_input_is_rejected(self):
        with pytest.raises(ValueError, match="empty"):
            scaffold_split([])


class TestScaffoldKFold:
    def test_is_a_group_k_fold_with_a_readable_repr(self):
        cv = ScaffoldKFold(3, shuffle=True, random_state=0, include_chirality=True)
        assert isinstance(cv, GroupKFold)
        assert cv.get_n_splits() == 3
        assert "include_chirality=True" in repr(cv)

    @pytest.mark.parametrize("n_splits", [2, 3, 5])
    @pytest.mark.parametrize("shuffle, random_state", [(False, None), (True, 0)])
    def test_every_molecule_in_exactly_one_test_fold_and_no_shared_scaffold(
        self, n_splits, shuffle, random_state
    ):
        cv = ScaffoldKFold(n_splits, shuffle=shuffle, random_state=random_state)
        folds = list(cv.split(SMILES))
        assert len(folds) == n_splits
        for train, test in folds:
            assert_partition([train, test], N)
        assert_partition([test for _, test in folds], N)
        groups = scaffold_groups(SMILES)
        fold_scaffolds = [set(groups[test].tolist()) for _, test in folds]
        for i in range(n_splits):
            for j in range(i + 1, n_splits):
                assert not fold_scaffolds[i] & fold_scaffolds[j]

    @pytest.mark.slow
    def test_folds_on_bbbp_are_scaffold_disjoint_and_balanced(self, bbbp_smiles):
        folds = list(ScaffoldKFold(5).split(bbbp_smiles))
        assert_partition([test for _, test in folds], len(bbbp_smiles))
        groups = scaffold_groups(bbbp_smiles)
        seen: set = set()
        for _, test in folds:
            scaffolds = set(groups[test].tolist())
            assert not scaffolds & seen
            seen |= scaffolds
        sizes = [len(test) for _, test in folds]
        assert max(sizes) - min(sizes) <= np.bincount(groups).max()

    def test_without_shuffle_the_folds_are_deterministic(self):
        a = [test for _, test in ScaffoldKFold(4).split(SMILES)]
        b = [test for _, test in ScaffoldKFold(4).split(list(SMILES))]
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)

    def test_same_seed_gives_the_same_folds(self):
        a = [test for _, test in ScaffoldKFold(4, shuffle=True, random_state=3).split(SMILES)]
        b = [test for _, test in ScaffoldKFold(4, shuffle=True, random_state=3).split(SMILES)]
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)

    def test_different_seeds_give_different_folds(self):
        a = [test for _, test in ScaffoldKFold(4, shuffle=True, random_state=0).split(SMILES)]
        b = [test for _, test in ScaffoldKFold(4, shuffle=True, random_state=1).split(SMILES)]
        assert any(not np.array_equal(x, y) for x, y in zip(a, b))

    def test_random_state_without_shuffle_is_rejected(self):
        with pytest.raises(ValueError, match="shuffle"):
            ScaffoldKFold(3, random_state=0)

    def test_fewer_scaffolds_than_splits_is_a_clear_error(self):
        smiles = ["c1ccccc1O", "c1ccccc1N", "CCO", "CCN"]  # two scaffolds
        with pytest.raises(ValueError, match="at least 3 distinct scaffolds.*only 2"):
            list(ScaffoldKFold(3).split(smiles))

    def test_given_groups_are_used_instead_of_scaffolds(self):
        X = np.zeros((6, 4))  # features, not SMILES
        groups = ["a", "a", "b", "b", "c", "c"]
        folds = [set(test.tolist()) for _, test in ScaffoldKFold(3).split(X, groups=groups)]
        assert sorted(map(sorted, folds)) == [[0, 1], [2, 3], [4, 5]]

    def test_feature_matrix_without_groups_is_a_clear_error(self):
        with pytest.raises(ValueError, match="pass groups"):
            list(ScaffoldKFold(3).split(np.zeros((6, 4))))

    @pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
    def test_accepts_common_containers(self, container):
        expected = [test for _, test in ScaffoldKFold(3).split(SMILES)]
        got = [test for _, test in ScaffoldKFold(3).split(container(SMILES))]
        for x, y in zip(got, expected):
            np.testing.assert_array_equal(x, y)

    def test_include_chirality_changes_the_groups(self):
        smiles = ["C1CC[C@H](c2ccccc2)N1", "C1CC[C@@H](c2ccccc2)N1"] * 2
        with pytest.raises(ValueError, match="distinct scaffolds"):
            list(ScaffoldKFold(2).split(smiles))
        folds = list(ScaffoldKFold(2, include_chirality=True).split(smiles))
        assert sorted(test.tolist() for _, test in folds) == [[0, 2], [1, 3]]

    def test_works_as_cv_in_cross_val_score(self):
        y = np.random.RandomState(0).normal(size=N)
        model = make_pipeline(FunctionTransformer(smiles_lengths), DummyRegressor())
        scores = cross_val_score(model, SMILES, y, cv=ScaffoldKFold(4), scoring="r2")
        assert scores.shape == (4,)
        assert np.all(np.isfinite(scores))

    def test_works_as_cv_in_grid_search(self):
        y = np.random.RandomState(0).normal(size=N)
        model = make_pipeline(FunctionTransformer(smiles_lengths), DummyRegressor())
        search = GridSearchCV(
            model,
            {"dummyregressor__strategy": ["mean", "median"]},
            cv=ScaffoldKFold(3, shuffle=True, random_state=0),
        )
        search.fit(pd.Series(SMILES), y)
        assert search.n_splits_ == 3
        assert search.best_params_["dummyregressor__strategy"] in {"mean", "median"}


class TestValidityRule:
    """scaffold_groups counts as invalid exactly what molgnba.featurize.parse_smiles rejects."""

    @pytest.mark.parametrize("smiles", ["CCO\x00", "CC O", "\ud800", b"CCO", float("nan"), "", "C(C)(C)(C)(C)C"])
    def test_invalid_entries_get_groups_of_their_own(self, smiles):
        from molgnba.featurize import parse_smiles

        assert parse_smiles(smiles)[0] is None
        groups = scaffold_groups(["CCC", smiles, smiles, "CCN"])
        assert groups.tolist() == [0, 1, 2, 0]

    @pytest.mark.parametrize("smiles", ["CCO ", "*CC", "C[C@H](F)Cl |&1:1|"])
    def test_valid_entries_share_their_scaffold(self, smiles):
        assert scaffold_groups(["CCC", smiles, smiles]).tolist() == [0, 0, 0]
