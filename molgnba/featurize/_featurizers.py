"""Feature sets: each declared once, as its columns, and the registry of them by name."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from rdkit import Chem
from torch_geometric.data import Data


class _Codes(dict):
    """Raw RDKit value to code; values not in the vocabulary get the "other" code.

    The code of a value is its first position in the vocabulary, as
    ``vocabulary.index(value)`` would give; RDKit's enums are ints, so they
    are keyed by their integer value.
    """

    def __init__(self, vocabulary: Sequence):
        super().__init__()
        for code, value in enumerate(vocabulary):
            self.setdefault(int(value) if isinstance(value, numbers.Integral) else value, code)
        self.other = len(vocabulary)

    def __missing__(self, key):
        return self.other


@dataclass(frozen=True, eq=False)
class FeatureColumn:
    """One categorical column of a feature set: its name, how to read it, its choices.

    A column turns one RDKit atom (or bond) into an integer code:
    ``getter(atom)`` gives a raw value, whose code is its position in
    ``choices``; a value not among the choices gets the extra "other" code
    ``len(choices)``, so an unexpected element or charge never raises.
    Without choices the column is a yes/no flag whose code is
    ``int(getter(atom))``, 0 or 1.

    Parameters
    ----------
    name : str
        What the column describes, e.g. ``"formal_charge"``.
    getter : callable
        Takes an ``rdkit.Chem.Atom`` (or ``Bond``) and returns the raw value;
        typically an unbound RDKit method such as ``Chem.Atom.GetDegree``.
    choices : sequence or None, default=None
        The values that get a code of their own, in code order; None for a
        yes/no flag.

    Attributes
    ----------
    size : int
        Number of possible codes: ``len(choices) + 1``, or 2 for a flag.

    See Also
    --------
    MoleculeFeaturizer : Declares a feature set as ``atom_columns`` and ``bond_columns``.

    Examples
    --------
    >>> from rdkit import Chem
    >>> from molgnba.featurize import FeatureColumn
    >>> charge = FeatureColumn("formal_charge", Chem.Atom.GetFormalCharge, [-1, 0, 1])
    >>> atoms = Chem.MolFromSmiles("[NH4+].[O-]C.[Fe+3]").GetAtoms()
    >>> charge.size, charge.codes(atoms)
    (4, [2, 0, 1, 3])
    >>> FeatureColumn("aromatic", Chem.Atom.GetIsAromatic).size
    2
    """

    name: str
    getter: Callable[[Any], Any]
    choices: Sequence | None = None
    _codes: _Codes | None = field(init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not callable(self.getter):
            raise TypeError(
                f"FeatureColumn needs a name (str) and a callable getter, got {self.name!r} and {self.getter!r}"
            )
        choices = None if self.choices is None else tuple(self.choices)
        object.__setattr__(self, "choices", choices)
        object.__setattr__(self, "_codes", None if choices is None else _Codes(choices))

    @property
    def size(self) -> int:
        return 2 if self.choices is None else len(self.choices) + 1

    def code(self, item) -> int:
        """The code of one atom or bond.

        Parameters
        ----------
        item : rdkit.Chem.Atom or rdkit.Chem.Bond

        Returns
        -------
        int
            In ``[0, size)``.

        Examples
        --------
        >>> from rdkit import Chem
        >>> from molgnba.featurize import FeatureColumn
        >>> degree = FeatureColumn("degree", Chem.Atom.GetDegree, range(5))
        >>> degree.code(Chem.MolFromSmiles("CC(C)(C)C").GetAtomWithIdx(1))
        4
        """
        value = self.getter(item)
        return int(value) if self._codes is None else self._codes[value]

    def codes(self, items) -> list:
        """The codes of many atoms or bonds: one getter call and one look-up each.

        Equal to ``[self.code(item) for item in items]`` (flags may come back
        as ``bool``), without a Python call per item.

        Parameters
        ----------
        items : iterable of rdkit.Chem.Atom or rdkit.Chem.Bond

        Returns
        -------
        list of int

        Examples
        --------
        >>> from rdkit import Chem
        >>> from molgnba.featurize import BOND_TYPES, FeatureColumn
        >>> bond_type = FeatureColumn("bond_type", Chem.Bond.GetBondType, BOND_TYPES)
        >>> bond_type.codes(Chem.MolFromSmiles("C=CC#N").GetBonds())
        [1, 0, 2]
        """
        values = map(self.getter, items)
        return list(values) if self._codes is None else list(map(self._codes.__getitem__, values))


class MoleculeFeaturizer:
    """Base class: RDKit molecule to a graph of categorical atom and bond codes.

    A feature set is declared once, as its columns: :attr:`atom_columns` and
    :attr:`bond_columns`, tuples of :class:`FeatureColumn`. Everything else
    follows from them: :attr:`atom_feature_dims` and
    :attr:`bond_feature_dims`, the per-atom codes of :meth:`atom_features`
    and :meth:`bond_features`, and the column-wise featurization that
    ``__call__`` runs (one RDKit call per atom and column, no Python tuple
    per atom).

    A subclass may instead, or in addition, override :meth:`atom_features`
    (or :meth:`bond_features`) to return any tuple of integer codes, and
    set the matching :attr:`atom_feature_dims` (each size counting the
    "other" code); ``__call__`` then calls that method once per atom.

    Attributes
    ----------
    name : str
        The registry name; stored in saved models so that a model is never
        run on graphs of another feature set.
    version : str
        Bumped whenever the codes change for the same molecule.
    atom_columns, bond_columns : tuple of FeatureColumn
        The declared columns; empty in this base class.
    atom_feature_dims : list of int
        Number of possible codes for each atom feature column.
    bond_feature_dims : list of int
        Number of possible codes for each bond feature column.

    Examples
    --------
    A feature set of the element (C, N, O or other) and the bond order
    (single, double, triple, aromatic or other), declared as columns:

    >>> from rdkit import Chem
    >>> from molgnba.featurize import FeatureColumn, MoleculeFeaturizer
    >>> class ElementFeaturizer(MoleculeFeaturizer):
    ...     name = "element"
    ...     atom_columns = (FeatureColumn("element", Chem.Atom.GetSymbol, ["C", "N", "O"]),)
    ...     bond_columns = (FeatureColumn("order", Chem.Bond.GetBondTypeAsDouble, [1.0, 2.0, 3.0, 1.5]),)
    >>> ElementFeaturizer.atom_feature_dims, ElementFeaturizer.bond_feature_dims
    ([4], [5])
    >>> graph = ElementFeaturizer()(Chem.MolFromSmiles("OC(=O)CS"))
    >>> graph.x[:, 0].tolist(), graph.edge_attr[::2, 0].tolist()
    ([2, 0, 2, 0, 3], [0, 1, 0, 0])
    >>> graph.edge_index.shape, ElementFeaturizer().signature
    (torch.Size([2, 8]), 'element:1')

    The same feature set written as methods (any code a Python function can
    compute):

    >>> class ElementMethodsFeaturizer(MoleculeFeaturizer):
    ...     name = "element-methods"
    ...     atom_feature_dims = [4]
    ...     bond_feature_dims = [5]
    ...     def atom_features(self, atom):
    ...         return ({"C": 0, "N": 1, "O": 2}.get(atom.GetSymbol(), 3),)
    ...     def bond_features(self, bond):
    ...         order = {1.0: 0, 2.0: 1, 3.0: 2, 1.5: 3}
    ...         return (order.get(bond.GetBondTypeAsDouble(), 4),)
    >>> other = ElementMethodsFeaturizer()(Chem.MolFromSmiles("OC(=O)CS"))
    >>> bool((other.x == graph.x).all() and (other.edge_attr == graph.edge_attr).all())
    True
    """

    name = "base"
    version = "1"
    atom_columns: tuple[FeatureColumn, ...] = ()
    bond_columns: tuple[FeatureColumn, ...] = ()
    atom_feature_dims: list[int] = []
    bond_feature_dims: list[int] = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for kind in ("atom", "bond"):
            columns_name, dims_name, method_name = f"{kind}_columns", f"{kind}_feature_dims", f"{kind}_features"
            if columns_name in vars(cls):
                columns = tuple(vars(cls)[columns_name])
                bad = [column for column in columns if not isinstance(column, FeatureColumn)]
                if bad:
                    raise TypeError(f"{cls.__name__}.{columns_name} must hold FeatureColumn objects, got {bad[0]!r}")
                setattr(cls, columns_name, columns)
                if dims_name not in vars(cls):
                    setattr(cls, dims_name, [column.size for column in columns])
            if getattr(cls, method_name) is getattr(MoleculeFeaturizer, method_name) and getattr(cls, columns_name):
                sizes = [column.size for column in getattr(cls, columns_name)]
                if list(getattr(cls, dims_name)) != sizes:
                    raise TypeError(
                        f"{cls.__name__}.{dims_name} is {list(getattr(cls, dims_name))}, but its {columns_name} "
                        f"give {sizes}: declare the columns (the sizes follow), or override {method_name} too"
                    )

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

        Raises
        ------
        NotImplementedError
            If the class declares no :attr:`atom_columns` and does not
            override this method.

        Examples
        --------
        >>> from rdkit import Chem
        >>> from molgnba.featurize import HuFeaturizer
        >>> mol = Chem.MolFromSmiles("C[C@H](N)O")
        >>> HuFeaturizer().atom_features(mol.GetAtomWithIdx(1))  # carbon (code 5), counter-clockwise
        (5, 2)
        """
        if not self.atom_columns:
            raise NotImplementedError(
                f"{type(self).__name__} declares no atom_columns; declare them or override atom_features"
            )
        return tuple(column.code(atom) for column in self.atom_columns)

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

        Raises
        ------
        NotImplementedError
            If the class declares no :attr:`bond_columns` and does not
            override this method.

        Examples
        --------
        >>> from rdkit import Chem
        >>> from molgnba.featurize import HuFeaturizer
        >>> mol = Chem.MolFromSmiles("CC=O")
        >>> HuFeaturizer().bond_features(mol.GetBondWithIdx(1))  # double bond, no direction
        (1, 0)
        """
        if not self.bond_columns:
            raise NotImplementedError(
                f"{type(self).__name__} declares no bond_columns; declare them or override bond_features"
            )
        return tuple(column.code(bond) for column in self.bond_columns)

    def __call__(self, mol: Chem.Mol) -> Data:
        """Featurize one molecule.

        Returns
        -------
        Data
            ``x``: long tensor of shape ``V x len(atom_feature_dims)``;
            ``edge_index``: long tensor of shape ``2 x 2E`` (each bond in both
            directions: edge ``2k`` is bond ``k`` from its begin to its end
            atom, edge ``2k + 1`` the reverse); ``edge_attr``: long tensor of
            shape ``2E x len(bond_feature_dims)``.
        """
        cls = type(self)
        atoms = list(map(mol.GetAtomWithIdx, range(mol.GetNumAtoms())))
        if cls.atom_features is MoleculeFeaturizer.atom_features and self.atom_columns:
            x = _codes_by_column(atoms, self.atom_columns)
        else:
            x = _codes_by_item(atoms, self.atom_features, len(self.atom_feature_dims))
        bonds = list(map(mol.GetBondWithIdx, range(mol.GetNumBonds())))
        if cls.bond_features is MoleculeFeaturizer.bond_features and self.bond_columns:
            per_bond = _codes_by_column(bonds, self.bond_columns)
        else:
            per_bond = _codes_by_item(bonds, self.bond_features, len(self.bond_feature_dims))
        n_bonds = len(bonds)
        edge_index = np.empty((2, n_bonds, 2), dtype=np.int64)
        begin, end = list(map(_begin_atom, bonds)), list(map(_end_atom, bonds))
        edge_index[0, :, 0] = edge_index[1, :, 1] = begin
        edge_index[0, :, 1] = edge_index[1, :, 0] = end
        edge_attr = np.repeat(per_bond, 2, axis=0)
        return Data(
            x=torch.from_numpy(x),
            edge_index=torch.from_numpy(edge_index.reshape(2, 2 * n_bonds)),
            edge_attr=torch.from_numpy(edge_attr),
        )

    @property
    def signature(self) -> str:
        """``name:version``, what a saved model records of its feature set."""
        return f"{self.name}:{self.version}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


_begin_atom = Chem.Bond.GetBeginAtomIdx
_end_atom = Chem.Bond.GetEndAtomIdx


def _codes_by_column(items: list, columns: Sequence[FeatureColumn]) -> np.ndarray:
    """``len(items) x len(columns)`` codes, filled one column at a time."""
    codes = np.empty((len(items), len(columns)), dtype=np.int64)
    for index, column in enumerate(columns):
        codes[:, index] = column.codes(items)
    return codes


def _codes_by_item(items: list, features: Callable, n_columns: int) -> np.ndarray:
    """``len(items) x n_columns`` codes, one ``features(item)`` tuple per row."""
    return np.array([features(item) for item in items], dtype=np.int64).reshape(len(items), n_columns)


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
    >>> [column.name for column in HuFeaturizer.atom_columns], HuFeaturizer.atom_feature_dims
    (['atomic_number', 'chirality'], [119, 4])
    """

    name = "hu2019"
    version = "1"
    atom_columns = (
        FeatureColumn("atomic_number", Chem.Atom.GetAtomicNum, ATOMIC_NUMBERS),
        FeatureColumn("chirality", Chem.Atom.GetChiralTag, CHIRAL_TAGS),
    )
    bond_columns = (
        FeatureColumn("bond_type", Chem.Bond.GetBondType, BOND_TYPES),
        FeatureColumn("bond_direction", Chem.Bond.GetBondDir, BOND_DIRS),
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
    >>> [column.name for column in ExtendedFeaturizer.bond_columns]
    ['bond_type', 'bond_direction', 'conjugated', 'bond_in_ring', 'stereo']
    """

    name = "extended"
    version = "1"
    atom_columns = HuFeaturizer.atom_columns + (
        FeatureColumn("degree", Chem.Atom.GetDegree, DEGREES),
        FeatureColumn("formal_charge", Chem.Atom.GetFormalCharge, FORMAL_CHARGES),
        FeatureColumn("total_hydrogens", Chem.Atom.GetTotalNumHs, TOTAL_HS),
        FeatureColumn("hybridization", Chem.Atom.GetHybridization, HYBRIDIZATIONS),
        FeatureColumn("aromatic", Chem.Atom.GetIsAromatic),
        FeatureColumn("atom_in_ring", Chem.Atom.IsInRing),
    )
    bond_columns = HuFeaturizer.bond_columns + (
        FeatureColumn("conjugated", Chem.Bond.GetIsConjugated),
        FeatureColumn("bond_in_ring", Chem.Bond.IsInRing),
        FeatureColumn("stereo", Chem.Bond.GetStereo, STEREO),
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
