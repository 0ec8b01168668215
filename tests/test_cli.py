"""The ``molgnba`` command line, run in-process through ``main([...])``.

CSV files are written to tmp_path: small made-up rows and the 48 molecules of
the shared ``SMALL_SMILES`` set with their Crippen logP (tests/conftest.py). Models are tiny (1 layer, 8
hidden units, 1-2 epochs); models that several tests read are fitted once
per module. One test runs the command in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score

import molgnba.benchmark.__main__ as benchmark_main
from molgnba import GNNClassifier, GNNRegressor
from molgnba.cli import ERROR_COLUMN, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from molgnba.persistence import load_model, read_metadata
from molgnba.presets import get_preset

from conftest import SMALL_SMILES, SMALL_TARGETS

N_MOLECULES = len(SMALL_SMILES)
TINY_ARGS = ["--epochs", "2", "--hidden-dim", "8", "--num-layers", "1", "--seed", "0"]


def read_text_csv(path) -> pd.DataFrame:
    """A CSV with every cell as its exact text (how predict must leave the input columns)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def assert_clean_error(captured, *fragments):
    assert "Traceback" not in captured.err
    assert captured.err.strip().splitlines()[-1].startswith("molgnba: error:")
    for fragment in fragments:
        assert fragment in captured.err


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """CSV files for the whole module, made from the SMALL set (its logP named logS here)."""
    folder = tmp_path_factory.mktemp("cli")
    smiles, y = list(SMALL_SMILES), np.asarray(SMALL_TARGETS)
    median = np.median(y)
    frame = pd.DataFrame({
        "smiles": smiles,
        "logS": y,
        "half_logS": np.where(np.arange(N_MOLECULES) % 5 == 0, np.nan, y / 2),
        "soluble": np.where(y > median, "yes", "no"),
        "p_np": (y > median).astype(int),
        "tertile": np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])),
        "ring": [int("1" in s) for s in smiles],
    })
    paths = {"train": folder / "train.csv"}
    frame.to_csv(paths["train"], index=False)
    # Prediction input: extra columns, text that must survive untouched, invalid SMILES.
    paths["new"] = folder / "new.csv"
    paths["new"].write_text(
        "id,smiles,note,code\n"
        "1,CCO,ethanol,007\n"
        "2,C1CC,unclosed ring,NA\n"
        "3,c1ccccc1O,phenol,1.50\n"
        "4,,empty,\n"
        "5,CC(=O)Nc1ccc(O)cc1,\"paracetamol, with comma\",x\n"
        "6,not a smiles,,y\n"
        "7,[Na+].[Cl-],salt,z\n"
    )
    return paths


def fit_model(files, folder, name, *arguments) -> str:
    path = str(folder / name)
    assert main(["fit", str(files["train"]), *arguments, *TINY_ARGS, "-q", "-o", path]) == EXIT_OK
    return path


