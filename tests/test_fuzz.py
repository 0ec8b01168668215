"""Property-based tests (hypothesis) of everything a user can hand the input path.

Every generated case must end in one of two ways:

* a correct result: one output row per input row (``predict`` never shortens
  its output), finite predictions for valid molecules, NaN rows for invalid
  ones with ``invalid_smiles="skip"``, the same prediction a molecule gets when
  it is predicted among valid molecules only;
* a clear molgnba error: a ``ValueError`` or ``TypeError`` raised by molgnba
  itself (not a ``UnicodeError``, not an exception from inside torch, RDKit,
  numpy or scikit-learn) whose message names the offending item and its
  position (SMILES) or row (targets).

Estimators are fitted once per module (tiny models); ``predict`` and
``predict_proba`` are fuzzed against them, ``fit`` is fuzzed with fewer
examples on the target problems, and the featurizer with many more.

How many cases each property ran is counted in :data:`CASES`; with the
environment variable ``MOLGNBA_FUZZ_REPORT`` set to a path, the counts are
written there as JSON at module teardown (merged across pytest-xdist workers).
Every ``max_examples`` below is multiplied by a scale: the loaded hypothesis
profile's ``max_examples`` over hypothesis' default of 100 (tests/conftest.py
loads "full", scale 1, for the full suite and "fast", scale 0.1, for
``-m "not slow"``), or ``MOLGNBA_FUZZ_SCALE`` when set::

    MOLGNBA_FUZZ_REPORT=/tmp/fuzz.json .venv/bin/python -m pytest tests/test_fuzz.py -q -n 2 -p no:cacheprovider
"""

from __future__ import annotations

import collections
import copy
import json
import math
import os
import re
import sys
import time
import traceback
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from rdkit import Chem, rdBase  # noqa: E402

import molgnba  # noqa: E402

if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    # Hypothesis' caches (unicode tables, constants) go to a temporary directory,
    # not to .hypothesis/ in the repository.
    try:
        import tempfile

        from hypothesis.configuration import set_hypothesis_home_dir

        set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "molgnba-hypothesis")
    except ImportError:  # pragma: no cover - a Hypothesis without this hook
        pass
from molgnba import GNNClassifier, GNNRegressor  # noqa: E402
from molgnba.featurize import check_smiles, featurize_smiles, get_featurizer  # noqa: E402

from conftest import TINY, TINY_SMILES  # noqa: E402

# --------------------------------------------------------------------------- settings
HYPOTHESIS_DEFAULT_MAX_EXAMPLES = 100
SCALE = float(
    os.environ.get("MOLGNBA_FUZZ_SCALE", settings().max_examples / HYPOTHESIS_DEFAULT_MAX_EXAMPLES)
)


def examples(n: int) -> int:
    return max(1, int(round(n * SCALE)))


# No example database: the suite must not write .hypothesis/ into the repository.
# The module-scoped fixtures are fitted once, so the function-scoped-fixture check
# (it fires on conftest's autouse seed fixture) does not apply.
# In CI the generated cases are derandomized (a fixed sequence per test), so a
# submission's CI cannot fail on a case no developer run has seen; locally
# (CI unset) every run explores new cases.
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

# A single call on the tiny models must never take longer than this (a hang guard).
SLOW_CALL_S = 30.0

# --------------------------------------------------------------------------- counting
CASES: collections.Counter = collections.Counter()


def _count() -> None:
    """Count one generated case for the calling property (by its function name)."""
    CASES[sys._getframe(1).f_code.co_name] += 1


def _write_report(path: Path, counts: dict, seconds: float) -> None:
    """Merge this process's counts into the JSON report (one entry per xdist worker)."""
    import fcntl

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        report = {}
        if path.exists():
            try:
                report = json.loads(path.read_text())
            except ValueError:
                report = {}
        if report.get("run") != run:
            report = {"run": run, "workers": {}}
        report["workers"][worker] = {"cases": counts, "seconds": round(seconds, 2)}
        total: collections.Counter = collections.Counter()
        for entry in report["workers"].values():
            total.update(entry["cases"])
        report["cases"] = dict(sorted(total.items()))
        report["total"] = sum(total.values())
        report["scale"] = SCALE
        import hypothesis

        report["versions"] = {"molgnba": molgnba.__version__, "hypothesis": hypothesis.__version__}
        path.write_text(json.dumps(report, indent=2) + "\n")


@pytest.fixture(scope="module", autouse=True)
def fuzz_report():
    started = time.perf_counter()
    yield CASES
    target = os.environ.get("MOLGNBA_FUZZ_REPORT")
    if target:
        _write_report(Path(target), dict(CASES), time.perf_counter() - started)


# --------------------------------------------------------------------------- data
# Valid training molecules.
TRAIN_SMILES = TINY_SMILES
TRAIN_LABELS = [0, 1] * 8  # numbers: the oracle compares predicted labels as floats

