"""SMILES to molecular graphs.

A featurizer turns one RDKit molecule into a :class:`torch_geometric.data.Data`
whose node and edge features are small integer codes, one column per
categorical feature. The network embeds each column and sums the embeddings
(Hu et al., 2019), so a featurizer only has to declare how many values each
column can take (:attr:`MoleculeFeaturizer.atom_feature_dims` and
:attr:`MoleculeFeaturizer.bond_feature_dims`).

Every column reserves its last code for "other", so an element, chirality tag
or bond type that is not in the vocabulary never raises an index error.

To add a feature set, subclass :class:`MoleculeFeaturizer`, list the
vocabularies and register the class under a name with
:func:`register_featurizer`; estimators then accept that name as
``featurizer=``.
"""

from __future__ import annotations

import contextlib
import gc
import math
import numbers
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch
from rdkit import Chem, rdBase
from torch_geometric.data import Data

__all__ = [
    "MoleculeFeaturizer",
    "HuFeaturizer",
    "ExtendedFeaturizer",
    "InvalidSmiles",
    "register_featurizer",
    "get_featurizer",
    "check_smiles",
    "featurize_smiles",
    "GraphCache",
]


def _onehot_index(value, vocabulary: Sequence) -> int:
    """Position of ``value`` in ``vocabulary``; the last code means "other"."""
    try:
        return vocabulary.index(value)
    except ValueError:
        return len(vocabulary)


class MoleculeFeaturizer:
    """Base class: RDKit molecule to a graph of categorical atom and bond codes.

    Subclasses define :meth:`atom_features` and :meth:`bond_features`, each
    returning a tuple of integer codes, and the matching vocabulary sizes in
    :attr:`atom_feature_dims` and :attr:`bond_feature_dims` (each size counts
    the "other" code).

    Attributes
    ----------
    name : str
        The registry name; stored in saved models so that a model is never
        run on graphs of another feature set.
    version : str
        Bumped whenever the codes change for the same molecule.
    atom_feature_dims : list of int
        Number of possible codes for each atom feature column.
    bond_feature_dims : list of int
        Number of possible codes for each bond feature column.

    Examples
    --------
    A feature set of the element (C, N, O or other) and the bond order
    (single, double, triple, aromatic or other):

    >>> from rdkit import Chem
    >>> from molgnba.featurize import MoleculeFeaturizer
    >>> class ElementFeaturizer(MoleculeFeaturizer):
    ...     name = "element"
    ...     atom_feature_dims = [4]
    ...     bond_feature_dims = [5]
    ...     def atom_features(self, atom):
    ...         return ({"C": 0, "N": 1, "O": 2}.get(atom.GetSymbol(), 3),)
    ...     def bond_features(self, bond):
    ...         order = {1.0: 0, 2.0: 1, 3.0: 2, 1.5: 3}
    ...         return (order.get(bond.GetBondTypeAsDouble(), 4),)
    >>> graph = ElementFeaturizer()(Chem.MolFromSmiles("OC(=O)CS"))
    >>> graph.x[:, 0].tolist(), graph.edge_attr[::2, 0].tolist()
    ([2, 0, 2, 0, 3], [0, 1, 0, 0])
    >>> graph.edge_index.shape, ElementFeaturizer().signature
    (torch.Size([2, 8]), 'element:1')
    """

    name = "base"
    version = "1"
    atom_feature_dims: list[int] = []
    bond_feature_dims: list[int] = []

    def atom_features(self, atom: Chem.Atom) -> tuple[int, ...]:
        """The integer codes of one atom, one per column of :attr:`atom_feature_dims`.

        Parameters
        ----------
        atom : rdkit.Chem.Atom

        Returns
        -------
        tuple of int
            Code ``k`` of column ``c`` lies in ``[0, atom_feature_dims[c])``;
            the last value means "other".

        Examples
        --------
        >>> from rdkit import Chem
        >>> from molgnba.featurize import HuFeaturizer
        >>> mol = Chem.MolFromSmiles("C[C@H](N)O")
        >>> HuFeaturizer().atom_features(mol.GetAtomWithIdx(1))  # carbon (code 5), counter-clockwise
        (5, 2)
        """
        raise NotImplementedError

    def bond_features(self, bond: Chem.Bond) -> tuple[int, ...]:
        """The integer codes of one bond, one per column of :attr:`bond_feature_dims`.

        Both directions of the bond get these codes.

        Parameters
        ----------
        bond : rdkit.Chem.Bond

        Returns
        -------
        tuple of int
            Code ``k`` of column ``c`` lies in ``[0, bond_feature_dims[c])``;
            the last value means "other".

        Examples
        --------
        >>> from rdkit import Chem
        >>> from molgnba.featurize import HuFeaturizer
        >>> mol = Chem.MolFromSmiles("CC=O")
        >>> HuFeaturizer().bond_features(mol.GetBondWithIdx(1))  # double bond, no direction
        (1, 0)
        """
        raise NotImplementedError

    def __call__(self, mol: Chem.Mol) -> Data:
        """Featurize one molecule.

        Returns
        -------
        Data
            ``x``: long tensor of shape ``V x len(atom_feature_dims)``;
            ``edge_index``: long tensor of shape ``2 x 2E`` (each bond in both
            directions); ``edge_attr``: long tensor of shape
            ``2E x len(bond_feature_dims)``.
        """
        plan = _column_plan(type(self))
        if plan is not None:
            return _featurize_columns(mol, *plan)
        atoms = [self.atom_features(atom) for atom in mol.GetAtoms()]
        x = torch.tensor(atoms, dtype=torch.long).reshape(len(atoms), len(self.atom_feature_dims))
        n_bonds = mol.GetNumBonds()
        edge_index = np.empty((2, 2 * n_bonds), dtype=np.int64)
        edge_attr = np.empty((2 * n_bonds, len(self.bond_feature_dims)), dtype=np.int64)
        for k, bond in enumerate(mol.GetBonds()):
            i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
            edge_index[:, 2 * k] = (i, j)
            edge_index[:, 2 * k + 1] = (j, i)
            edge_attr[2 * k] = edge_attr[2 * k + 1] = self.bond_features(bond)
        return Data(
            x=x,
            edge_index=torch.from_numpy(edge_index),
            edge_attr=torch.from_numpy(edge_attr),
        )

    @property
    def signature(self) -> str:
        """``name:version``, what a saved model records of its feature set."""
        return f"{self.name}:{self.version}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# Vocabularies of Hu et al. (2019), "Strategies for pre-training graph neural