@pytest.fixture(scope="module")
def models(files, tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return {
        "regression": fit_model(files, folder, "reg.molgnba", "--target", "logS", "--task", "regression"),
        "two_targets": fit_model(files, folder, "reg2.molgnba", "--target", "logS", "--target", "half_logS",
                                 "--task", "regression", "--backbone", "gat"),
        "strings": fit_model(files, folder, "strings.molgnba", "--target", "soluble", "--task", "classification"),
        "binary": fit_model(files, folder, "binary.molgnba", "--target", "p_np", "--task", "classification",
                            "--attentive-loss"),
        "multiclass": fit_model(files, folder, "multi.molgnba", "--target", "tertile", "--task", "classification"),
        "multitask": fit_model(files, folder, "tasks.molgnba", "--target", "p_np", "--target", "ring",
                               "--task", "classification"),
    }


# -------------------------------------------------------------------- tests


class TestFit:
    def test_writes_a_model_that_predicts_like_the_estimator_api(self, files, models):
        model = load_model(models["regression"])
        assert isinstance(model, GNNRegressor)
        frame = pd.read_csv(files["train"])
        reference = GNNRegressor(num_layers=1, hidden_dim=8, max_epochs=2, random_state=0)
        reference.fit(frame["smiles"], frame["logS"])
        np.testing.assert_allclose(model.predict(["CCO", "CCCC"]), reference.predict(["CCO", "CCCC"]), rtol=1e-6)

    def test_records_options_and_column_names_in_the_model_file(self, models):
        metadata = read_metadata(models["two_targets"])
        assert metadata["params"]["backbone"] == "gat"
        assert metadata["params"]["hidden_dim"] == 8
        assert metadata["params"]["random_state"] == 0
        assert metadata["params"]["progress_bar"] is False  # --quiet
        assert metadata["info"]["targets"] == ["logS", "half_logS"]
        assert metadata["info"]["smiles_column"] == "smiles"
        assert read_metadata(models["binary"])["params"]["attentive_loss"] is True
        assert read_metadata(models["strings"])["params"]["attentive_loss"] is False  # the default

    def test_a_preset_sets_the_configuration_and_the_options_override_it(self, files, tmp_path):
        path = fit_model(files, tmp_path, "paper.molgnba", "--target", "logS", "--task", "regression",
                         "--preset", "paper", "--attentive-loss", "--batch-size", "16")
        model = load_model(path)
        paper = {**get_preset("paper"), "num_layers": 1, "hidden_dim": 8, "max_epochs": 2, "batch_size": 16}
        assert {name: model.get_params()[name] for name in paper} == paper
        assert model.attentive_loss is True

    def test_descriptors_default_to_the_estimators_and_none_turns_them_off(self, files, models, tmp_path):
        assert read_metadata(models["regression"])["params"]["descriptors"] == "rdkit2d"
        assert load_model(models["regression"]).module_.descriptor_dim > 0
        path = fit_model(files, tmp_path, "plain.molgnba", "--target", "logS", "--task", "regression",
                         "--descriptors", "none")
        assert read_metadata(path)["params"]["descriptors"] is None
        assert load_model(path).module_.descriptor_dim == 0

    def test_validation_by_scaffold_reaches_the_model(self, files, tmp_path):
        path = fit_model(files, tmp_path, "scaffold.molgnba", "--target", "logS", "--task", "regression",
                         "--validation-split", "scaffold")
        assert read_metadata(path)["params"]["validation_split"] == "scaffold"
        assert read_metadata(path)["format_version"] == 2
        assert load_model(path).validation_split == "scaffold"

    def test_several_targets_make_a_multi_task_model_with_missing_cells(self, models):
        model = load_model(models["two_targets"])
        assert model.target_ndim_ == 2 and model.n_tasks_ == 2
        assert model.n_train_samples_ == N_MOLECULES  # rows with an empty half_logS are kept

    def test_classification_labels_keep_their_type(self, models):
        assert load_model(models["strings"]).classes_.tolist() == ["no", "yes"]
        assert load_model(models["binary"]).classes_.tolist() == [0, 1]
        assert load_model(models["multiclass"]).classes_.tolist() == [0, 1, 2]
        assert isinstance(load_model(models["multitask"]), GNNClassifier)

    def test_mixed_precision_is_recorded_and_used_by_the_saved_model(self, files, tmp_path):
        path = fit_model(files, tmp_path, "bf16.molgnba", "--target", "logS", "--task", "regression",
                         "--mixed-precision", "bfloat16")
        assert read_metadata(path)["params"]["mixed_precision"] == "bfloat16"
        model = load_model(path)
        assert model.mixed_precision == "bfloat16"
        assert np.isfinite(model.predict(["CCO", "c1ccccc1O"])).all()

    def test_rows_without_their_single_target_are_skipped_with_a_note(self, files, tmp_path, capsys):
        path = tmp_path / "model.molgnba"
        code = main(["fit", str(files["train"]), "--target", "half_logS", "--task", "regression",
                     *TINY_ARGS, "-o", str(path)])
        assert code == EXIT_OK
        assert "skipping 10 row(s) without a value in 'half_logS'" in capsys.readouterr().err
        assert load_model(path).n_train_samples_ == N_MOLECULES - 10  # rows 0, 5, ..., 45

    def test_progress_and_messages_go_to_stderr_unless_quiet(self, files, tmp_path, capsys):
        arguments = ["fit", str(files["train"]), "--target", "logS", "--task", "regression", *TINY_ARGS]
        assert main(arguments + ["-o", str(tmp_path / "a.molgnba")]) == EXIT_OK
        captured = capsys.readouterr()
        assert "saved to" in captured.err and captured.out == ""
        assert read_metadata(tmp_path / "a.molgnba")["params"]["progress_bar"] is True
        assert main(arguments + ["-q", "-o", str(tmp_path / "b.molgnba")]) == EXIT_OK
        assert capsys.readouterr().err == ""

    def test_a_missing_column_lists_the_columns_and_suggests_the_closest(self, files, tmp_path, capsys):
        code = main(["fit", str(files["train"]), "--target", "logs", "--task", "regression",
                     "-o", str(tmp_path / "m.molgnba")])
        assert code == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "'logs'", "available columns: 'smiles', 'logS'",
                           "Did you mean 'logS'?")

    @pytest.mark.parametrize("content, message", [
        (None, "does not exist"),
        ("", "is empty"),
        ("smiles,y\n", "has a header but no rows"),
        ("smiles,y\nCCO,1.0\nCCN,high\nCCC,2\n", "must be numeric for regression; non-numeric values at line 3: 'high'"),
    ])
    def test_bad_input_files_exit_2_with_one_line(self, tmp_path, capsys, content, message):
        data = tmp_path / "data.csv"
        if content is not None:
            data.write_text(content)
        code = main(["fit", str(data), "--target", "y", "--task", "regression", "-o", str(tmp_path / "m.molgnba")])
        assert code == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), message)

    def test_invalid_smiles_are_refused_or_skipped(self, tmp_path, capsys):
        data = tmp_path / "data.csv"
        data.write_text("smiles,y\n" + "".join(f"{s},{k}\n" for k, s in enumerate(["CCO", "C1CC", "CCN", "CCC"] * 3)))
        arguments = ["fit", str(data), "--target", "y", "--task", "regression", *TINY_ARGS, "-o",
                     str(tmp_path / "m.molgnba")]
        assert main(arguments) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "invalid SMILES", "C1CC")
        assert main(arguments + ["--invalid-smiles", "skip"]) == EXIT_OK
        assert load_model(tmp_path / "m.molgnba").n_train_samples_ == 9

    def test_a_missing_output_directory_is_reported_before_training(self, files, tmp_path, capsys):
        code = main(["fit", str(files["train"]), "--target", "logS", "--task", "regression",
                     "-o", str(tmp_path / "no" / "m.molgnba")])
        assert code == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "does not exist")

    @pytest.mark.parametrize("option", [["--epochs", "0"], ["--hidden-dim", "x"], ["--task", "ranking"]])
    def test_bad_option_values_are_usage_errors(self, files, tmp_path, capsys, option):
        arguments = ["fit", str(files["train"]), "--target", "logS", "--task", "regression",
                     "-o", str(tmp_path / "m.molgnba")]
        assert main(arguments + option) == EXIT_USAGE
        assert "usage: molgnba fit" in capsys.readouterr().err

    def test_help_documents_options_examples_and_exit_codes(self, capsys):
        assert main(["fit", "--help"]) == EXIT_OK
        text = capsys.readouterr().out
        for fragment in ("--no-attentive-loss", "--preset {chemprop-like,paper}", "message-passing layers [gin]",
                         "examples:", "molgnba fit esol.csv", "exit status:", "2  usage or input error"):
            assert fragment in text


