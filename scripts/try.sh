#!/usr/bin/env bash
# The main job on the sandbox lab: set-up, `labguide lab up`, then the chapter in the TUI
# (or in plain mode when this is not an interactive terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/labguide lab up
if [ -t 0 ] && [ -t 1 ]; then
    exec .venv/bin/labguide run l4lb-ha "$@"
else
    exec .venv/bin/labguide run l4lb-ha --plain --yes "$@"
fi
