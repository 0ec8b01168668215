#!/usr/bin/env bash
# Third GPU session (issue 25), on a lent GPU machine: the GPU checks of the new default, then
# validation evidence for a candidate default from the accuracy harness on CUDA, as many fits
# side by side as the GPU and 16 cores take. torch and torch-geometric are on the machine; the
# rdkit, skorch and tabulate wheels travel in .wheels/, the four CSVs in .benchdata/.
set -u
SWEEP_SECONDS=${SWEEP_SECONDS:-300}
python3 -m pip install -q --no-index --no-deps .wheels/*.whl 2>&1 | grep -v "root. user" | tail -2
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, torch_geometric, sklearn, skorch, rdkit; print('torch', torch.__version__, 'pyg', torch_geometric.__version__, 'sklearn', sklearn.__version__, 'skorch', skorch.__version__, 'rdkit', rdkit.__version__)"
timeout 120 python3 -m pytest -p no:cacheprovider -q -n 8 tests/test_device_portability.py tests/test_persistence.py \
  tests/test_mixed_precision.py 2>&1 | tail -5
timeout 150 python3 benchmarks/gpu_default_check.py .benchdata "$OUT" 2>&1 | grep -v -i warn
run_sweep() {  # MODEL DATASETS...; each finished fit is a file under /tmp/gpu_results
  local jobs=$1 model=$2; shift 2
  timeout "$SWEEP_SECONDS" python3 -m benchmarks.accuracy --results /tmp/gpu_results run --device cuda \
    --jobs "$jobs" --models "$model" --datasets "$@" --seeds 0 1 2 3 4 --data .benchdata
}
run_sweep 12 molgnba:default-gin lipophilicity bace esol bbbp > "$OUT/sweep_gin.log" 2>&1 &
SWEEP_SECONDS=$((SWEEP_SECONDS - 20))
run_sweep 2 molgnba:default esol lipophilicity > "$OUT/sweep_default.log" 2>&1 &
wait
find /tmp/gpu_results -name 'seed*.json' | wc -l
tar czf "$OUT/gpu_results.tgz" -C /tmp gpu_results
grep -v -i warn "$OUT/sweep_gin.log" | tail -40
