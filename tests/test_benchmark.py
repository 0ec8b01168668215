"""The paired benchmark: what a user of ``python -m molgnba.benchmark`` relies on.

Runs use the 48 molecules of the conftest ``SMALL_SMILES`` set with their Crippen
logP, written as ``esol.csv`` to a temporary data directory, and a one-layer, 8-unit
network for 2 epochs, so each takes about a second.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from molgnba.benchmark.__main__ import main as benchmark_main
from molgnba.benchmark.report import hard_samples, load_runs, loss_ranking, paired_differences, results_table, write_report
from molgnba import GNNClassifier, GNNRegressor
from molgnba.benchmark.runner import (
    ARRAY_FIELDS, ARRAYS_SUFFIX, CLASSIFICATION_ONLY_LOSSES, LOSS_VARIANTS, RunConfig, _split, load_run_arrays, plan_runs,
    run_benchmark, run_one,
)
from molgnba.losses import BENCHMARK_LOSS_VARIANTS, get_loss_class

from conftest import SMALL_SMILES, SMALL_TARGETS

TINY = {"num_layers": 1, "hidden_dim": 8, "lr": 1e-3, "batch_size": 16}


@pytest.fixture(scope="module")
def data_home(tmp_path_factory):
    """A data directory with an ``esol.csv`` in the loader's layout (and no ``bbbp.csv``)."""
    folder = tmp_path_factory.mktemp("data")
    pd.DataFrame({"smiles": SMALL_SMILES, "logSolubility": SMALL_TARGETS}).to_csv(folder / "esol.csv", index=False)
    return folder


def tiny_config(loss, seed=0):
    return RunConfig("esol", "gin", loss, seed, epochs=2, hyperparameters=dict(TINY))


def record(dataset, backbone, loss, seed, score, metric):
    config = RunConfig(dataset, backbone, loss, seed)
    return {"config": {"dataset": dataset, "split": "random", "backbone": backbone, "loss": loss,
                       "seed": seed, "epochs": 100},
            "key": config.key, "metric": metric, "test_score": score, "best_epoch": 50, "wall_seconds": 10.0}


# --------------------------------------------------------------------- planning
def test_plan_puts_each_pair_together_and_leaves_classification_losses_out_of_regression():
    configs = plan_runs(["esol", "bbbp"], ["gin"], ["plain", "gnba", "focal", "ghm-30bins", "ghm"], seeds=[0, 1])
    keys = [c.key for c in configs]
    # The pair of a seed/dataset/backbone is adjacent, before any third loss.
    assert keys[:2] == ["esol-random-gin-plain-seed0-ep100", "esol-random-gin-gnba-seed0-ep100"]
    assert all(c.loss in ("plain", "gnba") for c in configs[:8])
    assert {c.dataset for c in configs if c.loss in ("focal", "ghm-30bins")} == {"bbbp"}
    assert {c.dataset for c in configs if c.loss == "ghm"} == {"bbbp", "esol"}
    assert len(configs) == 2 * 2 * 2 + 2 * 2 + 2 * 2


def test_plan_refuses_unknown_losses_before_any_run():
    with pytest.raises(ValueError, match="unknown loss variant.*'gnbaa'"):
        plan_runs(["esol"], ["gin"], ["plain", "gnbaa"], seeds=[0])


def test_split_is_determined_by_the_seed():
    smiles = [f"C{'C' * k}O" for k in range(100)]
    first, again, other = _split(smiles, "random", 0), _split(smiles, "random", 0), _split(smiles, "random", 1)
    for part, same in zip(first, again):
        np.testing.assert_array_equal(part, same)
    assert not np.array_equal(first[2], other[2])
    assert sorted(np.concatenate(first).tolist()) == list(range(100))  # every molecule once
    assert [len(part) for part in first] == [80, 10, 10]


@pytest.mark.parametrize("loss", sorted(LOSS_VARIANTS))
def test_each_loss_variant_reaches_the_loss_with_its_settings(loss):
    # A run file names its variant, not the estimator's defaults: the spelled-out settings
    # must be the ones the loss trains with, so that a change of default cannot reword old runs.
    smiles, y = SMALL_SMILES[:40], SMALL_TARGETS[:40]
    estimators = [(GNNClassifier, (y > np.median(y)).astype(int))]
    if loss not in CLASSIFICATION_ONLY_LOSSES:
        estimators.append((GNNRegressor, y))
    name, params = BENCHMARK_LOSS_VARIANTS[loss]
    for estimator, target in estimators:
        criterion = estimator(**TINY, max_epochs=1, **LOSS_VARIANTS[loss]).fit(smiles, target).criterion_
        assert type(criterion) is get_loss_class(name)
        for key, value in params.items():
            assert getattr(criterion, key) == value, (estimator.__name__, key)


