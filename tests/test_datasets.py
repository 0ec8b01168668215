"""Tests of molgnba.datasets. They never touch the network: every test runs with the
download function replaced, the cache in a temporary directory and MOLGNBA_DATA unset."""

from __future__ import annotations

import gzip
import urllib.error
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from molgnba import datasets
from molgnba.datasets import list_datasets, load_moleculenet

DEEPCHEM = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/"

INVALID_SMILES = "C1CC(not a smiles"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """Point the cache at an empty temporary directory, unset MOLGNBA_DATA, and make
    any attempt to download fail the test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MOLGNBA_CACHE", str(cache))
    monkeypatch.delenv("MOLGNBA_DATA", raising=False)

    def no_download(url, dest):
        pytest.fail(f"a test tried to download {url}")

    monkeypatch.setattr(datasets, "_download", no_download)
    return cache


@pytest.fixture
def cache_dir(isolated_environment) -> Path:
    return isolated_environment


def write_csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


BBBP_RAW = (
    "num,name,p_np,smiles\n"
    "1,Propanolol,1,[Cl].CC(C)NCC(O)COc1cccc2ccccc12\n"
    "2,Terbutylchlorambucil,1,C(=O)(OC(C)(C)C)CCCc1ccc(cc1)N(CCCl)CCCl\n"
    "3,40730,0,c1ccccc1\n"
)

TOX21_TASKS = [
    "NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD",
    "NR-PPAR-gamma", "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53",
]  # fmt: skip

TOX21_RAW = (
    ",".join(TOX21_TASKS) + ",mol_id,smiles\n"
    "0,0,1,,,0,0,1,0,0,0,0,TOX3021,CCOc1ccc2nc(S(N)(=O)=O)sc2c1\n"
    "0,0,0,0,0,0,0,,0,,0,0,TOX3020,CCN1C(=O)NC(c2ccccc2)C1=O\n"
)


class TestListDatasets:
    def test_returns_the_nine_canonical_names_sorted(self):
        names = list_datasets()
        assert names == sorted(names)
        assert set(names) == {
            "bbbp", "bace", "esol", "lipophilicity", "freesolv",
            "clintox", "sider", "tox21", "hiv",
        }  # fmt: skip

    def test_every_listed_name_is_known_to_the_loader(self):
        for name in list_datasets():
            assert datasets._resolve_spec(name).name == name


class TestDatasetNames:
    @pytest.mark.parametrize(
        "name, canonical",
        [("bbbp", "bbbp"), ("BBBP", "bbbp"), (" Tox21 ", "tox21"), ("delaney", "esol"),
         ("lipo", "lipophilicity"), ("LIPOPHILICITY", "lipophilicity")],
    )  # fmt: skip
    def test_names_are_case_insensitive_and_aliases_resolve(self, name, canonical):
        assert datasets._resolve_spec(name).name == canonical

    def test_unknown_name_lists_valid_names_and_suggests_the_closest(self):
        with pytest.raises(ValueError, match="Did you mean 'bbbp'") as info:
            load_moleculenet("bbpb")
        for name in list_datasets():
            assert name in str(info.value)

    def test_unknown_name_without_close_match_still_lists_names(self):
        with pytest.raises(ValueError, match="Unknown dataset 'qm9'.*Valid names: bace"):
            load_moleculenet("qm9")

    def test_non_string_name_is_a_type_error(self):
        with pytest.raises(TypeError, match="string"):
            load_moleculenet(3)


class TestLoadSharedData:
    """The project's cleaned copies in ../shared/data."""

    @pytest.mark.parametrize(
        "name, n_molecules, target_names, task_type, metric",
        [
            ("bbbp", 2039, ["p_np"], "classification", "roc_auc"),
            ("bace", 1513, ["Class"], "classification", "roc_auc"),
            ("esol", 1128, ["logSolubility"], "regression", "rmse"),
            ("delaney", 1128, ["logSolubility"], "regression", "rmse"),
            ("lipophilicity", 4200, ["lipo"], "regression", "rmse"),
            ("lipo", 4200, ["lipo"], "regression", "rmse"),
        ],
    )
    def test_single_task_datasets_have_expected_shape_and_metadata(
        self, shared_data_dir, name, n_molecules, target_names, task_type, metric
    ):
        data = load_moleculenet(name, data_home=shared_data_dir, download=False)
        assert len(data.smiles) == n_molecules
        assert all(isinstance(s, str) and s for s in data.smiles)
        assert data.target.shape == (n_molecules,)
        assert data.target.dtype == np.float64
        assert not np.isnan(data.target).any()
        assert data.target_names == target_names
        assert (data.task_type, data.metric) == (task_type, metric)
        assert list(data.frame.columns) == ["smiles", *target_names]
        assert data.frame["smiles"].tolist() == data.smiles
        np.testing.assert_array_equal(data.frame[target_names[0]].to_numpy(), data.target)
        assert data.dropped is None
        assert Path(data.filename).parent == shared_data_dir

    @pytest.mark.parametrize("name", ["bbbp", "bace"])
    def test_classification_labels_are_zero_or_one(self, shared_data_dir, name):
        target = load_moleculenet(name, data_home=shared_data_dir).target
        assert set(np.unique(target)) == {0.0, 1.0}

    def test_tox21_is_multitask_with_missing_labels(self, shared_data_dir):
        data = load_moleculenet("tox21", data_home=shared_data_dir)
        assert data.target.shape == (7831, 12)
        assert data.target_names == TOX21_TASKS
        assert data.task_type == "classification"
        assert np.isnan(data.target).any()
        labels = data.target[~np.isnan(data.target)]
        assert set(np.unique(labels)) == {0.0, 1.0}
        assert list(data.frame.columns) == ["smiles", *TOX21_TASKS]

    def test_invalid_smiles_are_kept_by_default(self, shared_data_dir):
        # tox21 holds SMILES some RDKit versions cannot parse: nothing is dropped.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            data = load_moleculenet("tox21", data_home=shared_data_dir)
        assert len(data.smiles) == 7831

    @pytest.mark.parametrize("name", ["bbbp", "tox21"])
    def test_return_X_y_matches_the_bunch(self, shared_data_dir, name):
        data = load_moleculenet(name, data_home=shared_data_dir)
        smiles, target = load_moleculenet(name, data_home=shared_data_dir, return_X_y=True)
        assert smiles == data.smiles
        np.testing.assert_array_equal(target, data.target)

    def test_descr_names_the_dataset_and_references(self, shared_data_dir):
        data = load_moleculenet("esol", data_home=shared_data_dir)
        assert data.name == "esol"
        assert "Delaney" in data.DESCR
        assert "MoleculeNet" in data.DESCR
        assert "1128" in data.DESCR


