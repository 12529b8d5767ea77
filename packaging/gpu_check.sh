#!/usr/bin/env bash
# One short check on a machine with an NVIDIA GPU (issue 17; prepared, not yet run on one):
#   1. build llama-cpp-python with CUDA for this card only (setup.sh restricts
#      CMAKE_CUDA_ARCHITECTURES to nvidia-smi's compute capability; ~5-8 min on 16 cores),
#   2. Fireside's NVML figures next to nvidia-smi's, and the backend the build reports,
#   3. the starter fully and half offloaded: predicted VRAM next to NVML's measured delta,
#   4. decode tok/s on the GPU next to the CPU figure.
#   packaging/gpu_check.sh [MODEL] [CTX]      (default: starter 4096)
# Target: VRAM prediction within 10%. Skip the build with FIRESIDE_GPU_CHECK_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
FS=${FIRESIDE:-.venv/bin/fireside}
PY=${PYTHON:-.venv/bin/python}
MODEL=${1:-starter}
CTX=${2:-4096}

if [[ "${FIRESIDE_GPU_CHECK_NO_BUILD:-0}" != 1 ]]; then
  echo "== build (CUDA)"
  start=$(date +%s)
  FIRESIDE_LLAMA_BACKEND=cuda bash packaging/setup.sh
  echo "build and set-up: $(( $(date +%s) - start )) s"
fi

echo "== nvidia-smi"
nvidia-smi --query-gpu=name,compute_cap,memory.total,memory.used --format=csv,nounits 2>&1 \
  || echo "(nvidia-smi failed)"
echo "== fireside hw --json (MiB, as nvidia-smi reports them)"
"$FS" hw --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print("name, memory.total [MiB], memory.used [MiB]")
for g in d["gpus"]:
    print(g["name"], g["vram_total_bytes"] // 2**20, g["vram_used_bytes"] // 2**20, sep=", ")
if not d["gpus"]:
    print("(no GPU found:", "; ".join(d["notes"]), ")")
b = d["backends"]
print("llama.cpp built for", b.get("backend"), "| GPU offload:", b.get("gpu_offload"),
      "| ggml devices:", [x["description"] for x in b.get("devices", [])])
if d.get("gpu_warning"):
    print("WARNING:", d["gpu_warning"])
'

LAYERS=$("$FS" fit "$MODEL" --json | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["n_gpu_layers"] if d["n_gpu_layers"] else 31)')
for gl in max $(( LAYERS / 2 )); do
  echo "== fit $MODEL --ctx $CTX --gpu-layers $gl --measure"
  "$FS" fit "$MODEL" --ctx "$CTX" --gpu-layers "$gl" --measure --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin); m = d["measured"]
mib = lambda n: f"{n / 2**20:.1f} MiB"
err = (d["vram_bytes"] - m["vram_delta_bytes"]) / max(1, m["vram_delta_bytes"])
print("GPU layers", d["n_gpu_layers"], " predicted VRAM", mib(d["vram_bytes"]),
      " NVML delta", mib(m["vram_delta_bytes"]), f" error {err:+.1%}",
      " (target within 10%)")
print("predicted RAM ", mib(d["ram_bytes"]), " measured RSS delta ", mib(m["rss_delta_bytes"]))
for dev in d["devices"]:
    print("  ", dev["device"], dev["layers"], "layers", mib(dev["total_bytes"]))
print("llama.cpp buffers:", {k: mib(v) for k, v in m["llama_buffers"].items()})
'
done

echo "== decode speed: GPU (all layers) vs CPU"
for gl in max 0; do
  "$FS" bench "$MODEL" --ctx "$CTX" --gpu-layers "$gl" --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print("gpu-layers", sys.argv[1], ": decode", round(d["decode_tokens_per_s"], 1), "tok/s, prefill",
      round(d["prefill_tokens_per_s"], 1), "tok/s")
' "$gl"
done