# networks", without their masking code (we never mask atoms).
ATOMIC_NUMBERS = list(range(1, 119))
CHIRAL_TAGS = [
    Chem.ChiralType.CHI_UNSPECIFIED,
    Chem.ChiralType.CHI_TETRAHEDRAL_CW,
    Chem.ChiralType.CHI_TETRAHEDRAL_CCW,
]
BOND_TYPES = [
    Chem.BondType.SINGLE,
    Chem.BondType.DOUBLE,
    Chem.BondType.TRIPLE,
    Chem.BondType.AROMATIC,
]
BOND_DIRS = [
    Chem.BondDir.NONE,
    Chem.BondDir.ENDUPRIGHT,
    Chem.BondDir.ENDDOWNRIGHT,
]


class HuFeaturizer(MoleculeFeaturizer):
    """Atom type and chirality; bond type and bond direction (Hu et al., 2019).

    The paper's feature set: two atom columns (atomic number 1-118 plus
    "other", e.g. the dummy atom ``*``; chirality tag) and two bond columns
    (single/double/triple/aromatic; none/end-up-right/end-down-right).

    Examples
    --------
    >>> from rdkit import Chem
    >>> graph = HuFeaturizer()(Chem.MolFromSmiles("CC=O"))
    >>> graph.x.tolist()
    [[5, 0], [5, 0], [7, 0]]
    >>> graph.edge_index.shape, graph.edge_attr[:, 0].tolist()
    (torch.Size([2, 4]), [0, 0, 1, 1])
    """

    name = "hu2019"
    version = "1"
    atom_feature_dims = [len(ATOMIC_NUMBERS) + 1, len(CHIRAL_TAGS) + 1]
    bond_feature_dims = [len(BOND_TYPES) + 1, len(BOND_DIRS) + 1]
    # The same codes as atom_features / bond_features, column by column (see _column_plan).
    _atom_columns = ((Chem.Atom.GetAtomicNum, ATOMIC_NUMBERS), (Chem.Atom.GetChiralTag, CHIRAL_TAGS))
    _bond_columns = ((Chem.Bond.GetBondType, BOND_TYPES), (Chem.Bond.GetBondDir, BOND_DIRS))

    def atom_features(self, atom):
        return (
            _onehot_index(atom.GetAtomicNum(), ATOMIC_NUMBERS),
            _onehot_index(atom.GetChiralTag(), CHIRAL_TAGS),
        )

    def bond_features(self, bond):
        return (
            _onehot_index(bond.GetBondType(), BOND_TYPES),
            _onehot_index(bond.GetBondDir(), BOND_DIRS),
        )


