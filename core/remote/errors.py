"""Every way a provider can fail, as one sentence a person can act on.

The key is never part of a message: :func:`redact` runs over every text that leaves this
package, and messages are built from the provider's name, the status and its own words only.
"""

from __future__ import annotations

import json
import re

from fireside.core.errors import FiresideError

MAX_DETAIL = 200  # characters of a provider's own message quoted back


class RemoteError(FiresideError):
    """A provider request that failed; ``status`` is the HTTP status (0: no answer at all)."""

    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None,
                 provider_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.provider_message = provider_message


def redact(text: str, *secrets: str) -> str:
    """``text`` with every secret (and any ``Bearer …`` token) blanked out."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return re.sub(r"(?i)(bearer\s+)\S+", r"\1***", text)


def provider_message(body: bytes | str) -> str:
    """The provider's own explanation from an OpenAI-style error body (or its first line)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("detail")
        else:
            msg = err
        if isinstance(msg, str | int | float) and str(msg).strip():
            text = str(msg)
    line = " ".join(text.strip().split())
    return line[:MAX_DETAIL] + ("…" if len(line) > MAX_DETAIL else "")


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds; an HTTP date is read as unknown)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def status_error(provider: str, status: int, body: bytes | str, retry_after: str | None = None,
                 model: str = "", secrets: tuple[str, ...] = ()) -> RemoteError:
    """The error for an HTTP error answer from ``provider``."""
    detail = redact(provider_message(body), *secrets)
    wait = retry_after_s(retry_after)
    if status in (401, 403):
        message = f"{provider} refused the key ({status})"
        if detail:
            message += f": {detail}"
    elif status == 404:
        what = f"the model {model!r}" if model else "that address"
        message = f"{provider} does not know {what} (404)" + (f": {detail}" if detail else "")
    elif status == 429:
        message = f"{provider} is rate-limiting requests (429)"
        message += f"; it asks to retry after {wait:g} s" if wait is not None else \
            "; retry later"
        if detail:
            message += f" ({detail})"
    else:
        message = f"{provider} answered {status}" + (f": {detail}" if detail else "")
    return RemoteError(message, status=status, retry_after=wait, provider_message=detail)
