"""Research scripts beside the library: the paper's protocol and the performance suite.

Not part of the installed package; run from the repository root, e.g.
``python -m benchmarks.perf.run_all``.
"""
