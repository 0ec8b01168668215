"""Molecule-level features: RDKit 2-D descriptors, Morgan counts, and graphs that carry descriptors."""

from __future__ import annotations

import difflib
import hashlib
import numbers
import warnings

import numpy as np
import torch
from rdkit import Chem, rdBase
from rdkit.Chem import Descriptors, rdFingerprintGenerator

from molgnba.featurize._featurizers import MoleculeFeaturizer, get_featurizer
from molgnba.featurize._validity import InvalidSmiles, parse_in_blocked_log

# How many invalid inputs an error message lists before "... and N more".
_SHOWN_INVALID = 5


def _as_mols(smiles_or_mols, *, name: str) -> list[Chem.Mol]:
    """The molecules of ``smiles_or_mols``; raises before any work if one item is unusable."""
    if isinstance(smiles_or_mols, (str, bytes, Chem.Mol)):
        raise TypeError(
            f"{name} must be a sequence of SMILES strings or RDKit molecules, got a single "
            f"{type(smiles_or_mols).__name__} {smiles_or_mols!r}; wrap it in a list."
        )
    mols: list[Chem.Mol] = []
    invalid: list[InvalidSmiles] = []
    with rdBase.BlockLogs():
        for position, item in enumerate(smiles_or_mols):
            if isinstance(item, Chem.Mol):
                mol, reason = (item, None) if item.GetNumAtoms() else (None, "molecule has no atoms")
            else:
                mol, reason = parse_in_blocked_log(item)
            if reason is not None:
                invalid.append(InvalidSmiles(position, item, reason))
            mols.append(mol)
    if invalid:
        shown = "; ".join(map(str, invalid[:_SHOWN_INVALID]))
        more = f"; ... and {len(invalid) - _SHOWN_INVALID} more" if len(invalid) > _SHOWN_INVALID else ""
        raise ValueError(f"{len(invalid)} of {len(mols)} inputs of {name} are not valid molecules: {shown}{more}")
    return mols


def rdkit_descriptor_names() -> list[str]:
    """The names of every RDKit 2-D descriptor, in :func:`rdkit_descriptors`' column order.

    The list is ``rdkit.Chem.Descriptors.descList`` of the installed RDKit,
    which grows between RDKit releases: store the names with a model and
    pass them back as ``names=`` to get the same columns later.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from molgnba.featurize import rdkit_descriptor_names
    >>> names = rdkit_descriptor_names()
    >>> len(names) > 200, "MolWt" in names, "TPSA" in names
    (True, True, True)
    """
    return [name for name, _ in Descriptors.descList]


