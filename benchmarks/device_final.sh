#!/usr/bin/env bash
# Second GPU session: complete GIN pairs on bbbp/bace, run the GPU-only tests, time CPU vs CUDA.
set -u
python3 -m pip install -q --no-index --no-deps .wheels/*.whl 2>&1 | grep -v "root. user" | tail -2
export PYTHONPATH=$PWD
mkdir -p "$OUT/bench/runs" && cp benchmarks/results/paper-protocol/runs/b*-gin-plain-*.json "$OUT/bench/runs/"
timeout 165 python3 -m molgnba.benchmark --device cuda --jobs 5 --threads 2 --datasets bbbp bace \
  --backbones gin --losses plain gnba --seeds 0 1 --data-home .benchdata --out "$OUT/bench" \
  --no-progress --no-figures > "$OUT/bench.log" 2>&1 &
BENCH=$!
timeout 90 python3 -m pytest -p no:cacheprovider -q -m gpu tests/test_device_portability.py tests/test_persistence.py 2>&1 | tail -4
wait $BENCH
ls "$OUT/bench/runs"
timeout 95 python3 -m benchmarks.perf.gpu_speed "$OUT" .benchdata 2>&1 | grep -v -i warn | tail -15
tar czf "$OUT/bench.tgz" -C "$OUT/bench" runs && rm -rf "$OUT/bench"
