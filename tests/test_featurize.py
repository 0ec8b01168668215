"""Tests of molgnba.featurize: atom/bond codes, awkward inputs, validation, caching, registry."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem, rdBase
from torch_geometric.data import Data

from molgnba import featurize
from molgnba.featurize import (
    ExtendedFeaturizer,
    GraphCache,
    HuFeaturizer,
    InvalidSmiles,
    MoleculeFeaturizer,
    check_smiles,
    featurize_smiles,
    get_featurizer,
    register_featurizer,
)

# A spread of chemistry: organics, aromatics, stereo, salts, charges, isotopes,
# explicit hydrogens, single atoms, exotic elements and dummy atoms.
DIVERSE_SMILES = [
    "CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "c1ccc2[nH]ccc2c1", "CC(=O)O",
    "CC(=O)N", "[Na+].[Cl-]", "CC(=O)[O-].[Na+]", "C[C@H](N)C(=O)O", "C[C@@H](N)C(=O)O",
    "F/C=C/F", "F/C=C\\F", "[2H]C", "[H]C([H])([H])[H]", "C", "[Na+]", "O=C=O", "C#N",
    "C1CCCCC1", "CS(=O)(=O)C", "C[N+](C)(C)C", "[O-2]", "[C-4]", "[Fe+3]", "[Fe-4]",
    "[Og]", "*C", "[*]", "[U]", "C[S@](=O)c1ccccc1", "OB(O)c1ccccc1", "[Si](C)(C)(C)C",
    "O=[N+]([O-])c1ccccc1", "C1=CC=CC=C1", "CC=CC", "[NH4+]", "C1CC1C(F)(F)F",
]

FEATURIZERS = [HuFeaturizer, ExtendedFeaturizer]


def graph_of(smiles, featurizer=None):
    return (featurizer or HuFeaturizer())(Chem.MolFromSmiles(smiles))


def bond_codes(graph, i, j):
    """edge_attr rows of every directed edge i -> j."""
    ei = graph.edge_index
    hits = ((ei[0] == i) & (ei[1] == j)).nonzero().flatten()
    return graph.edge_attr[hits].tolist()


@pytest.fixture
def registry():
    """The featurizer registry, its contents restored after the test."""
    saved = dict(featurize._FEATURIZERS)
    yield featurize._FEATURIZERS
    featurize._FEATURIZERS.clear()
    featurize._FEATURIZERS.update(saved)


def _parse_log_status():
    status = {}
    for line in rdBase.LogStatus().splitlines():
        name, _, state = line.strip().partition(":")
        if name:
            status[name] = state == "enabled"
    return status


RDKIT_DEFAULT_LOGS = {"rdApp.debug": False, "rdApp.info": False, "rdApp.warning": True, "rdApp.error": True}


def _set_log_status(status):
    for name, enabled in status.items():
        (rdBase.EnableLog if enabled else rdBase.DisableLog)(name)


@pytest.fixture
def restore_rdkit_logs():
    """Start from RDKit's default log settings; put the original ones back afterwards."""
    original = _parse_log_status()
    _set_log_status(RDKIT_DEFAULT_LOGS)
    yield _parse_log_status()
    _set_log_status(original)


# --------------------------------------------------------------------------- codes
class TestHuFeaturizerCodes:
    @pytest.mark.parametrize(
        "smiles, atomic_number",
        [("C", 6), ("N", 7), ("O", 8), ("F", 9), ("[Na+]", 11), ("[Fe+3]", 26), ("[U]", 92), ("[Og]", 118)],
    )
    def test_atom_type_code_is_atomic_number_minus_one(self, smiles, atomic_number):
        graph = graph_of(smiles)
        assert graph.x[0, 0].item() == atomic_number - 1

    def test_isotopic_hydrogen_is_hydrogen(self):
        graph = graph_of("[2H]C")
        assert graph.x[:, 0].tolist() == [0, 5]

    @pytest.mark.parametrize(
        "smiles, expected",
        [
            ("C[C@H](N)O", 2),  # CHI_TETRAHEDRAL_CCW
            ("C[C@@H](N)O", 1),  # CHI_TETRAHEDRAL_CW
            ("CC(N)O", 0),  # CHI_UNSPECIFIED
        ],
    )
    def test_chirality_tags(self, smiles, expected):
        graph = graph_of(smiles)
        assert graph.x[1, 1].item() == expected
        # the other atoms are not stereocentres
        assert graph.x[[0, 2, 3], 1].tolist() == [0, 0, 0]

    def test_enantiomers_differ_only_in_chirality(self):
        left, right = graph_of("C[C@H](N)O"), graph_of("C[C@@H](N)O")
        assert torch.equal(left.x[:, 0], right.x[:, 0])
        assert left.x[1, 1] != right.x[1, 1]

    @pytest.mark.parametrize(
        "smiles, expected_type",
        [("CC", 0), ("C=C", 1), ("C#C", 2), ("c1ccccc1", 3), ("C1=CC=CC=C1", 3)],
    )
    def test_bond_type_codes(self, smiles, expected_type):
        graph = graph_of(smiles)
        assert set(graph.edge_attr[:, 0].tolist()) == {expected_type}

    @pytest.mark.parametrize(
        "smiles, expected_dirs",
        [
            # F-C, C=C, C-F: end-up-right (1) on both single bonds for trans
            ("F/C=C/F", [1, 0, 1]),
            # cis: the second single bond points down-right (2)
            ("F/C=C\\F", [1, 0, 2]),
            ("FC=CF", [0, 0, 0]),
        ],
    )
    def test_bond_direction_codes(self, smiles, expected_dirs):
        graph = graph_of(smiles)
        assert bond_codes(graph, 0, 1)[0] == [0, expected_dirs[0]]
        assert bond_codes(graph, 1, 2)[0] == [1, expected_dirs[1]]
        assert bond_codes(graph, 2, 3)[0] == [0, expected_dirs[2]]

    def test_docstring_example(self):
        graph = graph_of("CC=O")
        assert graph.x.tolist() == [[5, 0], [5, 0], [7, 0]]
        assert graph.edge_attr[:, 0].tolist() == [0, 0, 1, 1]