def _descriptor_functions(names) -> list[tuple[str, object]]:
    available = dict(Descriptors.descList)
    if names is None:
        return list(available.items())
    if isinstance(names, str):
        raise TypeError(
            f"names must be a list of descriptor names, got the single string {names!r}; wrap it in a list."
        )
    names = list(names)
    unknown = [name for name in names if name not in available]
    if unknown:
        hints = []
        for name in unknown[:_SHOWN_INVALID]:
            close = difflib.get_close_matches(str(name), available, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(
            f"unknown RDKit descriptor name(s): {', '.join(hints)}; the valid names are "
            "rdkit_descriptor_names() (rdkit.Chem.Descriptors.descList)"
        )
    return [(name, available[name]) for name in names]


def rdkit_descriptors(smiles_or_mols, names=None) -> np.ndarray:
    """RDKit's 2-D molecular descriptors, one row per molecule.

    Every input is checked first (the rule of :func:`parse_smiles`); an
    invalid one raises before any descriptor is computed. A descriptor that
    raises, or whose value is NaN, infinite or beyond the float32 range
    (e.g. ``Ipc`` of large molecules), is stored as NaN, and one
    ``RuntimeWarning`` names those descriptors and how many molecules each
    concerned.

    Parameters
    ----------
    smiles_or_mols : sequence of str or rdkit.Chem.Mol
        The molecules, as SMILES strings or RDKit molecules (mixed is fine).
    names : sequence of str or None, default=None
        The descriptors to compute, in column order; None computes all of
        :func:`rdkit_descriptor_names`: some 13 ms of CPU per drug-like
        molecule and 6 ms per small one on one core (measured in the
        performance page of the documentation), about 20 times a graph's
        featurization.
        Pin the list when the columns must stay the same across RDKit
        versions.

    Returns
    -------
    ndarray of shape (n_molecules, n_descriptors), dtype=float32
        NaN where a value could not be computed.

    Raises
    ------
    TypeError
        If ``smiles_or_mols`` is a single string or molecule, or ``names`` a
        single string.
    ValueError
        If an input is not a valid molecule (the message lists positions,
        values and reasons), or a name is not an RDKit descriptor.

    See Also
    --------
    morgan_count_fingerprint : Substructure counts, the other classical input.
    parse_smiles : The validity rule.

    Notes
    -----
    The descriptors span very different scales and a few may be NaN. For a
    linear model or a network, impute and standardize with scikit-learn,
    fitted on the training molecules only::

        make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())

    (``keep_empty_features=True`` keeps a column that is NaN for every
    training molecule, as zeros, so the width never changes.) Tree
    ensembles such as ``RandomForestRegressor`` need only the imputer.

    Examples
    --------
    >>> from molgnba.featurize import rdkit_descriptors
    >>> X = rdkit_descriptors(["CCO", "c1ccccc1O"], names=["MolWt", "NumHDonors", "RingCount"])
    >>> X.dtype, X.astype(float).round(1).tolist()
    (dtype('float32'), [[46.1, 1.0, 0.0], [94.1, 1.0, 1.0]])

    Scaled for a linear model:

    >>> from sklearn.impute import SimpleImputer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> scaler = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
    >>> X_all = rdkit_descriptors(["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"])
    >>> scaler.fit_transform(X_all).shape == X_all.shape
    True
    """
    functions = _descriptor_functions(names)
    mols = _as_mols(smiles_or_mols, name="smiles_or_mols")
    out = np.full((len(mols), len(functions)), np.nan, dtype=np.float32)
    # Some descriptors log RDKit warnings per molecule (e.g. about lone hydrogens); what
    # matters to the caller is the NaN report below.
    with rdBase.BlockLogs():
        for row, mol in enumerate(mols):
            out[row] = _descriptor_row(mol, functions)
    bad = np.isnan(out)
    if bad.any():
        counts = bad.sum(axis=0)
        report = ", ".join(f"{functions[j][0]} ({counts[j]})" for j in np.flatnonzero(counts))
        warnings.warn(
            f"some RDKit descriptors could not be computed or were not finite in float32 and are NaN; "
            f"descriptor (number of molecules): {report}",
            RuntimeWarning,
            stacklevel=2,
        )
    return out


def _descriptor_row(mol: Chem.Mol, functions) -> np.ndarray:
    """One molecule's descriptors as float32; NaN where one raises, is not finite or overflows float32."""
    values = np.full(len(functions), np.nan, dtype=np.float64)
    for column, (_, function) in enumerate(functions):
        try:
            values[column] = float(function(mol))
        except Exception:  # RDKit raises assorted types (e.g. BCUT2D on salts); NaN it is
            pass
    with np.errstate(over="ignore", invalid="ignore"):
        row = values.astype(np.float32)
    row[~np.isfinite(row)] = np.nan
    return row


#: Molecule-level descriptor sets an estimator can join to the graph embedding
#: (``descriptors=``): name -> the function giving that set's descriptor names.
DESCRIPTOR_SETS = {"rdkit2d": rdkit_descriptor_names}


class DescriptorGraphFeaturizer(MoleculeFeaturizer):
    """A graph featurizer whose graphs also carry molecule-level descriptors.

    The graph is the wrapped featurizer's; its ``descriptors`` attribute is
    a float32 tensor of shape ``1 x len(names)`` (so a batch of ``B`` graphs
    has ``B x len(names)``), NaN where RDKit gives no finite float32 value.
    Values are raw: the network standardizes them (see
    :meth:`molgnba.nn.MolecularGNN.scaled_descriptors`). The signature names
    the graph featurizer, the descriptor set and a digest of the names, so
    the graph cache keeps these graphs apart from the plain ones.

    Parameters
    ----------
    featurizer : str or MoleculeFeaturizer
        The graph featurizer (a registry name or an instance).
    descriptors : {"rdkit2d"}, default="rdkit2d"
        A key of :data:`DESCRIPTOR_SETS`.
    names : sequence of str or None, default=None
        The descriptors, in column order; None takes every name of the set
        in this installation (for "rdkit2d": :func:`rdkit_descriptor_names`).

    Examples
    --------
    >>> from molgnba.featurize import HuFeaturizer, featurize_smiles
    >>> from molgnba.featurize._descriptors import DescriptorGraphFeaturizer
    >>> featurizer = DescriptorGraphFeaturizer("hu2019", names=["MolWt", "RingCount"])
    >>> graphs, _ = featurize_smiles(["CCO", "c1ccccc1"], featurizer, cache=None)
    >>> graphs[1].descriptors
    tensor([[78.1140,  1.0000]])
    >>> featurizer.signature.startswith("hu2019:1+rdkit2d:2:"), featurizer.atom_feature_dims == HuFeaturizer.atom_feature_dims
    (True, True)
    """

    name = "descriptor-graph"

    def __init__(self, featurizer="hu2019", descriptors="rdkit2d", names=None):
        if descriptors not in DESCRIPTOR_SETS:
            raise ValueError(f"unknown descriptors {descriptors!r}; valid names are {sorted(DESCRIPTOR_SETS)}")
        self.featurizer = get_featurizer(featurizer)
        self.descriptors = descriptors
        self.names = list(DESCRIPTOR_SETS[descriptors]() if names is None else names)
        self._functions = _descriptor_functions(self.names)
        self.atom_feature_dims = list(self.featurizer.atom_feature_dims)
        self.bond_feature_dims = list(self.featurizer.bond_feature_dims)

    def __call__(self, mol: Chem.Mol):
        graph = self.featurizer(mol)
        with rdBase.BlockLogs():
            graph.descriptors = torch.from_numpy(_descriptor_row(mol, self._functions)).reshape(1, -1)
        return graph

    def __getstate__(self):  # the descriptor functions are looked up again where it is unpickled
        return {key: value for key, value in vars(self).items() if key != "_functions"}

    def __setstate__(self, state):
        vars(self).update(state)
        self._functions = _descriptor_functions(self.names)

    @property
    def signature(self) -> str:
        digest = hashlib.sha1("\n".join(self.names).encode()).hexdigest()[:10]
        return f"{self.featurizer.signature}+{self.descriptors}:{len(self.names)}:{digest}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.featurizer!r}, {self.descriptors!r}, <{len(self.names)} names>)"


def morgan_count_fingerprint(smiles, radius=2, n_bits=2048) -> np.ndarray:
    """Count-based Morgan (ECFP-like) fingerprints, one row per molecule.

    Entry ``j`` of a row counts the atom environments of radius up to
    ``radius`` hashed to bit ``j`` (RDKit's ``GetMorganGenerator``); the
    usual input of a random-forest baseline.

    Parameters
    ----------
    smiles : sequence of str or rdkit.Chem.Mol
        The molecules; every one is checked (:func:`parse_smiles`) before
        any fingerprint is computed.
    radius : int, default=2
        Largest environment radius; 2 gives ECFP4-like features.
    n_bits : int, default=2048
        Length of the folded fingerprint.

    Returns
    -------
    ndarray of shape (n_molecules, n_bits), dtype=float32
        Non-negative integer counts.

    Raises
    ------
    TypeError
        If ``smiles`` is a single string or molecule.
    ValueError
        If ``radius`` is negative or ``n_bits`` not positive (both must be
        integers), or an input is not a valid molecule.

    See Also
    --------
    rdkit_descriptors : Whole-molecule descriptors.

    Examples
    --------
    >>> from molgnba.featurize import morgan_count_fingerprint
    >>> X = morgan_count_fingerprint(["CCO", "CCCCCC"], radius=1, n_bits=64)
    >>> X.shape, X.dtype, X.sum(axis=1).tolist()  # radius 1: two environments per atom
    ((2, 64), dtype('float32'), [6.0, 12.0])
    """
    for value, label, low in ((radius, "radius", 0), (n_bits, "n_bits", 1)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
            raise ValueError(f"{label} must be an integer >= {low}, got {value!r}")
    mols = _as_mols(smiles, name="smiles")
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=int(radius), fpSize=int(n_bits))
    out = np.empty((len(mols), int(n_bits)), dtype=np.float32)
    for row, mol in enumerate(mols):
        out[row] = generator.GetCountFingerprintAsNumPy(mol)
    return out
