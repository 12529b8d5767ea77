"""Plain state for one reply in flight, and how its figures are worded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fireside.core.inference.types import SamplingParams


@dataclass
class ReplyState:
    """A reply from the moment Send is pressed until its one final signal."""

    conv_id: str
    position: int  # where the assistant message will sit in the conversation
    model: str
    params: SamplingParams
    prompt: list[dict[str, Any]]
    fit: bool = False
    req_id: int = 0
    waiting_for_load: bool = False
    text: str = ""
    trimmed: int = 0
    overflow: tuple[int, int] | None = None
    first_text_at: float = 0.0  # monotonic clock
    thought_s: float | None = None  # how long a reasoning model thought, once it stopped


def stats_text(stats: dict[str, Any], finish_reason: str) -> str:
    """``41.2 tok/s · 0.09 s to first token · 128 tokens`` plus why it ended early."""
    parts: list[str] = []
    if stats.get("decode_tokens_per_s"):
        parts.append(f"{stats['decode_tokens_per_s']:.1f} tok/s")
    if stats.get("ttft_s"):
        parts.append(f"{stats['ttft_s']:.2f} s to first token")
    if stats.get("completion_tokens"):
        parts.append(f"{stats['completion_tokens']} tokens")
    if stats.get("dropped_messages"):
        parts.append(f"{stats['dropped_messages']} oldest messages left out to fit")
    if finish_reason == "cancelled":
        parts.append("stopped")
    elif finish_reason == "length":
        limit = stats.get("context_limit", 0)  # 0: a remote model (its context is unknown)
        full = limit > 0 and stats.get("context_used", 0) >= limit - 1
        parts.append("cut off: the context is full" if full else "cut off at max tokens")
    elif finish_reason == "cut":
        parts.append("cut: the provider's stream broke off")
    return " · ".join(parts)


def context_text(used: int, limit: int) -> str:
    if limit <= 0:
        return "No model loaded"
    if used <= 0:
        return f"Context: — / {limit:,}"
    return f"Context: {used:,} / {limit:,}"
