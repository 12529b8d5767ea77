"""Will this file fit? Answered before downloading it, from the file's own header.

Only the first bytes of the remote GGUF are fetched (an HTTP Range request), grown whenever the
parser says the header goes on (``TruncatedHeaderError.needed``), so the KV-cache figure comes
from the real layer and head counts instead of a guess from the file size. When the header
cannot be read (a gated repo answering 401, a broken file) the verdict is "unknown", never
"fits": the file size alone gives a rough figure for the reason text, not a verdict.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from fireside.core.errors import BadModelFileError
from fireside.core.hub.common import HubConfig, HubError, http_client, hub_errors
from fireside.core.models.gguf_meta import TruncatedHeaderError, parse_header
from fireside.core.models.meta import ModelMeta, meta_from_header

log = logging.getLogger("fireside.hub.header")
FIRST_BYTES = 512 * 1024
MAX_HEADER = 96 * 1024 * 1024
_OVERHEAD = 96 * 1024 * 1024  # compute buffers and runtime, a flat allowance
_CTX_STEP = 256


@dataclass(frozen=True)
class Fit:
    verdict: str  # "fits" | "tight" | "too big" | "unknown"
    need_bytes: int
    available_bytes: int
    n_ctx: int
    max_ctx: int  # the largest context that fits (0: not even the weights)
    source: str  # "header" (exact KV figure) or "size" (file-size fallback)
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fetch_remote_meta(config: HubConfig, url: str, *, client: httpx.Client | None = None,
                      first: int = FIRST_BYTES) -> ModelMeta:
    """Parse the header of a remote GGUF from as few leading bytes as it takes."""
    own = client is None
    http = client or http_client()
    data = b""
    try:
        with hub_errors(config):
            want = first
            while True:
                if want > MAX_HEADER:
                    raise BadModelFileError("GGUF header larger than 96 MiB: not read")
                start = len(data)
                r = http.get(url, headers={**config.auth_for(url),
                                           "Range": f"bytes={start}-{want - 1}"})
                if r.status_code == 416:
                    raise BadModelFileError("the file ends inside its GGUF header")
                r.raise_for_status()
                if r.status_code == 200:  # the server ignored Range: we have the whole file
                    data, complete = r.content, True
                else:
                    data += r.content
                    complete = len(r.content) < want - start
                try:
                    return meta_from_header(parse_header(data))
                except TruncatedHeaderError as exc:
                    if complete:
                        raise BadModelFileError("the file ends inside its GGUF header") from None
                    want = max(exc.needed + 64 * 1024, want * 2)
    finally:
        if own:
            http.close()


def kv_bytes_per_token(meta: ModelMeta, n_ctx: int, kv_type_bytes: float = 2.0) -> float:
    """Average KV-cache bytes per context token; sliding-window layers stop at the window."""
    per_layer = meta.head_count_kv * (meta.key_length + meta.value_length) * kv_type_bytes
    swa_layers = meta.sliding_window_layers if meta.sliding_window else 0
    full_layers = meta.block_count - swa_layers
    total = per_layer * (full_layers * n_ctx + swa_layers * min(n_ctx, meta.sliding_window))
    return total / max(1, n_ctx)


def available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


_HW_VERDICTS = {"fits_gpu": "fits", "partial_offload": "fits", "cpu_only": "fits",
                "too_large": "too big"}


def _hardware_fit(meta: ModelMeta, n_ctx: int) -> Fit | None:
    """The hardware estimator's verdict (the app's one memory model), or None if it fails."""
    try:
        from fireside.core.hardware.estimate import fit as hw_fit
        from fireside.core.hardware.probe import probe

        f = hw_fit(meta, probe(include_backends=False), n_ctx=n_ctx)
    except Exception:  # another area's module: a failure there must not break Discover
        log.exception("hardware estimator failed; using the built-in figure")
        return None
    est = f.estimate
    need = est.peak_ram_bytes + est.vram_bytes
    verdict = _HW_VERDICTS.get(f.verdict, "unknown")
    if verdict == "fits" and need > 0.8 * (f.ram_budget_bytes + f.vram_budget_bytes):
        verdict = "tight"
    return Fit(verdict, need, f.ram_budget_bytes + f.vram_budget_bytes, est.n_ctx,
               f.max_context, "header", f"{f.reason} (from its header)")


def _estimate_need(meta: ModelMeta | None, file_size: int, n_ctx: int) -> tuple[int, str]:
    """Built-in estimate, used when free memory is given or the header is unread."""
    if meta is None:
        return int(file_size * 1.1) + _OVERHEAD, "size"
    weights = max(meta.weights_bytes, file_size - meta.header_bytes, 0)
    kv = int(kv_bytes_per_token(meta, n_ctx) * n_ctx)
    return weights + kv + _OVERHEAD, "header"


def unknown_fit(file_size: int, n_ctx: int = 4096, available: int | None = None,
                why: str = "") -> Fit:
    """The verdict for a file whose header could not be read: "unknown", with the file-size
    figure in the reason only (no layer counts, no KV figure: nothing to say it fits)."""
    avail = available_memory() if available is None else available
    need, source = _estimate_need(None, file_size, n_ctx)
    gib = 1024 ** 3
    cause = f" ({why})" if why else ""
    reason = (f"fit unknown: its header could not be read{cause}; from file size only it "
              f"would need about {need / gib:.2f} GiB at {n_ctx} tokens, "
              f"{avail / gib:.2f} GiB free")
    return Fit("unknown", need, avail, n_ctx, 0, source, reason)


def fit_verdict(meta: ModelMeta | None, file_size: int, n_ctx: int = 4096,
                available: int | None = None) -> Fit:
    """Fit of one model at ``n_ctx`` against free memory, plus the largest context that fits.

    With a header and no explicit ``available``, the hardware estimator answers (RAM and
    VRAM, offload); otherwise a simple weights + KV + overhead figure against free RAM.
    Without a header (``meta`` None) the verdict is "unknown" (:func:`unknown_fit`)."""
    if meta is None:
        return unknown_fit(file_size, n_ctx, available)
    if available is None:
        hw = _hardware_fit(meta, min(n_ctx, meta.context_length or n_ctx))
        if hw is not None:
            return hw
    avail = available_memory() if available is None else available
    if meta.context_length:
        n_ctx = min(n_ctx, meta.context_length)
    need, source = _estimate_need(meta, file_size, n_ctx)
    lo, hi = 0, max(meta.context_length, n_ctx) // _CTX_STEP
    while lo < hi:  # largest multiple of the step that still fits
        mid = (lo + hi + 1) // 2
        if _estimate_need(meta, file_size, mid * _CTX_STEP)[0] <= avail:
            lo = mid
        else:
            hi = mid - 1
    max_ctx = lo * _CTX_STEP
    if need <= avail * 0.8:
        verdict = "fits"
    elif need <= avail:
        verdict = "tight"
    else:
        verdict = "too big"
    gib = 1024 ** 3
    reason = (f"needs {need / gib:.2f} GiB at {n_ctx} tokens, {avail / gib:.2f} GiB free; "
              f"largest context that fits: {max_ctx} (from its header)")
    return Fit(verdict, need, avail, n_ctx, max_ctx, source, reason)


def remote_fit(config: HubConfig, url: str, file_size: int, n_ctx: int = 4096, *,
               client: httpx.Client | None = None, available: int | None = None
               ) -> tuple[Fit, ModelMeta | None]:
    """Fit verdict for a remote file; "unknown" (saying why) when the header is unreadable."""
    try:
        meta = fetch_remote_meta(config, url, client=client)
    except (BadModelFileError, HubError) as exc:
        log.info("remote header unreadable (%s): fit unknown", exc)
        return unknown_fit(file_size, n_ctx, available, why=str(exc)), None
    return fit_verdict(meta, file_size, n_ctx, available), meta
