"""Tests of molgnba.screening (streaming prediction) and of the featurizer's fast path."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem
from sklearn.exceptions import NotFittedError

from molgnba import GNNClassifier, GNNRegressor
from molgnba import featurize
from molgnba.featurize import ExtendedFeaturizer, GraphCache, HuFeaturizer, featurize_smiles
from molgnba.screening import ERROR_COLUMN, ChunkPredictor, predict_file, predict_frame, predict_iter

from conftest import SMALL_SMILES, TINY_SMILES

SCREEN = ["CCO", "C1CC", "c1ccccc1O", None, "CC(=O)N", "", "CCCl", float("nan"), "[Na+].[Cl-]", "CCN"] * 3
INVALID_ROWS = [k for k, s in enumerate(SCREEN) if s in ("C1CC", None, "") or isinstance(s, float)]


@pytest.fixture
def regressor(tiny_regressor):
    return tiny_regressor


@pytest.fixture
def classifier(tiny_classifier):
    """Binary, string labels "active" and "inactive"."""
    return tiny_classifier


def reference(estimator, method, smiles):
    """What the estimator itself returns, with invalid rows skipped."""
    skip = type(estimator)(**{**estimator.get_params(), "invalid_smiles": "skip"})
    skip.__dict__.update({k: v for k, v in estimator.__dict__.items() if k.endswith("_")})
    skip.invalid_smiles = "skip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(skip, method)(smiles)


class TestPredictIter:
    def test_chunks_are_row_aligned_and_equal_to_predict(self, regressor):
        chunks = list(predict_iter(regressor, iter(SCREEN), chunk_size=7, batch_size=None))
        assert [len(c) for c in chunks] == [7, 7, 7, 7, 2]
        values = np.concatenate(chunks)
        assert np.isnan(values[INVALID_ROWS]).all()
        valid = [k for k in range(len(SCREEN)) if k not in INVALID_ROWS]
        assert np.isfinite(values[valid]).all()
        # Same network and post-processing; batches of other molecules change float rounding only.
        np.testing.assert_allclose(values, reference(regressor, "predict", SCREEN), rtol=1e-6, equal_nan=True)
        whole = np.concatenate(list(predict_iter(regressor, SCREEN, chunk_size=len(SCREEN), batch_size=None)))
        np.testing.assert_array_equal(whole, reference(regressor, "predict", SCREEN))

    def test_batch_size_changes_rounding_only(self, regressor):
        big = np.concatenate(list(predict_iter(regressor, SCREEN, chunk_size=100, batch_size=1024)))
        small = np.concatenate(list(predict_iter(regressor, SCREEN, chunk_size=100, batch_size=2)))
        np.testing.assert_allclose(big, small, rtol=1e-5, atol=1e-6)

    def test_predict_proba_and_labels(self, classifier):
        proba = np.concatenate(list(predict_iter(classifier, SCREEN, chunk_size=4, method="predict_proba")))
        assert proba.shape == (len(SCREEN), 2)
        assert np.isnan(proba[INVALID_ROWS]).all()
        np.testing.assert_allclose(np.nansum(proba, axis=1)[[0, 2]], 1.0, rtol=1e-6)
        np.testing.assert_allclose(proba, reference(classifier, "predict_proba", SCREEN), rtol=1e-5, atol=1e-7)
        labels = np.concatenate(list(predict_iter(classifier, SCREEN, chunk_size=4)))
        assert labels.dtype == object and all(labels[k] is None for k in INVALID_ROWS)
        assert set(labels[[0, 2, 4]]) <= {"active", "inactive"}

    def test_chunk_without_valid_smiles_gives_nan_rows(self, regressor, classifier):
        chunks = list(predict_iter(regressor, ["CCO", "C1CC", "xx", "CCN"], chunk_size=1))
        assert [c.shape for c in chunks] == [(1,)] * 4
        assert np.isnan(chunks[1]).all() and np.isnan(chunks[2]).all() and np.isfinite(chunks[0]).all()
        proba = list(predict_iter(classifier, ["C1CC"], method="predict_proba"))[0]
        assert proba.shape == (1, 2) and np.isnan(proba).all()
        labels = list(predict_iter(classifier, ["C1CC"]))[0]
        assert labels.tolist() == [None]

    def test_input_consumed_lazily(self, regressor):
        consumed = []

        def source():
            for k in range(50):
                consumed.append(k)
                yield TINY_SMILES[k % len(TINY_SMILES)]

        stream = predict_iter(regressor, source(), chunk_size=10)
        first = next(stream)
        assert len(first) == 10 and len(consumed) == 10
        assert sum(len(c) for c in stream) == 40

    def test_bypasses_the_global_cache_and_leaves_estimator_alone(self, regressor):
        params, before = regressor.get_params(), regressor.predict(TINY_SMILES)
        distinct = [Chem.MolToSmiles(Chem.MolFromSmiles("CCCCCCCCCC"), doRandom=True, canonical=False) for _ in range(40)]
        size, misses = len(featurize.graph_cache), featurize.graph_cache.misses
        list(predict_iter(regressor, distinct + SCREEN, chunk_size=16))
        assert (len(featurize.graph_cache), featurize.graph_cache.misses) == (size, misses)
        assert regressor.get_params().keys() == params.keys()
        assert "_featurize" not in regressor.__dict__ and "iterator_valid__batch_size" not in regressor.__dict__
        np.testing.assert_array_equal(regressor.predict(TINY_SMILES), before)

    def test_errors(self, regressor):
        with pytest.raises(NotFittedError):
            next(predict_iter(GNNRegressor(), ["CCO"]))
        with pytest.raises(AttributeError, match="predict_proba"):
            next(predict_iter(regressor, ["CCO"], method="predict_proba"))
        with pytest.raises(ValueError, match="method"):
            next(predict_iter(regressor, ["CCO"], method="fit"))
        with pytest.raises(ValueError, match="chunk_size"):
            next(predict_iter(regressor, ["CCO"], chunk_size=0))
        with pytest.raises(TypeError, match="single string"):
            next(predict_iter(regressor, "CCO"))
        assert list(predict_iter(regressor, [])) == []


class TestPredictFrame:
    def test_columns_and_reasons_line_up_with_the_input(self, regressor):
        table = predict_frame(regressor, SCREEN, chunk_size=7, target_names="logS")
        assert list(table.columns) == ["logS_pred", ERROR_COLUMN] and len(table) == len(SCREEN)
        values = np.concatenate(list(predict_iter(regressor, SCREEN, chunk_size=7)))
        np.testing.assert_array_equal(table["logS_pred"].to_numpy(), values)
        assert table[ERROR_COLUMN].notna().to_numpy().nonzero()[0].tolist() == INVALID_ROWS
        assert table[ERROR_COLUMN].tolist()[:4] == [None, "RDKit could not parse it", None, "None is not a SMILES string"]

    def test_a_classifier_gives_labels_from_its_probabilities(self, classifier):
        table = predict_frame(classifier, SCREEN, chunk_size=4)
        assert list(table.columns) == ["target_pred", "target_proba", ERROR_COLUMN]
        proba = reference(classifier, "predict_proba", SCREEN)
        np.testing.assert_allclose(table["target_proba"].to_numpy(dtype=float), proba[:, 1], rtol=1e-5, atol=1e-7)
        labels = reference(classifier, "predict", SCREEN)
        assert table["target_pred"].tolist() == [None if k in INVALID_ROWS else labels[k] for k in range(len(SCREEN))]
        only_proba = predict_frame(classifier, SCREEN[:3], method="predict_proba")
        assert list(only_proba.columns) == ["target_proba", ERROR_COLUMN]
        logits = predict_frame(classifier, SCREEN[:3], method="decision_function", target_names=["toxic"])
        assert list(logits.columns) == ["toxic_decision", ERROR_COLUMN]

    def test_multiclass_and_multitask_columns(self, tiny_multiclass_classifier, tiny_multitask_classifier):
        table = predict_frame(tiny_multiclass_classifier, ["CCO", "C1CC"], target_names="tertile")
        assert list(table.columns)[:4] == ["tertile_pred", "tertile_proba_a", "tertile_proba_b", "tertile_proba_c"]
        assert table["tertile_pred"].tolist()[1] is None and table["tertile_pred"].tolist()[0] in ("a", "b", "c")
        tasks = tiny_multitask_classifier
        table = predict_frame(tasks, ["CCO", "C1CC"], target_names=["a", "b"])
        assert list(table.columns) == ["a_pred", "a_proba", "b_pred", "b_proba", ERROR_COLUMN]
        assert table["a_pred"].tolist()[0] in (0, 1) and table["a_pred"].tolist()[1] is None
        with pytest.raises(ValueError, match="2 target"):
            predict_frame(tasks, ["CCO"], target_names=["a"])

    def test_errors(self, regressor):
        with pytest.raises(ValueError, match="method"):
            predict_frame(regressor, ["CCO"], method="fit")
        with pytest.raises(AttributeError, match="predict_proba"):
            predict_frame(regressor, ["CCO"], method="predict_proba")
        with pytest.raises(TypeError, match="single string"):
            predict_frame(regressor, "CCO")
        assert list(predict_frame(regressor, []).columns) == ["target_pred", ERROR_COLUMN]

class TestPredictGraphs:
    """The estimators' public method behind screening: prediction on featurized molecules."""

    @pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
    def test_equals_the_method_with_invalid_rows_as_nan(self, classifier, method):
        graphs, invalid = featurize_smiles(SCREEN, classifier.featurizer, cache=None)
        assert len(graphs) == len(SCREEN) and len(invalid) == len(INVALID_ROWS)
        values = classifier.predict_graphs(graphs, method)
        expected = reference(classifier, method, SCREEN)
        assert values.dtype == expected.dtype
        np.testing.assert_array_equal(values, expected)

    def test_all_invalid_gives_missing_rows_of_the_methods_type(self, regressor, classifier):
        np.testing.assert_array_equal(regressor.predict_graphs([None, None]), [np.nan, np.nan])
        assert classifier.predict_graphs([None], "predict").tolist() == [None]  # string labels
        assert classifier.predict_graphs([None], "predict_proba").shape == (1, 2)

    def test_batch_size_changes_rounding_only_and_leaves_the_estimator_alone(self, regressor):
        graphs, _ = featurize_smiles(TINY_SMILES, regressor.featurizer, cache=None)
        before = dict(regressor.__dict__)
        np.testing.assert_allclose(regressor.predict_graphs(graphs, batch_size=3), regressor.predict(TINY_SMILES), rtol=1e-5)
        assert regressor.__dict__.keys() == before.keys() and regressor.batch_size == before["batch_size"]

    def test_errors(self, regressor):
        with pytest.raises(ValueError, match="method"):
            regressor.predict_graphs([], "fit")
        with pytest.raises(AttributeError, match="predict_proba"):
            regressor.predict_graphs([], "predict_proba")
        with pytest.raises(NotFittedError):
            GNNRegressor().predict_graphs([])


