"""Every example script and the tutorial notebook run end to end (one epoch per fit).

They read the MoleculeNet CSVs through ``MOLGNBA_DATA`` (the shared data directory of
the ``shared_data_dir`` fixture) and train for ``MOLGNBA_EXAMPLE_EPOCHS=1`` epoch,
with one torch thread each: oversubscribed threads slow small-graph training down
severalfold on a shared two-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
NOTEBOOK = ROOT / "notebooks" / "tutorial.ipynb"


def _environment(data_dir: Path) -> dict:
    return dict(
        os.environ,
        MOLGNBA_DATA=str(data_dir),
        MOLGNBA_EXAMPLE_EPOCHS="1",
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )


def test_examples_found():
    assert len(EXAMPLES) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_runs(script, shared_data_dir, tmp_path):
    docstring = script.read_text().split('"""')
    assert len(docstring) >= 3 and "\n===" in docstring[1], "gallery style: a docstring with a title"
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=_environment(shared_data_dir),
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"


def test_notebook_has_stored_outputs():
    """The docs render the notebook from its stored outputs; they must be there."""
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "run the notebook and save it with outputs"
    assert not any(output.output_type == "error" for cell in code for output in cell.outputs)
    assert any("image/png" in output.get("data", {}) for cell in code for output in cell.outputs)


@pytest.mark.slow
def test_notebook_runs(shared_data_dir, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for key, value in _environment(shared_data_dir).items():
        monkeypatch.setenv(key, value)  # the kernel inherits this process's environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    assert not errors
