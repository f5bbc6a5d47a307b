#!/usr/bin/env bash
# The whole test suite, as CI runs it: set up, lint, type-check, then every test tier.
# Extra arguments go to pytest (e.g. -k cancel).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# What only the tests need: the fluidsynth CLI and a second General MIDI SoundFont render the
# independent analysis set (benchmarks/evalset.py), ffmpeg's ebur128 is the loudness reference,
# Chromium and its driver run the web page.
test_packages=()
command -v fluidsynth >/dev/null || test_packages+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || test_packages+=(fluid-soundfont-gm)
command -v ffmpeg >/dev/null || test_packages+=(ffmpeg)
# The web page's tests drive headless Chromium through chromedriver (same Debian version).
command -v chromium >/dev/null || test_packages+=(chromium)
command -v chromedriver >/dev/null || test_packages+=(chromium-driver)
# Exported Ardour sessions are loaded in real Ardour 7, headless (its ardour7-lua runner).
command -v ardour7-lua >/dev/null || test_packages+=(ardour)
# tests/postgres start a private PostgreSQL server (initdb, pg_ctl; Debian keeps them in
# /usr/lib/postgresql/<version>/bin) unless DGX_MUSIC_TEST_POSTGRES_URL names one.
if [ -z "${DGX_MUSIC_TEST_POSTGRES_URL:-}" ] && ! command -v pg_ctl >/dev/null \
  && ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  test_packages+=(postgresql)
fi
if ((${#test_packages[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "test: installing system packages with apt-get: ${test_packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${test_packages[@]}" >/dev/null
fi
echo "== ruff"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