class TestChunkPredictor:
    def test_predicts_like_predict_iter_and_names_columns(self, classifier):
        predictor = ChunkPredictor(classifier, "predict_proba", batch_size=4)
        values = predictor.predict(SCREEN[:10])
        np.testing.assert_array_equal(values, next(predict_iter(classifier, SCREEN[:10], method="predict_proba", batch_size=4)))
        assert predictor.output_columns(values) == ["predict_proba_active", "predict_proba_inactive"]

    def test_checks_the_estimator_when_made(self, regressor):
        with pytest.raises(NotFittedError):
            ChunkPredictor(GNNRegressor())
        with pytest.raises(AttributeError, match="predict_proba"):
            ChunkPredictor(regressor, "predict_proba")
        with pytest.raises(ValueError, match="method"):
            ChunkPredictor(regressor, "fit")


class TestPredictFile:
    def test_round_trip_keeps_rows_and_columns(self, regressor, tmp_path):
        frame = pd.DataFrame({"id": range(len(SCREEN)), "smiles": SCREEN})
        frame.to_csv(tmp_path / "in.csv", index=False)
        stats = predict_file(regressor, tmp_path / "in.csv", tmp_path / "out.csv", chunk_size=4, batch_size=None)
        out = pd.read_csv(tmp_path / "out.csv")
        assert stats == {"n_rows": len(SCREEN), "n_invalid": len(INVALID_ROWS), "columns": ["target_pred"]}
        assert list(out.columns) == ["id", "smiles", "target_pred", ERROR_COLUMN]
        assert out["id"].tolist() == list(range(len(SCREEN)))
        # NaN and None were written as empty fields: read back, they are empty strings.
        expected = reference(regressor, "predict", frame["smiles"].fillna("").tolist())
        np.testing.assert_allclose(out["target_pred"].to_numpy(), expected, rtol=1e-6, equal_nan=True)
        assert out["target_pred"].isna().to_numpy().nonzero()[0].tolist() == INVALID_ROWS
        assert out[ERROR_COLUMN].notna().to_numpy().nonzero()[0].tolist() == INVALID_ROWS
        assert out.loc[3, ERROR_COLUMN] == "empty string"

    def test_input_cells_pass_through_as_text(self, regressor, tmp_path):
        (tmp_path / "in.csv").write_text('code,smiles,note\n007,CCO,NA\n1.50,C1CC,"a, b"\n')
        predict_file(regressor, tmp_path / "in.csv", tmp_path / "out.csv.gz", target_names="y")
        out = pd.read_csv(tmp_path / "out.csv.gz", dtype=str, keep_default_na=False)
        assert out[["code", "note"]].values.tolist() == [["007", "NA"], ["1.50", "a, b"]]
        assert out[ERROR_COLUMN].tolist() == ["", "RDKit could not parse it"] and out["y_pred"].tolist()[1] == ""

    def test_probabilities_and_labels_of_a_classifier(self, classifier, tmp_path):
        pd.DataFrame({"mol": ["CCO", "C1CC", "CCN"]}).to_csv(tmp_path / "in.csv", index=False)
        stats = predict_file(classifier, tmp_path / "in.csv", tmp_path / "out.csv", smiles_column="mol",
                             keep_columns=False, target_names="label")
        out = pd.read_csv(tmp_path / "out.csv")
        assert list(out.columns) == ["mol", "label_pred", "label_proba", ERROR_COLUMN]
        assert stats["n_invalid"] == 1 and out.iloc[1, 1:3].isna().all()
        assert set(out["label_pred"].dropna()) <= {"active", "inactive"}

    def test_refused_before_any_prediction(self, regressor, tmp_path):
        pd.DataFrame({"x": ["CCO"]}).to_csv(tmp_path / "in.csv", index=False)
        with pytest.raises(KeyError, match="smiles"):
            predict_file(regressor, tmp_path / "in.csv", tmp_path / "out.csv")
        (tmp_path / "clash.csv").write_text("smiles,target_pred\nCCO,1\n")
        with pytest.raises(ValueError, match="already has column.*'target_pred'"):
            predict_file(regressor, tmp_path / "clash.csv", tmp_path / "out.csv")
        (tmp_path / "same.csv").write_text("smiles\nCCO\n")
        with pytest.raises(ValueError, match="must not be the input"):
            predict_file(regressor, tmp_path / "same.csv", tmp_path / "same.csv")
        assert sorted(path.name for path in tmp_path.iterdir()) == ["clash.csv", "in.csv", "same.csv"]

    def test_an_empty_input_gets_the_whole_header(self, regressor, tmp_path):
        (tmp_path / "empty.csv").write_text("smiles\n")
        stats = predict_file(regressor, tmp_path / "empty.csv", tmp_path / "out.csv")
        assert stats["n_rows"] == 0
        assert (tmp_path / "out.csv").read_text().strip() == f"smiles,target_pred,{ERROR_COLUMN}"


