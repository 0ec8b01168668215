#!/usr/bin/env bash
# What we run on a lent GPU machine (see docs/benchmarks.md): the GPU checks, then
# the paired benchmark of the paper with as many runs in parallel as the cores allow.
# The machine has torch and torch-geometric but neither rdkit nor skorch: their
# wheels travel in .wheels/, and the four CSVs in .benchdata/.
set -u
BENCH_SECONDS=${BENCH_SECONDS:-470}
python3 -m pip install -q --no-index --no-deps .wheels/*.whl 2>&1 | grep -v "root. user" | tail -2
export PYTHONPATH=$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, torch_geometric, sklearn, skorch, rdkit; print('torch', torch.__version__, 'pyg', torch_geometric.__version__, 'sklearn', sklearn.__version__, 'skorch', skorch.__version__, 'rdkit', rdkit.__version__)"
timeout 120 python3 benchmarks/gpu_smoke.py .benchdata "$OUT" 2>&1 | grep -v Warning
timeout "$BENCH_SECONDS" python3 -m molgnba.benchmark --device cuda --jobs 15 --threads 1 \
  --datasets bbbp bace lipophilicity --losses plain gnba --data-home .benchdata --out "$OUT/bench" --no-progress --no-figures 2>&1 | tail -20
ls "$OUT/bench/runs" | wc -l
tar czf "$OUT/runs.tgz" -C "$OUT/bench" runs && rm -rf "$OUT/bench"