#: Why the invalid rows (ids 2, 4, 6) of the "new" file cannot be predicted.
INVALID_REASONS = [
    "RDKit could not parse it", "empty string", "contains whitespace: RDKit would read only 'not' and ignore 'a smiles'",
]


class TestPredict:
    def test_keeps_every_row_and_column_and_explains_invalid_smiles(self, files, models, tmp_path):
        output = tmp_path / "predictions.csv"
        assert main(["predict", models["regression"], str(files["new"]), "-o", str(output), "-q"]) == EXIT_OK
        original, result = read_text_csv(files["new"]), read_text_csv(output)
        assert list(result.columns) == list(original.columns) + ["logS_pred", ERROR_COLUMN]
        pd.testing.assert_frame_equal(result[original.columns], original)  # "007", "NA", "1.50" untouched
        invalid = result["id"].isin(["2", "4", "6"])
        assert (result.loc[invalid, "logS_pred"] == "").all()
        assert (result.loc[~invalid, ERROR_COLUMN] == "").all()
        assert result.loc[invalid, ERROR_COLUMN].tolist() == INVALID_REASONS
        valid_smiles = original.loc[~invalid, "smiles"].tolist()
        expected = load_model(models["regression"]).predict(valid_smiles)
        np.testing.assert_allclose(result.loc[~invalid, "logS_pred"].astype(float), expected, rtol=1e-6)

    def test_small_chunks_give_the_same_predictions(self, files, models, tmp_path):
        whole, chunked = tmp_path / "whole.csv", tmp_path / "chunked.csv"
        assert main(["predict", models["strings"], str(files["new"]), "-o", str(whole), "-q"]) == EXIT_OK
        assert main(["predict", models["strings"], str(files["new"]), "-o", str(chunked), "-q",
                     "--chunk-size", "2"]) == EXIT_OK
        # Same rows, columns and text; the numbers to float32 rounding, since a batch of two and
        # one of all rows sum in different orders inside the matrix products.
        whole_frame, chunked_frame = pd.read_csv(whole), pd.read_csv(chunked)
        pd.testing.assert_frame_equal(chunked_frame, whole_frame, check_exact=False, rtol=1e-6)

    @pytest.mark.parametrize("model, columns", [
        ("strings", ["soluble_pred", "soluble_proba"]),
        ("binary", ["p_np_pred", "p_np_proba"]),
        ("multiclass", ["tertile_pred", "tertile_proba_0", "tertile_proba_1", "tertile_proba_2"]),
        ("multitask", ["p_np_pred", "p_np_proba", "ring_pred", "ring_proba"]),
        ("two_targets", ["logS_pred", "half_logS_pred"]),
    ])
    def test_adds_the_prediction_columns_of_each_kind_of_model(self, files, models, tmp_path, model, columns):
        output = tmp_path / "predictions.csv"
        assert main(["predict", models[model], str(files["new"]), "-o", str(output), "-q"]) == EXIT_OK
        result = pd.read_csv(output, keep_default_na=False, dtype=str)
        assert list(result.columns[4:]) == columns + [ERROR_COLUMN]
        valid = result[result[ERROR_COLUMN] == ""]
        estimator = load_model(models[model])
        if model in ("strings", "binary", "multiclass"):
            labels = estimator.predict(valid["smiles"].tolist())
            assert valid[columns[0]].tolist() == [str(label) for label in labels]
            probabilities = valid[columns[1:]].astype(float).to_numpy()
            expected = estimator.predict_proba(valid["smiles"].tolist())
            np.testing.assert_allclose(probabilities, expected[:, 1:] if len(columns) == 2 else expected, rtol=1e-6)

    def test_the_smiles_column_defaults_to_the_models_and_can_be_overridden(self, models, tmp_path, capsys):
        data = tmp_path / "data.csv"
        data.write_text("Structure\nCCO\nCCN\n")
        output = tmp_path / "out.csv"
        assert main(["predict", models["regression"], str(data), "-o", str(output)]) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "'smiles'", "available columns: 'Structure'")
        arguments = ["predict", models["regression"], str(data), "-o", str(output), "--smiles-column", "Structure"]
        assert main(arguments) == EXIT_OK
        assert len(pd.read_csv(output)) == 2

    def test_refuses_to_overwrite_existing_columns(self, models, tmp_path, capsys):
        data = tmp_path / "data.csv"
        data.write_text("smiles,logS_pred\nCCO,1\n")
        assert main(["predict", models["regression"], str(data), "-o", str(tmp_path / "o.csv")]) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "already has column(s) 'logS_pred'")

    def test_an_invalid_model_file_is_a_usage_error(self, files, tmp_path, capsys):
        model = tmp_path / "model.molgnba"
        model.write_bytes(b"\x80\x04not really a pickle")
        output = tmp_path / "o.csv"
        assert main(["predict", str(model), str(files["new"]), "-o", str(output)]) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "not a valid molgnba model file", "pickle")
        assert not output.exists()

    def test_an_input_without_rows_is_a_usage_error_and_writes_nothing(self, models, tmp_path, capsys):
        data = tmp_path / "data.csv"
        data.write_text("smiles,id\n")
        output = tmp_path / "o.csv"
        assert main(["predict", models["regression"], str(data), "-o", str(output)]) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "no rows")
        assert list(tmp_path.iterdir()) == [data]

    def test_writes_exactly_what_predict_file_writes(self, files, models, tmp_path, monkeypatch):
        from molgnba import screening

        calls = []
        original = screening.predict_file
        monkeypatch.setattr(screening, "predict_file", lambda *a, **k: calls.append(k) or original(*a, **k))
        by_command, by_function = tmp_path / "command.csv", tmp_path / "function.csv"
        assert main(["predict", models["multitask"], str(files["new"]), "-o", str(by_command), "-q"]) == EXIT_OK
        assert len(calls) == 1  # the command has no prediction code of its own
        original(load_model(models["multitask"]), files["new"], by_function, target_names=["p_np", "ring"])
        assert by_command.read_text() == by_function.read_text()

    def test_help_describes_the_output_columns(self, capsys):
        assert main(["predict", "--help"]) == EXIT_OK
        text = capsys.readouterr().out
        assert "<target>_proba_<class>" in text and ERROR_COLUMN in text and "--chunk-size" in text


