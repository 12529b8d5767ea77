"""`fireside search | files`: the Hub from the terminal, with license and fit verdicts."""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fireside.core import context
from fireside.core.cli.output import emit_json, human_bytes, note


def register(sub: Any) -> None:
    p = sub.add_parser("search", help="search the Hub for GGUF models")
    p.add_argument("query", nargs="?", default="")
    p.add_argument("--sort", choices=["downloads", "likes", "trending", "updated"],
                   default="downloads")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--page", type=int, default=0, help="0-based page of --limit results")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("files", help="a repo's GGUF files with size, quant, fit and license")
    p.add_argument("repo")
    p.add_argument("--ctx", type=int, default=4096, help="context length for the fit verdict")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_files)


def cmd_search(args: argparse.Namespace) -> int:
    from fireside.core.hub.catalog import search
    from fireside.core.hub.common import HubConfig

    ctx = context.build()
    config = HubConfig.from_settings(ctx.settings.read().hub)
    page = search(config, args.query, sort=args.sort, limit=max(1, args.limit), page=args.page)
    if args.json:
        emit_json({"page": page.page, "has_more": page.has_more,
                   "results": [r.to_json() for r in page.results]})
        return 0
    if not page.results:
        note("No GGUF repos found.")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("REPO", "DOWNLOADS", "LIKES", "LICENSE", ""):
        table.add_column(col, no_wrap=True)
    for r in page.results:
        table.add_row(r.repo, f"{r.downloads:,}", str(r.likes),
                      f"{r.license.license_id or '?'} ({r.license.label})",
                      "gated" if r.gated else "")
    Console().print(table)
    if page.has_more:
        note(f"More results: --page {page.page + 1}")
    return 0


def cmd_files(args: argparse.Namespace) -> int:
    from huggingface_hub import hf_hub_url

    from fireside.core.hub.catalog import repo_detail
    from fireside.core.hub.common import HubConfig
    from fireside.core.hub.licenses import gated_message
    from fireside.core.hub.remote_header import remote_fit

    ctx = context.build()
    config = HubConfig.from_settings(ctx.settings.read().hub)
    detail = repo_detail(config, args.repo, with_readme=False)
    rev = detail.sha or "main"

    def fit_of(choice: Any) -> Any:
        url = hf_hub_url(detail.repo, choice.files[0].path, revision=rev,
                         endpoint=config.endpoint)
        return remote_fit(config, url, choice.size, args.ctx)[0]

    with ThreadPoolExecutor(max_workers=4) as pool:
        fits = list(pool.map(fit_of, detail.choices))
    lic = detail.license
    rows = [{"file": c.name, "quant": c.quant, "size": c.size, "files": len(c.files),
             "fit": f.verdict, "max_ctx": f.max_ctx, "fit_source": f.source,
             "fit_reason": f.reason, "license": lic.license_id, "license_class": lic.klass.value}
            for c, f in zip(detail.choices, fits, strict=True)]
    if args.json:
        emit_json({"repo": detail.repo, "gated": detail.gated, "license": lic.to_json(),
                   "files": rows})
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("FILE", "QUANT", "SIZE", f"FIT @{args.ctx}", "MAX CTX", "LICENSE"):
        table.add_column(col, no_wrap=True)
    for row in rows:
        name = row["file"] + (f" (+{row['files'] - 1} parts)" if row["files"] > 1 else "")
        table.add_row(name, row["quant"], human_bytes(row["size"]), row["fit"],
                      str(row["max_ctx"]), lic.license_id or "?")
    Console().print(table)
    note(f"License: {lic.label} — {lic.reason}" + (f" <{lic.link}>" if lic.link else ""))
    if detail.gated:
        note(gated_message(detail.repo, config.endpoint))
    return 0