class TestLoadRawLayouts:
    """Raw MoleculeNet files, written as small made-up CSVs."""

    def test_raw_bbbp_layout(self, tmp_path):
        write_csv(tmp_path / "BBBP.csv", BBBP_RAW)
        data = load_moleculenet("bbbp", data_home=tmp_path)
        assert data.smiles == [
            "[Cl].CC(C)NCC(O)COc1cccc2ccccc12",
            "C(=O)(OC(C)(C)C)CCCc1ccc(cc1)N(CCCl)CCCl",
            "c1ccccc1",
        ]
        np.testing.assert_array_equal(data.target, [1.0, 1.0, 0.0])
        assert list(data.frame.columns) == ["smiles", "p_np"]

    def test_raw_bace_layout_uses_mol_and_class_among_many_columns(self, tmp_path):
        write_csv(
            tmp_path / "bace.csv",
            "mol,CID,Class,Model,pIC50,MW\n"
            "c1ccccc1N,BACE_1,1,Train,9.15,500.1\n"
            "c1ccccc1O,BACE_2,0,Test,4.20,300.2\n",
        )
        data = load_moleculenet("bace", data_home=tmp_path)
        assert data.smiles == ["c1ccccc1N", "c1ccccc1O"]
        np.testing.assert_array_equal(data.target, [1.0, 0.0])
        assert list(data.frame.columns) == ["smiles", "Class"]

    def test_raw_delaney_layout_reads_the_measured_not_the_predicted_column(self, tmp_path):
        write_csv(
            tmp_path / "delaney-processed.csv",
            "Compound ID,ESOL predicted log solubility in mols per litre,Minimum Degree,"
            "measured log solubility in mols per litre,smiles\n"
            "Amigdalin,-0.974,1,-0.77,OCC3OC(OCC2OC(OC(C#N)c1ccccc1)C(O)C(O)C2O)C(O)C(O)C3O\n"
            "Fenfuram,-2.885,1,-3.3,Cc1occc1C(=O)Nc2ccccc2\n",
        )
        data = load_moleculenet("delaney", data_home=tmp_path)
        np.testing.assert_allclose(data.target, [-0.77, -3.3])
        assert data.target_names == ["logSolubility"]

    def test_raw_lipophilicity_layout(self, tmp_path):
        write_csv(
            tmp_path / "Lipophilicity.csv",
            "CMPD_CHEMBLID,exp,smiles\n"
            "CHEMBL596271,3.54,Cn1c(CN2CCN(CC2)c3ccc(Cl)cc3)nc4ccccc14\n",
        )
        data = load_moleculenet("lipo", data_home=tmp_path)
        np.testing.assert_allclose(data.target, [3.54])
        assert data.target_names == ["lipo"]

    def test_raw_freesolv_layout(self, tmp_path):
        write_csv(
            tmp_path / "SAMPL.csv",
            "iupac,smiles,expt,calc\n"
            '"4-methoxy-N,N-dimethyl-benzamide",CN(C)C(=O)c1ccc(cc1)OC,-11.01,-9.625\n',
        )
        data = load_moleculenet("freesolv", data_home=tmp_path)
        assert data.smiles == ["CN(C)C(=O)c1ccc(cc1)OC"]
        np.testing.assert_allclose(data.target, [-11.01])

    def test_gzipped_raw_tox21_with_missing_labels(self, tmp_path):
        write_csv(tmp_path / "tox21.csv.gz", TOX21_RAW)
        data = load_moleculenet("tox21", data_home=tmp_path)
        assert data.smiles == ["CCOc1ccc2nc(S(N)(=O)=O)sc2c1", "CCN1C(=O)NC(c2ccccc2)C1=O"]
        assert data.target.shape == (2, 12)
        assert np.isnan(data.target[0, 3]) and np.isnan(data.target[1, 7])
        assert data.target[0, 2] == 1.0
        assert "mol_id" not in data.frame.columns

    def test_raw_hiv_layout(self, tmp_path):
        write_csv(tmp_path / "HIV.csv", "smiles,activity,HIV_active\nCCO,CI,0\nc1ccccc1,CM,1\n")
        data = load_moleculenet("hiv", data_home=tmp_path)
        np.testing.assert_array_equal(data.target, [0.0, 1.0])

    @pytest.mark.parametrize("name", list_datasets())
    def test_every_dataset_reads_a_file_in_its_raw_layout(self, tmp_path, name):
        spec = datasets._resolve_spec(name)
        layout = spec.layouts[-1]
        header = ["id", *layout.target_columns, layout.smiles_column]
        rows = [["a", *["1"] * len(layout.target_columns), "CCO"],
                ["b", *["0"] * len(layout.target_columns), "c1ccccc1"]]  # fmt: skip
        frame = pd.DataFrame(rows, columns=header)
        path = tmp_path / spec.raw_filename
        frame.to_csv(path, index=False, compression="gzip" if path.name.endswith(".gz") else None)
        data = load_moleculenet(name, data_home=tmp_path, download=False)
        assert data.smiles == ["CCO", "c1ccccc1"]
        expected_shape = (2,) if len(spec.target_names) == 1 else (2, len(spec.target_names))
        assert data.target.shape == expected_shape
        np.testing.assert_array_equal(data.target.reshape(2, -1)[:, 0], [1.0, 0.0])

    def test_gzip_is_detected_by_content_not_name(self, tmp_path):
        (tmp_path / "bbbp.csv").write_bytes(gzip.compress(BBBP_RAW.encode()))
        assert len(load_moleculenet("bbbp", data_home=tmp_path).smiles) == 3

    def test_file_in_an_unknown_layout_is_a_clear_error(self, tmp_path):
        write_csv(tmp_path / "esol.csv", "SMILES,solubility\nCCO,0.5\n")
        with pytest.raises(ValueError, match=r"does not look like the 'esol' dataset.*'SMILES'"):
            load_moleculenet("esol", data_home=tmp_path)

    def test_non_numeric_labels_are_a_clear_error(self, tmp_path):
        write_csv(tmp_path / "bbbp.csv", "smiles,p_np\nCCO,yes\n")
        with pytest.raises(ValueError, match="'p_np'.*numeric"):
            load_moleculenet("bbbp", data_home=tmp_path)

    def test_empty_smiles_cell_is_kept_as_empty_string(self, tmp_path):
        write_csv(tmp_path / "bbbp.csv", "smiles,p_np\nCCO,1\n,0\n")
        assert load_moleculenet("bbbp", data_home=tmp_path).smiles == ["CCO", ""]