HYBRIDIZATIONS = [
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
]
DEGREES = list(range(7))
FORMAL_CHARGES = [-2, -1, 0, 1, 2]
TOTAL_HS = list(range(5))
STEREO = [
    Chem.BondStereo.STEREONONE,
    Chem.BondStereo.STEREOANY,
    Chem.BondStereo.STEREOZ,
    Chem.BondStereo.STEREOE,
    Chem.BondStereo.STEREOCIS,
    Chem.BondStereo.STEREOTRANS,
]


class ExtendedFeaturizer(HuFeaturizer):
    """Hu et al.'s features plus the usual chemprop-style descriptors.

    Atoms add degree, formal charge, total hydrogen count, hybridization,
    aromaticity and ring membership; bonds add conjugation, ring membership
    and double-bond stereo. Every column still has an "other" code.

    Examples
    --------
    >>> from rdkit import Chem
    >>> graph = ExtendedFeaturizer()(Chem.MolFromSmiles("[NH4+]"))
    >>> graph.x.shape
    torch.Size([1, 8])
    """

    name = "extended"
    version = "1"
    atom_feature_dims = HuFeaturizer.atom_feature_dims + [
        len(DEGREES) + 1,
        len(FORMAL_CHARGES) + 1,
        len(TOTAL_HS) + 1,
        len(HYBRIDIZATIONS) + 1,
        2,
        2,
    ]
    bond_feature_dims = HuFeaturizer.bond_feature_dims + [2, 2, len(STEREO) + 1]
    _atom_columns = HuFeaturizer._atom_columns + (
        (Chem.Atom.GetDegree, DEGREES),
        (Chem.Atom.GetFormalCharge, FORMAL_CHARGES),
        (Chem.Atom.GetTotalNumHs, TOTAL_HS),
        (Chem.Atom.GetHybridization, HYBRIDIZATIONS),
        (Chem.Atom.GetIsAromatic, None),
        (Chem.Atom.IsInRing, None),
    )
    _bond_columns = HuFeaturizer._bond_columns + (
        (Chem.Bond.GetIsConjugated, None),
        (Chem.Bond.IsInRing, None),
        (Chem.Bond.GetStereo, STEREO),
    )

    def atom_features(self, atom):
        return super().atom_features(atom) + (
            _onehot_index(atom.GetDegree(), DEGREES),
            _onehot_index(atom.GetFormalCharge(), FORMAL_CHARGES),
            _onehot_index(atom.GetTotalNumHs(), TOTAL_HS),
            _onehot_index(atom.GetHybridization(), HYBRIDIZATIONS),
            int(atom.GetIsAromatic()),
            int(atom.IsInRing()),
        )

    def bond_features(self, bond):
        return super().bond_features(bond) + (
            int(bond.GetIsConjugated()),
            int(bond.IsInRing()),
            _onehot_index(bond.GetStereo(), STEREO),
        )


class _Codes(dict):
    """Raw RDKit value (int or int-valued enum) to code; unknown values get the "other" code.

    Equal to :func:`_onehot_index` on the same vocabulary: the first position
    of an equal value, ``len(vocabulary)`` for anything else.
    """

    def __init__(self, vocabulary: Sequence):
        super().__init__()
        for code, value in enumerate(vocabulary):
            self.setdefault(int(value), code)
        self.other = len(vocabulary)

    def __missing__(self, key):
        return self.other


