"""`fireside show | load | unload`: what a model is, and what a running server has loaded.

``show`` reads the local file (architecture, parameters, quant, context, chat template,
license verdict, source, sha256, predicted memory at its default context). ``load`` and
``unload`` talk to the `fireside serve` of this home, found through its state file, as
``lms load``/``lms unload`` and ``ollama stop`` do. Exit codes: 0 ok, 2 bad input, 1 runtime
failure (no server, a refused load); one line on stderr.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from fireside.core import context
from fireside.core.cli.output import emit_json, human_bytes, note
from fireside.core.errors import FiresideError

EXIT_RUNTIME = 1


class ServerMissingError(FiresideError):
    """No `fireside serve` answers for this home (a runtime failure, exit 1)."""


def register(sub: Any) -> None:
    p = sub.add_parser("show", help="a local model's details, license and predicted memory")
    p.add_argument("model", help="a local model name, `starter` or a path to a .gguf")
    p.add_argument("--ctx", type=int, default=None, help="context for the memory figure")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("load", help="load a model into the running `fireside serve`")
    p.add_argument("model", help="a local model name")
    p.add_argument("--ctx", type=int, default=None, help="context length")
    p.add_argument("--gpu-layers", type=int, default=None, help="layers to offload (-1: all)")
    p.add_argument("--estimate-only", action="store_true",
                   help="print the memory estimate and load nothing")
    p.add_argument("--force", action="store_true", help="load even if it is predicted "
                   "not to fit")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_load)

    p = sub.add_parser("unload", help="unload the model of the running `fireside serve`")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_unload)


# -- show -----------------------------------------------------------------------------------
def describe(ctx: context.AppContext, ref: str, n_ctx: int | None = None) -> dict[str, Any]:
    from fireside.core.hardware.estimate import check_load
    from fireside.core.hardware.probe import probe
    from fireside.core.hub.licenses import verdict

    model = ctx.library.get(ref)
    if model.error or model.meta is None:
        raise FiresideError(f"{model.name}: {model.error}")
    meta = model.meta
    settings = ctx.settings.read().load_settings_for(model.name)
    if n_ctx:
        from dataclasses import replace

        settings = replace(settings, n_ctx=n_ctx)
    lic_id = model.entry.license or meta.license
    lic = verdict({"license": lic_id} if lic_id else None)
    judged = check_load(meta, settings, probe())  # the rule `load` and the window apply
    est = judged.fit.estimate
    return {"name": model.name, "path": str(model.path), "files": model.entry.files,
            "size_bytes": model.size_bytes, "architecture": meta.architecture,
            "parameters": meta.parameter_count, "quantization": meta.quantization,
            "context_length": meta.context_length,
            "chat_template": meta.chat_template if meta.has_chat_template else None,
            "license": lic.to_json(), "source": model.entry.source,
            "sha256": model.entry.sha256 or None,
            "memory": {"n_ctx": settings.n_ctx, "verdict": judged.fit.verdict,
                       "reason": judged.reason, "total_bytes": est.total_bytes,
                       "peak_ram_bytes": est.peak_ram_bytes, "vram_bytes": est.vram_bytes}}


def cmd_show(args: argparse.Namespace) -> int:
    info = describe(context.build(), args.model, args.ctx)
    if args.json:
        emit_json(info)
        return 0
    lic, mem = info["license"], info["memory"]
    template = info["chat_template"]
    rows = [("name", info["name"]), ("path", info["path"]),
            ("architecture", info["architecture"]),
            ("parameters", f"{info['parameters'] / 1e6:,.0f}M"),
            ("quantization", info["quantization"]),
            ("context", f"{info['context_length']:,} tokens"),
            ("size", human_bytes(info["size_bytes"])
             + (f" in {len(info['files'])} files" if len(info["files"]) > 1 else "")),
            ("license", f"{lic['license_id'] or '?'} — {lic['label']}: {lic['reason']}"),
            ("source", info["source"]), ("sha256", info["sha256"] or "(not recorded)"),
            ("memory", f"{human_bytes(mem['peak_ram_bytes'] + mem['vram_bytes'])} at "
                       f"{mem['n_ctx']:,} tokens — "
                       f"{mem['verdict']}: {mem['reason']}"),
            ("chat template", _first_line(template) if template else "(none)")]
    width = max(len(k) for k, _v in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    return 0


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    more = len(text) - len(line)
    return (line[:70] + "…" if len(line) > 70 else line) + (f" (+{more} chars)" if more > 0
                                                            else "")


# -- the running server ---------------------------------------------------------------------
def server_call(method: str, path: str, body: dict[str, Any] | None = None
                ) -> tuple[int, dict[str, Any]]:
    """Ask this home's running server; ServerMissingError when none answers."""
    import httpx

    from fireside.core import paths as paths_mod
    from fireside.core.server import statefile

    home = paths_mod.resolve().data
    card, _stale = statefile.find(statefile.state_path(home))
    if card is None:
        raise ServerMissingError(f"no Fireside server is running for {home} (start one with "
                                 "`fireside serve`)")
    key = os.environ.get("FIRESIDE_API_KEY", "").strip()
    if not key:
        key = context.build().settings.read().server.api_key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = card.base_url.removesuffix("/v1") + path
    try:
        r = httpx.request(method, url, json=body, headers=headers, timeout=600)
        data = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ServerMissingError(f"the server at {card.base_url} (pid {card.pid}) did not "
                                 f"answer ({type(exc).__name__})") from None
    return r.status_code, data if isinstance(data, dict) else {}


