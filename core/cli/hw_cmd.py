"""`fireside hw | fit MODEL | bench MODEL`: the machine, the memory a model needs, its speed.

JSON keys are an interface (scripts and the Discover view read them): ``hw`` has
``ram.total_bytes``, ``ram.available_bytes``, ``process.rss_bytes`` and ``gpus[]`` with ``name``,
``vram_total_bytes``, ``vram_used_bytes``; ``fit`` has ``weights_bytes``, ``kv_cache_bytes``,
``overhead_bytes``, ``total_bytes``, ``verdict`` and ``max_context``.
"""

from __future__ import annotations

import argparse
from typing import Any

from fireside.core import context
from fireside.core.cli.output import emit_json, human_bytes, note
from fireside.core.errors import BadModelFileError
from fireside.core.hardware import backend, estimate, offload, probe
from fireside.core.hardware.offload import AUTO, CHOICES_HELP, parse_gpu_layers
from fireside.core.inference.types import KV_CACHE_TYPES, LoadSettings


def register(sub: Any) -> None:
    p = sub.add_parser("hw", help="show CPU, RAM, GPUs and what this llama.cpp can offload to")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_hw)

    p = sub.add_parser("fit", help="predict the memory a model needs and whether it fits here")
    p.add_argument("model", help="a local model name, a path to a .gguf, or `starter`")
    p.add_argument("--ctx", type=int, default=0, help="context length (default: trained max)")
    p.add_argument("--gpu-layers", type=parse_gpu_layers, default=AUTO, metavar="N|max|auto",
                   help=CHOICES_HELP)
    p.add_argument("--kv-type", choices=sorted(KV_CACHE_TYPES), default="f16")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--measure", action="store_true",
                   help="also load it in a fresh process and show the measured RSS")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_fit)

    p = sub.add_parser("bench", help="fixed prompts: prefill/decode tok/s, TTFT, peak RSS")
    p.add_argument("model")
    p.add_argument("--ctx", type=int, default=2048)
    p.add_argument("--gpu-layers", type=parse_gpu_layers, default=AUTO, metavar="N|max|auto",
                   help=CHOICES_HELP)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_bench)


