#!/usr/bin/env bash
# Build llama-bench and llama-server from the llama.cpp that the pinned llama-cpp-python sdist
# vendors, so benchmarks compare Fireside with the very same llama.cpp revision.
# The result is cached outside the repo (a clean clone must not rebuild it every time).
set -euo pipefail
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${FIRESIDE_DEV_CACHE:-$HOME/.cache/fireside-dev}"
OUT="$CACHE/llama-tools-$VERSION"
if [[ -x "$OUT/bin/llama-bench" && -x "$OUT/bin/llama-server" ]]; then
  echo "$OUT/bin"; exit 0
fi
mkdir -p "$CACHE/sdist"
SDIST="$CACHE/sdist/llama_cpp_python-$VERSION.tar.gz"
if [[ ! -f "$SDIST" ]]; then
  python3 -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$CACHE/sdist" >&2
fi
SRC="$CACHE/llama_cpp_python-$VERSION"
[[ -d "$SRC" ]] || tar xzf "$SDIST" -C "$CACHE"
# The same flags as packaging/setup.sh gives the engine's build: native, but never AMX (a VM
# may list AMX and fault on the first tile instruction), so both sides compare like for like.
if [[ "$(uname -m)" == "x86_64" ]]; then
  export CFLAGS="${CFLAGS:-} -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  export CXXFLAGS="${CXXFLAGS:-} -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
cmake -S "$SRC/vendor/llama.cpp" -B "$SRC/build-tools" -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
  -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$SRC/build-tools" --target llama-bench llama-server -j "$(nproc)" >&2
mkdir -p "$OUT/bin"
cp "$SRC/build-tools/bin/llama-bench" "$SRC/build-tools/bin/llama-server" "$OUT/bin/"
echo "$OUT/bin"