_PLANS: "weakref.WeakKeyDictionary[type, tuple | None]" = weakref.WeakKeyDictionary()


def _defined_in(cls: type, name: str):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass
    return None


def _column_plan(cls: type):
    """Column getters and code tables for the fast path of ``cls``, or None.

    A featurizer may describe its codes as ``_atom_columns`` / ``_bond_columns``:
    tuples of ``(unbound RDKit getter, vocabulary or None)``, None meaning
    ``int(value)``. They are used instead of calling ``atom_features`` per
    atom only where the class that defines the columns also defines the
    methods they mirror, so a subclass that overrides ``atom_features`` or
    ``bond_features`` (and not the columns) gets exactly its own codes.
    """
    try:
        return _PLANS[cls]
    except KeyError:
        pass
    plan = None
    if (
        getattr(cls, "_atom_columns", None) is not None
        and getattr(cls, "_bond_columns", None) is not None
        and _defined_in(cls, "_atom_columns") is _defined_in(cls, "atom_features")
        and _defined_in(cls, "_bond_columns") is _defined_in(cls, "bond_features")
        and len(cls._atom_columns) == len(cls.atom_feature_dims)
        and len(cls._bond_columns) == len(cls.bond_feature_dims)
    ):
        plan = tuple(
            tuple((getter, None if vocabulary is None else _Codes(vocabulary)) for getter, vocabulary in columns)
            for columns in (cls._atom_columns, cls._bond_columns)
        )
    _PLANS[cls] = plan
    return plan


_begin_atom = Chem.Bond.GetBeginAtomIdx
_end_atom = Chem.Bond.GetEndAtomIdx


def _featurize_columns(mol: Chem.Mol, atom_columns, bond_columns) -> Data:
    """:meth:`MoleculeFeaturizer.__call__` for column-described featurizers.

    The same graph, built with one RDKit call per atom (bond) and column and
    a dictionary look-up per code instead of a Python tuple per atom.
    """
    atoms = list(map(mol.GetAtomWithIdx, range(mol.GetNumAtoms())))
    x = np.empty((len(atoms), len(atom_columns)), dtype=np.int64)
    for column, (getter, codes) in enumerate(atom_columns):
        values = map(getter, atoms)
        x[:, column] = list(values if codes is None else map(codes.__getitem__, values))
    bonds = list(map(mol.GetBondWithIdx, range(mol.GetNumBonds())))
    n_bonds = len(bonds)
    # Edge 2k is bond k as begin -> end, edge 2k + 1 the same bond reversed.
    edge_index = np.empty((2, n_bonds, 2), dtype=np.int64)
    begin, end = list(map(_begin_atom, bonds)), list(map(_end_atom, bonds))
    edge_index[0, :, 0] = edge_index[1, :, 1] = begin
    edge_index[0, :, 1] = edge_index[1, :, 0] = end
    edge_attr = np.empty((n_bonds, 2, len(bond_columns)), dtype=np.int64)
    for column, (getter, codes) in enumerate(bond_columns):
        values = map(getter, bonds)
        edge_attr[:, :, column] = np.array(
            list(values if codes is None else map(codes.__getitem__, values)), dtype=np.int64
        ).reshape(n_bonds, 1)
    return Data(
        x=torch.from_numpy(x),
        edge_index=torch.from_numpy(edge_index.reshape(2, 2 * n_bonds)),
        edge_attr=torch.from_numpy(edge_attr.reshape(2 * n_bonds, len(bond_columns))),
    )


_FEATURIZERS: dict[str, type[MoleculeFeaturizer]] = {}