def cmd_hw(args: argparse.Namespace) -> int:
    hw = probe.probe()
    if args.json:
        emit_json({**hw.to_json(), "gpu_warning": backend.gpu_warning(hw.gpus, hw.backends)})
        return 0
    print(f"CPU      {hw.cpu_model} ({hw.cpu_physical_cores} cores, "
          f"{hw.cpu_logical_cores} threads)")
    print(f"RAM      {human_bytes(hw.ram_available_bytes)} available of "
          f"{human_bytes(hw.ram_total_bytes)}")
    print(f"Process  {human_bytes(hw.process_rss_bytes)} resident")
    if not hw.gpus:
        print("GPUs     none found")
    for g in hw.gpus:
        print(f"GPU {g.index}    {g.name}: {human_bytes(g.vram_used_bytes)} used of "
              f"{human_bytes(g.vram_total_bytes)}" + (" (unified)" if g.unified_memory else ""))
    b = hw.backends
    if b.get("available"):
        print(f"llama.cpp {b.get('version')}: built for {str(b.get('backend', 'cpu')).upper()}, "
              f"GPU offload {'yes' if b.get('gpu_offload') else 'no'}, "
              f"mmap {'yes' if b.get('mmap') else 'no'}, mlock {'yes' if b.get('mlock') else 'no'}")
        for d in b.get("devices", []):
            if d.get("type") != "cpu":
                print(f"  device {d['name']}: {d['description']}, "
                      f"{human_bytes(d['free_bytes'])} free of {human_bytes(d['total_bytes'])}")
    else:
        print(f"llama.cpp unavailable: {b.get('error', '')}")
    warning = backend.gpu_warning(hw.gpus, b)
    if warning:
        note(f"warning: {warning}")
    for line in hw.notes:
        note(f"  ({line})")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    ctx = context.build()
    model = ctx.library.get(args.model)
    if model.meta is None:
        raise BadModelFileError(f"{model.name}: {model.error or 'unreadable header'}")
    hw = probe.probe()
    engine = LoadSettings()  # the engine's slots and window caches, as a load would have them
    n_seq = engine.slots(model.meta.sliding_window)
    result = estimate.fit(model.meta, hw, n_ctx=args.ctx, n_gpu_layers=args.gpu_layers,
                          kv_type=args.kv_type, n_batch=args.batch, swa_full=engine.swa_full,
                          n_seq=n_seq)
    devices = offload.device_split(model.meta, result.estimate, hw, swa_full=engine.swa_full,
                                   n_seq=n_seq)
    data: dict[str, Any] = {"model": model.name, **result.to_json(),
                            "devices": [d.to_json() for d in devices]}
    if args.measure:
        from fireside.core.hardware.measure import measure_fresh

        note("measuring in a fresh process ...")
        settings = LoadSettings(n_ctx=result.estimate.n_ctx, n_gpu_layers=result.gpu_layers,
                                kv_cache_type=args.kv_type, n_batch=args.batch)
        data["measured"] = measure_fresh(model.path, settings)
    if args.json:
        emit_json(data)
        return 0
    e = result.estimate
    print(f"{model.name} at context {e.n_ctx}, KV {e.kv_type}, {result.gpu_layers} GPU layers")
    for label, value in (("weights", e.weights_bytes), ("KV cache", e.kv_cache_bytes),
                         ("overhead", e.overhead_bytes), ("total", e.total_bytes),
                         ("  in RAM", e.ram_bytes), ("  in VRAM", e.vram_bytes),
                         ("peak RAM (full batch)", e.peak_ram_bytes)):
        print(f"  {label:<22}{human_bytes(value):>12}")
    if "measured" in data:
        m = data["measured"]
        print(f"  {'measured RSS delta':<22}{human_bytes(m['rss_delta_bytes']):>12}")
    print("per device:")
    for d in devices:
        print(f"  {d.device[:24]:<24}{d.layers:>3} layers  weights "
              f"{human_bytes(d.weights_bytes):>9}  KV {human_bytes(d.kv_bytes):>9}  other "
              f"{human_bytes(d.other_bytes):>9}  = {human_bytes(d.total_bytes):>9}")
    print(f"verdict: {result.verdict.replace('_', ' ')} — {result.reason}")
    print(f"largest context that fits: {result.max_context}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from fireside.core.hardware import benchmark

    ctx = context.build()
    model = ctx.library.get(args.model)
    settings = LoadSettings(n_ctx=args.ctx, n_threads=args.threads)
    hw = probe.probe()
    layers = offload.resolve(args.gpu_layers, model.meta, settings, hw)
    settings.n_gpu_layers = layers.n_gpu_layers
    if layers.message and not layers.obvious:
        note(layers.message)
    if model.meta is not None:
        estimate.require_fit(model.meta, settings, hw)
    note(f"benchmarking {model.name} ({len(benchmark.PROMPTS)} prompts) ...")
    result = benchmark.run(ctx.engine, model.path, settings, name=model.name,
                           out_dir=ctx.paths.data / "benchmarks")
    d = result.data
    if args.json:
        emit_json({**d, "saved_to": str(result.saved_to) if result.saved_to else None})
        return 0
    print(f"{d['model']} ({d['quantization']}, ctx {d['n_ctx']}) on {d['machine']['cpu']}")
    print(f"  prefill  {d['prefill_tokens_per_s']:8.1f} tok/s")
    print(f"  decode   {d['decode_tokens_per_s']:8.1f} tok/s")
    print(f"  TTFT     {d['ttft_s'] * 1000:8.0f} ms")
    print(f"  peak RSS {human_bytes(d['peak_rss_bytes']):>8}")
    print(f"saved to {result.saved_to}")
    return 0