class TestGraphStructure:
    @pytest.mark.parametrize("featurizer_cls", FEATURIZERS)
    @pytest.mark.parametrize("smiles", DIVERSE_SMILES)
    def test_shapes_dtypes_and_code_ranges(self, featurizer_cls, smiles):
        featurizer = featurizer_cls()
        mol = Chem.MolFromSmiles(smiles)
        graph = featurizer(mol)
        n_atoms, n_bonds = mol.GetNumAtoms(), mol.GetNumBonds()
        assert isinstance(graph, Data)
        assert graph.x.dtype == graph.edge_index.dtype == graph.edge_attr.dtype == torch.long
        assert graph.x.shape == (n_atoms, len(featurizer.atom_feature_dims))
        assert graph.edge_index.shape == (2, 2 * n_bonds)
        assert graph.edge_attr.shape == (2 * n_bonds, len(featurizer.bond_feature_dims))
        assert graph.num_nodes == n_atoms
        assert (graph.x >= 0).all() and (graph.edge_attr >= 0).all()
        assert (graph.x < torch.tensor(featurizer.atom_feature_dims)).all()
        if n_bonds:
            assert (graph.edge_attr < torch.tensor(featurizer.bond_feature_dims)).all()
            assert graph.edge_index.min() >= 0 and graph.edge_index.max() < n_atoms

    @pytest.mark.parametrize("featurizer_cls", FEATURIZERS)
    @pytest.mark.parametrize("smiles", ["CC(=O)[O-].[Na+]", "c1ccncc1", "F/C=C\\F", "C[C@H](N)C(=O)O"])
    def test_every_bond_present_in_both_directions_with_same_attributes(self, featurizer_cls, smiles):
        mol = Chem.MolFromSmiles(smiles)
        graph = featurizer_cls()(mol)
        for bond in mol.GetBonds():
            i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
            forward, backward = bond_codes(graph, i, j), bond_codes(graph, j, i)
            assert len(forward) == len(backward) == 1
            assert forward == backward
        pairs = {tuple(e) for e in graph.edge_index.t().tolist()}
        assert pairs == {(j, i) for i, j in pairs}

    @pytest.mark.parametrize("featurizer_cls", FEATURIZERS)
    @pytest.mark.parametrize("smiles", ["C", "[Na+]", "[Og]", "[*]", "[Fe+3]", "[H]C([H])([H])[H]"])
    def test_single_atom_has_empty_edges(self, featurizer_cls, smiles):
        featurizer = featurizer_cls()
        graph = featurizer(Chem.MolFromSmiles(smiles))
        assert graph.x.shape == (1, len(featurizer.atom_feature_dims))
        assert graph.edge_index.shape == (2, 0)
        assert graph.edge_attr.shape == (0, len(featurizer.bond_feature_dims))
        assert graph.edge_index.dtype == graph.edge_attr.dtype == torch.long

    def test_single_atom_hu_edge_attr_shape(self):
        assert graph_of("C").edge_attr.shape == (0, 2)


class TestAwkwardMolecules:
    @pytest.mark.parametrize(
        "smiles, n_atoms, n_bonds",
        [("[Na+].[Cl-]", 2, 0), ("CC(=O)[O-].[Na+]", 5, 3), ("[NH4+].[NH4+].[O-]S(=O)(=O)[O-]", 7, 4)],
    )
    def test_salts_are_one_disconnected_graph(self, smiles, n_atoms, n_bonds):
        graphs, invalid = featurize_smiles([smiles], cache=None)
        assert invalid == []
        graph = graphs[0]
        assert graph.num_nodes == n_atoms
        assert graph.edge_index.shape == (2, 2 * n_bonds)

    def test_sodium_acetate_fragments_not_connected(self):
        graph = graph_of("CC(=O)[O-].[Na+]")
        sodium = graph.x[:, 0].tolist().index(10)
        assert sodium not in graph.edge_index.flatten().tolist()

    @pytest.mark.parametrize("smiles", ["[Na+]", "[O-]C", "C[N+](C)(C)C", "[Fe+3]", "[O-2]"])
    def test_charged_atoms_featurize(self, smiles):
        graph = graph_of(smiles)
        assert graph.num_nodes == Chem.MolFromSmiles(smiles).GetNumAtoms()

    def test_explicit_hydrogens_fold_into_heavy_atom(self):
        # RDKit removes plain explicit hydrogens while parsing: methane either way
        explicit, implicit = graph_of("[H]C([H])([H])[H]"), graph_of("C")
        assert torch.equal(explicit.x, implicit.x)
        assert explicit.edge_index.shape == (2, 0)

    def test_isotope_hydrogen_kept_as_atom(self):
        graph = graph_of("[2H]C")
        assert graph.num_nodes == 2
        assert graph.edge_attr.tolist() == [[0, 0], [0, 0]]

    @pytest.mark.parametrize("smiles", ["[Og]", "[Ts]", "[Lv]"])
    def test_rare_elements_have_their_own_code(self, smiles):
        atomic_number = Chem.MolFromSmiles(smiles).GetAtomWithIdx(0).GetAtomicNum()
        assert graph_of(smiles).x[0, 0].item() == atomic_number - 1

    @pytest.mark.parametrize("featurizer_cls", FEATURIZERS)
    @pytest.mark.parametrize("smiles", ["*C", "[*]", "*c1ccccc1*", "[1*]CC"])
    def test_dummy_atom_goes_to_other_bucket(self, featurizer_cls, smiles):
        featurizer = featurizer_cls()
        graph = featurizer(Chem.MolFromSmiles(smiles))
        other = featurizer.atom_feature_dims[0] - 1
        dummies = [a.GetIdx() for a in Chem.MolFromSmiles(smiles).GetAtoms() if a.GetAtomicNum() == 0]
        assert dummies
        assert all(graph.x[i, 0].item() == other for i in dummies)

    @pytest.mark.parametrize(
        "smiles, charge_code",
        [
            ("[O-2]", 0), ("[O-]C", 1), ("C", 2), ("[NH4+]", 3), ("[Fe+2]", 4),
            ("[Fe+3]", 5), ("[Fe-4]", 5), ("[C-4]", 5), ("[U+6]", 5),
        ],
    )
    def test_extended_charges_outside_vocabulary_go_to_other(self, smiles, charge_code):
        featurizer = ExtendedFeaturizer()
        graph = featurizer(Chem.MolFromSmiles(smiles))
        charge_column = 3
        assert featurizer.atom_feature_dims[charge_column] == len(featurize.FORMAL_CHARGES) + 1
        assert graph.x[0, charge_column].item() == charge_code

    def test_extended_docstring_example(self):
        assert ExtendedFeaturizer()(Chem.MolFromSmiles("[NH4+]")).x.shape == (1, 8)

    @pytest.mark.parametrize("smiles, stereo_code", [("F/C=C/F", 3), ("F/C=C\\F", 2), ("FC=CF", 0)])
    def test_extended_double_bond_stereo(self, smiles, stereo_code):
        graph = ExtendedFeaturizer()(Chem.MolFromSmiles(smiles))
        assert bond_codes(graph, 1, 2)[0][-1] == stereo_code

    def test_aromatic_flags_in_extended(self):
        graph = ExtendedFeaturizer()(Chem.MolFromSmiles("Cc1ccccc1"))
        aromatic, in_ring = graph.x[:, 6].tolist(), graph.x[:, 7].tolist()
        assert aromatic == [0, 1, 1, 1, 1, 1, 1]
        assert in_ring == [0, 1, 1, 1, 1, 1, 1]


