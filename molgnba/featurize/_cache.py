"""The graph cache and featurize_smiles: validation, de-duplication, caching, worker processes."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections import OrderedDict
from typing import Iterable, Sequence

import numpy as np
import torch
from rdkit import rdBase
from torch_geometric.data import Data

from molgnba.featurize._featurizers import MoleculeFeaturizer, get_featurizer
from molgnba.featurize._validity import InvalidSmiles, parse_in_blocked_log


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
    mol, reason = parse_in_blocked_log(item)
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
            mol, reason = parse_in_blocked_log(item)
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