def register_featurizer(cls: type[MoleculeFeaturizer]) -> type[MoleculeFeaturizer]:
    """Make ``cls`` available to estimators as ``featurizer=cls.name``.

    Usable as a class decorator. A later registration under the same name
    replaces the earlier one. Register a custom featurizer before loading a
    model saved with it (see :mod:`molgnba.persistence`).

    Parameters
    ----------
    cls : type
        A subclass of :class:`MoleculeFeaturizer` with a unique ``name``.

    Returns
    -------
    type
        ``cls`` itself.

    Raises
    ------
    TypeError
        If ``cls`` is not a :class:`MoleculeFeaturizer` subclass.

    Examples
    --------
    >>> from molgnba import GNNRegressor
    >>> from molgnba.featurize import HuFeaturizer, featurize_smiles, register_featurizer
    >>> @register_featurizer
    ... class ChiralityBlindFeaturizer(HuFeaturizer):
    ...     # Hu et al.'s features with every chirality tag set to "unspecified".
    ...     name = "hu2019-achiral"
    ...     def atom_features(self, atom):
    ...         return super().atom_features(atom)[:1] + (0,)
    >>> graph = featurize_smiles(["C[C@H](N)O"], "hu2019-achiral", cache=None)[0][0]
    >>> graph.x[:, 1].tolist()
    [0, 0, 0, 0]
    >>> reg = GNNRegressor(featurizer="hu2019-achiral", num_layers=1, hidden_dim=8, max_epochs=1,
    ...                    train_split=None, random_state=0)
    >>> reg.fit(["C[C@H](N)O", "C[C@@H](N)O", "CCO"], [1.0, 2.0, 0.5]).predict(["CCN"]).shape
    (1,)
    """
    if not (isinstance(cls, type) and issubclass(cls, MoleculeFeaturizer)):
        raise TypeError(f"expected a MoleculeFeaturizer subclass, got {cls!r}")
    _FEATURIZERS[cls.name] = cls
    return cls


register_featurizer(HuFeaturizer)
register_featurizer(ExtendedFeaturizer)


def get_featurizer(featurizer: str | MoleculeFeaturizer) -> MoleculeFeaturizer:
    """Resolve a registry name or pass a featurizer instance through.

    Parameters
    ----------
    featurizer : str or MoleculeFeaturizer
        A name registered with :func:`register_featurizer` (``"hu2019"``
        and ``"extended"`` are built in), or an instance.

    Returns
    -------
    MoleculeFeaturizer
        A new instance of the registered class, or ``featurizer`` itself.

    Raises
    ------
    ValueError
        If ``featurizer`` is neither a registered name nor an instance.

    Examples
    --------
    >>> from molgnba.featurize import HuFeaturizer, get_featurizer
    >>> get_featurizer("extended")
    ExtendedFeaturizer()
    >>> get_featurizer("hu2019").signature
    'hu2019:1'
    >>> mine = HuFeaturizer()
    >>> get_featurizer(mine) is mine
    True
    >>> get_featurizer("hu")
    Traceback (most recent call last):
    ...
    ValueError: unknown featurizer 'hu'; valid names are [...] (or pass a MoleculeFeaturizer instance)
    """
    if isinstance(featurizer, MoleculeFeaturizer):
        return featurizer
    if isinstance(featurizer, str) and featurizer in _FEATURIZERS:
        return _FEATURIZERS[featurizer]()
    raise ValueError(
        f"unknown featurizer {featurizer!r}; valid names are {sorted(_FEATURIZERS)}"
        " (or pass a MoleculeFeaturizer instance)"
    )


@dataclass(frozen=True)
class InvalidSmiles:
    """One input that is not a usable molecule: where, what, and why.

    Attributes
    ----------
    position : int
        0-based position of the input.
    value : object
        The input itself.
    reason : str
        Why it is not usable, e.g. "RDKit could not parse it".

    Examples
    --------
    >>> from molgnba.featurize import check_smiles
    >>> _, invalid = check_smiles(["CCO", "", float("nan")])
    >>> invalid[0]
    InvalidSmiles(position=1, value='', reason='empty string')
    >>> print(invalid[1])
    position 2: nan (missing value (NaN))
    """

    position: int
    value: object
    reason: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.value!r} ({self.reason})"