# Seeds for mutation when the shared MoleculeNet data is absent.
FALLBACK_POOL = TRAIN_SMILES + [
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O",
    "O=C(O)C[C@@H](N)C(=O)O",
    "Clc1ccc(cc1)C(c1ccccc1)N1CCN(CC1)CCOCC(=O)O",
    "C1=CC=C2C(=C1)C=CC=C2",
    "OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O",
    "[NH4+].[O-]S(=O)(=O)[O-].[NH4+]",
    "N#Cc1ccc(cc1)-c1ccccc1",
    "C/C=C\\C(=O)OCC",
]


@pytest.fixture(scope="module")
def pool(request):
    """Real SMILES to mutate: ESOL, BBBP and Lipophilicity (first 300 each), if present."""
    smiles = list(FALLBACK_POOL)
    try:
        data_dir = request.getfixturevalue("shared_data_dir")
    except pytest.skip.Exception:
        return smiles
    for name, column in (("esol.csv", "smiles"), ("bbbp.csv", "smiles"), ("lipo.csv", "smiles")):
        file = data_dir / name
        if file.exists():
            smiles += pd.read_csv(file, nrows=300)[column].dropna().astype(str).tolist()
    return smiles


@pytest.fixture(scope="module")
def models(tiny_regressor):
    """One tiny fitted classifier and regressor per ``invalid_smiles`` mode (which only
    ``predict`` reads): copies of the shared tiny regressor, and of a classifier of 0/1 labels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier = GNNClassifier(**TINY).fit(TRAIN_SMILES, TRAIN_LABELS)
    fitted = {}
    for mode in ("raise", "skip"):
        fitted["clf", mode] = copy.deepcopy(classifier).set_params(invalid_smiles=mode)
        fitted["reg", mode] = copy.deepcopy(tiny_regressor).set_params(invalid_smiles=mode)
    return fitted


# --------------------------------------------------------------------------- oracles
MOLGNBA_DIR = str(Path(molgnba.__file__).resolve().parent)


def oracle_valid(item) -> bool:
    """Whether ``item`` is a usable SMILES, decided independently of molgnba."""
    if not isinstance(item, str) or not item.strip() or "\x00" in item:
        return False
    # RDKit would read the text after a space, tab or newline as a name and drop it:
    # only a CXSMILES extension "|...|" may follow.
    separator = re.search(r"[ \t\n]+", item.strip())
    if separator and not item.strip()[separator.end():].startswith("|"):
        return False
    try:
        item.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: not text RDKit can receive
        return False
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(item)
    return mol is not None and mol.GetNumAtoms() > 0


def assert_clear_error(error: BaseException, *, names: list[str] = ()) -> None:
    """``error`` is a ValueError/TypeError raised by molgnba itself, naming ``names``."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    detail = f"{type(error).__module__}.{type(error).__qualname__}: {error!s:.500} (raised at {where})"
    assert isinstance(error, (ValueError, TypeError)), f"not a ValueError/TypeError: {detail}"
    assert not isinstance(error, UnicodeError), f"encoding error leaked out: {detail}"
    assert type(error).__module__ in ("builtins",) or type(error).__module__.startswith("molgnba"), detail
    assert frames and str(Path(frames[-1].filename).resolve()).startswith(MOLGNBA_DIR), (
        f"error raised outside molgnba: {detail}"
    )
    message = str(error)
    for name in names:
        assert name in message, f"message does not name {name!r}: {detail}"


def invalid_rows(items) -> list[int]:
    return [k for k, item in enumerate(items) if not oracle_valid(item)]


def as_container(items, kind: str):
    if kind == "list":
        return list(items)
    if kind == "tuple":
        return tuple(items)
    if kind == "series":
        return pd.Series(items, dtype=object)
    array = np.empty(len(items), dtype=object)
    for k, item in enumerate(items):
        array[k] = item
    return array


def timed(call, *args):
    started = time.perf_counter()
    try:
        return call(*args)
    finally:
        elapsed = time.perf_counter() - started
        assert elapsed < SLOW_CALL_S, f"call took {elapsed:.1f} s (hang?)"


# --------------------------------------------------------------------------- strategies
# Every code point, lone surrogates included; control, format, private-use, unassigned
# and surrogate code points are drawn far more often than their share of the space.
ANY_CHAR = st.one_of(
    st.characters(exclude_categories=()),
    st.characters(categories=["Cs", "Cc", "Cf", "Co", "Cn", "Zs", "Zl", "Zp", "Mn"]),
    st.sampled_from(["\ud800", "\udfff", "\udc80", "\x00", "\ufffd", "\ufeff", "\U0010ffff"]),
)


def any_text(min_size=0, max_size=30):
    """Text over ANY_CHAR (``st.text`` would drop the surrogates)."""
    return st.lists(ANY_CHAR, min_size=min_size, max_size=max_size).map("".join)