@pytest.fixture(scope="module")
def uncertain_models(files, tmp_path_factory):
    folder = tmp_path_factory.mktemp("uncertain")
    return {
        "ensemble": fit_model(files, folder, "ens.molgnba", "--target", "logS", "--task", "regression",
                              "--ensemble", "2", "--uncertainty", "ensemble"),
        "mve": fit_model(files, folder, "mve.molgnba", "--target", "logS", "--target", "half_logS",
                         "--task", "regression", "--uncertainty", "mve"),
    }


class TestUncertainty:
    def test_fit_records_the_ensemble_and_the_uncertainty_method(self, uncertain_models):
        ensemble, mve = (load_model(uncertain_models[name]) for name in ("ensemble", "mve"))
        assert ensemble.n_ensemble == 2 and len(ensemble.estimators_) == 2 and ensemble.uncertainty == "ensemble"
        assert mve.uncertainty == "mve" and mve.attentive_loss is False  # mve implies the plain likelihood

    def test_predict_uncertainty_adds_std_after_each_prediction(self, files, uncertain_models, tmp_path):
        output = tmp_path / "out.csv"
        arguments = ["predict", uncertain_models["mve"], str(files["new"]), "-o", str(output), "-q", "--uncertainty"]
        assert main(arguments) == EXIT_OK
        original, result = read_text_csv(files["new"]), pd.read_csv(output, dtype={"code": str})
        assert list(result.columns) == list(original.columns) + [
            "logS_pred", "logS_std", "half_logS_pred", "half_logS_std", ERROR_COLUMN,
        ]
        invalid = result["id"].isin([2, 4, 6])
        assert result.loc[invalid, ["logS_std", "half_logS_std"]].isna().all().all()
        valid_smiles = original.loc[~invalid.to_numpy(), "smiles"].tolist()
        mean, std = load_model(uncertain_models["mve"]).predict(valid_smiles, return_std=True)
        np.testing.assert_allclose(result.loc[~invalid, ["logS_pred", "half_logS_pred"]], mean, rtol=1e-6)
        np.testing.assert_allclose(result.loc[~invalid, ["logS_std", "half_logS_std"]], std, rtol=1e-6)

    def test_predict_uncertainty_of_an_ensemble(self, files, uncertain_models, tmp_path):
        output = tmp_path / "out.csv"
        assert main(["predict", uncertain_models["ensemble"], str(files["new"]), "-o", str(output), "-q",
                     "--uncertainty"]) == EXIT_OK
        result = pd.read_csv(output)
        assert list(result.columns[-3:]) == ["logS_pred", "logS_std", ERROR_COLUMN]
        assert (result["logS_std"].dropna() > 0).all() and result["logS_std"].notna().sum() == 4

    def test_predict_uncertainty_without_a_method_is_a_usage_error(self, files, models, tmp_path, capsys):
        output = tmp_path / "out.csv"
        for model in ("regression", "binary"):
            assert main(["predict", models[model], str(files["new"]), "-o", str(output), "--uncertainty"]) == EXIT_USAGE
            assert_clean_error(capsys.readouterr(), "--uncertainty needs", "uncertainty method")
        assert not output.exists()

    def test_fit_uncertainty_for_classification_is_a_usage_error(self, files, tmp_path, capsys):
        arguments = ["fit", str(files["train"]), "--target", "p_np", "--task", "classification",
                     "--uncertainty", "ensemble", "-o", str(tmp_path / "m.molgnba"), *TINY_ARGS, "-q"]
        assert main(arguments) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "--uncertainty is for regression")


