"""Every docstring example in the package runs, so the documentation cannot rot.

And every public class, function and method has such an example (a numpydoc
``Examples`` section), so the documentation cannot silently fall behind the API.
"""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import molgnba

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(molgnba.__path__, prefix="molgnba.")
)

# Optional dependencies that a module's examples need (the module itself imports without them).
EXAMPLE_DEPENDENCIES = {
    "molgnba.distributed": ("dask.distributed", "dask.dataframe"),
}

# Modules whose public names need no Examples section.
WITHOUT_EXAMPLES_MODULES = {
    # The ``python -m molgnba.benchmark`` entry point: its main() runs the whole
    # benchmark, and its module docstring shows the command lines instead.
    "molgnba.benchmark.__main__",
}

# Public names (``module.name`` or ``module.Class.method``) that need no Examples
# section. Empty: add a name only with a comment saying why it cannot have one.
WITHOUT_EXAMPLES: set[str] = set()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    for dependency in EXAMPLE_DEPENDENCIES.get(name, ()):
        pytest.importorskip(dependency)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def _public_api():
    """``(qualified name, object)`` of every public class, function and method of the package.

    Module level: the names not starting with "_" that the module defines
    itself (not those it imports); private modules (``molgnba.estimators._base``)
    are skipped, their classes being checked where a public module exports them. Methods: the functions (static and class
    methods included) that a public class defines itself in the module's
    source (or a private submodule's), not starting with "_". A method that overrides one of a base class (``forward`` of a torch
    module, the ``on_*`` hooks of a skorch callback, ``split`` of a
    cross-validator) is left out: it implements a contract the base class
    documents, and the class's own example shows it at work.
    """
    for module_name in ["molgnba", *MODULES]:
        if module_name in WITHOUT_EXAMPLES_MODULES:
            continue
        if any(part.startswith("_") for part in module_name.split(".")):
            # A private module (molgnba.estimators._base): what it holds is public only
            # where a public module re-exports it, and is checked there.
            continue
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            yield f"{module_name}.{name}", obj
            if not inspect.isclass(obj):
                continue
            for method_name, member in vars(obj).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if method_name.startswith("_") or not inspect.isfunction(member):
                    continue
                if not (member.__module__ + ".").startswith(module_name + "."):
                    # Not written here: e.g. the ``propagate`` and ``collect`` that PyG
                    # generates and sets on a MessagePassing subclass once one is created.
                    continue
                if any(method_name in vars(base) for base in obj.__mro__[1:]):
                    continue
                yield f"{module_name}.{name}.{method_name}", member


def _has_examples_section(obj) -> bool:
    lines = [line.strip() for line in (inspect.getdoc(obj) or "").splitlines()]
    return any(
        line == "Examples" and following.startswith("--------")
        for line, following in zip(lines, lines[1:])
    )


def test_public_api_has_examples():
    api = dict(_public_api())
    assert "molgnba.losses.GNBALoss" in api and "molgnba.featurize.GraphCache.get" in api
    missing = sorted(
        name for name, obj in api.items() if name not in WITHOUT_EXAMPLES and not _has_examples_section(obj)
    )
    assert not missing, (
        f"{len(missing)} public classes, functions or methods have no numpydoc Examples section: "
        + ", ".join(missing)
    )
    stale = sorted(WITHOUT_EXAMPLES - set(api))
    assert not stale, f"WITHOUT_EXAMPLES names what is not public API (any more): {stale}"
