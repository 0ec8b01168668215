"""Loaders for MoleculeNet benchmark datasets.

:func:`load_moleculenet` reads a dataset from a local CSV file, either a cleaned copy
(the chemprop layout, e.g. ``bbbp.csv`` with columns ``smiles,p_np``) or the raw
MoleculeNet file (e.g. ``BBBP.csv`` with ``num,name,p_np,smiles``), recognising the
layout by its column names. Where no local copy exists it downloads the raw file from
the DeepChem mirror of MoleculeNet into a cache directory.

Where files are looked for, in order:

1. the ``data_home`` argument, or else the directory named by the environment
   variable ``MOLGNBA_DATA``;
2. the cache directory, ``$MOLGNBA_CACHE`` or else ``~/.cache/molgnba``, which is
   also where downloads are stored.
"""

from __future__ import annotations

import difflib
import gzip
import os
import shutil
import tempfile
import urllib.request
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.utils import Bunch

__all__ = ["dataset_task", "list_datasets", "load_moleculenet"]

DATA_ENV_VAR = "MOLGNBA_DATA"
CACHE_ENV_VAR = "MOLGNBA_CACHE"

_BASE_URL = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/"
_MOLECULENET_REFERENCE = (
    "Wu, Z. et al. MoleculeNet: a benchmark for molecular machine learning. "
    "Chem. Sci. 9, 513-530 (2018)."
)
_METRIC_OF_TASK_TYPE = {"classification": "roc_auc", "regression": "rmse"}
_DOWNLOAD_TIMEOUT_S = 60.0
_MAX_ROWS_IN_WARNING = 20


@dataclass(frozen=True)
class _Layout:
    """Column names of one known file layout of a dataset.

    ``target_columns`` correspond, position by position, to the dataset's canonical
    ``target_names``.
    """

    smiles_column: str
    target_columns: tuple[str, ...]

    def matches(self, columns) -> bool:
        present = set(columns)
        return self.smiles_column in present and all(c in present for c in self.target_columns)


@dataclass(frozen=True)
class _DatasetSpec:
    """Everything the loader knows about one dataset."""

    name: str
    title: str
    task_type: str  # "classification" or "regression"
    target_names: tuple[str, ...]  # canonical names, used in the returned frame
    raw_filename: str  # name of the file at ``url`` and in the cache
    local_filenames: tuple[str, ...]  # other names a local copy may have
    layouts: tuple[_Layout, ...]  # tried in order; the first that matches is used
    description: str
    reference: str
    sha256: str | None = None  # checked after download when known

    @property
    def url(self) -> str:
        return _BASE_URL + self.raw_filename

    @property
    def metric(self) -> str:
        return _METRIC_OF_TASK_TYPE[self.task_type]

    @property
    def candidate_filenames(self) -> tuple[str, ...]:
        """Local file names to look for: the given ones and the raw name, each also
        gzipped, without duplicates, in that order."""
        names: list[str] = []
        for name in (*self.local_filenames, self.raw_filename):
            for candidate in (name, name[: -len(".gz")] if name.endswith(".gz") else name + ".gz"):
                if candidate not in names:
                    names.append(candidate)
        return tuple(names)


_TOX21_TASKS = (
    "NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD",
    "NR-PPAR-gamma", "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53",
)  # fmt: skip

_SIDER_TASKS = (
    "Hepatobiliary disorders",
    "Metabolism and nutrition disorders",
    "Product issues",
    "Eye disorders",
    "Investigations",
    "Musculoskeletal and connective tissue disorders",
    "Gastrointestinal disorders",
    "Social circumstances",
    "Immune system disorders",
    "Reproductive system and breast disorders",
    "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
    "General disorders and administration site conditions",
    "Endocrine disorders",
    "Surgical and medical procedures",
    "Vascular disorders",
    "Blood and lymphatic system disorders",
    "Skin and subcutaneous tissue disorders",
    "Congenital, familial and genetic disorders",
    "Infections and infestations",
    "Respiratory, thoracic and mediastinal disorders",
    "Psychiatric disorders",
    "Renal and urinary disorders",
    "Pregnancy, puerperium and perinatal conditions",
    "Ear and labyrinth disorders",
    "Cardiac disorders",
    "Nervous system disorders",
    "Injury, poisoning and procedural complications",
)

