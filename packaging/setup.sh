#!/usr/bin/env bash
# Shared, idempotent set-up: .venv at the repo root with Fireside and its test extras installed,
# and the starter model in the library. Sourced by quickstart.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "fireside setup: Python 3.11 or newer is needed (found: $("$PY" --version 2>&1))" >&2
  exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv" >&2
  "$PY" -m venv .venv
fi

# llama.cpp's CPU build: native instructions, but never AMX. Some virtual machines list the AMX
# flags in /proc/cpuinfo while the first tile instruction raises SIGILL (seen in llama.cpp's
# AMX matmul on a prompt batch), and AMX only helps bf16/int8 weights anyway.
# pip's wheel cache does not key on compiler flags, so the flags a cached wheel was built with are
# recorded beside it; a change empties pip's llama-cpp-python cache and rebuilds.
LLAMA_CFLAGS=""
if [[ "$(uname -m)" == "x86_64" ]]; then
  LLAMA_CFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
LLAMA_BUILD="llama-cpp-python==0.3.36 cpu native CFLAGS=[$LLAMA_CFLAGS]"
export CFLAGS="${CFLAGS:-} $LLAMA_CFLAGS" CXXFLAGS="${CXXFLAGS:-} $LLAMA_CFLAGS"
export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)"
DEV_CACHE="$HOME/.cache/fireside-dev"
mkdir -p "$DEV_CACHE"
if [[ "$(cat "$DEV_CACHE/llama-wheel-build" 2>/dev/null)" != "$LLAMA_BUILD" ]]; then
  .venv/bin/python -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true
  rm -f .venv/.fireside-llama
fi

STAMP=.venv/.fireside-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  echo "==> installing Fireside into .venv (first time: llama-cpp-python compiles, ~7 min)" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
  echo "$WANT" > "$STAMP"
fi
if [[ "$(cat .venv/.fireside-llama 2>/dev/null)" != "$LLAMA_BUILD" ]]; then
  echo "==> building llama-cpp-python ($LLAMA_BUILD)" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall \
    --no-deps 'llama-cpp-python==0.3.36'
  echo "$LLAMA_BUILD" > .venv/.fireside-llama
  echo "$LLAMA_BUILD" > "$DEV_CACHE/llama-wheel-build"
fi
export FIRESIDE_STARTER_CACHE="${FIRESIDE_STARTER_CACHE:-$HOME/.cache/fireside-dev/starter}"
echo "==> starter model" >&2
.venv/bin/fireside pull starter