SMILES_CHARS = "CNOSPFIBrcnosp()[]=#$:/\\@+-.%0123456789*HlXZ "
ELEMENTS = ["C", "N", "O", "S", "P", "F", "Cl", "Br", "I", "B", "Si", "Se", "Na", "Fe", "U", "Og", "Ts", "H"]
UNKNOWN = ["[Xx]", "[Q]", "[Zz]", "[Uuo]", "[R]", "X", "[Ab]", "[J]", "[Rf]", "[Ds]"]
ATOM_TOKEN = re.compile(r"Cl|Br|[BCNOPSFIbcnops]")


def _atom_spans(s: str) -> list[tuple[int, int]]:
    return [m.span() for m in ATOM_TOKEN.finditer(s)]


def _replace_atom(draw, s: str, make) -> str:
    spans = _atom_spans(s)
    if not spans:
        return s + make(draw, "C")
    start, end = draw(st.sampled_from(spans))
    return s[:start] + make(draw, s[start:end]) + s[end:]


def _symbol(token: str) -> str:
    return token.capitalize() if len(token) == 1 else token


def m_delete_char(draw, s):
    if not s:
        return s
    k = draw(st.integers(0, len(s) - 1))
    return s[:k] + s[k + 1:]


def m_delete_bracket(draw, s):
    spots = [k for k, c in enumerate(s) if c in "[]()"]
    if not spots:
        return m_delete_char(draw, s)
    k = draw(st.sampled_from(spots))
    return s[:k] + s[k + 1:]


def m_insert(draw, s):
    token = draw(st.sampled_from(
        ["(", ")", "[", "]", "=", "#", "$", ":", "/", "\\", "@", "@@", "+", "-", ".", "%", "%99", "%(123)",
         "*", "[*]", "[H]", "H", "~", "?", ">", "<", "{", "}", "&", "!", ";", ",", "^"]
        + list("0123456789")
    ))
    k = draw(st.integers(0, len(s)))
    return s[:k] + token + s[k:]


def m_ring_digit(draw, s):
    digit = draw(st.one_of(
        st.integers(0, 9).map(str), st.integers(10, 99).map(lambda d: f"%{d}"),
        st.integers(0, 99999).map(lambda d: f"%({d})"),
    ))
    k = draw(st.integers(0, len(s)))
    return s[:k] + digit + s[k:]


def m_unknown_element(draw, s):
    return _replace_atom(draw, s, lambda d, token: d(st.sampled_from(UNKNOWN)))


def m_charge(draw, s):
    def make(d, token):
        charge = d(st.one_of(st.integers(-9, 9), st.sampled_from([99, -99, 127, -128, 255, 1000, 2**31, -(2**31)])))
        sign = "+" if charge >= 0 else "-"
        form = d(st.sampled_from(["num", "repeat"]))
        text = f"{sign}{abs(charge)}" if form == "num" else sign * min(abs(charge), 12)
        return f"[{_symbol(token)}{text}]"
    return _replace_atom(draw, s, make)


def m_isotope(draw, s):
    def make(d, token):
        mass = d(st.one_of(st.integers(0, 300), st.sampled_from([999, 65535, 65536, 10**6, 2**31, 10**12])))
        return f"[{mass}{_symbol(token)}]"
    return _replace_atom(draw, s, make)


def m_wildcard(draw, s):
    return _replace_atom(draw, s, lambda d, token: d(st.sampled_from(["*", "[*]", "[*:1]", "[1*]", "[*-]"])))


def m_chirality(draw, s):
    def make(d, token):
        tag = d(st.sampled_from(["@", "@@", "@TH1", "@SP2", "@OH15", "@@@"]))
        return f"[{_symbol(token)}{tag}H]"
    return _replace_atom(draw, s, make)


def m_atom_map(draw, s):
    return _replace_atom(draw, s, lambda d, token: f"[{_symbol(token)}:{d(st.integers(0, 10**6))}]")


def m_bracket_element(draw, s):
    def make(d, token):
        hs = d(st.sampled_from(["", "H", "H2", "H4", "H9"]))
        return f"[{d(st.sampled_from(ELEMENTS))}{hs}]"
    return _replace_atom(draw, s, make)


def m_long_chain(draw, s):
    chain = draw(st.sampled_from(["C", "CC(C)", "OCC", "c1ccccc1", "C(F)(F)"])) * draw(st.integers(1, 200))
    k = draw(st.integers(0, len(s)))
    return s[:k] + chain + s[k:]


def m_fragment(draw, s):
    other = draw(st.sampled_from(["[Na+]", "[Cl-]", "O", "[H+]", "[e-]", "*", "C", "", "[Fe+3]", "[O-2]"]))
    return draw(st.sampled_from([s + "." + other, other + "." + s, s + ".", "." + s, s + ".." + s]))