_SPECS: dict[str, _DatasetSpec] = {
    spec.name: spec
    for spec in (
        _DatasetSpec(
            name="bbbp",
            title="BBBP: blood-brain barrier penetration",
            task_type="classification",
            target_names=("p_np",),
            raw_filename="BBBP.csv",
            local_filenames=("bbbp.csv",),
            # cleaned: smiles,p_np; raw: num,name,p_np,smiles
            layouts=(_Layout("smiles", ("p_np",)),),
            description="Binary labels of blood-brain barrier penetration (1 = penetrates).",
            reference=(
                "Martins, I. F. et al. A Bayesian approach to in silico blood-brain "
                "barrier penetration modeling. J. Chem. Inf. Model. 52, 1686-1697 (2012)."
            ),
        ),
        _DatasetSpec(
            name="bace",
            title="BACE: beta-secretase 1 inhibition",
            task_type="classification",
            target_names=("Class",),
            raw_filename="bace.csv",
            local_filenames=("bace.csv",),
            # cleaned: mol,Class; raw: mol,CID,Class,Model,pIC50,... (same two columns)
            layouts=(_Layout("mol", ("Class",)),),
            description="Binary labels of inhibition of human beta-secretase 1 (BACE-1).",
            reference=(
                "Subramanian, G. et al. Computational modeling of beta-secretase 1 "
                "(BACE-1) inhibitors using ligand based approaches. J. Chem. Inf. "
                "Model. 56, 1936-1949 (2016)."
            ),
        ),
        _DatasetSpec(
            name="esol",
            title="ESOL (Delaney): aqueous solubility",
            task_type="regression",
            target_names=("logSolubility",),
            raw_filename="delaney-processed.csv",
            local_filenames=("esol.csv", "delaney.csv"),
            layouts=(
                _Layout("smiles", ("logSolubility",)),
                _Layout("smiles", ("measured log solubility in mols per litre",)),
            ),
            description="Measured log10 aqueous solubility (mol/L).",
            reference=(
                "Delaney, J. S. ESOL: estimating aqueous solubility directly from "
                "molecular structure. J. Chem. Inf. Comput. Sci. 44, 1000-1005 (2004)."
            ),
        ),
        _DatasetSpec(
            name="lipophilicity",
            title="Lipophilicity: octanol/water distribution coefficient",
            task_type="regression",
            target_names=("lipo",),
            raw_filename="Lipophilicity.csv",
            local_filenames=("lipo.csv", "lipophilicity.csv"),
            # cleaned: smiles,lipo; raw: CMPD_CHEMBLID,exp,smiles
            layouts=(_Layout("smiles", ("lipo",)), _Layout("smiles", ("exp",))),
            description="Experimental octanol/water distribution coefficient (logD at pH 7.4).",
            reference=(
                "AstraZeneca. Experimental in vitro DMPK and physicochemical data on a "
                "set of publicly disclosed compounds. ChEMBL, CHEMBL3301361 (2015)."
            ),
        ),
        _DatasetSpec(
            name="freesolv",
            title="FreeSolv: hydration free energy",
            task_type="regression",
            target_names=("expt",),
            raw_filename="SAMPL.csv",
            local_filenames=("freesolv.csv", "FreeSolv.csv"),
            # raw: iupac,smiles,expt,calc; cleaned copies: smiles,freesolv
            layouts=(_Layout("smiles", ("expt",)), _Layout("smiles", ("freesolv",))),
            description="Experimental hydration free energy in water (kcal/mol).",
            reference=(
                "Mobley, D. L. & Guthrie, J. P. FreeSolv: a database of experimental "
                "and calculated hydration free energies, with input files. J. Comput. "
                "Aided Mol. Des. 28, 711-720 (2014)."
            ),
        ),
        _DatasetSpec(
            name="clintox",
            title="ClinTox: clinical trial toxicity and FDA approval",
            task_type="classification",
            target_names=("FDA_APPROVED", "CT_TOX"),
            raw_filename="clintox.csv.gz",
            local_filenames=("clintox.csv",),
            layouts=(_Layout("smiles", ("FDA_APPROVED", "CT_TOX")),),
            description=(
                "Two binary tasks: FDA approval and failure in clinical trials for toxicity."
            ),
            reference=(
                "Gayvert, K. M., Madhukar, N. S. & Elemento, O. A data-driven approach "
                "to predicting successes and failures of clinical trials. Cell Chem. "
                "Biol. 23, 1294-1301 (2016)."
            ),
        ),
        _DatasetSpec(
            name="sider",
            title="SIDER: side effects of marketed drugs",
            task_type="classification",
            target_names=_SIDER_TASKS,
            raw_filename="sider.csv.gz",
            local_filenames=("sider.csv",),
            layouts=(_Layout("smiles", _SIDER_TASKS),),
            description=(
                "27 binary tasks: adverse drug reactions grouped by MedDRA system organ class."
            ),
            reference=(
                "Kuhn, M., Letunic, I., Jensen, L. J. & Bork, P. The SIDER database of "
                "drugs and side effects. Nucleic Acids Res. 44, D1075-D1079 (2016)."
            ),
        ),
        _DatasetSpec(
            name="tox21",
            title="Tox21: toxicity on nuclear receptor and stress response assays",
            task_type="classification",
            target_names=_TOX21_TASKS,
            raw_filename="tox21.csv.gz",
            local_filenames=("tox21.csv",),
            # cleaned: smiles + 12 tasks; raw: 12 tasks,mol_id,smiles
            layouts=(_Layout("smiles", _TOX21_TASKS),),
            description="12 binary toxicity tasks; many labels are missing (NaN).",
            reference=(
                "Tox21 Data Challenge 2014, NIH/NCATS, https://tripod.nih.gov/tox21/challenge/."
            ),
        ),
        _DatasetSpec(
            name="hiv",
            title="HIV: inhibition of HIV replication",
            task_type="classification",
            target_names=("HIV_active",),
            raw_filename="HIV.csv",
            local_filenames=("hiv.csv",),
            # raw: smiles,activity,HIV_active
            layouts=(_Layout("smiles", ("HIV_active",)),),
            description=(
                "Binary labels of the ability to inhibit HIV replication (DTP AIDS "
                "antiviral screen)."
            ),
            reference=(
                "National Cancer Institute, Developmental Therapeutics Program, AIDS "
                "Antiviral Screen Data, https://wiki.nci.nih.gov/display/NCIDTPdata/."
            ),
        ),
    )
}