# --------------------------------------------------------------------------- validation
INVALID_INPUTS = [
    pytest.param("C1CC", "parse", id="unclosed-ring"),
    pytest.param("", "empty", id="empty"),
    pytest.param("   ", "empty", id="blank"),
    pytest.param(None, "None", id="None"),
    pytest.param(float("nan"), "NaN", id="nan"),
    pytest.param(3.5, "number", id="float"),
    pytest.param(7, "number", id="int"),
    pytest.param(b"CCO", "bytes", id="bytes"),
    pytest.param(["CCO"], "list", id="list"),
    pytest.param("Xx", "parse", id="bad-element"),
    pytest.param("C\x00C", "NUL", id="nul"),
    pytest.param("CCO\x00", "NUL", id="trailing-nul"),
    pytest.param("CC O", "whitespace", id="inner-space"),
    pytest.param("c1ccccc1\tC", "whitespace", id="inner-tab"),
    pytest.param("\ud800", "UTF-8", id="lone-surrogate"),
    pytest.param("C(C)(C)(C)(C)C", "parse", id="pentavalent-carbon"),
]


class TestCheckSmiles:
    @pytest.mark.parametrize("bad, reason_word", INVALID_INPUTS)
    def test_invalid_item_reported_with_position_value_and_reason(self, bad, reason_word):
        mols, invalid = check_smiles(["CCO", bad, "c1ccccc1"])
        assert len(mols) == 3
        assert mols[0] is not None and mols[2] is not None
        assert mols[1] is None
        assert len(invalid) == 1
        report = invalid[0]
        assert isinstance(report, InvalidSmiles)
        assert report.position == 1
        if isinstance(bad, float) and math.isnan(bad):
            assert math.isnan(report.value)
        else:
            assert report.value == bad
        assert isinstance(report.reason, str) and report.reason
        assert reason_word.lower() in report.reason.lower()
        assert "position 1" in str(report)

    def test_all_invalid_kinds_together_in_order(self):
        items = ["CCO"] + [p.values[0] for p in INVALID_INPUTS] + ["CCN"]
        mols, invalid = check_smiles(items)
        assert [r.position for r in invalid] == list(range(1, len(items) - 1))
        assert mols[0] is not None and mols[-1] is not None

    def test_accepts_generator(self):
        mols, invalid = check_smiles(s for s in ["C", "CC"])
        assert len(mols) == 2 and invalid == []

    def test_docstring_example(self):
        mols, invalid = check_smiles(["CCO", "C1CC", None])
        assert [m is None for m in mols] == [False, True, True]
        assert str(invalid[0]) == "position 1: 'C1CC' (RDKit could not parse it)"

    def test_rdkit_parse_errors_not_printed(self, capfd, restore_rdkit_logs):
        # sanity check: a raw parse does write to stderr, so capfd would see it
        Chem.MolFromSmiles("C1CC")
        assert "C1CC" in capfd.readouterr().err
        check_smiles(["C1CC", "CC(", "Xx"])
        featurize_smiles(["C1CC", "CC(", "Xx"], cache=None)
        captured = capfd.readouterr()
        assert "C1CC" not in captured.err and "Parse" not in captured.err
        assert captured.out == ""

    @pytest.mark.parametrize("func", [check_smiles, lambda s: featurize_smiles(s, cache=None)],
                             ids=["check_smiles", "featurize_smiles"])
    def test_rdkit_log_settings_left_as_found(self, func, restore_rdkit_logs):
        before = restore_rdkit_logs
        func(["CCO", "C1CC"])
        assert _parse_log_status() == before

    def test_user_silenced_rdkit_stays_silent(self, capfd, restore_rdkit_logs):
        rdBase.DisableLog("rdApp.*")
        check_smiles(["CCO"])
        Chem.MolFromSmiles("C1CC")
        assert "C1CC" not in capfd.readouterr().err


