#!/usr/bin/env bash
# The README's first command: set up (idempotent), then run the main job:
# generate the shapes data, train SOLO on the CPU, evaluate mask/box AP with
# COCO metrics and draw predictions, within a time budget on this machine
# (15 minutes after set-up unless --budget-min N; --epochs N trains a fixed
# schedule). Extra arguments go to tools/misc/quickstart.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSOLO_VENV:-$ROOT/.venv}"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec "$VENV/bin/python" tools/misc/quickstart.py "$@"
