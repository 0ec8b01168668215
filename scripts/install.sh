#!/usr/bin/env bash
# Create .venv and install molgnba into it. torch 2.13.0 goes in first: on our
# machines pip takes the CPU wheel from local disk, whereas a resolver left to
# pick torch itself would pull a CUDA build of several GB.
# Usage: bash scripts/install.sh [extras], e.g. bash scripts/install.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-}
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install --quiet -e ".[$extras]"
else
  .venv/bin/python -m pip install --quiet -e .
fi