class TestFingerprint:
    def test_writes_every_row_with_the_models_fingerprints(self, files, models, tmp_path):
        output = tmp_path / "fingerprints.csv"
        assert main(["fingerprint", models["regression"], str(files["new"]), "-o", str(output), "-q"]) == EXIT_OK
        original, result = read_text_csv(files["new"]), read_text_csv(output)
        model = load_model(models["regression"])
        names = model.get_feature_names_out().tolist()
        assert list(result.columns) == list(original.columns) + names + [ERROR_COLUMN]
        pd.testing.assert_frame_equal(result[original.columns], original)
        invalid = result["id"].isin(["2", "4", "6"])
        assert (result.loc[invalid, names] == "").all().all()
        assert result.loc[invalid, ERROR_COLUMN].tolist() == INVALID_REASONS
        expected = model.transform(original.loc[~invalid, "smiles"].tolist())
        np.testing.assert_allclose(result.loc[~invalid, names].astype(float), expected, rtol=1e-6, atol=1e-7)

    def test_classifier_fingerprints_and_a_bad_model_file(self, files, models, tmp_path, capsys):
        output = tmp_path / "fp.csv"
        assert main(["fingerprint", models["binary"], str(files["new"]), "-o", str(output), "-q"]) == EXIT_OK
        assert pd.read_csv(output).columns[2 + 2] == "gnnclassifier0"
        bad = tmp_path / "bad.molgnba"
        bad.write_text("not a model")
        assert main(["fingerprint", str(bad), str(files["new"]), "-o", str(tmp_path / "x.csv")]) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "not a valid molgnba model file")

    def test_help_describes_the_output(self, capsys):
        assert main(["fingerprint", "--help"]) == EXIT_OK
        text = capsys.readouterr().out
        assert "gnnregressor0" in text and ERROR_COLUMN in text and "transform" in text