class TestFeaturizeSmiles:
    def test_valid_and_invalid_mixed(self):
        graphs, invalid = featurize_smiles(["CCO", None, "C1CC", "c1ccccc1", 3.5], cache=None)
        assert [g is None for g in graphs] == [False, True, True, False, True]
        assert [r.position for r in invalid] == [1, 2, 4]
        assert graphs[0].num_nodes == 3 and graphs[3].num_nodes == 6

    @pytest.mark.parametrize("bad, reason_word", INVALID_INPUTS)
    def test_never_raises_on_invalid_item(self, bad, reason_word):
        graphs, invalid = featurize_smiles([bad, "CCO", bad], cache=GraphCache())
        assert graphs[0] is None and graphs[2] is None and graphs[1] is not None
        assert [r.position for r in invalid] == [0, 2]
        assert reason_word.lower() in invalid[0].reason.lower()

    def test_repeated_smiles_share_one_graph(self):
        graphs, _ = featurize_smiles(["CCO", "CCN", "CCO", "CCO"], cache=None)
        assert graphs[0] is graphs[2] is graphs[3]
        assert graphs[0] is not graphs[1]

    def test_featurizer_by_name_and_instance(self):
        by_name, _ = featurize_smiles(["CCO"], featurizer="extended", cache=None)
        by_instance, _ = featurize_smiles(["CCO"], featurizer=ExtendedFeaturizer(), cache=None)
        assert torch.equal(by_name[0].x, by_instance[0].x)
        assert by_name[0].x.shape[1] == len(ExtendedFeaturizer.atom_feature_dims)

    def test_matches_direct_featurization(self):
        graphs, _ = featurize_smiles(["CC(=O)[O-].[Na+]"], cache=None)
        direct = graph_of("CC(=O)[O-].[Na+]")
        for key in ("x", "edge_index", "edge_attr"):
            assert torch.equal(graphs[0][key], direct[key])

    def test_docstring_example(self):
        graphs, invalid = featurize_smiles(["CCO", "[Na+].[Cl-]", "CCO", "X"], cache=None)
        assert [g.num_nodes if g is not None else None for g in graphs] == [3, 2, 3, None]
        assert graphs[0] is graphs[2] and invalid[0].position == 3


# --------------------------------------------------------------------------- cache
class CountingFeaturizer(HuFeaturizer):
    name = "test-counting"
    calls = 0

    def __call__(self, mol):
        type(self).calls += 1
        return super().__call__(mol)


class DegreeFeaturizer(HuFeaturizer):
    """Hu features plus the atom degree (0-5, and "other")."""

    name = "test-degree"
    atom_feature_dims = HuFeaturizer.atom_feature_dims + [7]

    def atom_features(self, atom):
        return super().atom_features(atom) + (min(atom.GetDegree(), 6),)


@pytest.fixture
def counting(registry):
    CountingFeaturizer.calls = 0
    register_featurizer(CountingFeaturizer)
    yield CountingFeaturizer
    CountingFeaturizer.calls = 0


class TestGraphCache:
    def test_second_call_hits_cache_without_featurizing(self, counting):
        cache = GraphCache()
        smiles = ["CCO", "CCN", "CCO", "C1CC"]
        first, _ = featurize_smiles(smiles, featurizer="test-counting", cache=cache)
        assert counting.calls == 2
        assert (cache.hits, cache.misses) == (0, 3)  # the invalid "C1CC" is looked up too
        assert len(cache) == 2  # but only graphs are stored
        second, invalid = featurize_smiles(smiles, featurizer="test-counting", cache=cache)
        assert counting.calls == 2  # nothing featurized again
        assert (cache.hits, cache.misses) == (2, 4)
        assert second[0] is first[0] and second[1] is first[1]
        assert [r.position for r in invalid] == [3]

    def test_without_cache_featurizes_every_call(self, counting):
        featurize_smiles(["CCO"], featurizer="test-counting", cache=None)
        featurize_smiles(["CCO"], featurizer="test-counting", cache=None)
        assert counting.calls == 2

    def test_different_featurizers_do_not_collide(self):
        cache = GraphCache()
        hu, _ = featurize_smiles(["CCO"], featurizer="hu2019", cache=cache)
        ext, _ = featurize_smiles(["CCO"], featurizer="extended", cache=cache)
        assert hu[0].x.shape[1] == 2
        assert ext[0].x.shape[1] == 8
        assert len(cache) == 2
        assert cache.hits == 0
        assert HuFeaturizer().signature != ExtendedFeaturizer().signature

    def test_signature_is_name_and_version(self):
        assert HuFeaturizer().signature == "hu2019:1"

    def test_max_size_evicts_least_recently_used(self):
        cache = GraphCache(max_size=2)
        a, b, c = Data(), Data(), Data()
        cache.put(("sig", "a"), a)
        cache.put(("sig", "b"), b)
        assert cache.get(("sig", "a")) is a  # a is now the most recently used
        cache.put(("sig", "c"), c)
        assert len(cache) == 2
        assert cache.get(("sig", "b")) is None
        assert cache.get(("sig", "a")) is a
        assert cache.get(("sig", "c")) is c

    def test_max_size_bounds_featurize_smiles(self):
        cache = GraphCache(max_size=3)
        featurize_smiles(["C", "CC", "CCC", "CCCC", "CCCCC"], cache=cache)
        assert len(cache) == 3
        # the two oldest were evicted: featurizing them again misses
        cache.hits = cache.misses = 0
        featurize_smiles(["C", "CCCCC"], cache=cache)
        assert (cache.hits, cache.misses) == (1, 1)

    def test_max_size_zero_disables(self, counting):
        cache = GraphCache(max_size=0)
        featurize_smiles(["CCO"], featurizer="test-counting", cache=cache)
        featurize_smiles(["CCO"], featurizer="test-counting", cache=cache)
        assert len(cache) == 0
        assert cache.hits == 0
        assert counting.calls == 2

    def test_clear(self):
        cache = GraphCache()
        featurize_smiles(["CCO", "CCO"], cache=cache)
        featurize_smiles(["CCO"], cache=cache)
        cache.clear()
        assert len(cache) == 0 and cache.hits == cache.misses == 0