_ALIASES = {"delaney": "esol", "lipo": "lipophilicity"}


def list_datasets():
    """Names of the datasets :func:`load_moleculenet` can load.

    Returns
    -------
    names : list of str
        The canonical dataset names, sorted. The aliases ``"delaney"`` (for
        ``"esol"``) and ``"lipo"`` (for ``"lipophilicity"``) are accepted too.

    Examples
    --------
    >>> from molgnba.datasets import list_datasets
    >>> list_datasets()
    ['bace', 'bbbp', 'clintox', 'esol', 'freesolv', 'hiv', 'lipophilicity', 'sider', 'tox21']
    """
    return sorted(_SPECS)


def dataset_task(name) -> str:
    """The task type of a MoleculeNet dataset: ``"classification"`` or ``"regression"``.

    Parameters
    ----------
    name : str
        A name or alias of :func:`list_datasets`, case-insensitive.

    Returns
    -------
    str

    Examples
    --------
    >>> from molgnba.datasets import dataset_task
    >>> dataset_task("esol"), dataset_task("BBBP")
    ('regression', 'classification')
    """
    return _resolve_spec(name).task_type


def _resolve_spec(name) -> _DatasetSpec:
    if not isinstance(name, str):
        raise TypeError(f"The dataset name must be a string, got {type(name).__name__}.")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key in _SPECS:
        return _SPECS[key]
    valid = list_datasets()
    suggestion = difflib.get_close_matches(key, [*valid, *_ALIASES], n=1)
    hint = ""
    if suggestion:
        hint = f" Did you mean {_ALIASES.get(suggestion[0], suggestion[0])!r}?"
    aliases = ", ".join(f"{a!r} for {c!r}" for a, c in _ALIASES.items())
    raise ValueError(
        f"Unknown dataset {name!r}.{hint} Valid names: {', '.join(valid)} "
        f"(aliases: {aliases})."
    )


# ------------------------------------------------------------------ where files live


def _cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "molgnba"


