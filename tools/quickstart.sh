#!/usr/bin/env bash
# The README's first command: set up (idempotent), then run the main job:
# generate the shapes data, train SOLO on the CPU, evaluate mask/box AP with
# COCO metrics and draw predictions. Extra arguments go to
# tools/misc/quickstart.py (e.g. --cfg-options train_cfg.max_epochs=2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSOLO_VENV:-$ROOT/.venv}"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec "$VENV/bin/python" tools/misc/quickstart.py "$@"