# --------------------------------------------------------------------------- registry
class TestRegistry:
    @pytest.mark.parametrize("name, cls", [("hu2019", HuFeaturizer), ("extended", ExtendedFeaturizer)])
    def test_builtin_names(self, name, cls):
        assert type(get_featurizer(name)) is cls

    def test_instance_passes_through(self):
        featurizer = ExtendedFeaturizer()
        assert get_featurizer(featurizer) is featurizer

    @pytest.mark.parametrize("bad", ["nope", "HU2019", "", None, 3, HuFeaturizer])
    def test_unknown_raises_value_error_listing_names(self, bad):
        with pytest.raises(ValueError) as excinfo:
            get_featurizer(bad)
        message = str(excinfo.value)
        assert "hu2019" in message and "extended" in message

    @pytest.mark.parametrize("bad", [object, int, HuFeaturizer(), "hu2019", None, lambda mol: None])
    def test_registering_non_featurizer_raises_type_error(self, bad, registry):
        before = dict(registry)
        with pytest.raises(TypeError):
            register_featurizer(bad)
        assert registry == before

    def test_register_is_a_decorator_returning_the_class(self, registry):
        assert register_featurizer(DegreeFeaturizer) is DegreeFeaturizer
        assert "test-degree" in registry

    def test_registered_name_listed_in_error(self, registry):
        register_featurizer(DegreeFeaturizer)
        with pytest.raises(ValueError, match="test-degree"):
            get_featurizer("unknown")

    def test_custom_featurizer_end_to_end(self, registry):
        register_featurizer(DegreeFeaturizer)
        graphs, invalid = featurize_smiles(
            ["CC(C)(C)C", "C", "C1CC", "[Na+].[Cl-]"], featurizer="test-degree", cache=GraphCache()
        )
        assert [r.position for r in invalid] == [2]
        neopentane = graphs[0]
        assert neopentane.x.shape == (5, 3)
        assert neopentane.x[:, 2].tolist() == [1, 4, 1, 1, 1]
        assert graphs[1].x.tolist() == [[5, 0, 0]]
        assert graphs[3].x[:, 2].tolist() == [0, 0]

    def test_custom_featurizer_trains_through_model(self, registry):
        from torch_geometric.data import Batch

        from molgnba.nn import MolecularGNN

        register_featurizer(DegreeFeaturizer)
        featurizer = get_featurizer("test-degree")
        graphs, _ = featurize_smiles(["CCO", "CC(C)(C)C", "c1ccccc1"], featurizer=featurizer, cache=None)
        model = MolecularGNN(featurizer.atom_feature_dims, featurizer.bond_feature_dims,
                             num_layers=2, hidden_dim=8)
        out = model(Batch.from_data_list(graphs))
        assert out.shape == (3, 1) and torch.isfinite(out).all()

    def test_base_class_is_abstract(self):
        with pytest.raises(NotImplementedError):
            MoleculeFeaturizer()(Chem.MolFromSmiles("C"))


# --------------------------------------------------------------------------- one declaration
def _index_or_other(value, vocabulary):
    try:
        return vocabulary.index(value)
    except ValueError:
        return len(vocabulary)


class ReferenceHu(MoleculeFeaturizer):
    """HuFeaturizer as written at eb83576: hand-written methods, one tuple per atom."""

    name = "test-reference-hu"
    atom_feature_dims = [119, 4]
    bond_feature_dims = [5, 4]

    def atom_features(self, atom):
        return (_index_or_other(atom.GetAtomicNum(), featurize.ATOMIC_NUMBERS),
                _index_or_other(atom.GetChiralTag(), featurize.CHIRAL_TAGS))

    def bond_features(self, bond):
        return (_index_or_other(bond.GetBondType(), featurize.BOND_TYPES),
                _index_or_other(bond.GetBondDir(), featurize.BOND_DIRS))


class ReferenceExtended(ReferenceHu):
    """ExtendedFeaturizer as written at eb83576."""

    name = "test-reference-extended"
    atom_feature_dims = [119, 4, 8, 6, 6, 7, 2, 2]
    bond_feature_dims = [5, 4, 2, 2, 7]

    def atom_features(self, atom):
        return super().atom_features(atom) + (
            _index_or_other(atom.GetDegree(), featurize.DEGREES),
            _index_or_other(atom.GetFormalCharge(), featurize.FORMAL_CHARGES),
            _index_or_other(atom.GetTotalNumHs(), featurize.TOTAL_HS),
            _index_or_other(atom.GetHybridization(), featurize.HYBRIDIZATIONS),
            int(atom.GetIsAromatic()),
            int(atom.IsInRing()),
        )

    def bond_features(self, bond):
        return super().bond_features(bond) + (
            int(bond.GetIsConjugated()), int(bond.IsInRing()), _index_or_other(bond.GetStereo(), featurize.STEREO),
        )


class PerAtomHu(HuFeaturizer):
    """HuFeaturizer forced onto the per-atom path: the codes of its own columns, one tuple per atom."""

    def atom_features(self, atom):
        return super().atom_features(atom)

    def bond_features(self, bond):
        return super().bond_features(bond)


class PerAtomExtended(ExtendedFeaturizer):
    def atom_features(self, atom):
        return super().atom_features(atom)

    def bond_features(self, bond):
        return super().bond_features(bond)