def _parse(smiles: object) -> tuple[Chem.Mol | None, str | None]:
    """Parse one SMILES; return ``(mol, None)`` or ``(None, reason)``."""
    if smiles is None:
        return None, "None is not a SMILES string"
    if isinstance(smiles, numbers.Number) and not isinstance(smiles, bool):
        if isinstance(smiles, float) and math.isnan(smiles):
            return None, "missing value (NaN)"
        return None, f"expected a SMILES string, got a number of type {type(smiles).__name__}"
    if isinstance(smiles, bytes):
        return None, "expected str, got bytes (decode it first)"
    if not isinstance(smiles, str):
        return None, f"expected a SMILES string, got {type(smiles).__name__}"
    if not smiles.strip():
        return None, "empty string"
    if "\x00" in smiles:
        return None, "contains a NUL character"
    try:
        smiles.encode("utf-8")
    except UnicodeEncodeError:
        return None, "not encodable as UTF-8 (a lone surrogate character)"
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None, "RDKit could not parse it"
    if mol.GetNumAtoms() == 0:
        return None, "molecule has no atoms"
    return mol, None


def check_smiles(smiles: Iterable) -> tuple[list[Chem.Mol | None], list[InvalidSmiles]]:
    """Parse every item, collecting the invalid ones instead of raising.

    Parameters
    ----------
    smiles : iterable of str
        SMILES strings; any other item is reported as invalid.

    Returns
    -------
    mols : list of rdkit.Chem.Mol or None
        One entry per input, None where the input is invalid.
    invalid : list of InvalidSmiles
        Position, value and reason for each invalid input, in input order.

    Examples
    --------
    >>> mols, invalid = check_smiles(["CCO", "C1CC", None])
    >>> [m is None for m in mols]
    [False, True, True]
    >>> print(invalid[0])
    position 1: 'C1CC' (RDKit could not parse it)
    """
    mols: list[Chem.Mol | None] = []
    invalid: list[InvalidSmiles] = []
    # RDKit prints a parse error per bad SMILES on stderr; we report them
    # ourselves, with positions. BlockLogs restores the user's log settings.
    with rdBase.BlockLogs():
        for position, item in enumerate(smiles):
            mol, reason = _parse(item)
            mols.append(mol)
            if reason is not None:
                invalid.append(InvalidSmiles(position, item, reason))
    return mols, invalid


class GraphCache:
    """A bounded, thread-safe least-recently-used map from SMILES to graphs.

    One process-wide instance backs every estimator, keyed by the featurizer's
    signature and the SMILES string, so clones made by ``GridSearchCV`` or
    ``cross_val_score`` in the same process featurize each molecule once.

    Parameters
    ----------
    max_size : int
        Number of graphs kept; the least recently used go first. A typical
        drug-like graph takes 2-4 kB. 0 or less caches nothing.

    Attributes
    ----------
    hits, misses : int
        Look-ups that found a graph, and that did not, since the last
        :meth:`clear`.

    Examples
    --------
    >>> from molgnba.featurize import GraphCache, featurize_smiles
    >>> cache = GraphCache(max_size=2)
    >>> _ = featurize_smiles(["CCO", "CCN", "CCC"], cache=cache)
    >>> len(cache), cache.misses
    (2, 3)
    >>> _ = featurize_smiles(["CCC", "CCO"], cache=cache)  # "CCO" was evicted
    >>> cache.hits, cache.misses
    (1, 4)
    """

    def __init__(self, max_size: int = 200_000):
        self.max_size = max_size
        self._graphs: OrderedDict[tuple[str, str], Data] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        """The graph stored under ``key``, or None; counts a hit or a miss.

        A hit makes the graph the most recently used.

        Parameters
        ----------
        key : tuple of (str, str)
            The featurizer's signature and the SMILES string.

        Returns
        -------
        torch_geometric.data.Data or None

        Examples
        --------
        >>> from molgnba.featurize import GraphCache, featurize_smiles
        >>> cache = GraphCache()
        >>> graphs, _ = featurize_smiles(["CCO"], "hu2019", cache=cache)
        >>> cache.get(("hu2019:1", "CCO")) is graphs[0]
        True
        >>> cache.get(("extended:1", "CCO")) is None  # graphs of another featurizer are apart
        True
        """
        with self._lock:
            graph = self._graphs.get(key)
            if graph is None:
                self.misses += 1
            else:
                self.hits += 1
                self._graphs.move_to_end(key)
            return graph

    def put(self, key, graph: Data) -> None:
        """Store ``graph`` under ``key``, evicting the least recently used beyond ``max_size``.

        Parameters
        ----------
        key : tuple of (str, str)
            The featurizer's signature and the SMILES string.
        graph : torch_geometric.data.Data

        Examples
        --------
        >>> from rdkit import Chem
        >>> from molgnba.featurize import GraphCache, HuFeaturizer
        >>> cache, featurizer = GraphCache(max_size=1), HuFeaturizer()
        >>> cache.put((featurizer.signature, "CCO"), featurizer(Chem.MolFromSmiles("CCO")))
        >>> cache.put((featurizer.signature, "CC"), featurizer(Chem.MolFromSmiles("CC")))
        >>> len(cache), cache.get((featurizer.signature, "CCO"))
        (1, None)
        """
        if self.max_size <= 0:
            return
        with self._lock:
            self._graphs[key] = graph
            self._graphs.move_to_end(key)
            while len(self._graphs) > self.max_size:
                self._graphs.popitem(last=False)

    def clear(self) -> None:
        """Drop every graph and reset :attr:`hits` and :attr:`misses`.

        Examples
        --------
        >>> from molgnba.featurize import GraphCache, featurize_smiles
        >>> cache = GraphCache()
        >>> _ = featurize_smiles(["CCO", "CCN"], cache=cache)
        >>> cache.clear()
        >>> len(cache), cache.hits, cache.misses
        (0, 0, 0)
        """
        with self._lock:
            self._graphs.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._graphs)


