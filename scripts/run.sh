#!/usr/bin/env bash
# The main job: set up, then generate one clip with the default engine and print where it went
# and what was measured. Prompt: first argument, else $PROMPT, else a lofi default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
prompt=${1:-${PROMPT:-"lofi hip hop, dusty piano, 80 bpm, A minor"}}
exec .venv/bin/dgx-music generate "$prompt"