MORE_SMILES = [
    "C[C@@H]1CC[C@H](O)CC1", "CC(C)C[C@H](NC(=O)[C@@H](Cc1ccccc1)NC(=O)c1cnccn1)B(O)O",
    "O=C(O)c1ccccc1OC(C)=O", "C/C=C/C=C\\C", "[13CH4]", "c1ccc2c(c1)oc1ccccc12", "C1CC2CCC1C2",
    "[NH3+][C@@H](Cc1c[nH]c2ccccc12)C([O-])=O", "Cl[Pt](Cl)([NH3])[NH3]", "O=S(=O)([O-])[O-].[Mg+2]",
    "C#CC#N", "[B-](F)(F)(F)F", "P(=O)(O)(O)O", "[se]1cccc1", "C=[N+]=[N-]", "CC[C@](C)(F)[C@@](C)(Cl)Br",
]


def assert_same_graph(left, right):
    for key in ("x", "edge_index", "edge_attr"):
        assert left[key].dtype == right[key].dtype == torch.long, key
        assert torch.equal(left[key], right[key]), key


class TestFeatureSetsDeclaredOnce:
    @pytest.mark.parametrize("featurizer_cls, reference_cls, per_atom_cls", [
        (HuFeaturizer, ReferenceHu, PerAtomHu), (ExtendedFeaturizer, ReferenceExtended, PerAtomExtended)])
    @pytest.mark.parametrize("smiles", DIVERSE_SMILES + MORE_SMILES)
    def test_graphs_equal_the_hand_written_eb83576_featurizers(self, featurizer_cls, reference_cls, per_atom_cls,
                                                               smiles):
        mol = Chem.MolFromSmiles(smiles)
        graph = featurizer_cls()(mol)
        assert_same_graph(graph, reference_cls()(mol))
        assert_same_graph(graph, per_atom_cls()(mol))

    def test_stored_graphs_of_eb83576(self):
        # Computed with molgnba/featurize.py at commit eb83576.
        graph = ExtendedFeaturizer()(Chem.MolFromSmiles("C[C@H](N)C(=O)[O-].[Na+]"))
        assert graph.x.tolist() == [
            [5, 0, 1, 2, 3, 3, 0, 0], [5, 2, 3, 2, 1, 3, 0, 0], [6, 0, 1, 2, 2, 3, 0, 0], [5, 0, 3, 2, 0, 2, 0, 0],
            [7, 0, 1, 2, 0, 2, 0, 0], [7, 0, 1, 1, 0, 2, 0, 0], [10, 0, 0, 3, 0, 0, 0, 0]]
        assert graph.edge_index.tolist() == [[0, 1, 1, 2, 1, 3, 3, 4, 3, 5], [1, 0, 2, 1, 3, 1, 4, 3, 5, 3]]
        assert graph.edge_attr.tolist() == [[0, 0, 0, 0, 0]] * 6 + [[1, 0, 1, 0, 0]] * 2 + [[0, 0, 1, 0, 0]] * 2
        graph = ExtendedFeaturizer()(Chem.MolFromSmiles("F/C=C\\F"))
        fluorine, carbon = [8, 0, 1, 2, 0, 3, 0, 0], [5, 0, 2, 2, 1, 2, 0, 0]
        assert graph.x.tolist() == [fluorine, carbon, carbon, fluorine]
        assert graph.edge_attr.tolist() == [[0, 1, 0, 0, 0]] * 2 + [[1, 0, 0, 0, 2]] * 2 + [[0, 2, 0, 0, 0]] * 2

    @pytest.mark.parametrize("featurizer_cls, signature, atom_dims, bond_dims", [
        (HuFeaturizer, "hu2019:1", [119, 4], [5, 4]),
        (ExtendedFeaturizer, "extended:1", [119, 4, 8, 6, 6, 7, 2, 2], [5, 4, 2, 2, 7]),
    ])
    def test_widths_follow_from_the_columns_and_signature_is_unchanged(self, featurizer_cls, signature, atom_dims,
                                                                      bond_dims):
        assert featurizer_cls().signature == signature
        assert featurizer_cls.atom_feature_dims == atom_dims == [c.size for c in featurizer_cls.atom_columns]
        assert featurizer_cls.bond_feature_dims == bond_dims == [c.size for c in featurizer_cls.bond_columns]
        assert all(isinstance(column, featurize.FeatureColumn) for column in featurizer_cls.atom_columns)

    def test_atom_features_are_the_column_codes(self):
        mol = Chem.MolFromSmiles("C[N+](C)(C)c1ccccc1")
        featurizer = ExtendedFeaturizer()
        for atom in mol.GetAtoms():
            assert featurizer.atom_features(atom) == ReferenceExtended().atom_features(atom)
        for bond in mol.GetBonds():
            assert featurizer.bond_features(bond) == ReferenceExtended().bond_features(bond)

    def test_subclass_declaring_more_columns(self):
        from molgnba.featurize import FeatureColumn

        class WithMass(HuFeaturizer):
            name = "test-with-mass"
            atom_columns = HuFeaturizer.atom_columns + (
                FeatureColumn("heavy", lambda atom: atom.GetMass() > 20, None),
                FeatureColumn("valence", Chem.Atom.GetTotalValence, [1, 2, 3, 4]),
            )

        assert WithMass.atom_feature_dims == [119, 4, 2, 5]
        assert WithMass.bond_feature_dims == HuFeaturizer.bond_feature_dims
        graph = WithMass()(Chem.MolFromSmiles("ClCC(=O)[O-]"))
        assert graph.x[:, 2].tolist() == [1, 0, 0, 0, 0]
        assert graph.x[:, 3].tolist() == [0, 3, 3, 1, 0]
        assert WithMass().atom_features(Chem.MolFromSmiles("Cl").GetAtomWithIdx(0)) == (16, 0, 1, 0)

    def test_overriding_only_atom_features_keeps_the_columns_for_bonds(self):
        graph = DegreeFeaturizer()(Chem.MolFromSmiles("CC=O"))
        assert graph.x[:, 2].tolist() == [1, 2, 1]
        assert graph.edge_attr.tolist() == [[0, 0], [0, 0], [1, 0], [1, 0]]

    def test_non_column_in_columns_raises(self):
        with pytest.raises(TypeError, match="FeatureColumn"):
            class Bad(MoleculeFeaturizer):
                atom_columns = ((Chem.Atom.GetDegree, [0, 1]),)

    def test_dims_disagreeing_with_the_columns_raise(self):
        with pytest.raises(TypeError, match=r"atom_feature_dims is \[119, 4, 3\].*override atom_features"):
            class Bad(HuFeaturizer):
                atom_feature_dims = HuFeaturizer.atom_feature_dims + [3]

    def test_feature_column_validates_and_codes(self):
        from molgnba.featurize import FeatureColumn

        with pytest.raises(TypeError, match="callable getter"):
            FeatureColumn("degree", "GetDegree", [0, 1])
        column = FeatureColumn("symbol", Chem.Atom.GetSymbol, ("C", "O", "C"))
        atoms = list(Chem.MolFromSmiles("OCS").GetAtoms())
        assert column.size == 4  # a repeated choice keeps its first code; the width counts every entry
        assert column.codes(atoms) == [column.code(atom) for atom in atoms] == [1, 0, 3]

    def test_featurizer_without_columns_or_methods_explains(self):
        class Empty(MoleculeFeaturizer):
            name = "test-empty"

        with pytest.raises(NotImplementedError, match="atom_columns"):
            Empty()(Chem.MolFromSmiles("C"))

    def test_public_names_live_in_the_package(self):
        import pickle

        # Pickles name the public path, so they survive a reshuffle of the private submodules.
        modules = {HuFeaturizer.__module__, GraphCache.get.__module__, featurize_smiles.__module__}
        assert modules == {"molgnba.featurize"}
        assert b"molgnba.featurize\nExtendedFeaturizer" in pickle.dumps(ExtendedFeaturizer(), protocol=0)
        assert type(pickle.loads(pickle.dumps(ExtendedFeaturizer()))) is ExtendedFeaturizer


