"""Featurization against the RDKit parse floor, and the cache under model selection.

1. Lipophilicity (4200 SMILES): ``Chem.MolFromSmiles`` alone (the floor) and
   ``featurize_smiles(..., cache=None)``: now, serial and with ``n_jobs=2``,
   and the implementation of the last commit (the newest commit without the
   column fast path, loaded as a separate module) for the before/after. Repetitions interleave the
   variants; medians of wall and of CPU seconds (this process, which is what
   the contention of a shared machine distorts least for serial code).
   Target: featurize_smiles <= 2x the parse floor. The graphs of every
   variant are checked identical.
2. Cache: a 5-fold GridSearchCV over 3 settings (15 fits + the refit) of a
   tiny GNNRegressor on esol, counting featurizer calls with a counting
   featurizer. Target: each unique SMILES featurized once.

Usage: python benchmarks/perf/featurize_speed.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, load, machine, median, write_json  # noqa: E402

from rdkit import Chem, rdBase  # noqa: E402

from molgnba import featurize  # noqa: E402
from molgnba.featurize import GraphCache, HuFeaturizer, featurize_smiles, register_featurizer  # noqa: E402


def baseline_featurize_module():
    """molgnba/featurize.py before the column fast path, as its own module.

    The newest commit whose featurize.py has no ``_column_plan``; None
    outside a git checkout or where there is none.
    """
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    try:
        for commit in git("log", "--format=%H", "--", "molgnba/featurize.py").split():
            source = git("show", f"{commit}:molgnba/featurize.py")
            if "_column_plan" not in source:
                break
        else:
            return None
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("featurize_baseline")
    module.__file__ = f"{commit[:10]}:molgnba/featurize.py"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def same_graphs(a, b) -> bool:
    for g, h in zip(a, b):
        if (g is None) != (h is None):
            return False
        if g is not None and not all(torch.equal(g[k], h[k]) for k in ("x", "edge_index", "edge_attr")):
            return False
    return len(a) == len(b)


def parse_floor(smiles):
    with rdBase.BlockLogs():
        return [Chem.MolFromSmiles(s) for s in smiles]


def timed(fn, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def speed(reps: int, head) -> dict:
    smiles, _ = load("lipophilicity")
    variants = {
        "parse_floor": lambda: parse_floor(smiles),
        "featurize_serial": lambda: featurize_smiles(smiles, cache=None)[0],
        "featurize_n_jobs_2": lambda: featurize_smiles(smiles, cache=None, n_jobs=2)[0],
    }
    if head is not None:
        variants["featurize_serial_before"] = lambda: head.featurize_smiles(smiles, cache=None)[0]
    # Identical graphs, and the workers started before timing.
    reference = variants["featurize_serial"]()
    for name in ("featurize_n_jobs_2", "featurize_serial_before"):
        if name in variants:
            assert same_graphs(reference, variants[name]()), name
    del reference
    wall = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    for rep in range(reps):
        names = list(variants) if rep % 2 == 0 else list(variants)[::-1]
        for name in names:
            out, w, c = timed(variants[name])
            del out
            wall[name].append(w)
            cpu[name].append(c)
    result = {"n_smiles": len(smiles), "reps": reps, "wall_s": wall, "cpu_s": cpu}
    floor_wall, floor_cpu = median(wall["parse_floor"]), median(cpu["parse_floor"])
    result["median_wall_s"] = {k: median(v) for k, v in wall.items()}
    result["median_cpu_s"] = {k: median(v) for k, v in cpu.items()}
    result["ratio_to_parse_floor_wall"] = {k: median(v) / floor_wall for k, v in wall.items()}
    # n_jobs=2 works in child processes: its CPU seconds are not this process's.
    result["ratio_to_parse_floor_cpu"] = {
        k: median(v) / floor_cpu for k, v in cpu.items() if k != "featurize_n_jobs_2"
    }
    result["target"] = 2.0
    return result


class CountingFeaturizer(HuFeaturizer):
    """Hu features, counting the molecules it featurizes (i.e. cache misses that parsed)."""

    name = "perf-counting"
    calls = 0

    def __call__(self, mol):
        type(self).calls += 1
        return super().__call__(mol)


def grid_search_cache() -> dict:
    import warnings

    from sklearn.model_selection import GridSearchCV, KFold

    from molgnba import GNNRegressor

    register_featurizer(CountingFeaturizer)
    smiles, y = load("esol")
    smiles, y = smiles[:300], y[:300]
    featurize.graph_cache.clear()
    CountingFeaturizer.calls = 0
    est = GNNRegressor(featurizer="perf-counting", num_layers=1, hidden_dim=8, max_epochs=1, random_state=0)
    search = GridSearchCV(est, {"hidden_dim": [4, 8, 16]}, cv=KFold(5, shuffle=True, random_state=0),
                          scoring="neg_root_mean_squared_error")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        search.fit(smiles, y)
        elapsed = time.perf_counter() - start
    return {
        "n_smiles": len(smiles), "n_unique": len(set(smiles)), "fits": 3 * 5 + 1,
        "featurizer_calls": CountingFeaturizer.calls,
        "graph_cache_misses": featurize.graph_cache.misses, "graph_cache_hits": featurize.graph_cache.hits,
        # Every look-up (training and scoring rows of 15 fits, the refit) would featurize without the cache.
        "featurizations_without_cache": featurize.graph_cache.hits + featurize.graph_cache.misses,
        "calls_per_unique_smiles": CountingFeaturizer.calls / len(set(smiles)),
        "seconds": elapsed,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    head = baseline_featurize_module()
    result = {"benchmark": "featurize_speed", "machine": machine(),
              "baseline": getattr(head, "__file__", None)}
    result["speed"] = speed(3 if args.quick else 9, head)
    result["grid_search_cache"] = grid_search_cache()
    sp = result["speed"]
    for name in sp["median_wall_s"]:
        cpu_ratio = sp["ratio_to_parse_floor_cpu"].get(name)
        print(f"{name:26s} wall {sp['median_wall_s'][name]:.3f} s ({sp['ratio_to_parse_floor_wall'][name]:.2f}x floor)"
              + (f"  cpu {sp['median_cpu_s'][name]:.3f} s ({cpu_ratio:.2f}x floor)" if cpu_ratio else ""))
    gs = result["grid_search_cache"]
    print(f"GridSearchCV 5-fold x 3 settings (+refit): {gs['featurizer_calls']} featurizer calls for "
          f"{gs['n_unique']} unique SMILES ({gs['calls_per_unique_smiles']:.2f} per SMILES)")
    print("wrote", write_json("featurize_speed" + ("_quick" if args.quick else ""), result, args.out))
    return result


if __name__ == "__main__":
    main()
