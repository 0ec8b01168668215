#!/usr/bin/env bash
# On a lent GPU machine (torch + torch-geometric present; rdkit and skorch
# wheels in .wheels/, the CSVs in .benchdata/): install the wheels, run
# python -m benchmarks.perf.gpu_speed, results in $OUT (or the directory given as $1).
set -u
OUT=${1:-${OUT:-gpu_results}}
python3 -m pip install -q --no-index --no-deps .wheels/*.whl 2>&1 | grep -v "root. user" | tail -2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
PYTHONPATH=$PWD timeout 170 python3 -m benchmarks.perf.gpu_speed "$OUT" .benchdata 2>&1 | grep -v -i warn
