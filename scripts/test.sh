#!/usr/bin/env bash
# The whole test suite: set-up (scripts/setup.sh --test), lint, type check, import
# contracts (the layers of docs/architecture.md), then pytest.
# Sandbox tests build the lab (first run: an mmdebstrap of Debian 12, under a minute) and
# take it down again; LABGUIDE_SKIP_SANDBOX=1 leaves them out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
echo "== ruff"
.venv/bin/ruff check labguide tests bench
echo "== mypy --strict"
.venv/bin/mypy labguide
echo "== import contracts (lint-imports)"
.venv/bin/lint-imports
echo "== pytest"
args=(-q -p no:cacheprovider)
[ "${LABGUIDE_SKIP_SANDBOX:-}" = 1 ] && args+=(-m "not sandbox")
exec .venv/bin/pytest "${args[@]}" "$@"