class TestDropInvalid:
    @pytest.fixture
    def data_home(self, tmp_path):
        write_csv(
            tmp_path / "esol.csv",
            f"smiles,logSolubility\nCCO,0.0\n{INVALID_SMILES},1.0\nc1ccccc1,2.0\n,3.0\nCCN,4.0\n",
        )
        return tmp_path

    def test_invalid_rows_are_kept_without_warning_by_default(self, data_home):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            data = load_moleculenet("esol", data_home=data_home)
        assert data.smiles == ["CCO", INVALID_SMILES, "c1ccccc1", "", "CCN"]
        assert data.dropped is None

    def test_drop_invalid_warns_with_count_and_rows_and_records_them(self, data_home):
        with pytest.warns(UserWarning, match=r"Dropped 2 of 5 .*rows 1, 3\b"):
            data = load_moleculenet("esol", data_home=data_home, drop_invalid=True)
        assert data.smiles == ["CCO", "c1ccccc1", "CCN"]
        np.testing.assert_array_equal(data.target, [0.0, 2.0, 4.0])
        assert data.dropped == [(1, INVALID_SMILES), (3, "")]
        assert list(data.frame.index) == [0, 1, 2]
        assert "Molecules: 3;" in data.DESCR

    def test_drop_invalid_with_return_X_y(self, data_home):
        with pytest.warns(UserWarning, match="Dropped 2"):
            smiles, target = load_moleculenet(
                "esol", data_home=data_home, drop_invalid=True, return_X_y=True
            )
        assert smiles == ["CCO", "c1ccccc1", "CCN"]
        np.testing.assert_array_equal(target, [0.0, 2.0, 4.0])

    def test_drop_invalid_follows_the_estimators_validity_rule(self, tmp_path):
        # "CC O" parses in RDKit as ethane named "O"; the estimators reject it, so drop_invalid does too.
        write_csv(tmp_path / "esol.csv", 'smiles,logSolubility\nCC O,0.0\nC(C)(C)(C)(C)C,1.0\n*CC,2.0\n')
        with pytest.warns(UserWarning, match=r"Dropped 2 of 3 .*not valid.*rows 0, 1\b"):
            data = load_moleculenet("esol", data_home=tmp_path, drop_invalid=True)
        assert data.smiles == ["*CC"]
        from molgnba.featurize import check_smiles

        assert [entry.position for entry in check_smiles(["CC O", "C(C)(C)(C)(C)C", "*CC"])[1]] == [0, 1]

    def test_drop_invalid_on_clean_data_is_silent(self, tmp_path):
        write_csv(tmp_path / "BBBP.csv", BBBP_RAW)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            data = load_moleculenet("bbbp", data_home=tmp_path, drop_invalid=True)
        assert data.dropped == []
        assert len(data.smiles) == 3