def _data_dir(data_home) -> tuple[Path, str] | None:
    """The user's data directory and how it was given, or None."""
    if data_home is not None:
        path, origin = Path(os.fspath(data_home)).expanduser(), "data_home"
    elif os.environ.get(DATA_ENV_VAR):
        path, origin = Path(os.environ[DATA_ENV_VAR]).expanduser(), f"${DATA_ENV_VAR}"
    else:
        return None
    if not path.is_dir():
        error = NotADirectoryError if path.exists() else FileNotFoundError
        what = "is not a directory" if path.exists() else "does not exist"
        raise error(
            f"{origin}={str(path)!r} {what}; it must be the directory holding the "
            "dataset files."
        )
    return path, origin


def _search_dirs(data_home) -> list[tuple[Path, str]]:
    dirs = []
    data_dir = _data_dir(data_home)
    if data_dir is not None:
        dirs.append(data_dir)
    cache = _cache_dir()
    if not any(d == cache for d, _ in dirs):
        dirs.append((cache, "cache"))
    return dirs


def _find_local_file(spec: _DatasetSpec, dirs) -> Path | None:
    for directory, _ in dirs:
        for filename in spec.candidate_filenames:
            path = directory / filename
            if path.is_file():
                return path
    return None


def _where_to_put_it(spec: _DatasetSpec, cache: Path) -> str:
    return (
        f"download {spec.url} elsewhere and place it (or a cleaned copy named one of "
        f"{', '.join(spec.candidate_filenames)}) in a directory that you pass as "
        f"data_home=..., or in the directory named by the {DATA_ENV_VAR} environment "
        f"variable, or in the cache directory {str(cache)!r}"
    )


# ------------------------------------------------------------------ reading


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


_READ_ERRORS = (
    pd.errors.ParserError,
    pd.errors.EmptyDataError,
    UnicodeDecodeError,
    gzip.BadGzipFile,
    EOFError,
    zlib.error,
)


def _read_table(path: Path, spec: _DatasetSpec) -> pd.DataFrame:
    """Read ``path`` into a frame with a ``smiles`` column and the canonical target
    columns (floats, NaN where missing). Raises ValueError if the file is not a CSV
    in one of the spec's known layouts."""
    compression = "gzip" if _is_gzip(path) else None
    try:
        columns = pd.read_csv(path, nrows=0, compression=compression).columns
    except _READ_ERRORS as exc:
        raise ValueError(f"Could not read {str(path)!r} as a CSV file: {exc}") from exc
    layout = next((lay for lay in spec.layouts if lay.matches(columns)), None)
    if layout is None:
        known = "; ".join(
            f"SMILES column {lay.smiles_column!r} with target column(s) "
            f"{', '.join(map(repr, lay.target_columns[:3]))}"
            f"{', ...' if len(lay.target_columns) > 3 else ''}"
            for lay in spec.layouts
        )
        shown = ", ".join(map(repr, list(columns)[:12])) + (", ..." if len(columns) > 12 else "")
        raise ValueError(
            f"{str(path)!r} does not look like the {spec.name!r} dataset: its columns "
            f"are {shown}, but a known layout has {known}."
        )
    usecols = [layout.smiles_column, *layout.target_columns]
    try:
        raw = pd.read_csv(
            path, usecols=usecols, compression=compression, dtype={layout.smiles_column: str}
        )
    except _READ_ERRORS as exc:
        raise ValueError(f"Could not read {str(path)!r} as a CSV file: {exc}") from exc

    frame = pd.DataFrame({"smiles": raw[layout.smiles_column].fillna("").astype(str)})
    for canonical, column in zip(spec.target_names, layout.target_columns):
        try:
            frame[canonical] = pd.to_numeric(raw[column], errors="raise").astype(float)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"Column {column!r} of {str(path)!r} should hold numeric labels "
                f"(empty cells for missing ones): {exc}"
            ) from exc
    return frame


# ------------------------------------------------------------------ downloading


