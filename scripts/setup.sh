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
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
