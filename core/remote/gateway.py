"""The local server as a gateway to remote models (``/v1/models`` and ``/v1/chat/completions``).

An app pointed at Fireside uses local and remote models through one URL and Fireside's own key:
a request naming ``PROVIDER:MODEL`` is sent on to the provider with the provider's key (the
caller's headers are never forwarded, and the provider's key never goes back), streamed through
line by line as it arrives, with ``usage`` passed through, and the upstream request is closed
when the caller disconnects (Starlette cancels the streaming body; its ``finally`` closes it).
Provider failures come back as OpenAI-style errors with the same sentences the CLI prints.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from fireside.core.remote.client import RemoteClient
from fireside.core.remote.errors import RemoteError, status_error
from fireside.core.remote.providers import Provider, split_ref
from fireside.core.remote.service import Remote
from fireside.core.server.jobs import Registry
from fireside.core.server.params import ApiError
from fireside.core.server.reqlog import log_info

log = logging.getLogger("fireside.remote.gateway")
_KIND = {401: "authentication_error", 403: "authentication_error", 404: "invalid_request_error",
         429: "rate_limit_exceeded"}
# How long a provider's key read from the secrets store is trusted before it is read again.
# providers.json is checked on every request (one stat); a key changed through Fireside rewrites
# it, so only a key edited in the OS keyring by hand waits this long.
KEY_TTL_S = 5.0


def _api_error(exc: RemoteError) -> ApiError:
    """A provider's refusal of *its* key is the gateway's fault, not the caller's: 502."""
    status = exc.status if exc.status in (400, 404, 413, 422, 429) else 502
    headers = {"retry-after": f"{exc.retry_after:g}"} if exc.retry_after is not None else None
    code = "model_not_found" if exc.status == 404 else None
    return ApiError(status, str(exc), _KIND.get(exc.status, "upstream_error"), "model", code,
                    headers=headers)


class _Relay:
    """A live forwarded stream as the server's registry sees it: a stopping server ends it
    between two lines (``cancel`` may come from any thread)."""

    def __init__(self) -> None:
        self.stopped = threading.Event()

    def cancel(self) -> None:
        self.stopped.set()


class Gateway:
    def __init__(self, remote: Remote, registry: Registry | None = None) -> None:
        self.remote = remote
        self.registry = registry
        self._http: httpx.AsyncClient | None = None
        # name -> (providers.json stamp, when read, provider, client): a request's lookup costs
        # a stat, not a JSON parse and a keyring call on the event loop.
        self._clients: dict[str, tuple[tuple[int, int], float, Provider, RemoteClient]] = {}

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:  # made on the event loop that uses it
            self._http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=16))
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def listing(self) -> list[dict[str, Any]]:
        """The enabled providers' models as OpenAI model objects (cached lists; off the loop)."""
        models = await asyncio.get_running_loop().run_in_executor(None, self.remote.all_models)
        return [{"id": m.ref, "object": "model", "created": 0, "owned_by": m.provider,
                 "loaded": False, "context_length": m.context_length, "remote": True}
                for m in models]

    def _lookup(self, name: str) -> tuple[Provider, RemoteClient] | None:
        """The provider called ``name`` and its client, cached while providers.json is unchanged."""
        try:
            st = os.stat(self.remote.store.file)
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = (0, 0)
        now = time.monotonic()
        hit = self._clients.get(name)
        if hit is not None and hit[0] == stamp and now - hit[1] < KEY_TTL_S:
            return hit[2], hit[3]
        provider = self.remote.store.find(name)
        if provider is None:
            self._clients.pop(name, None)
            return None
        client = self.remote.client(provider)
        self._clients[name] = (stamp, now, provider, client)
        return provider, client

    def _match(self, body: dict[str, Any]) -> tuple[RemoteClient, str, str] | None:
        ref = body.get("model")
        if not isinstance(ref, str):
            return None
        parts = split_ref(ref)
        found = self._lookup(parts[0]) if parts is not None else None
        if parts is None or found is None:
            return None
        provider, client = found
        if not provider.enabled:
            raise ApiError(404, f"the provider {provider.name} is turned off in Fireside",
                           "invalid_request_error", "model", "model_not_found")
        return client, parts[1], ref

    async def forward(self, request: Request, body: dict[str, Any]) -> Response | None:
        """Answer a chat request for a remote model, or None when ``body`` names a local one."""
        matched = self._match(body)
        if matched is None:
            return None
        client, model_id, ref = matched
        log_info(request)["model"] = ref
        upstream = {**body, "model": model_id}
        stream = bool(body.get("stream"))
        http = self._client()
        req = http.build_request("POST", client.url("chat/completions"), json=upstream,
                                 headers=client.headers(), timeout=client.timeout())
        try:
            resp = await http.send(req, stream=True)
        except httpx.HTTPError as exc:
            raise _api_error(client.transport_error(exc, "answering")) from None
        if resp.status_code >= 400:
            content = await resp.aread()
            await resp.aclose()
            raise _api_error(status_error(client.provider.name, resp.status_code, content,
                                          resp.headers.get("retry-after"), model_id,
                                          client.secrets()))
        rename = _Renamer(model_id, ref)
        if not stream:
            try:
                content = await resp.aread()
            except httpx.HTTPError as exc:
                raise _api_error(client.transport_error(exc, "answering")) from None
            finally:
                await resp.aclose()
            return Response(rename(content), media_type="application/json")
        relay = _Relay()
        if self.registry is not None:
            self.registry.add(cast(Any, relay))
        return StreamingResponse(_relay(resp, rename, ref, relay, self.registry),
                                 media_type="text/event-stream",
                                 headers={"cache-control": "no-cache",
                                          "x-accel-buffering": "no"})


class _Renamer:
    """Puts ``PROVIDER:MODEL`` back where the provider wrote its own id (JSON's two spellings)."""

    def __init__(self, model_id: str, ref: str) -> None:
        mid, full = json.dumps(model_id).encode(), json.dumps(ref).encode()
        self.pairs = [(b'"model":' + mid, b'"model":' + full),
                      (b'"model": ' + mid, b'"model": ' + full)]

    def __call__(self, data: bytes) -> bytes:
        for old, new in self.pairs:
            data = data.replace(old, new)
        return data




async def _relay(resp: httpx.Response, rename: _Renamer, ref: str, relay: _Relay,
                 registry: Registry | None) -> AsyncIterator[bytes]:
    """The provider's SSE lines as they come; closing the upstream however this ends."""
    event: list[bytes] = []
    try:
        async for line in resp.aiter_lines():
            if relay.stopped.is_set():  # the server is stopping
                break
            event.append(line.encode("utf-8"))
            if not line:  # an event ends with a blank line: send it whole, in one write
                yield rename(b"\n".join(event)) + b"\n"
                event.clear()
        if event and not relay.stopped.is_set():
            yield rename(b"\n".join(event)) + b"\n"
    except httpx.HTTPError as exc:
        log.warning("stream from %s cut: %s", ref, type(exc).__name__)
        error = {"error": {"message": f"the stream from {ref.partition(':')[0]} was cut "
                                      f"({type(exc).__name__})", "type": "upstream_error"}}
        yield b"data: " + json.dumps(error).encode() + b"\n\n"
    finally:
        if registry is not None:
            registry.discard(cast(Any, relay))
        await resp.aclose()
