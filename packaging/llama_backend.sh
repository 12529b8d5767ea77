# Sourced by setup.sh (and tests/install/test_backend_detect.py): which llama.cpp backend to
# build for this machine, the CMake arguments for it, and the stamp string that records it.
#
#   FIRESIDE_LLAMA_BACKEND=cpu|cuda|metal|vulkan|hip   overrides the detection.
#
# Detection, first match wins: macOS -> metal (llama.cpp's default there); an NVIDIA driver
# (nvidia-smi answers, or /proc/driver/nvidia/version) -> cuda; ROCm (hipconfig) -> hip; the
# Vulkan SDK (glslc plus the vulkan headers via pkg-config) -> vulkan; else cpu.
# Only functions are defined here; nothing runs on `source`.

FIRESIDE_LLAMA_VERSION="0.3.36"
FIRESIDE_LLAMA_BACKENDS="cpu cuda metal vulkan hip"
# The CUDA 12.9 toolkit wheels (nvcc, headers, cudart, cuBLAS) used when no toolkit is
# installed; 12.x runs on every driver from 525 on, where 13.x needs a 580 driver.
FIRESIDE_CUDA_WHEELS="nvidia-cuda-nvcc-cu12==12.9.86 nvidia-cuda-runtime-cu12==12.9.79 \
nvidia-cublas-cu12==12.9.3.13 nvidia-cuda-cccl-cu12==12.9.27"

# No AMX on x86-64 (see setup.sh: some VMs list it and then SIGILL).
fireside_llama_cflags() {
  if [[ "$(uname -m)" == "x86_64" ]]; then echo "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"; fi
}

# The root for paths the detection looks at; tests point it at a temp dir.
_fs_root() { printf '%s' "${FIRESIDE_DETECT_ROOT:-}"; }

fireside_detect_backend() {
  if [[ -n "${FIRESIDE_LLAMA_BACKEND:-}" ]]; then
    case " $FIRESIDE_LLAMA_BACKENDS " in
      *" $FIRESIDE_LLAMA_BACKEND "*) echo "$FIRESIDE_LLAMA_BACKEND"; return 0 ;;
    esac
    echo "fireside setup: FIRESIDE_LLAMA_BACKEND=$FIRESIDE_LLAMA_BACKEND is not one of:" \
      "$FIRESIDE_LLAMA_BACKENDS" >&2
    return 2
  fi
  if [[ "$(uname -s)" == "Darwin" ]]; then echo metal; return 0; fi
  if { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; } \
      || [[ -r "$(_fs_root)/proc/driver/nvidia/version" ]]; then
    echo cuda; return 0
  fi
  if command -v hipconfig >/dev/null 2>&1 || [[ -x "$(_fs_root)/opt/rocm/bin/hipconfig" ]]; then
    echo hip; return 0
  fi
  if command -v glslc >/dev/null 2>&1 && pkg-config --exists vulkan 2>/dev/null; then
    echo vulkan; return 0
  fi
  echo cpu
}

# nvcc from PATH, CUDA_HOME/CUDA_PATH, /usr/local/cuda, or the wheel toolkit merged into $1.
fireside_find_nvcc() {
  local venv="${1:-}" c
  if command -v nvcc >/dev/null 2>&1; then command -v nvcc; return 0; fi
  for c in "${CUDA_HOME:-}/bin/nvcc" "${CUDA_PATH:-}/bin/nvcc" "$(_fs_root)/usr/local/cuda/bin/nvcc"; do
    if [[ -x "$c" ]]; then echo "$c"; return 0; fi
  done
  if [[ -n "$venv" && -x "$venv/cuda-toolkit/bin/nvcc" ]]; then
    echo "$venv/cuda-toolkit/bin/nvcc"; return 0
  fi
  return 1
}

# The toolkit wheels put nvcc, headers and libraries in one folder each (nvidia/cuda_nvcc, ...);
# CMake's FindCUDAToolkit wants one root, so they are hard-linked into $1/cuda-toolkit (nvcc
# finds its include/ and nvvm/ relative to its real path, which a symlink would not move).
fireside_cuda_from_wheels() {
  local venv="$1" site root="$1/cuda-toolkit" d so
  site="$(echo "$venv"/lib/python3*/site-packages/nvidia)"
  [[ -d "$site/cuda_nvcc" ]] || return 1
  rm -rf "$root" && mkdir -p "$root"
  for d in cuda_nvcc cuda_runtime cublas cuda_cccl; do
    [[ -d "$site/$d" ]] && cp -al "$site/$d/." "$root/"
  done
  [[ -d "$root/lib" && ! -e "$root/lib64" ]] && ln -s lib "$root/lib64"
  for so in "$root"/lib/lib*.so.[0-9]*; do  # the wheels ship only libX.so.12; link libX.so
    [[ -e "$so" ]] && ln -sf "$(basename "$so")" "${so%%.so.*}.so"
  done
  [[ -x "$root/bin/nvcc" ]] && echo "$root/bin/nvcc"
}

# "90" for an H100 (compute capability 9.0); several cards give "86;90"; "native" if unknown.
fireside_cuda_archs() {
  local caps
  caps="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null \
          | tr -d ' .' | grep -E '^[0-9]+$' | sort -u | paste -sd';' -)"
  echo "${caps:-native}"
}

# CMAKE_ARGS for a backend. cpu gives none (llama.cpp's native build). nvcc is passed as
# CUDACXX, not here, so the stamp does not depend on where the toolkit lives.
fireside_cmake_args() {
  case "$1" in
    cpu) echo "" ;;
    cuda) echo "-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=$(fireside_cuda_archs)" ;;
    metal) echo "-DGGML_METAL=on" ;;
    vulkan) echo "-DGGML_VULKAN=on" ;;
    hip) echo "-DGGML_HIP=on" ;;
  esac
}

# The stamp: pip's wheel cache does not key on CMAKE_ARGS/CFLAGS, so this string is recorded
# beside the cached wheel and the venv; any change forces a rebuild. The cpu string is the one
# setup.sh wrote before backends existed, so existing CPU venvs and caches stay valid.
fireside_llama_stamp() {
  local backend="$1" cmake_args="$2" cflags="$3"
  if [[ "$backend" == cpu ]]; then
    echo "llama-cpp-python==$FIRESIDE_LLAMA_VERSION cpu native CFLAGS=[$cflags]"
  else
    echo "llama-cpp-python==$FIRESIDE_LLAMA_VERSION $backend CMAKE_ARGS=[$cmake_args] CFLAGS=[$cflags]"
  fi
}