class TestEvaluate:
    def test_regression_metrics_match_scikit_learn_and_go_to_json(self, files, models, tmp_path, capsys):
        report = tmp_path / "metrics.json"
        assert main(["evaluate", models["regression"], str(files["train"]), "--json", str(report)]) == EXIT_OK
        table = capsys.readouterr().out
        assert "rmse" in table and "mae" in table and "r2" in table
        frame = pd.read_csv(files["train"])
        predicted = load_model(models["regression"]).predict(frame["smiles"])
        metrics = json.loads(report.read_text())["targets"]["logS"]
        assert metrics["n_evaluated"] == N_MOLECULES
        assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - frame["logS"]) ** 2)))
        assert metrics["mae"] == pytest.approx(mean_absolute_error(frame["logS"], predicted))
        assert metrics["r2"] == pytest.approx(r2_score(frame["logS"], predicted))

    def test_classification_reports_roc_auc_and_accuracy(self, files, models, capsys):
        assert main(["evaluate", models["strings"], str(files["train"]), "--target", "soluble",
                     "--json", "-", "-q"]) == EXIT_OK
        captured = capsys.readouterr()
        report = json.loads(captured.out)  # stdout holds the JSON only
        frame = pd.read_csv(files["train"])
        proba = load_model(models["strings"]).predict_proba(frame["smiles"])[:, 1]
        assert report["metrics"]["roc_auc"] == pytest.approx(roc_auc_score(frame["soluble"] == "yes", proba))
        assert 0 <= report["metrics"]["accuracy"] <= 1

    def test_several_targets_are_reported_with_their_mean(self, files, models, capsys):
        assert main(["evaluate", models["multitask"], str(files["train"])]) == EXIT_OK
        table = capsys.readouterr().out
        assert "p_np" in table and "ring" in table and "mean" in table

    def test_rows_with_invalid_smiles_or_no_target_are_left_out_and_counted(self, models, tmp_path, capsys):
        data = tmp_path / "data.csv"
        data.write_text("smiles,logS\nCCO,0.5\nC1CC,1.0\nCCCC,\nc1ccccc1,-2.0\n")
        assert main(["evaluate", models["regression"], str(data), "--json", "-", "-q"]) == EXIT_OK
        report = json.loads(capsys.readouterr().out)
        assert report["n_invalid_smiles"] == 1
        assert report["targets"]["logS"]["n_evaluated"] == 2
        assert report["targets"]["logS"]["n_missing_target"] == 1

    def test_multiclass_roc_auc_is_one_vs_rest(self, files, models, capsys):
        assert main(["evaluate", models["multiclass"], str(files["train"]), "--json", "-", "-q"]) == EXIT_OK
        report = json.loads(capsys.readouterr().out)
        frame = pd.read_csv(files["train"])
        estimator = load_model(models["multiclass"])
        proba = estimator.predict_proba(frame["smiles"])
        assert report["metrics"]["roc_auc"] == pytest.approx(roc_auc_score(frame["tertile"], proba, multi_class="ovr"))
        predicted = estimator.predict(frame["smiles"])
        assert report["metrics"]["accuracy"] == pytest.approx(np.mean(predicted == frame["tertile"]))

    def test_multi_task_labels_must_be_0_or_1(self, models, tmp_path, capsys):
        data = tmp_path / "data.csv"
        data.write_text("smiles,p_np,ring\nCCO,1,0\nCCN,2,1\n")
        assert main(["evaluate", models["multitask"], str(data)]) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "'p_np'", "0 or 1", "line 3: '2'")

    def test_labels_the_model_never_saw_are_a_usage_error(self, models, tmp_path, capsys):
        data = tmp_path / "data.csv"
        data.write_text("smiles,soluble\nCCO,yes\nCCN,maybe\n")
        assert main(["evaluate", models["strings"], str(data)]) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "maybe", "['no', 'yes']")

    def test_a_missing_target_column_suggests_the_closest(self, files, models, capsys):
        assert main(["evaluate", models["regression"], str(files["train"]), "--target", "LogS"]) == EXIT_USAGE
        assert_clean_error(capsys.readouterr(), "Did you mean 'logS'?")


