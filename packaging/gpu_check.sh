#!/usr/bin/env bash
# Compare Fireside's NVML figures (`fireside hw --json`) with nvidia-smi's, GPU by GPU, and
# (optionally) predicted vs measured VRAM for one model.
#   packaging/gpu_check.sh                 # figures only
#   packaging/gpu_check.sh starter 4096    # also `fireside fit MODEL --ctx N --gpu-layers -1
#                                          #   --measure` (needs a CUDA build of llama-cpp-python)
set -euo pipefail
cd "$(dirname "$0")/.."
FS=${FIRESIDE:-.venv/bin/fireside}
PY=${PYTHON:-.venv/bin/python}

echo "== nvidia-smi"
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,nounits 2>&1 || echo "(nvidia-smi failed)"
echo "== fireside hw --json (MiB, as nvidia-smi reports them)"
"$FS" hw --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print("name, memory.total [MiB], memory.used [MiB]")
for g in d["gpus"]:
    print(g["name"], g["vram_total_bytes"] // 2**20, g["vram_used_bytes"] // 2**20, sep=", ")
if not d["gpus"]:
    print("(no GPU found:", "; ".join(d["notes"]), ")")
print("llama.cpp GPU offload:", d["backends"].get("gpu_offload"))
'
if [[ $# -ge 1 ]]; then
  echo "== fit $1 --ctx ${2:-4096} --gpu-layers -1 --measure"
  "$FS" fit "$1" --ctx "${2:-4096}" --gpu-layers -1 --measure --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin); m = d["measured"]
mib = lambda n: f"{n / 2**20:.1f} MiB"
print("predicted VRAM", mib(d["vram_bytes"]), " measured VRAM delta", mib(m["vram_delta_bytes"]))
print("predicted RAM ", mib(d["ram_bytes"]), " measured RSS delta ", mib(m["rss_delta_bytes"]))
print("llama.cpp buffers:", {k: mib(v) for k, v in m["llama_buffers"].items()})
'
fi