# The estimator settings of the variants before they were named by the loss registry
# (molgnba at 646b9e2): a run with today's LOSS_VARIANTS must train exactly as these did.
OLD_LOSS_VARIANTS = {
    "plain": {"attentive_loss": False},
    "gnba": {"attentive_loss": True, "adversarial_attention": False, "attention_entropy_weight": 1.0},
    "gnba-paper": {"attentive_loss": True, "adversarial_attention": False, "attention_entropy_weight": 0.0},
    "gnba-adversarial": {"attentive_loss": True, "adversarial_attention": True, "attention_entropy_weight": 5.0},
    "focal": {"attentive_loss": False, "loss": "focal", "criterion__gamma": 2.0, "criterion__alpha": None},
    "ghm": {"attentive_loss": False, "loss": "ghm", "criterion__bins": 10, "criterion__momentum": 0.75,
            "criterion__mu": 0.02},
    "ghm-30bins": {"attentive_loss": False, "loss": "ghm", "criterion__bins": 30, "criterion__momentum": 0.75,
                   "criterion__mu": 0.02},
}


def test_the_variant_keys_are_those_of_the_old_runs():
    assert set(LOSS_VARIANTS) == set(OLD_LOSS_VARIANTS) == set(BENCHMARK_LOSS_VARIANTS)
    assert CLASSIFICATION_ONLY_LOSSES == {"focal", "ghm-30bins"}