# ------------------------------------------------- featurizer fast path and n_jobs
def _reference_graph(featurizer, mol):
    """The per-atom implementation of MoleculeFeaturizer.__call__ (the definition of the codes)."""
    atoms = [featurizer.atom_features(a) for a in mol.GetAtoms()]
    x = torch.tensor(atoms, dtype=torch.long).reshape(len(atoms), len(featurizer.atom_feature_dims))
    n = mol.GetNumBonds()
    edge_index = np.empty((2, 2 * n), dtype=np.int64)
    edge_attr = np.empty((2 * n, len(featurizer.bond_feature_dims)), dtype=np.int64)
    for k, bond in enumerate(mol.GetBonds()):
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        edge_index[:, 2 * k], edge_index[:, 2 * k + 1] = (i, j), (j, i)
        edge_attr[2 * k] = edge_attr[2 * k + 1] = featurizer.bond_features(bond)
    return x, torch.from_numpy(edge_index), torch.from_numpy(edge_attr)


AWKWARD = TINY_SMILES + [
    "*C", "[Og]", "[U]", "F/C=C\\F", "C[C@H](N)O", "C[S@](=O)c1ccccc1", "[O-2]", "[C-4]", "[Fe-4]", "[Fe+3]",
    "[NH4+]", "OB(O)c1ccccc1", "C=[N+]=[N-]", "[CH5]", "C[Si@](F)(Cl)Br", "c1cc[se]c1", "C1=CC=CC=C1",
    "OC[C@@H]1O[C@@H](O)[C@H](O)[C@@H](O)[C@@H]1O", "[Pt+2]", "C#N", "[2H]C", "CC=CC",
]


