"""Speed and memory benchmarks: ``python -m benchmarks.perf.<name>`` from the repository root.

Every script writes one :class:`~benchmarks.perf.common.PerfResult` JSON through
:func:`~benchmarks.perf.common.write_result`; see ``benchmarks/README.md``.
"""
