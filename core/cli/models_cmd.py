"""`fireside ls | import | rm | pull`: the local library from the terminal."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fireside.core import context
from fireside.core.cli.output import emit_json, human_bytes, note
from fireside.core.models import starter


def register(sub: Any) -> None:
    p = sub.add_parser("ls", help="list local models, then remote ones (`fireside provider`)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--local", action="store_true", help="local models only (ask no provider)")
    p.set_defaults(handler=cmd_ls)

    p = sub.add_parser("import", help="add an existing .gguf file to the library")
    p.add_argument("path", type=Path)
    p.add_argument("--link", action="store_true",
                   help="register the file where it is instead of copying it")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("rm", help="remove a model (linked files are only forgotten)")
    p.add_argument("model")
    p.set_defaults(handler=cmd_rm)

    p = sub.add_parser("pull", help="download a model: `starter`, REPO[:QUANT], REPO/FILE, "
                       "https://…/FILE.gguf, github:OWNER/REPO[@TAG][:QUANT], hf.co/USER/REPO")
    p.add_argument("spec")
    p.add_argument("--sha256", default=None, help="expected sha256 of a URL's file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=cmd_pull)


def cmd_ls(args: argparse.Namespace) -> int:
    ctx = context.build()
    models = ctx.library.list()
    remote = [] if args.local else ctx.remote.all_models(
        on_error=lambda name, exc: note(f"fireside: {name}'s models are not listed: {exc}"))
    if args.json:
        emit_json([m.to_json() for m in models]
                  + [{**r.to_json(), "name": r.ref, "remote": True} for r in remote])
        return 0
    if not models and not remote:
        note("No models yet. Try: fireside pull starter")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    table.add_column("NAME", no_wrap=True)
    for col in ("PARAMS", "QUANT", "CTX", "SIZE", "LICENSE"):
        table.add_column(col, no_wrap=True)
    for m in models:
        meta = m.meta
        if meta is None:
            table.add_row(m.name, "", "", "", human_bytes(m.size_bytes), f"error: {m.error}")
            continue
        table.add_row(m.name, f"{meta.parameter_count / 1e6:.0f}M", meta.quantization,
                      str(meta.context_length), human_bytes(m.size_bytes),
                      m.entry.license or meta.license)
    for r in remote:  # after the local ones: they run elsewhere
        table.add_row(r.ref, "", "", str(r.context_length or ""), "remote",
                      f"runs on {r.provider}")
    Console().print(table)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    ctx = context.build()
    model = ctx.library.import_file(args.path, link=args.link)
    note(f"Imported {model.name} ({human_bytes(model.size_bytes)})")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    ctx = context.build()
    model = ctx.library.remove(args.model)
    kept = " (file kept: it was linked)" if model.entry.linked else ""
    note(f"Removed {model.name}{kept}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    ctx = context.build()
    if args.spec in (starter.NAME, "starter"):
        model = starter.obtain(ctx.library, starter.default_cache(ctx.paths.cache), note)
        if args.json:
            emit_json(model.to_json())
        else:
            note(f"{model.name}: {human_bytes(model.size_bytes)}, license {model.entry.license}")
        return 0
    from fireside.core.hub.sources import is_reference

    if is_reference(args.spec):
        from fireside.core.cli.source_pull import run_source_pull

        return run_source_pull(ctx, args)
    from fireside.core.hub import pull as hub_pull

    return hub_pull.run_pull(ctx, args)
