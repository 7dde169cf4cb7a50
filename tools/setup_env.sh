#!/usr/bin/env bash
# Create (or refresh) mmsolo's isolated virtualenv.
#
#   bash tools/setup_env.sh
#
# Steps: virtualenv -> torch -> mmcv built from its sdist with ops (wheel kept
# in a cache, so it is built once per machine and torch version) -> mmengine,
# mmdet and the rest -> `pip install -e .`. Idempotent: when nothing that the
# environment depends on has changed, a second run returns in seconds.
#
# Environment variables:
#   MMSOLO_VENV       where the virtualenv lives   (default: <repo>/.venv)
#   PYTHON            interpreter to create it    (default: python3)
#   TORCH_SPEC        torch requirement           (default: torch==2.13.0)
#   MMCV_VERSION      mmcv version to build       (default: 2.1.0)
#   MMSOLO_WHEEL_DIR  built-wheel cache           (default: ~/.cache/mmsolo/wheels)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSOLO_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
MMCV_VERSION="${MMCV_VERSION:-2.1.0}"
MMENGINE_SPEC="mmengine==0.10.7"
MMDET_SPEC="mmdet==3.3.0"
WHEEL_DIR="${MMSOLO_WHEEL_DIR:-$HOME/.cache/mmsolo/wheels}"

say() { echo "[setup_env] $*"; }

# Fingerprint of everything the environment is made from.
fingerprint() {
    cat "$ROOT/setup.py" "$ROOT"/requirements/*.txt "$ROOT/tools/setup_env.sh" \
        2>/dev/null | sha1sum | cut -d' ' -f1
    echo "$TORCH_SPEC $MMCV_VERSION $MMENGINE_SPEC $MMDET_SPEC $VENV"
}
STAMP="$VENV/.mmsolo-setup-stamp"
WANT="$(fingerprint)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && \
   "$VENV/bin/python" -c "import mmsolo" >/dev/null 2>&1; then
    say "environment in $VENV is up to date"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating virtualenv $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

if "$PY" -c "import torch" >/dev/null 2>&1; then
    say "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
    say "installing $TORCH_SPEC"
    "${PIP[@]}" install -q "$TORCH_SPEC" numpy
fi
TORCH_VER="$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)"

mmcv_ok() {
    "$PY" - "$MMCV_VERSION" <<'PYEOF' >/dev/null 2>&1
import sys
import mmcv
from mmcv.ops import nms  # noqa: F401  (needs the compiled ops)
sys.exit(0 if mmcv.__version__ == sys.argv[1] else 1)
PYEOF
}

if mmcv_ok; then
    say "mmcv $MMCV_VERSION with ops already installed"
else
    CACHE="$WHEEL_DIR/torch-$TORCH_VER"
    mkdir -p "$CACHE"
    WHEEL="$(ls "$CACHE"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
    if [[ -z "$WHEEL" ]]; then
        say "building mmcv $MMCV_VERSION from source with ops (4.9 minutes on a 2-core AMD EPYC Zen 5; longer on slower CPUs)"
        "${PIP[@]}" install -q -r "$ROOT/requirements/build.txt"
        # -g0: no debug information (Python's own CFLAGS ask for -g), which
        # took a third of each file's compile time; CFLAGS given are kept
        # and come after it
        CFLAGS="-g0 ${CFLAGS:-}" MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "${PIP[@]}" wheel --no-build-isolation --no-deps \
            "mmcv==$MMCV_VERSION" -w "$CACHE"
        WHEEL="$(ls "$CACHE"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)"
    else
        say "reusing built wheel $WHEEL"
    fi
    "${PIP[@]}" install -q "$WHEEL"
fi

say "installing $MMENGINE_SPEC $MMDET_SPEC and mmsolo's requirements"
"${PIP[@]}" install -q "$MMENGINE_SPEC" "$MMDET_SPEC" \
    -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt" \
    -r "$ROOT/requirements/deploy.txt" -r "$ROOT/requirements/docs.txt"
# torch's metadata asks for a recent setuptools (the old one was only for
# building mmcv); mmengine finds installed packages (``mmdet::`` configs,
# ``_base_ = 'mmdet::...'``) with pkg_resources, which setuptools>=81 dropped.
"${PIP[@]}" install -q "setuptools>=77.0.3,<81"

say "installing mmsolo in editable mode"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

"$PY" -c "import mmsolo, mmdet, mmcv, mmengine, torch; print('[setup_env] mmsolo', mmsolo.__version__, '| mmdet', mmdet.__version__, '| mmcv', mmcv.__version__, '| mmengine', mmengine.__version__, '| torch', torch.__version__)"
fingerprint > "$STAMP"
say "done: activate with 'source $VENV/bin/activate'"