# --------------------------------------------------------------------------- one validity rule
# Each tricky input with the one right answer, which featurization, load_moleculenet(drop_invalid=True)
# and the scaffold splitters all follow. Before the rule was shared they disagreed on a trailing NUL
# ("CCO\x00": datasets and model_selection read it as ethanol), on bytes (datasets accepted b"CCO"), and
# datasets raised on NaN, numbers and lone surrogates.
VALIDITY_CASES = [
    pytest.param("CCO", True, id="ethanol"),
    pytest.param(np.str_("CCO"), True, id="numpy-str"),
    pytest.param(" CCO", True, id="leading-space"),
    pytest.param("CCO\n", True, id="trailing-newline"),
    pytest.param("C[C@H](F)Cl |&1:1|", True, id="cxsmiles-extension"),
    pytest.param("*C", True, id="dummy-atom"),
    pytest.param("*", True, id="lone-dummy-atom"),
    pytest.param("[H][H]", True, id="dihydrogen"),
    pytest.param("[Na+].[Cl-]", True, id="salt"),
    pytest.param("C" * 400, True, id="long-chain"),  # longer ones take RDKit minutes to scaffold
    pytest.param("", False, id="empty"),
    pytest.param(" \t\n", False, id="whitespace-only"),
    pytest.param("C\x00C", False, id="nul-inside"),
    pytest.param("CCO\x00", False, id="nul-trailing"),
    pytest.param("CC O", False, id="inner-space-drops-an-atom"),
    pytest.param("CCO ethanol", False, id="name-after-smiles"),
    pytest.param("\ud800", False, id="lone-surrogate"),
    pytest.param(None, False, id="None"),
    pytest.param(float("nan"), False, id="nan"),
    pytest.param(np.float32("nan"), False, id="numpy-nan"),
    pytest.param(pd.NA, False, id="pandas-NA"),
    pytest.param(3, False, id="int"),
    pytest.param(True, False, id="bool"),
    pytest.param(b"CCO", False, id="bytes"),
    pytest.param(["CCO"], False, id="list"),
    pytest.param("C(C)(C)(C)(C)C", False, id="invalid-valence"),
    pytest.param("c1cccc1", False, id="bad-aromaticity"),
    pytest.param("C1CC", False, id="unclosed-ring"),
    pytest.param(".", False, id="no-atoms"),
    pytest.param("C" * 3000 + "(", False, id="very-long-unbalanced"),
    pytest.param("C" * 3000 + "\x00", False, id="very-long-with-nul"),
]


class TestOneValidityRule:
    @pytest.mark.parametrize("item, valid", VALIDITY_CASES)
    def test_every_place_gives_the_one_answer(self, item, valid):
        from molgnba.datasets import _invalid_rows
        from molgnba.featurize import parse_smiles
        from molgnba.model_selection import scaffold_groups

        mol, reason = parse_smiles(item)
        assert (mol is not None, reason is None) == (valid, valid)
        assert (check_smiles([item])[1] == []) is valid
        graphs, _ = featurize_smiles([item], cache=None)
        assert (graphs[0] is not None) is valid
        assert (_invalid_rows([item]) == []) is valid
        # Two copies of a valid molecule share a scaffold; each invalid entry gets a group of its own.
        first, second = scaffold_groups([item, item])
        assert bool(first == second) is valid

    def test_reasons_name_the_problem(self):
        from molgnba.featurize import parse_smiles

        assert parse_smiles("CCO\x00")[1] == "contains a NUL character"
        assert parse_smiles("CCO ethanol")[1] == "contains whitespace: RDKit would read only 'CCO' and ignore 'ethanol'"
        assert parse_smiles(pd.NA)[1] == "missing value (pd.NA)"
        assert parse_smiles(np.float64("nan"))[1] == "missing value (NaN)"
        assert parse_smiles(".")[1] in {"RDKit could not parse it", "molecule has no atoms"}

    def test_parse_smiles_is_silent_and_leaves_logs_as_found(self, capfd, restore_rdkit_logs):
        from molgnba.featurize import parse_smiles

        before = restore_rdkit_logs
        assert parse_smiles("C1CC") == (None, "RDKit could not parse it")
        assert "C1CC" not in capfd.readouterr().err
        assert _parse_log_status() == before