def _runtime(fn: Any, args: argparse.Namespace) -> int:
    try:
        return int(fn(args))
    except ServerMissingError as exc:
        note(f"fireside: {exc}")
        return EXIT_RUNTIME


def cmd_load(args: argparse.Namespace) -> int:
    return _runtime(_load, args)


def _load(args: argparse.Namespace) -> int:
    body = {"model": args.model, "ctx": args.ctx, "gpu_layers": args.gpu_layers,
            "estimate_only": args.estimate_only, "force": args.force}
    code, data = server_call("POST", "/fireside/load", body)
    err = data.get("error") if isinstance(data.get("error"), dict) else None
    if code in (400, 404, 422) and err:
        raise FiresideError(str(err.get("message")))
    if args.json:
        emit_json(data)
    elif "estimate" in data:
        est = data["estimate"]
        note(f"{data['model']} at {data['n_ctx']:,} tokens: {data['verdict']} — "
             f"{data['reason']}")
        note(f"estimate: weights {human_bytes(est['weights_bytes'])}, KV cache "
             f"{human_bytes(est['kv_cache_bytes'])}, overhead "
             f"{human_bytes(est['overhead_bytes'])}; RAM {human_bytes(est['peak_ram_bytes'])}"
             f" peak, VRAM {human_bytes(est['vram_bytes'])} "
             f"({est['gpu_layers']} GPU layers)")
    if code == 409:
        note(f"fireside: {err.get('message') if err else 'refused'}")
        return EXIT_RUNTIME
    if code != 200:
        note(f"fireside: the server answered {code}: "
             f"{err.get('message') if err else data}")
        return EXIT_RUNTIME
    if not args.json:
        note(f"Loaded {data['model']}." if data.get("loaded")
             else "Estimate only: nothing was loaded.")
    return 0


def cmd_unload(args: argparse.Namespace) -> int:
    return _runtime(_unload, args)


def _unload(args: argparse.Namespace) -> int:
    code, data = server_call("POST", "/fireside/unload", {})
    if code != 200:
        note(f"fireside: the server answered {code}")
        return EXIT_RUNTIME
    if args.json:
        emit_json(data)
    else:
        note(f"Unloaded {data['unloaded']}." if data.get("unloaded") else "Nothing was loaded.")
    return 0


def ps_details() -> dict[str, Any]:
    """The running server's /fireside/status for `fireside ps` ({} when it cannot say)."""
    try:
        code, data = server_call("GET", "/fireside/status")
    except ServerMissingError:
        return {}
    return data if code == 200 else {}


def ps_lines(d: dict[str, Any]) -> list[tuple[str, str]]:
    mem, slots = d.get("memory") or {}, d.get("slots") or {}
    model = d.get("model") or "(no model loaded)"
    if d.get("n_ctx"):
        model += f"  (context {d['n_ctx']:,}, loaded by {d.get('loaded_by') or '?'})"
    memory = f"process {human_bytes(mem.get('process_rss_bytes', 0))}"
    if "estimate_bytes" in mem:
        memory += (f"; model estimate {human_bytes(mem['estimate_bytes'])} "
                   f"(RAM {human_bytes(mem['ram_bytes'])}, VRAM {human_bytes(mem['vram_bytes'])})")
    return [("model", model), ("memory", memory),
            ("slots", f"{slots.get('busy', 0)} of {slots.get('total', 0)} busy"),
            ("queue", f"{d.get('queued', 0)} waiting, {d.get('in_flight', 0)} in flight")]
