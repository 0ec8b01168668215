"""SMILES to molecular graphs, and molecule-level features for baselines.

A featurizer turns one RDKit molecule into a :class:`torch_geometric.data.Data`
whose node and edge features are small integer codes, one column per
categorical feature. The network embeds each column and sums the embeddings
(Hu et al., 2019), so a featurizer only has to declare how many values each
column can take (:attr:`MoleculeFeaturizer.atom_feature_dims` and
:attr:`MoleculeFeaturizer.bond_feature_dims`).

A feature set is declared once, as a tuple of :class:`FeatureColumn` (a name,
an RDKit getter and the choices that get a code); the widths, the per-atom
codes and the fast column-wise featurization all follow from it. Every column
reserves its last code for "other", so an element, chirality tag or bond type
that is not among the choices never raises an index error.

To add a feature set, subclass :class:`MoleculeFeaturizer`, declare its
columns (or override :meth:`~MoleculeFeaturizer.atom_features`) and register
the class under a name with :func:`register_featurizer`; estimators then
accept that name as ``featurizer=``.

Whether an input is a usable SMILES is decided in one place,
:func:`parse_smiles`, which featurization, :func:`molgnba.datasets.load_moleculenet`
and the scaffold splitters of :mod:`molgnba.model_selection` all follow.

:func:`rdkit_descriptors` and :func:`morgan_count_fingerprint` give the
molecule-level inputs of classical models (random forests, linear models).
"""

from molgnba.featurize._cache import GraphCache, featurize_smiles, graph_cache
from molgnba.featurize._descriptors import morgan_count_fingerprint, rdkit_descriptor_names, rdkit_descriptors
from molgnba.featurize._featurizers import (
    _FEATURIZERS,
    ATOMIC_NUMBERS,
    BOND_DIRS,
    BOND_TYPES,
    CHIRAL_TAGS,
    DEGREES,
    FORMAL_CHARGES,
    HYBRIDIZATIONS,
    STEREO,
    TOTAL_HS,
    ExtendedFeaturizer,
    FeatureColumn,
    HuFeaturizer,
    MoleculeFeaturizer,
    get_featurizer,
    register_featurizer,
)
from molgnba.featurize._validity import InvalidSmiles, check_smiles, parse_smiles

__all__ = [
    "MoleculeFeaturizer",
    "FeatureColumn",
    "HuFeaturizer",
    "ExtendedFeaturizer",
    "InvalidSmiles",
    "register_featurizer",
    "get_featurizer",
    "parse_smiles",
    "check_smiles",
    "featurize_smiles",
    "GraphCache",
    "rdkit_descriptors",
    "rdkit_descriptor_names",
    "morgan_count_fingerprint",
]


def _present_here(obj) -> None:
    """Give a public class or function (and a class's own methods) this module as ``__module__``.

    They are written in private submodules, but users, pickles, the API pages
    and the doctest runner should know them by the name they import:
    ``molgnba.featurize.GraphCache``, whatever file holds it today.
    """
    written_in = obj.__module__
    obj.__module__ = __name__
    for member in vars(obj).values() if isinstance(obj, type) else ():
        function = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
        function = function.fget if isinstance(function, property) else function
        if getattr(function, "__module__", None) == written_in:
            function.__module__ = __name__


for _name in __all__:
    _present_here(globals()[_name])
del _name
