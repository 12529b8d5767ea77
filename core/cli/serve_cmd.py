"""`fireside serve`: the OpenAI-compatible API; `fireside ps`: what a running server has loaded."""

from __future__ import annotations

import argparse
import os
import signal
from dataclasses import replace
from typing import Any

from fireside.core import context
from fireside.core.cli.output import emit_json, note
from fireside.core.errors import BadModelFileError
from fireside.core.hardware import offload
from fireside.core.hardware.offload import CHOICES_HELP, parse_gpu_layers

API_KEY_ENV = "FIRESIDE_API_KEY"


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve an OpenAI-compatible API on the local machine")
    p.add_argument("--model", default=None,
                   help="load this model first (a name, a .gguf path or `starter`); without "
                        "it, requests name the model and it is loaded just in time")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1; any "
                   f"other address needs an API key: {API_KEY_ENV}, `fireside secrets set "
                   "api-key`, or --api-key)")
    p.add_argument("--port", type=int, default=None, help="port (default from settings, 8080)")
    p.add_argument("--api-key", default=None,
                   help="require `Authorization: Bearer KEY` (visible to other users in `ps`; "
                        f"prefer {API_KEY_ENV}=KEY or the key saved in Settings)")
    p.add_argument("--ctx", type=int, default=None, help="context length for --model")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for --model")
    p.add_argument("--gpu-layers", type=parse_gpu_layers, default=argparse.SUPPRESS,
                   metavar="N|max|auto",
                   help=f"GPU layers for --model: {CHOICES_HELP.replace('; default', '')}; "
                        "default: the model's saved settings, else auto")
    p.add_argument("--parallel", type=int, default=None, metavar="N",
                   help="requests decoded together for --model (default: the model's saved "
                        "setting, else auto; 0 = auto: 8, or 4 for a sliding-window model; "
                        "1 = one at a time). They share the context rather than splitting it")
    p.add_argument("--max-tokens", type=int, default=None, metavar="N",
                   help="tokens a reply may run to when its request names no limit (like "
                        "llama-server's -n; default: none for chat, 16 for /v1/completions)")
    p.add_argument("--any-model", action="store_true", default=None,
                   help="answer a request naming an unknown model with the loaded one, as "
                        "llama-server does (clients with a fixed model name); the answer "
                        "still names the model that wrote it")
    p.add_argument("--cors", action="append", default=None, metavar="ORIGIN",
                   help="allow browser requests from ORIGIN (repeatable)")
    p.add_argument("--mmproj", default=None, metavar="PATH",
                   help="the vision projector for --model, so it reads images (default: an "
                        "mmproj*.gguf beside the model file; 'off' for none)")
    p.add_argument("--media-path", default=None, metavar="DIR",
                   help="let requests name images as file:// paths under DIR (llama-server's "
                        "option; default: no local files are read)")
    p.set_defaults(handler=cmd_serve)
    ps = sub.add_parser("ps", help="show what a running Fireside server has loaded")
    ps.add_argument("--json", action="store_true", help="print JSON")
    ps.set_defaults(handler=cmd_ps)


def cmd_serve(args: argparse.Namespace) -> int:
    from fireside.core.server.runner import ServerRunner, state_path

    ctx = context.build()
    stored = ctx.settings.read()
    server = stored.server
    api_key, key_source = _api_key(args, server.api_key, ctx.settings.secrets.where())
    server = replace(server, host=args.host if args.host is not None else server.host,
                     port=args.port if args.port is not None else server.port,
                     api_key=api_key,
                     cors_origins=args.cors if args.cors else server.cors_origins,
                     any_model_name=args.any_model or server.any_model_name,
                     default_max_tokens=args.max_tokens if args.max_tokens is not None
                     else server.default_max_tokens,
                     media_path=_media_path(args.media_path) if args.media_path is not None
                     else server.media_path)
    runner = ServerRunner(ctx, server, state_file=state_path(ctx.paths.data))
    from fireside.core.server.security import check_bind

    check_bind(server.host, server.api_key)  # before a slow model load
    if args.model:
        model = ctx.library.get(args.model)
        if model.error:
            raise BadModelFileError(f"{model.name}: {model.error}")
        load = stored.load_settings_for(model.name)
        load = replace(load, n_ctx=args.ctx or load.n_ctx,
                       n_threads=args.threads or load.n_threads,
                       parallel=load.parallel if args.parallel is None else args.parallel,
                       projector=_projector(args.mmproj) if args.mmproj else load.projector)
        if hasattr(args, "gpu_layers") or model.name not in stored.load:
            layers = offload.resolve(getattr(args, "gpu_layers", offload.AUTO), model.meta,
                                     load)
            load = replace(load, n_gpu_layers=layers.n_gpu_layers)
            if layers.message and not layers.obvious:
                note(layers.message)
        note(f"Loading {model.name}…")
        loaded = ctx.engine.load(model.path, load, name=model.name)
        ctx.library.touch(model.name)
        if loaded.projector:
            note(f"It reads images (projector {loaded.projector.name}).")
        elif loaded.projector_error:
            note(f"warning: text only: {loaded.projector_error}")
    url = runner.start()
    note(f"Fireside is serving an OpenAI-compatible API at {url}"
         + (f" (API key required; the key {key_source})" if server.api_key else ""))
    note("Press Ctrl-C to stop.")
    try:
        signal.signal(signal.SIGTERM, _interrupt)  # a plain kill also stops cleanly
    except ValueError:  # not the main thread (an embedding caller): leave signals alone
        pass
    try:
        runner.serve_forever()
    except KeyboardInterrupt:
        note("stopping…")
    return 0


