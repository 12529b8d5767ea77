"""`fireside pull URL | github:OWNER/REPO[@TAG][:QUANT] | hf.co/USER/REPO[:QUANT]`.

Resolves the reference, says the license and fit verdicts and which sha256 check applies
*before* the first byte, then downloads with the Hub's resumable transfer. Exit codes: 0 ok,
2 bad input (a refused name, no such release), 1 a runtime failure (offline, a corrupt
download); always one line on stderr.
"""

from __future__ import annotations

import argparse
from typing import Any

from fireside.core.cli.output import emit_json, human_bytes, note
from fireside.core.context import AppContext
from fireside.core.errors import DownloadError, FiresideError
from fireside.core.hub.common import HubConfig, HubUnreachableError, UnsafeFilenameError
from fireside.core.hub.pull import _Bar
from fireside.core.hub.source_download import download_resolved, fit_before
from fireside.core.hub.sources import Resolved, resolve
from fireside.core.models.library import LocalModel

EXIT_RUNTIME = 1


class RuntimeFailure(FiresideError):
    """Offline, a server error, a corrupt download: `fireside` exits 1, not 2 (bad input)."""

    exit_code = EXIT_RUNTIME


def is_runtime(exc: BaseException) -> bool:
    """Offline, a server error, a corrupt download: not the person's input (exit 1)."""
    return (isinstance(exc, DownloadError | HubUnreachableError)
            and not isinstance(exc, UnsafeFilenameError))


def run_source_pull(ctx: AppContext, args: argparse.Namespace) -> int:
    try:
        pull_reference(ctx, args.spec, sha256=getattr(args, "sha256", None) or "",
                       as_json=bool(getattr(args, "json", False)))
    except Exception as exc:
        if not is_runtime(exc):
            raise  # bad input: the CLI's one line and exit 2
        note(f"fireside: {exc}")
        return EXIT_RUNTIME
    return 0


def pull_reference(ctx: AppContext, ref: str, *, sha256: str = "", as_json: bool = False,
                   quiet: bool = False) -> LocalModel:
    hub = HubConfig.from_settings(ctx.settings.read().hub)
    res = resolve(ref, sha256=sha256, hub=hub)
    fit, meta = fit_before(res, hub)
    if not quiet:
        _describe(res, fit.verdict, fit.reason, meta.architecture if meta else "")
    bar = _Bar(res.files[0].name, res.size, quiet=as_json or quiet)
    try:
        with bar:
            out = download_resolved(res, ctx.library, ctx.paths.downloads, hub=hub,
                                    progress=bar.update)
    except KeyboardInterrupt:
        note("Interrupted: the partial download is kept; run the same command to resume."
             if res.resumable else "Interrupted: this server cannot resume; a rerun starts over.")
        raise
    if as_json:
        data: dict[str, Any] = out.model.to_json()
        data["resolved"] = res.to_json()
        data["license_verdict"] = res.license.to_json()
        data["fit"] = fit.to_json()
        data["verification"] = {"sha256_verified": out.verified, "check": res.check,
                                "summary": out.note}
        data["transfer"] = {"bytes": out.transferred, "resumable": res.resumable}
        emit_json(data)
    elif not quiet:
        note(f"Downloaded {out.model.name} ({human_bytes(out.model.size_bytes)}), {out.note}.")
    return out.model


def _describe(res: Resolved, fit: str, reason: str, arch: str) -> None:
    lic = res.license
    parts = f" in {len(res.files)} parts" if len(res.files) > 1 else ""
    note(f"{res.label}: {res.quant}, {human_bytes(res.size)}{parts}"
         + (f", {arch}" if arch else ""))
    note(f"license {lic.license_id or '?'}: {lic.label} — {lic.reason}")
    note(f"fit: {fit} — {reason}")
    note(f"check: {res.check}")
    for extra in res.notes:
        note(f"note: {extra}")


def local_or_pull(ctx: AppContext, ref: str) -> LocalModel:
    """``ref`` from the library; a reference not there yet is pulled first (as ollama does).

    An ``hf.co/`` reference or a URL already downloaded is found without the network.
    """
    from fireside.core.hub.sources import DEFAULT_QUANT, is_reference, shown_url, split_hf

    if not is_reference(ref):
        return ctx.library.get(ref)
    hf = split_hf(ref)
    for model in ctx.library.list():
        if model.error:
            continue
        if hf is not None and model.entry.repo.casefold() == hf[0].casefold():
            want = (hf[1] or DEFAULT_QUANT).casefold()
            have = {(model.meta.quantization if model.meta else "").casefold(),
                    *(q.casefold() for q in _quants(model))}
            if want in have or not hf[1]:
                return model
        if model.entry.source == shown_url(ref):
            return model
    note(f"{ref} is not in the library yet: pulling it first")
    try:
        return pull_reference(ctx, ref)
    except Exception as exc:
        if is_runtime(exc):
            raise RuntimeFailure(str(exc)) from None
        raise


def _quants(model: LocalModel) -> list[str]:
    from fireside.core.hub.catalog import quant_from_name

    return [quant_from_name(model.path.name)]