@pytest.mark.parametrize("loss", sorted(LOSS_VARIANTS))
def test_each_variant_trains_exactly_as_with_the_old_parameters(loss):
    smiles, y = SMALL_SMILES[:32], SMALL_TARGETS[:32]
    estimators = [(GNNClassifier, (y > np.median(y)).astype(int))]
    if loss not in CLASSIFICATION_ONLY_LOSSES:
        estimators.append((GNNRegressor, y))
    for estimator, target in estimators:
        settings = dict(TINY, max_epochs=3, batch_size=8, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # the old parameters are deprecated
            old = estimator(**settings, **OLD_LOSS_VARIANTS[loss]).fit(smiles, target)
        new = estimator(**settings, **LOSS_VARIANTS[loss]).fit(smiles, target)
        for part in ("module_", "criterion_"):
            old_state, new_state = getattr(old, part).state_dict(), getattr(new, part).state_dict()
            assert old_state.keys() == new_state.keys()
            for key in old_state:
                assert torch.equal(old_state[key], new_state[key]), (estimator.__name__, part, key)
        assert old.history[:, "train_loss"] == new.history[:, "train_loss"]


# ------------------------------------------------------------------------ runs
def test_paired_runs_share_the_split_and_differ_in_the_loss(data_home):
    plain, gnba = run_one(tiny_config("plain"), data_home=data_home), run_one(tiny_config("gnba"), data_home=data_home)
    for key in ("n_train", "n_valid", "n_test"):
        assert plain[key] == gnba[key]
    assert (plain["n_train"], plain["n_valid"], plain["n_test"]) == (38, 5, 5)  # 80/10/10 of the 48
    assert len(plain["train_gradient_norm"]) == plain["n_train"]
    assert all(value is None for value in plain["train_attention"])  # no attention without GNBA
    assert all(value is not None for value in gnba["train_attention"])
    assert plain["test_score"] != gnba["test_score"]
    json.dumps(plain)  # the record is what goes into the JSON file


def test_a_run_is_repeatable(data_home):
    first, second = (run_one(tiny_config("gnba", seed=3), data_home=data_home) for _ in range(2))
    assert first["test_score"] == second["test_score"]
    assert first["best_epoch"] == second["best_epoch"]


def test_rerun_skips_finished_runs_and_reports_failures(data_home, tmp_path):
    configs = [tiny_config("plain"), tiny_config("gnba")]
    assert run_benchmark(configs, tmp_path, data_home=data_home, progress=False) == []
    paths = {c.key: tmp_path / "runs" / f"{c.key}.json" for c in configs}
    kept = paths[configs[0].key]
    stamp = kept.stat().st_mtime_ns
    paths[configs[1].key].unlink()  # as if the benchmark had been killed during this run
    missing = RunConfig("bbbp", "gin", "plain", 0, epochs=2, hyperparameters=dict(TINY))  # no bbbp.csv there
    failures = run_benchmark(configs + [missing], tmp_path, data_home=data_home, progress=False)
    assert kept.stat().st_mtime_ns == stamp, "a finished run was run again"
    assert paths[configs[1].key].exists()
    assert [key for key, _ in failures] == [missing.key]
    assert "bbbp" in failures[0][1]
    assert not list((tmp_path / "runs").glob("*.tmp"))


@pytest.mark.slow
def test_command_line_runs_a_slice_and_writes_the_report(data_home, tmp_path):
    arguments = ["--datasets", "esol", "--backbones", "gin", "--seeds", "0", "--epochs", "2",
                 "--num-layers", "1", "--hidden-dim", "8", "--data-home", str(data_home),
                 "--out", str(tmp_path), "--no-progress"]
    assert benchmark_main(arguments) == 0
    assert sorted(os.listdir(tmp_path / "runs")) == [
        "esol-random-gin-gnba-seed0-ep2.arrays.npz", "esol-random-gin-gnba-seed0-ep2.json",
        "esol-random-gin-plain-seed0-ep2.arrays.npz", "esol-random-gin-plain-seed0-ep2.json"]
    report = (tmp_path / "report.md").read_text()
    assert "| esol | random | gin | gnba | 1 |" in report
    assert "| 1/1 | n/a |" in report or "| 0/1 | n/a |" in report  # one pair: no t-test, said so
    assert (tmp_path / "figures" / "gradnorm-esol-random-gin.png").exists()
    assert benchmark_main(["--report-only", "--out", str(tmp_path), "--no-figures"]) == 0


def test_saved_run_keeps_per_molecule_arrays_out_of_its_json(data_home, tmp_path):
    """The JSON (what git keeps) holds scalars and history only; the arrays file round-trips."""
    config = tiny_config("gnba")
    assert run_benchmark([config], tmp_path, data_home=data_home, progress=False) == []
    json_path = tmp_path / "runs" / f"{config.key}.json"
    saved = json.loads(json_path.read_text())
    assert not set(ARRAY_FIELDS) & set(saved)
    per_molecule = [name for name, value in saved.items() if isinstance(value, list) and name != "history"]
    assert per_molecule == []
    assert len(saved["history"]) == 2 and all(isinstance(row, dict) for row in saved["history"])

    record = run_one(config, data_home=data_home)  # the run is repeatable: the same arrays
    arrays = load_run_arrays(json_path)
    assert sorted(arrays) == sorted(ARRAY_FIELDS)
    for name in ARRAY_FIELDS:
        expected = np.array([np.nan if v is None else v for v in record[name]], dtype=float)
        np.testing.assert_array_equal(arrays[name], expected)
    assert saved["test_score"] == record["test_score"]
    # The summary stored in the JSON is what the arrays give.
    loaded = load_runs(tmp_path)[0]
    from_arrays = hard_samples([loaded])
    (tmp_path / "runs" / f"{config.key}{ARRAYS_SUFFIX}").unlink()
    assert load_run_arrays(json_path) == {}
    from_json = hard_samples(load_runs(tmp_path))
    pd.testing.assert_frame_equal(from_arrays, from_json)
    with pytest.raises(ValueError, match="no per-molecule arrays file"):
        hard_samples(load_runs(tmp_path), threshold=0.5)


@pytest.mark.slow
def test_report_without_arrays_keeps_the_figures_drawn_before_and_says_so(data_home, tmp_path):
    configs = [tiny_config("plain"), tiny_config("gnba")]
    assert run_benchmark(configs, tmp_path, data_home=data_home, progress=False) == []
    figure_dir = tmp_path / "docs" / "figures"
    write_report(tmp_path, figure_dir=figure_dir)
    drawn = figure_dir / "gradnorm-esol-random-gin.png"
    stamp = drawn.read_bytes()
    for path in (tmp_path / "runs").glob(f"*{ARRAYS_SUFFIX}"):
        path.unlink()
    text = write_report(tmp_path, figure_dir=figure_dir).read_text()
    assert drawn.read_bytes() == stamp
    assert "for want of the runs' per-molecule arrays files" in text
    assert "![gradnorm-esol-random-gin.png](docs/figures/gradnorm-esol-random-gin.png)" in text
    assert "![entropy-esol-random-gin.png](docs/figures/entropy-esol-random-gin.png)" in text  # from the history


# ---------------------------------------------------------------------- report
def test_paired_differences_count_better_as_positive_for_both_metrics():
    runs = [
        record("esol", "gin", "plain", 0, 1.00, "rmse"), record("esol", "gin", "gnba", 0, 0.90, "rmse"),
        record("esol", "gin", "plain", 1, 1.10, "rmse"), record("esol", "gin", "gnba", 1, 1.20, "rmse"),
        record("esol", "gin", "plain", 2, 0.95, "rmse"), record("esol", "gin", "gnba", 2, 0.85, "rmse"),
        record("bbbp", "gat", "plain", 0, 0.90, "roc_auc"), record("bbbp", "gat", "gnba", 0, 0.92, "roc_auc"),
    ]
    table = paired_differences(runs).set_index(["dataset", "backbone"])
    esol, bbbp = table.loc[("esol", "gin")], table.loc[("bbbp", "gat")]
    assert esol.pairs == 3 and esol.wins == 2
    assert esol.improvement == pytest.approx((0.10 - 0.10 + 0.10) / 3)
    assert esol.p_value == pytest.approx(stats.ttest_rel([0.90, 1.20, 0.85], [1.00, 1.10, 0.95]).pvalue)
    assert bbbp.improvement == pytest.approx(0.02) and bbbp.wins == 1 and np.isnan(bbbp.p_value)


def test_results_table_sets_our_cells_beside_the_papers():
    runs = [record("esol", "gin", "plain", seed, score, "rmse") for seed, score in enumerate([0.8, 0.9, 1.0])]
    table = results_table(runs)
    assert "0.900 ± 0.082 (n=3)" in table  # population std, as numpy's default
    assert "paper 1.074 ± 0.112" in table
    runs.append(record("esol", "gat", "gnba", 0, 0.7, "rmse"))
    assert [line.split(" |")[0] for line in results_table(runs).splitlines()[2:]] == [
        "| GIN", "| GAT + attentive loss (guarded)"]  # no empty rows for losses a backbone was not run with


def test_loss_ranking_compares_only_losses_run_on_the_same_seeds(tmp_path):
    runs = [record("esol", "gin", "plain", seed, score, "rmse") for seed, score in enumerate([1.0, 1.1, 0.9])]
    runs += [record("esol", "gin", "gnba", seed, score, "rmse") for seed, score in enumerate([0.9, 1.0, 1.2])]
    runs += [record("esol", "gin", "ghm", seed, score, "rmse") for seed, score in enumerate([0.8, 0.9, 0.85])]
    runs += [record("esol", "gin", "gnba-paper", 0, 0.5, "rmse")]  # best, but on one seed of three
    runs += [record("bbbp", "gat", "plain", 0, 0.90, "roc_auc"), record("bbbp", "gat", "focal", 0, 0.92, "roc_auc")]
    table = loss_ranking(runs).set_index(["dataset", "backbone"])
    esol, bbbp = table.loc[("esol", "gin")], table.loc[("bbbp", "gat")]
    assert [loss for loss, _ in esol.ranking] == ["ghm", "plain", "gnba"]  # lower RMSE first
    assert esol.ranking[0][1] == pytest.approx(0.85) and esol.best == "ghm" and esol.seeds == 3
    assert esol.left_out == ["gnba-paper"]
    assert bbbp.best == "focal" and bbbp.ranking[1] == ("plain", pytest.approx(0.90))  # higher ROC-AUC first
    (tmp_path / "runs").mkdir()
    for run in runs:
        (tmp_path / "runs" / f"{run['key']}.json").write_text(json.dumps(run))
    report = write_report(tmp_path, figures=False).read_text()
    assert "| esol | random | gin | 3 | ghm | ghm 0.850 > plain 1.000 > gnba 1.033 | gnba-paper |" in report


def test_hard_samples_reports_the_share_left_wrong_and_its_attention():
    run = record("bbbp", "gin", "gnba", 0, 0.9, "roc_auc")
    run["train_gradient_norm"] = [0.0, 0.1, 0.95, None, 0.99]  # None: a validation or unlabelled row
    run["train_attention"] = [1.6, 1.4, 0.1, None, 0.3]
    plain = record("bbbp", "gin", "plain", 0, 0.92, "roc_auc")
    plain["train_gradient_norm"], plain["train_attention"] = [0.0, 0.95, 0.1, 0.2], [None] * 4
    table = hard_samples([run, plain]).set_index("loss")
    assert table.loc["gnba", "wrong_fraction"] == pytest.approx(0.5)
    assert table.loc["gnba", "wrong_attention"] == pytest.approx(0.2)
    assert table.loc["plain", "wrong_fraction"] == pytest.approx(0.25)
    assert np.isnan(table.loc["plain", "wrong_attention"])


def test_report_of_an_empty_directory_says_so(tmp_path):
    (tmp_path / "runs").mkdir()
    text = write_report(tmp_path, figures=False).read_text()
    assert "0 finished runs" in text and "_no complete pairs yet_" in text


def test_report_without_figures_keeps_links_to_figures_drawn_before(tmp_path):
    """A resumed run with --no-figures must not lose the figures an earlier call drew."""
    (tmp_path / "runs").mkdir()
    run = record("esol", "gin", "plain", 0, 1.0, "rmse")
    (tmp_path / "runs" / f"{run['key']}.json").write_text(json.dumps(run))
    assert "## Figures" not in write_report(tmp_path, figures=False).read_text()
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "gradnorm-esol-random-gin.png").write_bytes(b"\x89PNG")
    text = write_report(tmp_path, figures=False).read_text()
    assert "![gradnorm-esol-random-gin.png](figures/gradnorm-esol-random-gin.png)" in text
    assert "Not redrawn" in text