class TestFileLocation:
    def test_data_home_takes_precedence_over_environment_and_cache(
        self, tmp_path, cache_dir, monkeypatch
    ):
        write_csv(tmp_path / "home" / "bbbp.csv", "smiles,p_np\nCCO,1\n")
        write_csv(tmp_path / "env" / "bbbp.csv", "smiles,p_np\nCCN,1\n")
        write_csv(cache_dir / "BBBP.csv", BBBP_RAW)
        monkeypatch.setenv("MOLGNBA_DATA", str(tmp_path / "env"))
        assert load_moleculenet("bbbp", data_home=tmp_path / "home").smiles == ["CCO"]

    def test_environment_variable_is_used_without_data_home(
        self, tmp_path, cache_dir, monkeypatch
    ):
        write_csv(tmp_path / "env" / "bbbp.csv", "smiles,p_np\nCCN,1\n")
        write_csv(cache_dir / "BBBP.csv", BBBP_RAW)
        monkeypatch.setenv("MOLGNBA_DATA", str(tmp_path / "env"))
        assert load_moleculenet("bbbp").smiles == ["CCN"]

    def test_cache_is_searched_after_the_data_directory(self, tmp_path, cache_dir):
        (tmp_path / "home").mkdir()
        write_csv(cache_dir / "BBBP.csv", BBBP_RAW)
        data = load_moleculenet("bbbp", data_home=tmp_path / "home", download=False)
        assert len(data.smiles) == 3
        assert Path(data.filename) == cache_dir / "BBBP.csv"

    def test_data_home_accepts_str_and_path(self, tmp_path):
        write_csv(tmp_path / "BBBP.csv", BBBP_RAW)
        assert load_moleculenet("bbbp", data_home=str(tmp_path)).smiles == (
            load_moleculenet("bbbp", data_home=tmp_path).smiles
        )

    def test_missing_data_home_is_an_error_not_a_silent_fallback(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="data_home=.*does not exist"):
            load_moleculenet("bbbp", data_home=tmp_path / "nope")

    def test_data_home_that_is_a_file_is_an_error(self, tmp_path):
        path = write_csv(tmp_path / "bbbp.csv", "smiles,p_np\nCCO,1\n")
        with pytest.raises(NotADirectoryError, match="not a directory"):
            load_moleculenet("bbbp", data_home=path)

    def test_no_file_and_no_download_names_the_places_looked_in(self, tmp_path, cache_dir):
        (tmp_path / "home").mkdir()
        with pytest.raises(FileNotFoundError) as info:
            load_moleculenet("bbbp", data_home=tmp_path / "home", download=False)
        message = str(info.value)
        assert str(tmp_path / "home") in message
        assert str(cache_dir) in message
        assert "BBBP.csv" in message and "bbbp.csv" in message
        assert "download=True" in message
        assert DEEPCHEM + "BBBP.csv" in message
        assert "MOLGNBA_DATA" in message