# --------------------------------------------------------------------------- molecule-level features
class TestRdkitDescriptors:
    def test_values_shape_and_dtype(self):
        from molgnba.featurize import rdkit_descriptors

        X = rdkit_descriptors(["CCO", "c1ccccc1O", Chem.MolFromSmiles("O")], names=["HeavyAtomCount", "RingCount"])
        assert X.dtype == np.float32 and X.shape == (3, 2)
        assert X.tolist() == [[3.0, 0.0], [7.0, 1.0], [1.0, 0.0]]

    def test_all_descriptors_by_default_in_name_order(self):
        from rdkit.Chem import Descriptors

        from molgnba.featurize import rdkit_descriptor_names, rdkit_descriptors

        names = rdkit_descriptor_names()
        assert names == [name for name, _ in Descriptors.descList]
        X = rdkit_descriptors(["CC(=O)Nc1ccc(O)cc1"])
        assert X.shape == (1, len(names))
        assert X[0, names.index("MolWt")] == pytest.approx(151.165, abs=1e-3)
        assert X[0, names.index("NumHDonors")] == 2

    def test_non_finite_and_failing_descriptors_become_nan_with_a_warning(self, monkeypatch):
        from rdkit.Chem import Descriptors

        from molgnba.featurize import rdkit_descriptors

        def raises(mol):
            raise RuntimeError("boom")

        extra = [("TestHuge", lambda mol: 1e300), ("TestInf", lambda mol: float("inf")), ("TestRaises", raises),
                 ("TestNaN", lambda mol: float("nan"))]
        monkeypatch.setattr(Descriptors, "descList", Descriptors.descList + extra)
        with pytest.warns(RuntimeWarning, match=r"TestHuge \(2\), TestInf \(2\), TestRaises \(2\), TestNaN \(2\)"):
            X = rdkit_descriptors(["CCO", "CCN"], names=["HeavyAtomCount", "TestHuge", "TestInf", "TestRaises",
                                                         "TestNaN"])
        assert X[:, 0].tolist() == [3.0, 3.0]
        assert np.isnan(X[:, 1:]).all()

    def test_finite_values_give_no_warning(self):
        import warnings

        from molgnba.featurize import rdkit_descriptors

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            rdkit_descriptors(["CCO", "[Na+].[Cl-]", "*C"], names=["MolWt", "TPSA", "MolLogP"])

    def test_invalid_input_raises_before_work_naming_positions(self):
        from molgnba.featurize import rdkit_descriptors

        with pytest.raises(ValueError, match=r"2 of 4 inputs.*position 1: 'C1CC'.*position 3: None"):
            rdkit_descriptors(["CCO", "C1CC", "CCN", None])
        with pytest.raises(TypeError, match="single str"):
            rdkit_descriptors("CCO")

    def test_unknown_name_suggests_the_close_one(self):
        from molgnba.featurize import rdkit_descriptors

        with pytest.raises(ValueError, match="'MolWeight' \\(did you mean 'MolWt'\\?\\)"):
            rdkit_descriptors(["CCO"], names=["MolWt", "MolWeight"])
        with pytest.raises(TypeError, match="single string"):
            rdkit_descriptors(["CCO"], names="MolWt")

    def test_documented_scaling_keeps_the_width_and_gives_finite_values(self):
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from molgnba.featurize import rdkit_descriptors

        with pytest.warns(RuntimeWarning, match=r"BCUT2D_MWHI \(1\)"):  # BCUT2D fails on a salt
            X = rdkit_descriptors(["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "[Na+].[Cl-]"])
        X[:, 0] = np.nan  # a column that no training molecule has
        scaler = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
        scaled = scaler.fit_transform(X)
        assert scaled.shape == X.shape and np.isfinite(scaled).all()


class TestMorganCountFingerprint:
    def test_counts_environments(self):
        from molgnba.featurize import morgan_count_fingerprint

        X = morgan_count_fingerprint(["CCO", "CCCCCC", Chem.MolFromSmiles("C")], radius=0, n_bits=1024)
        assert X.shape == (3, 1024) and X.dtype == np.float32
        # radius 0: one environment per heavy atom; hexane's six atoms have two distinct invariants
        assert X.sum(axis=1).tolist() == [3.0, 6.0, 1.0]
        assert sorted(X[1][X[1] > 0].tolist()) == [2.0, 4.0]

    def test_equals_rdkit_count_fingerprint(self):
        from rdkit.Chem import rdFingerprintGenerator

        from molgnba.featurize import morgan_count_fingerprint

        smiles = ["CC(=O)Nc1ccc(O)cc1", "C[C@H](N)C(=O)O"]
        generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
        expected = [generator.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles]
        np.testing.assert_array_equal(morgan_count_fingerprint(smiles), np.array(expected, dtype=np.float32))

    @pytest.mark.parametrize("kwargs, message", [
        ({"radius": -1}, "radius must be an integer >= 0"), ({"radius": 1.5}, "radius"),
        ({"n_bits": 0}, "n_bits must be an integer >= 1"), ({"n_bits": True}, "n_bits")])
    def test_bad_parameters_raise(self, kwargs, message):
        from molgnba.featurize import morgan_count_fingerprint

        with pytest.raises(ValueError, match=message):
            morgan_count_fingerprint(["CCO"], **kwargs)

    def test_invalid_smiles_raise(self):
        from molgnba.featurize import morgan_count_fingerprint

        with pytest.raises(ValueError, match=r"position 0: 'CC O'"):
            morgan_count_fingerprint(["CC O"])