@pytest.fixture(params=["tiny", pytest.param("esol", marks=pytest.mark.slow)])
def molecules(request):
    """The awkward molecules with tens of small ones, or with the head of ESOL."""
    if request.param == "tiny":
        return AWKWARD + SMALL_SMILES, 100
    return AWKWARD + request.getfixturevalue("esol")[0][:300], 600


@pytest.mark.parametrize("featurizer", [HuFeaturizer(), ExtendedFeaturizer()], ids=["hu", "extended"])
def test_fast_path_equals_per_atom_codes(featurizer, molecules):
    smiles, at_least = molecules
    checked = 0
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            continue
        for m in (mol, Chem.AddHs(mol)):
            graph = featurizer(m)
            for got, want in zip((graph.x, graph.edge_index, graph.edge_attr), _reference_graph(featurizer, m)):
                assert got.dtype == want.dtype and got.shape == want.shape and torch.equal(got, want), s
            checked += 1
    assert checked > at_least


def test_subclass_overriding_atom_features_is_respected():
    class Custom(HuFeaturizer):
        name = "test-screening-custom"

        def atom_features(self, atom):
            return (0, 1)

    graph = Custom()(Chem.MolFromSmiles("CCO"))
    assert graph.x.tolist() == [[0, 1]] * 3


