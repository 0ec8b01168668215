"""Sphinx configuration of the molgnba documentation.

Build (from the repository root; warnings are errors, as in CI)::

    .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

Why these tools: numpydoc docstrings, the pydata theme and autosummary API
pages are what scikit-learn, NumPy, SciPy and pandas use, so our users find
the layout they know; myst-nb renders the Markdown pages and the tutorial
notebook (from its stored outputs: the build never executes it).

Besides reading the sources, the build

* runs ``docs/_scripts/make_figures.py`` (a few short fits, about 20 s) when
  its figures in ``docs/_generated/figures`` are missing or older than the
  script or the package, so the user guide shows figures made by this very
  version of molgnba;
* copies ``notebooks/tutorial.ipynb`` to ``docs/tutorial.ipynb``;
* writes the ``molgnba --help`` text to ``docs/_generated/cli_help.txt``;
* lists the example scripts of ``examples/`` on the examples page;
* includes the pages that other parts of the project may or may not have
  written yet (``docs/benchmarks.md``, ``docs/performance.md``, the API pages
  of optional modules) only where they exist.

Generated files are ignored by ``docs/.gitignore``.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = DOCS / "_generated"
sys.path.insert(0, str(ROOT))  # document the working tree, installed or not

import molgnba  # noqa: E402

# -- project -------------------------------------------------------------------------
project = "molgnba"
author = "molgnba developers"
copyright = "molgnba developers"
version = release = molgnba.__version__

# -- extensions ----------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "_scripts", "_templates", "Thumbs.db", ".DS_Store", "README.md", "**.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# autodoc / autosummary: API pages generated from the docstrings.
autosummary_generate = True
autosummary_ignore_module_all = False  # a module's members are its __all__
autosummary_context = {"toplevel": [name for name in molgnba.__all__ if not name.startswith("_")]}
autodoc_inherit_docstrings = False  # an override without a docstring is an internal hook
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"

# numpydoc: no automatic member tables (the templates list members), no
# cross-referencing of free-form type descriptions such as "array-like of shape".
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

# MyST / myst-nb: Markdown pages with $math$, and the notebook's stored outputs.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"
nb_output_stderr = "remove"
nb_merge_streams = True

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"molgnba {release}"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_static_path: list[str] = []
html_show_sourcelink = False


# -- pages that may not exist --------------------------------------------------------
def _exists(relative: str) -> bool:
    return (ROOT / relative).is_file()


# Pages that other parts of the project write into docs/ (benchmarks.md,
# performance.md, and whatever else appears there): listed, where present, in the
# toctree of the results page, at its marker line. The tag "molgnba_<name>" (for
# ``only`` directives in the user guide) is set for each present page and module.
OWN_PAGES = {"index", "getting_started", "examples", "results", "changelog", "tutorial", "README"}
RESULT_PAGES = ["benchmarks", "performance"]  # first, in this order; then the others


def _results_pages() -> list[str]:
    others = sorted(path.stem for path in DOCS.glob("*.md") if path.stem not in OWN_PAGES | set(RESULT_PAGES))
    return [page for page in RESULT_PAGES if (DOCS / f"{page}.md").is_file()] + others


OPTIONAL_PAGES = {"@results_pages@": _results_pages}
for _page in _results_pages():
    tags.add(f"molgnba_{_page}")  # noqa: F821 - Sphinx provides ``tags`` to conf.py


def _present_pages(marker: str) -> list[str]:
    return OPTIONAL_PAGES[marker]()


# -- the API reference ---------------------------------------------------------------
# docs/api/index.rst is generated from molgnba.__all__ and the package's modules,
# so that it always matches the code: a name added to the package, or a module
# added to it, is documented by the next build (and must have clean docstrings).
MODULES = sorted(
    path.stem if path.name != "__init__.py" else path.parent.name
    for path in [*(ROOT / "molgnba").glob("*.py"), *(ROOT / "molgnba").glob("*/__init__.py")]
    if not path.stem.startswith("_") or path.name == "__init__.py"
)
MODULES = [name for name in MODULES if name != "molgnba"]
for _module in MODULES:
    tags.add(f"molgnba_{_module}")  # noqa: F821
# Not listed under "Modules": estimators' classes are documented at the top level,
# data and utils are internal plumbing, cli has a page of its own.
MODULES_NOT_LISTED = {"estimators", "data", "cli", "utils"}
# Sections of the top-level names, by the module that defines them (others: "More").
TOPLEVEL_SECTIONS = [
    ("Estimators", "molgnba.estimators"),
    ("Losses", "molgnba.losses"),
    ("Featurizers", "molgnba.featurize"),
    ("Saving and loading models", "molgnba.persistence"),
]
API_INTRO = """\
API reference
=============