def _download(url: str, dest: Path) -> None:
    """Write the resource at ``url`` into the file ``dest``."""
    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
        with open(dest, "wb") as fh:
            shutil.copyfileobj(response, fh)


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(spec: _DatasetSpec, cache: Path) -> Path:
    """Download the raw file of ``spec`` into ``cache`` and return its path.

    The bytes go to a temporary file in the cache, which is checked (it parses as a
    CSV in a known layout; its SHA-256 when known) and only then renamed to its final
    name, so that an interrupted or bad download never leaves a file behind.
    """
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(
            f"Could not create the cache directory {str(cache)!r} to download the "
            f"{spec.name!r} dataset into ({exc}). Set the {CACHE_ENV_VAR} environment "
            f"variable to a writable directory, or {_where_to_put_it(spec, cache)}."
        ) from exc
    final = cache / spec.raw_filename
    fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=f".{spec.raw_filename}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            _download(spec.url, tmp)
        except Exception as exc:  # URLError, HTTPError, timeouts, http.client errors, ...
            raise OSError(
                f"Could not download the {spec.name!r} dataset from {spec.url}: {exc}. "
                f"Without network access, {_where_to_put_it(spec, cache)}."
            ) from exc
        if spec.sha256 is not None and _sha256(tmp) != spec.sha256:
            raise OSError(
                f"The file downloaded from {spec.url} has an unexpected SHA-256 "
                f"checksum and was discarded. Try again later, or "
                f"{_where_to_put_it(spec, cache)}."
            )
        try:
            _read_table(tmp, spec)
        except ValueError as exc:
            raise OSError(
                f"The file downloaded from {spec.url} is not the expected "
                f"{spec.name!r} CSV and was discarded ({exc}). Try again later, or "
                f"{_where_to_put_it(spec, cache)}."
            ) from exc
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


# ------------------------------------------------------------------ public loader


def _invalid_rows(smiles: list[str]) -> list[int]:
    """Rows whose SMILES fail molgnba's one validity rule (:func:`molgnba.featurize.parse_smiles`)."""
    from molgnba.featurize import check_smiles

    return [entry.position for entry in check_smiles(smiles)[1]]


def _describe(spec: _DatasetSpec, n_molecules: int, path: Path) -> str:
    n_tasks = len(spec.target_names)
    tasks = "1 task" if n_tasks == 1 else f"{n_tasks} tasks"
    return (
        f"{spec.title}\n"
        f"{'-' * len(spec.title)}\n\n"
        f"{spec.description}\n\n"
        f"Molecules: {n_molecules}; {tasks} ({spec.task_type}; recommended metric: "
        f"{spec.metric}). Read from {path}.\n\n"
        f"References\n"
        f"- {spec.reference}\n"
        f"- {_MOLECULENET_REFERENCE}\n"
    )