graph_cache = GraphCache()


def featurize_smiles(
    smiles: Iterable,
    featurizer: str | MoleculeFeaturizer = "hu2019",
    cache: GraphCache | None = graph_cache,
    n_jobs: int | None = None,
) -> tuple[list[Data | None], list[InvalidSmiles]]:
    """Validate and featurize SMILES, parsing each unique string once.

    A SMILES found in ``cache`` is neither parsed nor featurized again, so
    the clones that model selection fits in one process share the work.

    Parameters
    ----------
    smiles : iterable
        The inputs; anything that is not a parseable SMILES string is
        reported, never raised on here.
    featurizer : str or MoleculeFeaturizer, default="hu2019"
    cache : GraphCache or None
        Where graphs are looked up and stored; None disables caching.
    n_jobs : int or None, default=None
        Worker processes (joblib, loky backend) that parse and featurize the
        SMILES missing from the cache; None or 1 works in this process, -1
        uses every core. The graphs, the invalid entries and the cache
        contents are the same as with one process. Worth it for thousands
        of new SMILES: workers pay a start-up (importing torch and RDKit,
        about a second) on their first use, and fewer than
        ``2 * 256`` new SMILES are always featurized here.

    Returns
    -------
    graphs : list of torch_geometric.data.Data or None
        One entry per input, None where the input is invalid. Repeated
        SMILES share one graph object.
    invalid : list of InvalidSmiles
        Position, value and reason of each invalid input.

    Examples
    --------
    >>> graphs, invalid = featurize_smiles(["CCO", "[Na+].[Cl-]", "CCO", "X"], cache=None)
    >>> [g.num_nodes if g is not None else None for g in graphs]
    [3, 2, 3, None]
    >>> graphs[0] is graphs[2], invalid[0].position
    (True, 3)
    """
    featurizer = get_featurizer(featurizer)
    if n_jobs is not None and n_jobs != 1:
        if not isinstance(smiles, (list, tuple)):
            smiles = list(smiles)
        pending = _uncached_unique_strings(smiles, featurizer.signature, cache)
        if len(pending) >= 2 * _PARALLEL_CHUNK:
            return _featurize_parallel(smiles, featurizer, cache, pending, n_jobs)
    return _assemble(smiles, featurizer, cache, lambda item: _parse_and_featurize(item, featurizer))


def _parse_and_featurize(item, featurizer) -> tuple[bool, object]:
    """``(True, graph)`` or ``(False, reason)`` for one input."""
    mol, reason = _parse(item)
    return (False, reason) if mol is None else (True, featurizer(mol))