def m_explicit_h(draw, s):
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(s) if oracle_valid(s) else None
    if mol is None:
        return s.replace("C", "[CH4]").replace("O", "[OH2]")
    return Chem.MolToSmiles(Chem.AddHs(mol), allHsExplicit=True)


def m_case(draw, s):
    spots = [k for k, c in enumerate(s) if c.isalpha()]
    if not spots:
        return s
    k = draw(st.sampled_from(spots))
    return s[:k] + s[k].swapcase() + s[k + 1:]


def m_duplicate(draw, s):
    if not s:
        return s
    i = draw(st.integers(0, len(s) - 1))
    j = draw(st.integers(i, min(len(s), i + 20)))
    return s[:j] + s[i:j] * draw(st.integers(1, 5)) + s[j:]


def m_whitespace(draw, s):
    k = draw(st.integers(0, len(s)))
    return s[:k] + draw(st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "\u200b", "  name"])) + s[k:]


MUTATIONS = [
    m_delete_char, m_delete_bracket, m_insert, m_ring_digit, m_unknown_element, m_charge, m_isotope,
    m_wildcard, m_chirality, m_atom_map, m_bracket_element, m_long_chain, m_fragment, m_explicit_h,
    m_case, m_duplicate, m_whitespace,
]


def m_unicode(draw, s):
    k = draw(st.integers(0, len(s)))
    return s[:k] + draw(any_text(1, 3)) + s[k:]


@st.composite
def mutated_smiles(draw, pool, mutations=MUTATIONS):
    """A real SMILES with 1-4 mutations applied."""
    s = draw(st.sampled_from(pool))
    for _ in range(draw(st.integers(1, 4))):
        s = draw(st.sampled_from(mutations))(draw, s)
    return s


