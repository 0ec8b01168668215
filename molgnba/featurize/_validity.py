"""The one rule that decides whether an input is a usable SMILES string.

Every place that needs to know (featurization, ``load_moleculenet(drop_invalid=True)``,
the scaffold splitters) asks :func:`parse_smiles`, so they cannot disagree.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Iterable

from rdkit import Chem, rdBase

# Types that pandas uses for a missing value, recognised by name so that this
# module does not import pandas.
_MISSING_TYPE_NAMES = {"NAType": "pd.NA", "NaTType": "pd.NaT"}


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


def parse_in_blocked_log(smiles: object) -> tuple[Chem.Mol | None, str | None]:
    """:func:`parse_smiles` without silencing RDKit's log (callers loop inside one ``BlockLogs``)."""
    if smiles is None:
        return None, "None is not a SMILES string"
    if type(smiles).__name__ in _MISSING_TYPE_NAMES:
        return None, f"missing value ({_MISSING_TYPE_NAMES[type(smiles).__name__]})"
    if isinstance(smiles, numbers.Number) and not isinstance(smiles, bool):
        if isinstance(smiles, numbers.Real) and math.isnan(smiles):
            return None, "missing value (NaN)"
        return None, f"expected a SMILES string, got a number of type {type(smiles).__name__}"
    if isinstance(smiles, (bytes, bytearray)):
        return None, "expected str, got bytes (decode it first)"
    if not isinstance(smiles, str):
        return None, f"expected a SMILES string, got {type(smiles).__name__}"
    stripped = smiles.strip()
    if not stripped:
        return None, "empty string"
    # RDKit hands the string to C++, where a NUL ends it: "CCO\x00junk" would read as ethanol.
    if "\x00" in smiles:
        return None, "contains a NUL character"
    # RDKit reads the text after the first whitespace as the molecule's name, so
    # "CC O" would silently be ethane. Only a CXSMILES extension ("C[C@H](F)Cl |&1:1|")
    # may follow the SMILES.
    head, _, tail = _split_on_whitespace(stripped)
    tail = tail.lstrip("".join(_RDKIT_NAME_SEPARATORS))
    if tail and not tail.startswith("|"):
        return None, f"contains whitespace: RDKit would read only {head!r} and ignore {tail!r}"
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


# The characters at which RDKit ends the SMILES and starts the name; any other
# whitespace inside a SMILES makes the parse fail.
_RDKIT_NAME_SEPARATORS = frozenset(" \t\n")


def _split_on_whitespace(text: str) -> tuple[str, str, str]:
    """``str.partition`` at the first character where RDKit would end the SMILES."""
    for index, char in enumerate(text):
        if char in _RDKIT_NAME_SEPARATORS:
            return text[:index], char, text[index + 1 :]
    return text, "", ""


def parse_smiles(smiles: object) -> tuple[Chem.Mol | None, str | None]:
    """Parse one input with molgnba's validity rule; never raises.

    An input is a usable SMILES when it is a ``str`` (``numpy.str_``
    included) that RDKit parses, with sanitization, into a molecule of at
    least one atom. Everything else is invalid, with a reason:

    * ``None``, NaN, ``pd.NA``: a missing value; other numbers, ``bytes``
      and other types: not a string;
    * the empty string, or only whitespace;
    * a NUL character anywhere (RDKit would silently cut the string there);
    * whitespace between two parts (RDKit would read the part after it as a
      name and silently drop it), unless what follows is a CXSMILES
      extension ``|...|``; leading and trailing whitespace is ignored;
    * a lone surrogate character (not encodable as UTF-8);
    * anything RDKit cannot parse or sanitize (bad syntax, unclosed ring,
      impossible valence, non-aromatic ring written aromatic, ...).

    Dummy atoms (``*``), salts and mixtures (``.``), isotopes and charges
    are valid. There is no length limit.

    Parameters
    ----------
    smiles : object
        The input to check; usually a SMILES string.

    Returns
    -------
    mol : rdkit.Chem.Mol or None
        The molecule, or None where the input is invalid.
    reason : str or None
        None for a valid input, else why it is invalid.

    See Also
    --------
    check_smiles : The same rule over many inputs, with positions.

    Examples
    --------
    >>> from molgnba.featurize import parse_smiles
    >>> mol, reason = parse_smiles("c1ccccc1O")
    >>> mol.GetNumAtoms(), reason
    (7, None)
    >>> parse_smiles("CC O")
    (None, "contains whitespace: RDKit would read only 'CC' and ignore 'O'")
    >>> parse_smiles("C(C)(C)(C)(C)C")  # a carbon with five bonds
    (None, 'RDKit could not parse it')
    """
    with rdBase.BlockLogs():
        return parse_in_blocked_log(smiles)


def check_smiles(smiles: Iterable) -> tuple[list[Chem.Mol | None], list[InvalidSmiles]]:
    """Parse every item, collecting the invalid ones instead of raising.

    The rule is that of :func:`parse_smiles`.

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
    >>> from molgnba.featurize import check_smiles
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
            mol, reason = parse_in_blocked_log(item)
            mols.append(mol)
            if reason is not None:
                invalid.append(InvalidSmiles(position, item, reason))
    return mols, invalid
