#!/usr/bin/env bash
# The whole test suite, as CI runs it: set up, lint, type-check, then every test tier.
# Extra arguments go to pytest (e.g. -k cancel).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