def odd_items():
    """Things that are not SMILES strings but end up in SMILES lists."""
    return st.one_of(
        st.none(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.binary(max_size=6),
        st.complex_numbers(max_magnitude=1e6),
        st.sampled_from([
            np.nan, np.float32("nan"), np.float64(1.5), np.int64(3), np.bool_(True), pd.NA, pd.NaT,
            np.str_("CCO"), b"CCO", bytearray(b"CCO"), ["CCO"], ("CCO",), {"smiles": "CCO"}, {"CCO"},
            np.array(["CCO"]), Chem.MolFromSmiles("CCO"), Ellipsis, object, type,
        ]),
    )


def smiles_lists(pool, elements, max_size=8):
    return st.tuples(
        st.lists(elements, min_size=1, max_size=max_size),
        st.sampled_from(["list", "tuple", "series", "array"]),
    )


# --------------------------------------------------------------------------- featurizer
def check_graphs(items, graphs, invalid, featurizer) -> None:
    """Output aligned with input, invalid exactly where the oracle says, graphs well-formed."""
    assert len(graphs) == len(items)
    expected_invalid = invalid_rows(items)
    assert [entry.position for entry in invalid] == expected_invalid
    assert [k for k, g in enumerate(graphs) if g is None] == expected_invalid
    for entry in invalid:
        assert entry.value is items[entry.position] and entry.reason
        assert f"position {entry.position}:" in str(entry)
    atom_dims, bond_dims = featurizer.atom_feature_dims, featurizer.bond_feature_dims
    for k, graph in enumerate(graphs):
        if graph is None:
            continue
        with rdBase.BlockLogs():
            n_atoms = Chem.MolFromSmiles(items[k]).GetNumAtoms()
        x, edge_index, edge_attr = graph.x, graph.edge_index, graph.edge_attr
        assert x.shape == (n_atoms, len(atom_dims)) and n_atoms > 0
        assert edge_index.shape[0] == 2 and edge_attr.shape == (edge_index.shape[1], len(bond_dims))
        for column, dim in enumerate(atom_dims):
            assert 0 <= int(x[:, column].min()) and int(x[:, column].max()) < dim
        for column, dim in enumerate(bond_dims):
            if len(edge_attr):
                assert 0 <= int(edge_attr[:, column].min()) and int(edge_attr[:, column].max()) < dim
        if edge_index.shape[1]:
            assert 0 <= int(edge_index.min()) and int(edge_index.max()) < n_atoms


@settings(FUZZ, max_examples=examples(1000))
@given(items=st.lists(any_text(max_size=30), min_size=1, max_size=6))
def test_featurize_arbitrary_text(items):
    """Any unicode text, lone surrogates included: reported as invalid or featurized, never raised."""
    _count()
    featurizer = get_featurizer("hu2019")
    graphs, invalid = featurize_smiles(items, featurizer, cache=None)
    check_graphs(items, graphs, invalid, featurizer)
    mols, invalid_again = check_smiles(items)
    assert [entry.position for entry in invalid_again] == [entry.position for entry in invalid]


@settings(FUZZ, max_examples=examples(1000))
@given(items=st.lists(st.text(SMILES_CHARS, max_size=40), min_size=1, max_size=6),
       name=st.sampled_from(["hu2019", "extended"]))
def test_featurize_smiles_alphabet(items, name):
    """Random strings over the SMILES alphabet: parseable ones featurize within the vocabularies."""
    _count()
    featurizer = get_featurizer(name)
    graphs, invalid = featurize_smiles(items, featurizer, cache=None)
    check_graphs(items, graphs, invalid, featurizer)


@settings(FUZZ, max_examples=examples(400))
@given(data=st.data(), name=st.sampled_from(["hu2019", "extended"]), cached=st.booleans())
def test_featurize_mutated_smiles(pool, data, name, cached):
    """Real SMILES, mutated: the same contract, through the shared cache or without it."""
    _count()
    items = data.draw(st.lists(mutated_smiles(pool), min_size=1, max_size=5))
    featurizer = get_featurizer(name)
    kwargs = {} if cached else {"cache": None}
    graphs, invalid = featurize_smiles(items, featurizer, **kwargs)
    check_graphs(items, graphs, invalid, featurizer)


@settings(FUZZ, max_examples=examples(500))
@given(items=st.lists(st.one_of(odd_items(), st.sampled_from(TRAIN_SMILES)), min_size=1, max_size=8))
def test_featurize_mixed_items(items):
    """None, numbers, bytes, containers ... in a SMILES list are invalid entries, not exceptions."""
    _count()
    featurizer = get_featurizer("hu2019")
    graphs, invalid = featurize_smiles(items, featurizer)
    check_graphs(items, graphs, invalid, featurizer)
    mols, invalid_again = check_smiles(items)
    assert len(mols) == len(items)
    assert [entry.position for entry in invalid_again] == invalid_rows(items)


# --------------------------------------------------------------------------- predict
def check_predict(models, kind, mode, method, items, container):
    """The contract of ``predict``/``predict_proba`` on one generated input."""
    model = models[kind, mode]
    X = as_container(items, container)
    bad = invalid_rows(items)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = timed(getattr(model, method), X)
        except Exception as error:  # noqa: BLE001 - every exception is judged here
            if mode == "raise":
                assert bad, f"valid input refused: {items!r}"
                first = bad[0]
                assert_clear_error(error, names=[f"position {first}: {items[first]!r}"])
            else:
                assert len(bad) == len(items), f"skip mode raised on partly valid input: {error!r}"
                assert_clear_error(error, names=["no valid SMILES"])
            return
        assert mode == "skip" or not bad, f"invalid SMILES at {bad} accepted in raise mode"
        out = np.asarray(out)
        assert len(out) == len(items), f"{len(items)} inputs but {len(out)} outputs"
        good = [k for k in range(len(items)) if k not in bad]
        values = out.reshape(len(out), -1).astype(np.float64)
        assert np.isnan(values[bad]).all(), "invalid rows must be NaN"
        assert np.isfinite(values[good]).all(), "valid rows must be finite"
        # Each molecule gets the prediction it gets among valid molecules only.
        reference = np.asarray(getattr(model, method)([items[k] for k in good]), dtype=np.float64)
    np.testing.assert_allclose(values[good], reference.reshape(len(good), -1), rtol=1e-5, atol=1e-6)
    if method == "predict_proba":
        np.testing.assert_allclose(values[good].sum(1), 1.0, rtol=1e-5)
    if method == "predict" and kind == "clf":
        assert set(values[good].ravel().tolist()) <= set(models[kind, mode].classes_.tolist())


CALLS = [("clf", "predict"), ("clf", "predict_proba"), ("reg", "predict")]


@settings(FUZZ, max_examples=examples(200))
@given(data=st.data(), call=st.sampled_from(CALLS), mode=st.sampled_from(["raise", "skip"]))
def test_predict_mutated_smiles(models, pool, data, call, mode):
    """Valid and mutated real SMILES, mixed: right length, NaN rows or an error naming the position."""
    _count()
    element = st.one_of(st.sampled_from(pool), mutated_smiles(pool))
    items, container = data.draw(smiles_lists(pool, element))
    check_predict(models, call[0], mode, call[1], items, container)


@settings(FUZZ, max_examples=examples(150))
@given(data=st.data(), call=st.sampled_from(CALLS), mode=st.sampled_from(["raise", "skip"]))
def test_predict_non_strings(models, pool, data, call, mode):
    """None, NaN, numbers, bytes, containers among valid SMILES."""
    _count()
    element = st.one_of(st.sampled_from(TRAIN_SMILES), odd_items())
    items, container = data.draw(smiles_lists(pool, element))
    check_predict(models, call[0], mode, call[1], items, container)


@settings(FUZZ, max_examples=examples(150))
@given(data=st.data(), call=st.sampled_from(CALLS), mode=st.sampled_from(["raise", "skip"]))
def test_predict_arbitrary_unicode(models, pool, data, call, mode):
    """Arbitrary unicode text, and real SMILES with arbitrary code points inserted."""
    _count()
    element = st.one_of(
        st.sampled_from(TRAIN_SMILES),
        any_text(max_size=20),
        mutated_smiles(pool, mutations=[m_unicode]),
    )
    items, container = data.draw(smiles_lists(pool, element, max_size=6))
    check_predict(models, call[0], mode, call[1], items, container)


@settings(FUZZ, max_examples=examples(60))
@given(X=st.one_of(
    st.text(max_size=10), st.binary(max_size=10), st.integers(), st.floats(), st.none(),
    st.dictionaries(st.text(SMILES_CHARS, max_size=5), st.integers(), max_size=3),
    st.sampled_from([
        np.array("CCO"), np.array([["CCO", "CC"]]), np.zeros((2, 2)), np.zeros((0,)), [], (),
        pd.DataFrame({"a": ["CCO"], "b": ["CC"]}), pd.DataFrame({"a": ["CCO", "CC"]}), pd.Series([], dtype=object),
        iter(["CCO", "CC"]), (s for s in ["CCO"]), {"CCO", "CC"}, range(3),
    ]),
    st.builds(lambda n: np.array(["CCO"] * n).reshape(n, 1), st.integers(1, 4)),
), call=st.sampled_from(CALLS))
def test_predict_containers(models, X, call):
    """Whatever X is, the result is one row per SMILES or a clear molgnba error."""
    _count()
    model = models[call[0], "skip"]
    try:
        items = list(X.ravel()) if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 1 else None
    except TypeError:
        items = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = timed(getattr(model, call[1]), X)
        except Exception as error:  # noqa: BLE001
            assert_clear_error(error)
            return
    assert len(out) >= 1
    if items is not None:
        assert len(out) == len(items)


# --------------------------------------------------------------------------- fit: targets
FIT_SMILES = TRAIN_SMILES[:10]
N_FIT = len(FIT_SMILES)

NAN_LIKE = [float("nan"), np.nan, np.float32("nan"), np.float64("nan"), None]
HUGE = [1e300, -1e300, 1.7e308, -1.7e308, 1e200, 1e155, 1e39, -1e39, 3.5e38]


REGRESSION_FAULTS = ["none", "nan", "inf", "numeric_str", "text", "object", "bool", "length", "ndim"]


@st.composite
def regression_targets(draw, faults=REGRESSION_FAULTS):
    """Targets for FIT_SMILES with at most one kind of fault, and the rows it hit."""
    n_tasks = draw(st.sampled_from([0, 0, 1, 2]))  # 0: 1-D
    shape = (N_FIT,) if n_tasks == 0 else (N_FIT, n_tasks)
    base = draw(st.lists(st.floats(-1e3, 1e3), min_size=math.prod(shape), max_size=math.prod(shape)))
    values = np.array(base, dtype=object).reshape(shape)
    fault = draw(st.sampled_from(faults))
    rows = sorted(draw(st.sets(st.integers(0, N_FIT - 1), min_size=1, max_size=3)))
    flat = values.reshape(N_FIT, -1)
    for row in rows:
        column = draw(st.integers(0, flat.shape[1] - 1))
        flat[row, column] = {
            "none": lambda: flat[row, column],
            "nan": lambda: draw(st.sampled_from(NAN_LIKE)),
            "inf": lambda: draw(st.sampled_from([np.inf, -np.inf, float("inf")])),
            "huge": lambda: draw(st.sampled_from(HUGE)),
            "numeric_str": lambda: draw(st.sampled_from(["1.5", "-2", "1e3", " 3 "])),
            "text": lambda: draw(st.sampled_from(["abc", "", "nan?", "1,5", "CCO"])),
            "object": lambda: draw(st.sampled_from([object(), [1.0], {"y": 1}])),
            "bool": lambda: draw(st.booleans()),
            "length": lambda: flat[row, column],
            "ndim": lambda: flat[row, column],
        }[fault]()
    if fault == "length":
        cut = draw(st.sampled_from([-3, -1, 1, 4]))
        values = values[:cut] if cut < 0 else np.concatenate([values, values[:cut]])
    elif fault == "ndim":
        values = values.reshape(N_FIT, -1, 1)
    container = draw(st.sampled_from(["list", "float_array", "object_array", "pandas"]))
    return values, fault, rows, container


def _targets_as(values: np.ndarray, container: str):
    if container == "list":
        return values.tolist()
    if container == "object_array":
        return values
    if container == "pandas":
        if values.ndim == 1:
            return pd.Series(values)
        if values.ndim == 2:
            return pd.DataFrame(values)
        return values
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        return values


def _names_a_row(error, rows) -> None:
    message = str(error)
    assert re.search(r"\brows?\b", message), f"message does not name a row: {message}"
    assert any(re.search(rf"\b{row}\b", message) for row in rows), f"message names none of rows {rows}: {message}"


@settings(FUZZ, max_examples=examples(30))
@given(case=regression_targets())
def test_fit_regressor_targets(case):
    """NaN, inf, text, objects, bools, wrong shape: a finite model or an error naming the row."""
    _count()
    check_regressor_fit(*case)


@settings(FUZZ, max_examples=examples(10))
@given(case=regression_targets(faults=["huge"]), standardize=st.booleans())
def test_fit_regressor_huge_targets(case, standardize):
    """Finite targets up to 1.7e308: finite predictions, or an error naming the row."""
    _count()
    check_regressor_fit(*case, standardize=standardize)


def check_regressor_fit(values, fault, rows, container, standardize=True):
    y = _targets_as(values, container)
    flat = values.reshape(len(values), -1) if values.ndim >= 1 else values
    model = GNNRegressor(standardize_targets=standardize, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            timed(model.fit, FIT_SMILES, y)
        except Exception as error:  # noqa: BLE001
            assert fault != "none", f"clean targets refused: {error!r}"
            assert_clear_error(error)
            if fault in ("inf", "text", "object", "huge") or (fault == "nan" and values.ndim == 1):
                _names_a_row(error, rows)
            if fault == "length":
                assert str(len(values)) in str(error) and str(N_FIT) in str(error)
            return
        prediction = timed(model.predict, FIT_SMILES + ["CCCCO"])
    assert fault in ("none", "huge", "numeric_str", "bool") or (fault == "nan" and values.ndim == 2), (
        f"fault {fault!r} at rows {rows} accepted"
    )
    expected_shape = (N_FIT + 1,) if values.ndim == 1 else (N_FIT + 1, flat.shape[1])
    assert prediction.shape == expected_shape
    assert np.isfinite(prediction).all(), (
        f"fit accepted targets ({fault} at rows {rows}) but predicts non-finite values: {prediction.ravel()[:4]}"
    )


@st.composite
def classification_targets(draw, layouts=("1d", "multitask")):
    """Labels for FIT_SMILES (several label types and shapes) with at most one kind of fault."""
    layout = draw(st.sampled_from(layouts))
    if layout == "multitask":
        labels = [0, 1]
        base = np.array([[k % 2, (k // 2) % 2] for k in range(N_FIT)], dtype=object)
    else:
        labels = draw(st.sampled_from([[0, 1], [3, 7], [0, 1, 2], ["a", "b"], ["x", "y", "z"], [True, False],
                                       [-1, 1], [0.0, 1.0]]))
        base = np.array([labels[k % len(labels)] for k in range(N_FIT)], dtype=object)
        if layout == "column":
            base = base.reshape(N_FIT, 1)
    fault = draw(st.sampled_from(["none", "none", "nan", "inf", "huge", "fraction", "length", "ndim"]))
    numeric = not isinstance(labels[0], str)
    if fault in ("inf", "huge", "fraction") and not numeric:
        fault = "nan"
    rows = sorted(draw(st.sets(st.integers(0, N_FIT - 1), min_size=1, max_size=2)))
    flat = base.reshape(N_FIT, -1)
    for row in rows:
        column = draw(st.integers(0, flat.shape[1] - 1))
        if fault == "nan":
            flat[row, column] = draw(st.sampled_from(NAN_LIKE))
        elif fault == "inf":
            flat[row, column] = draw(st.sampled_from([np.inf, -np.inf]))
        elif fault == "huge":
            flat[row, column] = draw(st.sampled_from([1e300, -1e300, 1.7e308]))
        elif fault == "fraction":
            flat[row, column] = 0.5
    if fault == "length":
        base = base[:-1]
    elif fault == "ndim":
        base = base.reshape(N_FIT, -1, 1)
    container = draw(st.sampled_from(["list", "object_array", "native_array"]))
    return base, layout, labels, fault, rows, container


@settings(FUZZ, max_examples=examples(30))
@given(case=classification_targets())
def test_fit_classifier_targets(case):
    """Missing, infinite, huge or fractional labels; 1-D labels of several types, multi-task 0/1."""
    _count()
    check_classifier_fit(*case)


@settings(FUZZ, max_examples=examples(10))
@given(case=classification_targets(layouts=("column",)))
def test_fit_classifier_column_targets(case):
    """The same faults in labels given as a column vector of shape (n, 1)."""
    _count()
    check_classifier_fit(*case)


def check_classifier_fit(values, layout, labels, fault, rows, container):
    if container == "list":
        y = values.tolist()
    elif container == "native_array" and not isinstance(labels[0], str):
        y = np.array(values.tolist())  # numpy's own dtype (int, float or object)
    else:
        y = values
    model = GNNClassifier(**TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            timed(model.fit, FIT_SMILES, y)
        except Exception as error:  # noqa: BLE001
            assert fault != "none", f"clean labels refused: {error!r}"
            assert_clear_error(error)
            multitask_missing = fault == "nan" and layout == "multitask"
            assert not multitask_missing, f"NaN (missing label) refused in multi-task y: {error}"
            if fault in ("nan", "inf"):
                _names_a_row(error, rows)
            return
        X = FIT_SMILES + ["CCCCO"]
        prediction = timed(model.predict, X)
        proba = timed(model.predict_proba, X)
    assert fault in ("none", "huge") or (fault == "nan" and layout == "multitask"), (
        f"fault {fault!r} at rows {rows} accepted ({layout}, labels {labels})"
    )
    assert np.isfinite(proba).all()
    if layout == "multitask":
        assert prediction.shape == (N_FIT + 1, 2) and set(np.unique(prediction)) <= {0, 1}
        assert proba.shape == (N_FIT + 1, 2)
        return
    given_labels = {v for v in values.ravel().tolist()}
    assert set(model.classes_.tolist()) == given_labels, (
        f"classes_ {model.classes_.tolist()} are not the labels given {sorted(map(repr, given_labels))}"
    )
    assert prediction.shape in ((N_FIT + 1,), (N_FIT + 1, 1)), f"predict shape {prediction.shape} for {layout} y"
    assert set(prediction.ravel().tolist()) <= given_labels, (
        f"predict returned {sorted(set(prediction.ravel().tolist()))}, not labels of {sorted(given_labels)}"
    )
    assert proba.shape == (N_FIT + 1, len(given_labels)), f"predict_proba shape {proba.shape} for {layout} y"
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)


# --------------------------------------------------------------------------- minimal repros
# Each is the shrunk case of a property above, kept as a plain regression test.
def test_lone_surrogate_is_an_invalid_smiles(models):
    """'\\ud800' (not encodable as UTF-8) must be reported like any other invalid SMILES."""
    graphs, invalid = featurize_smiles(["CCO", "\ud800"], cache=None)
    assert graphs[1] is None and [entry.position for entry in invalid] == [1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = models["reg", "skip"].predict(["CCO", "\ud800"])
        assert np.isfinite(out[0]) and np.isnan(out[1])
        with pytest.raises(ValueError, match=r"position 1: '\\ud800'") as raised:
            models["reg", "raise"].predict(["CCO", "\ud800"])
    assert not isinstance(raised.value, UnicodeError)


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("huge", [1e300, 1e39])
def test_regressor_huge_finite_target(huge, standardize):
    """A finite target beyond float32 range: finite predictions, or a ValueError naming the row."""
    y = np.r_[np.arange(N_FIT - 1, dtype=float), huge]
    model = GNNRegressor(standardize_targets=standardize, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(FIT_SMILES, y)
        except Exception as error:  # noqa: BLE001
            assert_clear_error(error)
            _names_a_row(error, [N_FIT - 1])
            return
        prediction = model.predict(FIT_SMILES)
    assert np.isfinite(prediction).all(), f"fit accepted y={huge:g} at row {N_FIT - 1}; predicts {prediction[:3]}"


def test_classifier_infinite_label_names_row():
    """inf among integer labels: the error comes from molgnba and names the row."""
    y = np.r_[[0, 1] * 4, 0, np.inf]
    with pytest.raises(ValueError) as raised:
        GNNClassifier(**TINY).fit(FIT_SMILES, y)
    assert_clear_error(raised.value)
    _names_a_row(raised.value, [N_FIT - 1])


def test_classifier_float32_nan_label_is_missing():
    """np.float32('nan') in an object label array is a missing label, not a third class."""
    y = np.array([0, 1] * 4 + [0, np.float32("nan")], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="missing labels") as raised:
            GNNClassifier(**TINY).fit(FIT_SMILES, y)
    _names_a_row(raised.value, [N_FIT - 1])


@pytest.mark.parametrize("labels", [[3, 7], ["a", "b"], [0, 1, 2]])
def test_classifier_column_vector_labels(labels):
    """y of shape (n, 1) holds one task: predict returns its labels, predict_proba one column per class."""
    y = np.array([labels[k % len(labels)] for k in range(N_FIT)], dtype=object).reshape(N_FIT, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GNNClassifier(**TINY).fit(FIT_SMILES, y)
        prediction = model.predict(FIT_SMILES[:3])
        proba = model.predict_proba(FIT_SMILES[:3])
    assert set(np.ravel(prediction).tolist()) <= set(labels), f"predict gave {np.ravel(prediction).tolist()}"
    assert np.size(prediction) == 3
    assert proba.shape == (3, len(labels))


def test_regressor_ragged_target_names_row():
    """A list among the float targets (a ragged y): an error from molgnba naming the row."""
    y = [0.0] * 4 + [[1.0]] + [0.0] * (N_FIT - 5)
    with pytest.raises(ValueError) as raised:
        GNNRegressor(**TINY).fit(FIT_SMILES, y)
    assert_clear_error(raised.value)
    _names_a_row(raised.value, [4])