def _assemble(smiles, featurizer, cache, compute):
    """The one loop behind featurize_smiles: repeats, cache, and ``compute`` for the rest.

    ``compute(item)`` returns ``(True, graph)`` or ``(False, reason)``; the serial
    path parses and featurizes there, the parallel one looks up its workers' results.
    """
    signature = featurizer.signature
    graphs: list[Data | None] = []
    invalid: list[InvalidSmiles] = []
    seen: dict[str, Data] = {}
    with rdBase.BlockLogs(), _gc_paused():
        for position, item in enumerate(smiles):
            graph = seen.get(item) if isinstance(item, str) else None
            if graph is None and isinstance(item, str) and cache is not None:
                graph = cache.get((signature, item))
            if graph is None:
                ok, value = compute(item)
                if not ok:
                    invalid.append(InvalidSmiles(position, item, value))
                    graphs.append(None)
                    continue
                graph = value
                if cache is not None:
                    cache.put((signature, item), graph)
            seen[item] = graph
            graphs.append(graph)
    return graphs, invalid


@contextlib.contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector while graphs are built.

    Each graph adds a handful of container objects, and every few hundred
    of them the collector walks the ever longer list of survivors: about a
    sixth of featurize_smiles' time on a few thousand molecules, for no
    garbage (graphs hold no reference cycles). Reference counting still
    frees everything as usual; the collector is switched back on (if it was
    on) when the loop ends, however it ends.
    """
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ----------------------------------------------------------------- parallel path
# Work for one process task; below twice this, featurize_smiles stays serial.
_PARALLEL_CHUNK = 256


def _uncached_unique_strings(smiles: Sequence, signature: str, cache: GraphCache | None) -> list[str]:
    """The distinct strings of ``smiles`` that ``cache`` does not hold, in first-seen order.

    Peeks at the cache without counting hits or misses (the serial loop that
    follows does the counting).
    """
    held = cache._graphs if cache is not None else {}
    pending: dict[str, None] = {}
    for item in smiles:
        if isinstance(item, str) and item not in pending and (signature, item) not in held:
            pending[item] = None
    return list(pending)


def _pack(graph: Data):
    """A graph as numpy arrays (cheap to pickle), or the graph itself where that would lose anything."""
    if type(graph) is not Data:
        return graph
    arrays = {}
    for key, value in graph.items():
        if not (isinstance(value, torch.Tensor) and value.device.type == "cpu" and not value.requires_grad):
            return graph
        try:
            arrays[key] = value.numpy()
        except (TypeError, RuntimeError):  # e.g. bfloat16
            return graph
    return arrays


def _unpack(packed) -> Data:
    if isinstance(packed, Data):
        return packed
    return Data(**{key: torch.from_numpy(value) for key, value in packed.items()})


def _featurize_chunk(strings: list[str], featurizer: MoleculeFeaturizer) -> list:
    """Worker: ``(True, packed graph)`` or ``(False, reason)`` per string."""
    torch.set_num_threads(1)
    out = []
    with rdBase.BlockLogs(), _gc_paused():
        for item in strings:
            mol, reason = _parse(item)
            out.append((False, reason) if mol is None else (True, _pack(featurizer(mol))))
    return out


def _featurize_parallel(smiles, featurizer, cache, pending, n_jobs):
    """featurize_smiles with the parsing and featurizing of ``pending`` done in worker processes."""
    from joblib import Parallel, cpu_count, delayed

    workers = cpu_count() if n_jobs < 0 else n_jobs
    n_chunks = max(1, min(len(pending) // _PARALLEL_CHUNK, 4 * max(1, workers)))
    bounds = np.linspace(0, len(pending), n_chunks + 1).astype(int)
    chunks = [pending[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    results = Parallel(n_jobs=n_jobs, backend="loky")(delayed(_featurize_chunk)(chunk, featurizer) for chunk in chunks)
    computed: dict[str, tuple[bool, object]] = {}
    for chunk, result in zip(chunks, results):
        computed.update(zip(chunk, result))
    # The serial loop, with parse-and-featurize replaced by a look-up of the
    # workers' results: same graphs, same reports, same cache traffic.
    def compute(item):
        done = computed.get(item) if isinstance(item, str) else None
        if done is None:  # not a string, or evicted from the cache meanwhile
            return _parse_and_featurize(item, featurizer)
        ok, value = done
        return (True, _unpack(value)) if ok else (False, value)

    return _assemble(smiles, featurizer, cache, compute)