def _media_path(value: str) -> str:
    """``--media-path``: an existing folder, absolute (requests name files relative to it)."""
    from pathlib import Path

    from fireside.core.errors import FiresideError

    if not value:
        return ""
    folder = Path(value).expanduser().resolve()
    if not folder.is_dir():
        raise FiresideError(f"--media-path {value}: no such folder")
    return str(folder)


def _projector(value: str) -> str:
    """``--mmproj``: 'off', or an existing projector file, absolute."""
    from pathlib import Path

    from fireside.core.errors import FiresideError

    if value == "off":
        return value
    path = Path(value).expanduser().resolve()
    if not path.is_file():
        raise FiresideError(f"--mmproj {value}: no such file")
    return str(path)


def _api_key(args: argparse.Namespace, stored: str, stored_where: str) -> tuple[str, str]:
    """The key and where it came from: ``--api-key``, then the environment, then the store."""
    if args.api_key is not None:
        note("warning: --api-key is visible to every user of this machine in `ps`; set "
             f"{API_KEY_ENV} or save the key in Settings instead")
        return args.api_key, "came from the command line"
    env_key = os.environ.get(API_KEY_ENV, "").strip()
    if env_key:
        return env_key, f"came from {API_KEY_ENV}"
    return stored, stored_where.replace("stored", "is stored", 1)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_ps(args: argparse.Namespace) -> int:
    """Ask the server of this home (its state file says where), never a default port.

    Probing 127.0.0.1:8080 would report another home's server, or any program there.
    """
    import httpx

    from fireside.core import paths as paths_mod
    from fireside.core.server import statefile

    home = paths_mod.resolve().data
    card, stale = statefile.find(statefile.state_path(home))
    health: dict[str, Any] | None = None
    if card is not None:
        try:
            answer = httpx.get(card.base_url.removesuffix("/v1") + "/health", timeout=2).json()
            health = answer if isinstance(answer, dict) and answer.get("status") == "ok" else None
        except (httpx.HTTPError, ValueError):
            health = None
    if card is None or health is None:
        if args.json:
            emit_json({"running": False, "home": str(home)})
        elif card is not None:
            note(f"no Fireside server is running for {home}: pid {card.pid} is alive but "
                 f"does not answer on {card.base_url}")
        else:
            note(f"no Fireside server is running for {home} (start one with `fireside serve`)"
                 + (f"; removed the record of pid {stale.pid}, which is gone" if stale else ""))
        return 1
    from fireside.core.cli.control_cmd import ps_details, ps_lines

    details = ps_details()  # memory, slots, queue (core/server/admin.py); {} if refused
    if args.json:
        emit_json({"running": True, **health, **details, "base_url": card.base_url,
                   "home": str(home), "pid": card.pid, "port": card.port})
    elif details:
        print(f"server  {card.base_url}  (pid {card.pid}, port {card.port})\nhome    {home}")
        print("\n".join(f"{k:<7} {v}" for k, v in ps_lines(details)))
    else:
        model = health.get("model") or "(no model loaded)"
        print(f"server  {card.base_url}  (pid {card.pid}, port {card.port})\nhome    {home}"
              f"\nmodel   {model}"
              + (f"  (context {health['n_ctx']})" if health.get("n_ctx") else "")
              + f"\nbusy    {health.get('in_flight', 0)} in flight, "
                f"{health.get('queued', 0)} queued")
    return 0