def load_moleculenet(
    name, *, data_home=None, return_X_y=False, download=True, drop_invalid=False
):
    """Load a MoleculeNet dataset of SMILES and labels.

    ============================ ============================================
    Datasets                     bbbp, bace, clintox, sider, tox21, hiv
                                 (classification); esol (alias delaney),
                                 freesolv, lipophilicity (alias lipo)
                                 (regression)
    Targets                      float; NaN marks a missing label
    ============================ ============================================

    Parameters
    ----------
    name : str
        Dataset name, case-insensitive; see :func:`list_datasets`. ``"delaney"`` is
        an alias of ``"esol"`` and ``"lipo"`` of ``"lipophilicity"``.

    data_home : str or path-like, default=None
        Directory to look in first for the dataset file. By default the directory
        named by the ``MOLGNBA_DATA`` environment variable, if set. The cache
        directory (``$MOLGNBA_CACHE``, else ``~/.cache/molgnba``) is searched after
        it. Both the cleaned copies (e.g. ``bbbp.csv`` with columns ``smiles,p_np``)
        and the raw MoleculeNet files (e.g. ``BBBP.csv``, ``tox21.csv.gz``) are
        recognised, by their column names; files may be gzipped.

    return_X_y : bool, default=False
        If True, return ``(smiles, target)`` instead of a Bunch object.

    download : bool, default=True
        If no local file is found, download the raw MoleculeNet file from the
        DeepChem mirror into the cache directory. If False, raise a
        ``FileNotFoundError`` instead.

    drop_invalid : bool, default=False
        If False, molecules are returned as they are in the file, including invalid
        SMILES (the estimators handle those). If True, such rows are dropped with a
        warning, and listed in ``dropped``. Invalid means invalid for the estimators:
        :func:`molgnba.featurize.parse_smiles` decides.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        smiles : list of str
            The SMILES of the molecules.
        target : ndarray of shape (n_molecules,) or (n_molecules, n_tasks)
            The labels as floats, 1-D for single-task datasets; NaN marks a missing
            label.
        target_names : list of str
            The names of the tasks.
        task_type : {"classification", "regression"}
            The kind of task.
        metric : {"roc_auc", "rmse"}
            The metric MoleculeNet recommends for the dataset.
        frame : pandas DataFrame
            A ``"smiles"`` column followed by one column per task. The task columns
            have the same names whatever the layout of the file read.
        DESCR : str
            Description of the dataset, with references.
        name : str
            The canonical dataset name.
        filename : str
            The path of the file read.
        dropped : list of (int, str) or None
            With ``drop_invalid=True``, the rows dropped, as (0-based row number
            among the file's data rows, SMILES); None otherwise (not checked).

    (smiles, target) : tuple if ``return_X_y`` is True
        The list of SMILES and the target array.

    Raises
    ------
    ValueError
        If ``name`` is unknown, or a file found is not in a known layout.
    FileNotFoundError
        If no local file exists and ``download=False``.
    OSError
        If the download fails; the message says where to put the file by hand.

    See Also
    --------
    list_datasets : The dataset names.
    molgnba.model_selection.scaffold_split : The usual split for these data.

    Notes
    -----
    Rows are not deduplicated or canonicalised. The cleaned copies distributed with
    chemprop differ from the raw MoleculeNet files in a few rows (BBBP: 2,039 rows
    against 2,050 raw rows, 11 of which RDKit cannot parse).

    References
    ----------
    Wu, Z. et al. MoleculeNet: a benchmark for molecular machine learning.
    Chem. Sci. 9, 513-530 (2018).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from molgnba.datasets import load_moleculenet
    >>> data_home = tempfile.mkdtemp()
    >>> _ = (pathlib.Path(data_home) / "esol.csv").write_text(
    ...     "smiles,logSolubility\\nCCO,0.5\\nc1ccccc1,-1.6\\n")
    >>> data = load_moleculenet("esol", data_home=data_home)
    >>> data.smiles, data.target, data.task_type, data.metric
    (['CCO', 'c1ccccc1'], array([ 0.5, -1.6]), 'regression', 'rmse')

    Download the raw file on first use (needs network access):

    >>> smiles, y = load_moleculenet("bbbp", return_X_y=True)  # doctest: +SKIP
    >>> len(smiles)  # doctest: +SKIP
    2050
    """
    spec = _resolve_spec(name)
    dirs = _search_dirs(data_home)
    cache = _cache_dir()
    path = _find_local_file(spec, dirs)
    if path is None:
        if not download:
            places = "; ".join(f"{str(d)!r} ({origin})" for d, origin in dirs)
            raise FileNotFoundError(
                f"No local copy of the {spec.name!r} dataset was found. Looked for "
                f"{', '.join(spec.candidate_filenames)} in: {places}. Pass "
                f"download=True to fetch it, or {_where_to_put_it(spec, cache)}."
            )
        path = _fetch(spec, cache)

    frame = _read_table(path, spec)
    dropped = None
    if drop_invalid:
        rows = _invalid_rows(frame["smiles"].tolist())
        dropped = [(row, frame["smiles"].iat[row]) for row in rows]
        if rows:
            shown = ", ".join(map(str, rows[:_MAX_ROWS_IN_WARNING]))
            if len(rows) > _MAX_ROWS_IN_WARNING:
                shown += f", ... ({len(rows) - _MAX_ROWS_IN_WARNING} more; see .dropped)"
            warnings.warn(
                f"Dropped {len(rows)} of {len(frame)} molecules of {spec.name!r} whose "
                f"SMILES are not valid, at rows {shown} (0-based data rows of "
                f"{path.name}).",
                UserWarning,
                stacklevel=2,
            )
            frame = frame.drop(index=frame.index[rows]).reset_index(drop=True)

    smiles = frame["smiles"].tolist()
    target = frame[list(spec.target_names)].to_numpy(dtype=float, copy=True)
    if target.shape[1] == 1:
        target = target.ravel()
    if return_X_y:
        return smiles, target
    return Bunch(
        smiles=smiles,
        target=target,
        target_names=list(spec.target_names),
        task_type=spec.task_type,
        metric=spec.metric,
        frame=frame,
        DESCR=_describe(spec, len(frame), path),
        name=spec.name,
        filename=str(path),
        dropped=dropped,
    )