class TestBenchmark:
    def test_forwards_its_arguments_untouched(self, monkeypatch):
        received = []
        monkeypatch.setattr(benchmark_main, "main", lambda argv: received.append(argv) or 0)
        arguments = ["--datasets", "esol", "--epochs", "1", "--report-only"]
        assert main(["benchmark", *arguments]) == EXIT_OK
        assert received == [arguments]

    def test_help_is_the_benchmarks_own(self, capsys):
        assert main(["benchmark", "--help"]) == EXIT_OK
        assert "--datasets" in capsys.readouterr().out


class TestMain:
    def test_version_and_help(self, capsys):
        assert main(["--version"]) == EXIT_OK
        assert capsys.readouterr().out.startswith("molgnba ")
        assert main(["--help"]) == EXIT_OK
        text = capsys.readouterr().out
        assert all(command in text for command in ("fit", "predict", "evaluate", "benchmark", "exit status:"))

    def test_no_command_is_a_usage_error(self, capsys):
        assert main([]) == EXIT_USAGE
        assert "usage: molgnba" in capsys.readouterr().err

    def test_unexpected_failures_exit_1_without_traceback_unless_debug(self, files, tmp_path, monkeypatch, capsys):
        def explode(self, *args, **kwargs):
            raise RuntimeError("CUDA out of memory (simulated)")

        monkeypatch.setattr(GNNRegressor, "fit", explode)
        arguments = ["fit", str(files["train"]), "--target", "logS", "--task", "regression", "-q",
                     "-o", str(tmp_path / "m.molgnba")]
        assert main(arguments) == EXIT_FAILURE
        assert_clean_error(capsys.readouterr(), "RuntimeError: CUDA out of memory (simulated)", "--debug")
        with pytest.raises(RuntimeError, match="simulated"):
            main(["--debug", *arguments])

    @pytest.mark.slow  # a subprocess that imports torch and fits
    def test_runs_as_a_module_in_a_subprocess(self, files, models, tmp_path):
        output = tmp_path / "predictions.csv"
        command = [sys.executable, "-m", "molgnba.cli", "predict", models["binary"], str(files["new"]),
                   "-o", str(output)]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert completed.returncode == EXIT_OK, completed.stderr
        assert "wrote predictions for 7 rows" in completed.stderr
        assert len(pd.read_csv(output)) == 7
