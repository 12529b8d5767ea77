#!/usr/bin/env bash
# The desktop bundle: dist/Fireside/ (PyInstaller, one folder: Python, Qt with its platform
# plugins, llama.cpp's shared libraries, Fireside's resources and desktop files) and
# dist/Fireside-<version>-linux-x86_64.tar.gz. Needs only python3 and the package registry
# (or pip's cache); runs from a clean clone. The bundle needs no Python or venv to run.
#
#   bash packaging/build.sh            # build (reuses build/bundle/venv when pyproject is unchanged)
#   FIRESIDE_LLAMA_BACKEND=cuda bash packaging/build.sh   # a CUDA llama.cpp inside (see setup.sh)
#
# llama.cpp is built as setup.sh builds it (same backend detection, flags and pip cache), i.e.
# for *this* CPU's instruction set: a bundle for other machines wants
# CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON" and a fresh
# compile (FIRESIDE_BUNDLE_PORTABLE=1; much slower, not built here).
# macOS (.app) and Windows: packaging/bundle/fireside.spec carries the same rules; not built here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
WORK="${FIRESIDE_BUNDLE_WORK:-$ROOT/build/bundle}"
DIST="${FIRESIDE_BUNDLE_DIST:-$ROOT/dist}"
VENV="$WORK/venv"
source "$ROOT/packaging/llama_backend.sh"

VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
ARCH="$(uname -m)"
OS="$(uname -s | tr '[:upper:]' '[:lower:]')"
NAME="Fireside-$VERSION-$OS-$ARCH"

LLAMA_BACKEND="$(fireside_detect_backend)"
LLAMA_CFLAGS="$(fireside_llama_cflags)"
export CFLAGS="${CFLAGS:-} $LLAMA_CFLAGS" CXXFLAGS="${CXXFLAGS:-} $LLAMA_CFLAGS"
export CMAKE_ARGS="${CMAKE_ARGS:-} $(fireside_cmake_args "$LLAMA_BACKEND")"
export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)"
NO_CACHE=()
if [[ "${FIRESIDE_BUNDLE_PORTABLE:-0}" == 1 ]]; then
  export CMAKE_ARGS="$CMAKE_ARGS -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON"
  NO_CACHE=(--no-cache-dir)
fi

# A venv of its own with a regular (not editable) install: the bundle holds what a wheel
# install holds, nothing from the dev checkout.
WANT="$(cat pyproject.toml packaging/bundle/fireside.spec | sha256sum | cut -d' ' -f1) $LLAMA_BACKEND"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.fireside-bundle" 2>/dev/null)" != "$WANT" ]]; then
  echo "==> build venv ($LLAMA_BACKEND llama.cpp)" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${NO_CACHE[@]}" \
    "$ROOT[gui,bundle]"
  echo "$WANT" > "$VENV/.fireside-bundle"
else  # the code may have changed: reinstall Fireside alone (fast, no dependency resolution)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --force-reinstall "$ROOT"
fi

echo "==> PyInstaller" >&2
rm -rf "$DIST/Fireside"
(cd "$WORK" && "$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath "$DIST" --workpath "$WORK/pyinstaller" "$ROOT/packaging/bundle/fireside.spec")
# The desktop files beside the executable too, for people who unpack the tarball by hand.
mkdir -p "$DIST/Fireside/share"
cp "$ROOT"/resources/desktop/io.github.fireside.Fireside.{desktop,metainfo.xml,svg} \
  "$DIST/Fireside/share/"
cat > "$DIST/Fireside/README.txt" <<TXT
Fireside $VERSION ($OS $ARCH, llama.cpp for $LLAMA_BACKEND)

  ./fireside                    the window
  ./fireside run starter "Hi"   chat in the terminal (fetches the 92 MiB starter model once)
  ./fireside install-desktop    add Fireside to your application menu
TXT
echo "==> $NAME.tar.gz" >&2
tar -C "$DIST" -czf "$DIST/$NAME.tar.gz" --transform "s,^Fireside,$NAME," Fireside
du -sh "$DIST/Fireside" "$DIST/$NAME.tar.gz" >&2
echo "$DIST/$NAME.tar.gz"
