#!/usr/bin/env bash
# Quick start, command 1: set up, then open Fireside on the starter model.
# With no display, it streams an answer in the terminal instead and says why.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/packaging/setup.sh"
cd "$ROOT"
if .venv/bin/python -c 'import sys; from fireside.core.cli.window import display_problem; sys.exit(display_problem() is not None)'; then
  exec .venv/bin/fireside
fi
echo "==> no display for the window here; chatting in the terminal instead (see README)" >&2
exec .venv/bin/fireside run starter "${1:-Why is the sky blue?}" --verbose