EXPECTED_URLS = {
    "bbbp": DEEPCHEM + "BBBP.csv",
    "bace": DEEPCHEM + "bace.csv",
    "esol": DEEPCHEM + "delaney-processed.csv",
    "lipophilicity": DEEPCHEM + "Lipophilicity.csv",
    "freesolv": DEEPCHEM + "SAMPL.csv",
    "clintox": DEEPCHEM + "clintox.csv.gz",
    "sider": DEEPCHEM + "sider.csv.gz",
    "tox21": DEEPCHEM + "tox21.csv.gz",
    "hiv": DEEPCHEM + "HIV.csv",
}


class TestDownload:
    @staticmethod
    def fake_download(payload: bytes, calls: list):
        def download(url, dest):
            calls.append(url)
            Path(dest).write_bytes(payload)

        return download

    @pytest.mark.parametrize("name", sorted(EXPECTED_URLS))
    def test_urls_are_the_canonical_deepchem_ones(self, name):
        assert datasets._resolve_spec(name).url == EXPECTED_URLS[name]

    def test_downloads_into_the_cache_once_and_reuses_it(self, cache_dir, monkeypatch):
        calls: list = []
        monkeypatch.setattr(datasets, "_download", self.fake_download(BBBP_RAW.encode(), calls))
        data = load_moleculenet("bbbp")
        assert calls == [EXPECTED_URLS["bbbp"]]
        assert Path(data.filename) == cache_dir / "BBBP.csv"
        assert sorted(p.name for p in cache_dir.iterdir()) == ["BBBP.csv"]
        np.testing.assert_array_equal(data.target, [1.0, 1.0, 0.0])

        again = load_moleculenet("bbbp")
        assert calls == [EXPECTED_URLS["bbbp"]]
        assert again.smiles == data.smiles

    def test_downloads_even_when_data_home_lacks_the_file(self, tmp_path, cache_dir, monkeypatch):
        calls: list = []
        monkeypatch.setattr(datasets, "_download", self.fake_download(BBBP_RAW.encode(), calls))
        (tmp_path / "home").mkdir()
        load_moleculenet("bbbp", data_home=tmp_path / "home")
        assert (cache_dir / "BBBP.csv").is_file()
        assert not any((tmp_path / "home").iterdir())

    def test_downloaded_gzipped_file_is_readable(self, cache_dir, monkeypatch):
        calls: list = []
        payload = gzip.compress(TOX21_RAW.encode())
        monkeypatch.setattr(datasets, "_download", self.fake_download(payload, calls))
        data = load_moleculenet("tox21")
        assert calls == [EXPECTED_URLS["tox21"]]
        assert data.target.shape == (2, 12)
        assert (cache_dir / "tox21.csv.gz").is_file()

    def test_failed_download_leaves_no_partial_file_and_explains_what_to_do(
        self, cache_dir, monkeypatch
    ):
        def broken_download(url, dest):
            Path(dest).write_bytes(b"num,name,p_np,smi")  # a partial file, then failure
            raise urllib.error.URLError("no network")

        monkeypatch.setattr(datasets, "_download", broken_download)
        with pytest.raises(OSError) as info:
            load_moleculenet("bbbp")
        message = str(info.value)
        assert EXPECTED_URLS["bbbp"] in message
        assert "no network" in message
        assert "data_home" in message and "MOLGNBA_DATA" in message
        assert isinstance(info.value.__cause__, urllib.error.URLError)
        assert list(cache_dir.iterdir()) == []

    def test_download_that_is_not_the_expected_csv_is_discarded(self, cache_dir, monkeypatch):
        calls: list = []
        page = b"<html><body>Access denied</body></html>\n"
        monkeypatch.setattr(datasets, "_download", self.fake_download(page, calls))
        with pytest.raises(OSError, match="not the expected 'bbbp' CSV"):
            load_moleculenet("bbbp")
        assert list(cache_dir.iterdir()) == []

    def test_interrupted_download_leaves_no_partial_file(self, cache_dir, monkeypatch):
        def interrupted(url, dest):
            Path(dest).write_bytes(b"num,name")
            raise KeyboardInterrupt

        monkeypatch.setattr(datasets, "_download", interrupted)
        with pytest.raises(KeyboardInterrupt):
            load_moleculenet("bbbp")
        assert list(cache_dir.iterdir()) == []

    def test_download_false_never_downloads(self, cache_dir):
        # the autouse fixture fails the test on any download attempt
        with pytest.raises(FileNotFoundError, match="No local copy of the 'hiv' dataset"):
            load_moleculenet("hiv", download=False)
