#!/usr/bin/env bash
# Set up the environment (idempotent) and run mmsolo's test suite.
#
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSOLO_VENV:-$ROOT/.venv}"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
echo "[run_tests] lint: flake8, isort, yapf"
"$VENV/bin/python" -m flake8 mmsolo tools tests configs demo
"$VENV/bin/python" -m isort --check-only --diff mmsolo tools tests configs demo
"$VENV/bin/python" -m yapf --diff --recursive mmsolo tools tests configs demo
echo "[run_tests] pytest"
# Tests start subprocesses (training, 2-process distributed runs): one
# OpenMP thread each keeps 2-core machines from oversubscribing.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "$VENV/bin/python" -m pytest tests "$@"
