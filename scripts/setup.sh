#!/usr/bin/env bash
# Prepare this checkout: system libraries (apt-get, as root or through sudo) and a virtualenv in
# .venv with the project and its dev tools. Idempotent: a second run only checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

packages=()
# libfluidsynth3 is the symbolic engine's SoundFont synthesiser (pyfluidsynth loads it).
if ! "$PYTHON" -c 'import ctypes.util, sys; sys.exit(ctypes.util.find_library("fluidsynth") is None)'; then
  packages+=(libfluidsynth3)
fi
# Debian splits venv/ensurepip out of python3.
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=(python3-venv)
fi
if ((${#packages[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing system packages with apt-get: ${packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing dgx-music into $VENV"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch first and pinned, so that the musicgen extra's range does not pull another build.
  # On a CUDA box pick the wheel for its CUDA with TORCH_INDEX_URL (see the README).
  torch_args=("${TORCH_SPEC:-torch==2.13.0}")
  if [ -n "${TORCH_INDEX_URL:-}" ]; then torch_args+=(--index-url "$TORCH_INDEX_URL"); fi
  "$VENV/bin/python" -m pip install -q "${torch_args[@]}"
  # postgres: the psycopg driver, for DGX_MUSIC_DATABASE_URL=postgresql+psycopg://… and the
  # tests/postgres tier, which CI runs.
  "$VENV/bin/python" -m pip install -q -e ".[dev,musicgen,postgres]"
  touch "$stamp"
fi
