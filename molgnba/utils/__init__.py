"""Small helpers shared by molgnba's modules, built on public APIs only.

Nothing here is part of molgnba's public interface: the names live in the
private modules of this package and may change without notice. They exist so
that molgnba imports no private name of scikit-learn (whose private modules
change between releases without a deprecation period).
"""

__all__: list[str] = []