def _distinct_spellings(smiles, n):
    """``n`` distinct SMILES strings of the given molecules (random atom orders, seeded)."""
    spellings = dict.fromkeys(smiles)
    for s in smiles:
        spellings.update(dict.fromkeys(Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(s), 30, randomSeed=0)))
    assert len(spellings) >= n
    return list(spellings)[:n]


@pytest.mark.slow  # starts worker processes that import torch and molgnba
def test_parallel_featurization_is_identical_to_serial():
    # Enough distinct strings for the parallel path (several chunks of work).
    distinct = _distinct_spellings(SMALL_SMILES, 600)
    smiles = distinct + ["C1CC", None, "", 4.0] + distinct[:5] + ["C1CC"]
    serial_cache, parallel_cache = GraphCache(), GraphCache()
    serial, serial_invalid = featurize_smiles(smiles, cache=serial_cache)
    parallel, parallel_invalid = featurize_smiles(smiles, cache=parallel_cache, n_jobs=2)
    assert parallel_invalid == serial_invalid
    assert (parallel_cache.hits, parallel_cache.misses, len(parallel_cache)) == (
        serial_cache.hits, serial_cache.misses, len(serial_cache))
    for a, b in zip(serial, parallel):
        assert (a is None) == (b is None)
        if a is not None:
            assert list(a.keys()) == list(b.keys()) and all(torch.equal(a[k], b[k]) for k in a.keys())
    assert parallel[0] is parallel[604]  # repeats share one graph, as in the serial path


def test_torch_threads_set_per_chunk_and_restored(regressor):
    before = torch.get_num_threads()
    seen = []

    stream = predict_iter(regressor, TINY_SMILES, chunk_size=8, torch_threads=1)
    for chunk in stream:
        seen.append(torch.get_num_threads())  # between chunks: the caller's setting
    assert seen == [before, before] and torch.get_num_threads() == before


def test_featurize_smiles_leaves_the_garbage_collector_as_found():
    import gc

    assert gc.isenabled()
    featurize_smiles(["CCO", "C1CC", None], cache=None)
    assert gc.isenabled()
    gc.disable()
    try:
        featurize_smiles(["CCO"], cache=None)
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(Exception):
        featurize_smiles(["CCO"], featurizer="no-such-featurizer")
    assert gc.isenabled()
