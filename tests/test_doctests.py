"""Every docstring example in the package runs, so the documentation cannot rot."""

import doctest
import importlib
import pkgutil

import pytest

import molgnba

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(molgnba.__path__, prefix="molgnba.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
