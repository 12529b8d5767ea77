"""What stands between the network and the model: bind, key, Host, Origin, body type and size.

Local servers are reachable from every web page the user opens (a page can POST to
``http://127.0.0.1:8080``) and, via DNS rebinding, even read the answers. So: bind to loopback
unless the user opts in to the LAN *with* a key; refuse Host headers that are not a loopback
name or an allowed host; refuse browser requests from an ``Origin`` that is neither loopback
nor allow-listed (CORS stays off unless origins are listed); POST bodies must be declared
``application/json`` — the one type a page cannot send cross-site without a CORS preflight,
so a ``text/plain`` "simple request" can no longer burn the CPU or load models; bodies are
size-limited. The guards are plain ASGI middleware so they also cover streamed responses.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from fireside.core.errors import FiresideError

Scope = dict[str, Any]
Message = dict[str, Any]
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "localhost.localdomain"})
OPEN_PATHS = frozenset({"/health"})  # safe to answer without a key: status and model name only


class BindRefusedError(FiresideError):
    """A non-loopback bind without an API key."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str) -> None:
    """Refuse to expose the model beyond this machine without a key."""
    if not is_loopback(host) and not api_key:
        raise BindRefusedError(
            f"refusing to listen on {host}: binding beyond this machine needs an API key "
            "(set one with --api-key or in the server panel), or bind 127.0.0.1")


def new_api_key() -> str:
    return "fs-" + secrets.token_urlsafe(24)


def error_body(status: int, message: str, err_type: str, code: str | None = None,
               param: str | None = None) -> bytes:
    """OpenAI's error shape, so clients show the message instead of a parse failure."""
    return json.dumps({"error": {"message": message, "type": err_type, "param": param,
                                 "code": code}}).encode()


async def send_error(send: Any, status: int, message: str, err_type: str,
                     code: str | None = None, extra_headers: Iterable[tuple[bytes, bytes]] = ()
                     ) -> None:
    body = error_body(status, message, err_type, code)
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _header_or_none(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _header(scope: Scope, name: bytes) -> str:
    return _header_or_none(scope, name) or ""


def host_name(host_header: str) -> str:
    """``example.com:8080`` → ``example.com``; ``[::1]:80`` → ``::1``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class HostGuard:
    """Refuse requests whose Host is neither a loopback name, the bound address nor allowed."""

    def __init__(self, app: Any, allowed_hosts: Iterable[str] = (), bound_host: str = "") -> None:
        self.app = app
        self.allowed = {h.strip().lower() for h in allowed_hosts if h.strip()}
        if bound_host and bound_host not in {"0.0.0.0", "::"}:
            self.allowed.add(bound_host.strip("[]").lower())

    def permits(self, host_header: str) -> bool:
        if "*" in self.allowed:
            return True
        name = host_name(host_header)
        return is_loopback(name) or name in self.allowed

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self.permits(_header(scope, b"host")):
            await send_error(send, 403, "Host header not allowed (DNS rebinding protection); "
                             "add the host to the server's allowed hosts", "invalid_request_error",
                             "host_not_allowed")
            return
        await self.app(scope, receive, send)


def origin_permitted(origin: str, allowed: Iterable[str]) -> bool:
    """A page on this machine, or one the user listed; ``null`` (sandboxed, file://) is not."""
    allowed_set = {a.strip().rstrip("/").lower() for a in allowed}
    if "*" in allowed_set or origin.strip().rstrip("/").lower() in allowed_set:
        return True
    try:
        parts = urlsplit(origin.strip())
        host = parts.hostname or ""
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and is_loopback(host)


class OriginGuard:
    """Refuse cross-site browser requests: an ``Origin`` not loopback and not allow-listed."""

    def __init__(self, app: Any, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = list(allowed_origins)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            origin = _header_or_none(scope, b"origin")
            if origin is not None and not origin_permitted(origin, self.allowed):
                await send_error(send, 403, f"requests from the web origin {origin[:200]!r} are "
                                 "not allowed; add it to the server's CORS origins",
                                 "invalid_request_error", "origin_not_allowed")
                return
        await self.app(scope, receive, send)


def is_json_media_type(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


class JsonOnly:
    """POST bodies must say ``Content-Type: application/json`` (415 otherwise)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH")
                and not is_json_media_type(_header(scope, b"content-type"))):
            await send_error(send, 415, "the request body must be sent as "
                             "'Content-Type: application/json'", "invalid_request_error",
                             "unsupported_media_type")
            return
        await self.app(scope, receive, send)


class ApiKeyGuard:
    """``Authorization: Bearer <key>`` on every path but /health and CORS preflights."""

    def __init__(self, app: Any, api_key: str) -> None:
        self.app = app
        self.key = api_key.encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (self.key and scope["type"] == "http" and scope["method"] != "OPTIONS"
                and scope["path"] not in OPEN_PATHS):
            auth = _header(scope, b"authorization")
            given = auth[7:].strip().encode() if auth.lower().startswith("bearer ") else b""
            if not hmac.compare_digest(given, self.key):
                await send_error(send, 401, "Incorrect API key provided.",
                                 "invalid_request_error", "invalid_api_key",
                                 [(b"www-authenticate", b"Bearer")])
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Reads the body up front (bounded) and replays it, so no handler sees an oversized one."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return dict(await receive())  # later calls wait for http.disconnect

        await self.app(scope, replay, send)

    async def _too_large(self, send: Any) -> None:
        await send_error(send, 413, f"request body larger than {self.max_bytes} bytes",
                         "invalid_request_error", "request_too_large")


class PathAlias:
    """Serve ``prefix + path`` for the listed paths (``/chat/completions`` → ``/v1/…``)."""

    def __init__(self, app: Any, aliases: tuple[str, ...], prefix: str) -> None:
        self.app = app
        self.aliases = aliases
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and any(path == a or path.startswith(a + "/")
                                           for a in self.aliases):
            scope = {**scope, "path": self.prefix + path,
                     "raw_path": self.prefix.encode() + scope.get("raw_path", path.encode())}
        await self.app(scope, receive, send)
