#!/usr/bin/env bash
# Shared, idempotent set-up: .venv at the repo root with Fireside and its test extras installed,
# and the starter model in the library. Sourced by quickstart.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "fireside setup: Python 3.10 or newer is needed (found: $("$PY" --version 2>&1))" >&2
  exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv" >&2
  "$PY" -m venv .venv
fi
STAMP=.venv/.fireside-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  echo "==> installing Fireside into .venv (first time: llama-cpp-python compiles, ~5 min)" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" \
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
  echo "$WANT" > "$STAMP"
fi
export FIRESIDE_STARTER_CACHE="${FIRESIDE_STARTER_CACHE:-$HOME/.cache/fireside-dev/starter}"
echo "==> starter model" >&2
.venv/bin/fireside pull starter
