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
# The backend (packaging/llama_backend.sh): FIRESIDE_LLAMA_BACKEND=cpu|cuda|metal|vulkan|hip
# overrides the detection; the stamp records it, so a change rebuilds.
source "$ROOT/packaging/llama_backend.sh"
LLAMA_CFLAGS="$(fireside_llama_cflags)"
LLAMA_BACKEND="$(fireside_detect_backend)"
if [[ "$LLAMA_BACKEND" == cuda ]]; then
  if ! NVCC="$(fireside_find_nvcc "$ROOT/.venv")"; then
    echo "==> no CUDA toolkit (nvcc) found: installing the nvcc wheels into .venv" >&2
    # shellcheck disable=SC2086
    .venv/bin/python -m pip install --quiet --disable-pip-version-check $FIRESIDE_CUDA_WHEELS \
      || true
    NVCC="$(fireside_cuda_from_wheels "$ROOT/.venv")" || NVCC=""
  fi
  if [[ -z "$NVCC" ]]; then
    echo "fireside setup: an NVIDIA driver is here but no nvcc: neither a CUDA toolkit" \
      "(PATH, CUDA_HOME, /usr/local/cuda) nor the nvidia-cuda-nvcc-cu12 wheels could be" \
      "installed. Install the CUDA toolkit, or run with FIRESIDE_LLAMA_BACKEND=cpu." >&2
    [[ "${FIRESIDE_LLAMA_BACKEND:-}" == cuda ]] && exit 1
    echo "fireside setup: building for the CPU instead" >&2
    LLAMA_BACKEND=cpu
  else
    NVCC_HOME="$(cd "$(dirname "$NVCC")/.." && pwd)"
    export CUDACXX="$NVCC" CUDAToolkit_ROOT="$NVCC_HOME"
    export PATH="$NVCC_HOME/bin:$PATH"
  fi
fi
if [[ "$LLAMA_BACKEND" == hip ]] && command -v hipconfig >/dev/null 2>&1; then
  export HIPCXX="$(hipconfig -l)/clang" HIP_PATH="$(hipconfig -R)"
fi
LLAMA_CMAKE_ARGS="$(fireside_cmake_args "$LLAMA_BACKEND")"
LLAMA_BUILD="$(fireside_llama_stamp "$LLAMA_BACKEND" "$LLAMA_CMAKE_ARGS" "$LLAMA_CFLAGS")"
export CFLAGS="${CFLAGS:-} $LLAMA_CFLAGS" CXXFLAGS="${CXXFLAGS:-} $LLAMA_CFLAGS"
if [[ -n "$LLAMA_CMAKE_ARGS" ]]; then
  export CMAKE_ARGS="${CMAKE_ARGS:-} $LLAMA_CMAKE_ARGS"
fi
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
