"""The documentation builds with warnings as errors, and covers the public API.

CI runs the test suite, so this is where the docs are built in CI: the same
command as ``sphinx-build -W --keep-going -b html docs docs/_build/html``, into a
temporary directory. The build also runs ``docs/_scripts/make_figures.py`` when its
figures are missing or stale (a fresh clone), which needs the MoleculeNet data.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _conf():
    """docs/conf.py as a module (Sphinx executes it with a ``tags`` object in scope)."""
    spec = importlib.util.spec_from_file_location("_molgnba_docs_conf", DOCS / "conf.py")
    module = importlib.util.module_from_spec(spec)
    module.tags = type("Tags", (), {"add": lambda self, tag: None})()
    spec.loader.exec_module(module)  # side-effect free: the build's work happens in setup(app)
    return module


def test_api_reference_covers_the_package():
    import molgnba

    conf = _conf()
    index = conf._api_index()
    missing = [name for name in molgnba.__all__ if not name.startswith("_") and f"~molgnba.{name}\n" not in index]
    assert not missing
    modules = [name for name in conf.MODULES if name not in conf.MODULES_NOT_LISTED]
    assert {"datasets", "model_selection", "plotting", "losses", "featurize"} <= set(modules)
    assert all(f"~molgnba.{name}\n" in index for name in modules)


def test_examples_page_lists_every_example():
    text = _conf()._examples_markdown()
    for script in (ROOT / "examples").glob("*.py"):
        assert f"../examples/{script.name}" in text


def test_results_page_tables_match_the_committed_runs(tmp_path):
    """docs/benchmarks.md shows what the run files say: every table between its
    report markers is what the report of benchmarks/results/paper-protocol/runs gives."""
    from molgnba.benchmark.report import write_report

    runs = ROOT / "benchmarks" / "results" / "paper-protocol" / "runs"
    (tmp_path / "runs").symlink_to(runs)
    report = write_report(tmp_path, figures=False).read_text()
    spec = importlib.util.spec_from_file_location("_sync_tables", DOCS / "_scripts" / "sync_benchmark_tables.py")
    sync_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync_tables)

    page = (DOCS / "benchmarks.md").read_text()
    assert len(sync_tables.MARKER.findall(page)) >= 3
    assert sync_tables.sync(report, page) == page, (
        "docs/benchmarks.md is out of date with the run files: run `python -m molgnba.benchmark --report-only "
        "--out benchmarks/results/paper-protocol`, then `python docs/_scripts/sync_benchmark_tables.py`")


@pytest.mark.slow
def test_docs_build_without_warnings(shared_data_dir, tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("myst_nb")
    pytest.importorskip("pydata_sphinx_theme")
    env = dict(os.environ, MOLGNBA_DATA=str(shared_data_dir), OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    out = tmp_path / "html"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-d", str(tmp_path / "doctrees"),
         str(DOCS), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, f"sphinx-build failed after {seconds:.0f} s:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"

    for page in ["index", "getting_started", "tutorial", "examples", "changelog", "results",
                 "api/index", "api/generated/molgnba.GNNClassifier", "api/generated/molgnba.plotting",
                 "user_guide/attentive_loss", "user_guide/multitask", "user_guide/model_selection"]:
        assert (out / f"{page}.html").is_file(), page
    # The results page renders its tables (the report markers are comments, not table rows).
    assert (out / "benchmarks.html").read_text().count("<table") >= 3
    # The user guide shows the figures that the build made.
    attentive = (out / "user_guide" / "attentive_loss.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+)"', attentive)
    assert len(images) >= 3 and all((out / "user_guide" / src).resolve().is_file() for src in images)
    # The tutorial is rendered with its stored outputs, plots included.
    assert re.search(r'<img[^>]+src="[^"]+\.png"', (out / "tutorial.html").read_text())
    # numpydoc rendered the Parameters of the estimators.
    assert "attention_entropy_weight" in (out / "api" / "generated" / "molgnba.GNNClassifier.html").read_text()
