#!/usr/bin/env bash
# Install chemprop into its OWN virtual environment, never into molgnba's .venv:
# chemprop is a point of comparison for benchmarks/perf/chemprop_compare.py,
# not a dependency of molgnba. torch is pinned to the release molgnba uses so
# that both sides of the comparison run the same kernels.
# Usage: bash benchmarks/perf/setup_chemprop.sh [VENV_DIR]   (default /tmp/chemprop-venv)
set -euo pipefail
venv=${1:-/tmp/chemprop-venv}
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "torch==2.13.0"
"$venv/bin/python" -m pip install --quiet chemprop "torch==2.13.0"
"$venv/bin/python" -c "import chemprop, torch, lightning; print('chemprop', chemprop.__version__, 'torch', torch.__version__, 'lightning', lightning.__version__)"
