"""molgnba's version, in a module of its own so that submodules can read it
without importing the package root (which imports them)."""

__version__ = "0.2.0.dev0"