Generated from the docstrings, which follow the `numpydoc
<https://numpydoc.readthedocs.io/en/latest/format.html>`_ standard of scikit-learn and NumPy:
every parameter with its type, default and allowed values, the fitted attributes, and examples
that run as doctests. The names below are imported from ``molgnba`` itself; the modules hold
the rest.

.. This file is generated by docs/conf.py at every build: edit conf.py, not this file.
"""


def _autosummary(names: list[str], template: str) -> str:
    entries = "".join(f"   ~{name}\n" for name in names)
    return f".. autosummary::\n   :toctree: generated\n   :template: {template}\n\n{entries}\n"


def _api_index() -> str:
    import inspect

    public = [name for name in molgnba.__all__ if not name.startswith("_")]
    by_module: dict[str, list[str]] = {}
    for name in public:
        by_module.setdefault(getattr(getattr(molgnba, name), "__module__", ""), []).append(name)
    known = {module for _, module in TOPLEVEL_SECTIONS}
    sections = [*TOPLEVEL_SECTIONS, ("More", None)]
    parts = [API_INTRO]
    for title, module in sections:
        names = by_module.get(module, []) if module else [
            name for mod, names in by_module.items() if mod not in known for name in names
        ]
        if not names:
            continue
        parts.append(f"{title}\n{'-' * len(title)}\n")
        classes = [n for n in names if inspect.isclass(getattr(molgnba, n))]
        others = [n for n in names if n not in classes]
        if classes:
            parts.append(_autosummary([f"molgnba.{n}" for n in classes], "molgnba_class"))
        if others:
            parts.append(_autosummary([f"molgnba.{n}" for n in others], "molgnba_function"))
    listed = [f"molgnba.{name}" for name in MODULES if name not in MODULES_NOT_LISTED]
    parts.append("Modules\n-------\n")
    parts.append(_autosummary(listed, "molgnba_module"))
    if "cli" in MODULES:
        parts.append("Command line\n------------\n\n.. toctree::\n   :maxdepth: 1\n\n   cli\n")
    return "\n".join(parts)


if "cli" not in MODULES:
    exclude_patterns.append("api/cli.rst")


# -- the examples page ---------------------------------------------------------------
def _examples_markdown() -> str:
    """A section per script of examples/: its docstring (reST) and its code."""
    parts = []
    for script in sorted((ROOT / "examples").glob("*.py")):
        docstring = ast.get_docstring(ast.parse(script.read_text()), clean=True) or script.stem
        lines = docstring.splitlines()
        title, body = lines[0].strip(), lines[1:]
        if body and set(body[0].strip()) <= set("=-~^*"):
            body = body[1:]
        text = "\n".join(body).strip()
        parts.append(
            f"## {title}\n\n"
            f"`examples/{script.name}`; run it with `python examples/{script.name}`.\n\n"
            + (f"```{{eval-rst}}\n{text}\n```\n\n" if text else "")
            + f"```{{literalinclude}} ../examples/{script.name}\n:language: python\n:lines: {_code_start(script)}-\n```\n"
        )
    return "\n".join(parts)


def _code_start(script: Path) -> int:
    """First line after the module docstring (1-based)."""
    module = ast.parse(script.read_text())
    first = module.body[0] if module.body else None
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        return first.end_lineno + 1
    return 1


def _substitute(app, docname, source):
    text = source[0]
    for marker in OPTIONAL_PAGES:
        if marker in text:
            lines = []
            for line in text.splitlines():
                if line.strip() == marker:
                    indent = line[: len(line) - len(line.lstrip())]
                    lines += [indent + entry for entry in _present_pages(marker)]
                else:
                    lines.append(line)
            text = "\n".join(lines) + "\n"
    if "@examples@" in text:
        text = text.replace("@examples@", _examples_markdown())
    source[0] = text


# Members inherited from these classes are documented upstream (skorch, torch,
# torch-geometric, scikit-learn), in docstrings written for their own sites.
INHERITED_ELSEWHERE = (
    "NeuralNet, Module, MessagePassing, BaseEstimator, ClassifierMixin, RegressorMixin, "
    "GroupKFold, _MetadataRequester, Callback, Exception, Warning, object"
)
autosummary_context["inherited_elsewhere"] = INHERITED_ELSEWHERE


def _skip_member(app, what, name, obj, skip, options):
    # GNNRegressor.predict_proba exists only to be unavailable (scikit-learn's available_if).
    if name == "predict_proba" and "Regressors have no class probabilities" in (getattr(obj, "__doc__", "") or ""):
        return True
    # scikit-learn's metadata-routing methods, generated on every estimator and splitter.
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


# -- generated inputs ----------------------------------------------------------------
def _copy_if_changed(source: Path, target: Path) -> None:
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)


def _write_if_changed(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


FIGURE_SCRIPT = DOCS / "_scripts" / "make_figures.py"
FIGURES = GENERATED / "figures"


def _figures_are_stale() -> bool:
    names = next(
        ast.literal_eval(node.value)
        for node in ast.parse(FIGURE_SCRIPT.read_text()).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "FIGURES"
    )
    paths = [FIGURES / name for name in names]
    if not all(path.exists() for path in paths):
        return True
    oldest = min(path.stat().st_mtime for path in paths)
    sources = [FIGURE_SCRIPT, *(ROOT / "molgnba").rglob("*.py")]
    return any(path.stat().st_mtime > oldest for path in sources)


def _make_figures() -> None:
    mode = os.environ.get("MOLGNBA_DOCS_FIGURES", "auto")  # auto, always or never
    if mode == "never" or (mode == "auto" and not _figures_are_stale()):
        return
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    shared = ROOT.parent / "shared" / "data"
    if "MOLGNBA_DATA" not in env and shared.is_dir():
        env["MOLGNBA_DATA"] = str(shared)  # the project's copy of the MoleculeNet CSVs
    print(f"[molgnba docs] running {FIGURE_SCRIPT.relative_to(ROOT)} (figures for the user guide)")
    subprocess.run([sys.executable, str(FIGURE_SCRIPT), str(FIGURES)], check=True, env=env, cwd=ROOT)


def _write_cli_help() -> None:
    if not _exists("molgnba/cli.py"):
        return
    from molgnba.cli import build_parser

    parser = build_parser()
    texts = [parser.format_help()]
    subparsers = next(
        (action for action in parser._actions if action.__class__.__name__ == "_SubParsersAction"), None
    )
    for name, sub in (subparsers.choices.items() if subparsers else []):
        if name != "benchmark":
            texts.append(f"$ molgnba {name} --help\n\n{sub.format_help()}")
    _write_if_changed(GENERATED / "cli_help.txt", "$ molgnba --help\n\n" + "\n\n".join(texts))


def setup(app):
    # Sphinx calls this before it looks for the sources: make the generated ones.
    GENERATED.mkdir(exist_ok=True)
    _write_if_changed(DOCS / "api" / "index.rst", _api_index())
    _copy_if_changed(ROOT / "notebooks" / "tutorial.ipynb", DOCS / "tutorial.ipynb")
    _write_cli_help()
    _make_figures()
    app.connect("source-read", _substitute)
    app.connect("autodoc-skip-member", _skip_member)
