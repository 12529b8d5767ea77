"""Talking to one provider over its OpenAI-compatible HTTP API (httpx, blocking).

:meth:`RemoteClient.chat` streams a chat completion over SSE and measures what a person feels on
this side of the wire (time to first token, tokens per second); token counts come from the
provider's ``usage``. Every failure becomes a :class:`RemoteError` with one clear sentence, or,
when part of the answer already arrived, a :class:`Completion` whose ``finish_reason`` is
``"cut"`` (the partial reply is kept, the reason goes to ``on_notice``).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from fireside.core.inference.types import CancelToken, Completion, SamplingParams, Stats
from fireside.core.remote.errors import RemoteError, redact, status_error
from fireside.core.remote.providers import Provider

log = logging.getLogger("fireside.remote")
CONNECT_TIMEOUT_S = 5.0  # an unreachable host or a DNS failure is reported within this
READ_TIMEOUT_S = 60.0  # the longest silence accepted between two pieces of an answer
LIST_TIMEOUT_S = 10.0
MAX_AUTO_WAIT_S = 5.0  # a 429 asking for at most this long is waited out once, and said so
Notice = Callable[[str], None]


@dataclass
class RemoteModel:
    """One model a provider offers (from ``GET /models``)."""

    provider: str
    id: str
    context_length: int | None = None  # vLLM's max_model_len, OpenRouter's context_length…
    owned_by: str = ""

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.id}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ref": self.ref}


def parse_models(provider: str, body: Any) -> list[RemoteModel]:
    """The ``data`` list of an OpenAI ``/models`` answer, in the dialects seen in the wild."""
    items = body.get("data") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise RemoteError(f"{provider} sent a model list Fireside cannot read (no 'data' list)")
    out: list[RemoteModel] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        length = None
        for key in ("max_model_len", "context_length", "context_window", "max_context_length"):
            value = item.get(key)
            if isinstance(value, int) and value > 0:
                length = value
                break
        out.append(RemoteModel(provider, item["id"], length, str(item.get("owned_by") or "")))
    return out


def request_body(model_id: str, messages: list[dict[str, Any]], params: SamplingParams,
                 stream: bool = True) -> dict[str, Any]:
    """OpenAI's standard fields only: providers reject llama.cpp's extras (top_k, min_p…)."""
    from fireside.core.inference.media import as_openai

    body: dict[str, Any] = {"model": model_id, "messages": as_openai(messages), "stream": stream,
                            "temperature": params.temperature, "top_p": params.top_p}
    if stream:
        body["stream_options"] = {"include_usage": True}
    if params.max_tokens:
        body["max_tokens"] = params.max_tokens
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stop:
        body["stop"] = list(params.stop)
    if params.presence_penalty:
        body["presence_penalty"] = params.presence_penalty
    if params.frequency_penalty:
        body["frequency_penalty"] = params.frequency_penalty
    return body


def sse_payloads(lines: Iterator[str]) -> Iterator[str]:
    """The ``data:`` payloads of an SSE stream (comments, ``event:`` and ``id:`` skipped)."""
    for line in lines:
        if line.startswith("data:"):
            yield line[5:].strip()


class _Cut(Exception):
    """The stream ended early; the reason is a sentence."""


class RemoteClient:
    """One provider, its key and its timeouts."""

    def __init__(self, provider: Provider, api_key: str = "", *,
                 connect_timeout: float = CONNECT_TIMEOUT_S,
                 read_timeout: float = READ_TIMEOUT_S) -> None:
        self.provider = provider
        self._key = api_key
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    # -- shared pieces -------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        headers = dict(self.provider.headers)
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def url(self, path: str) -> str:
        return f"{self.provider.base_url.rstrip('/')}/{path.lstrip('/')}"

    def timeout(self, read: float | None = None) -> httpx.Timeout:
        return httpx.Timeout(read or self.read_timeout, connect=self.connect_timeout)

    def secrets(self) -> tuple[str, ...]:
        return (self._key, *self.provider.headers.values())

    def transport_error(self, exc: Exception, doing: str) -> RemoteError:
        """A failure below HTTP (DNS, refused, timeout, TLS) as one line without secrets."""
        name = self.provider.name
        if isinstance(exc, httpx.ConnectTimeout):
            text = f"could not reach {name} at {self.provider.base_url} within " \
                   f"{self.connect_timeout:g} s"
        elif isinstance(exc, httpx.ConnectError):
            reason = str(exc) or type(exc).__name__
            if "Name or service not known" in reason or "nodename nor servname" in reason \
                    or "getaddrinfo" in reason or "Temporary failure in name resolution" in reason:
                reason = "the host name does not resolve (DNS)"
            text = f"could not reach {name} at {self.provider.base_url}: {reason}"
        elif isinstance(exc, httpx.ReadTimeout):
            text = f"{name} sent nothing for {self.read_timeout:g} s while {doing}; gave up"
        else:
            text = f"{name} failed while {doing}: {str(exc) or type(exc).__name__}"
        return RemoteError(redact(text, *self.secrets()))

    # -- models --------------------------------------------------------------------------
    def list_models(self) -> list[RemoteModel]:
        """Every model the provider offers that the provider's filter lets through."""
        name = self.provider.name
        try:
            with httpx.Client(timeout=self.timeout(LIST_TIMEOUT_S)) as http:
                resp = http.get(self.url("models"), headers=self.headers())
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, "listing its models") from None
        if resp.status_code >= 400:
            raise status_error(name, resp.status_code, resp.content,
                               resp.headers.get("retry-after"), secrets=self.secrets())
        try:
            body = resp.json()
        except ValueError:
            raise RemoteError(f"{name} sent a model list that is not JSON "
                              f"({resp.headers.get('content-type', 'no content type')})") from None
        return [m for m in parse_models(name, body) if self.provider.wants(m.id)]

    # -- chat ----------------------------------------------------------------------------
    def chat(self, model_id: str, messages: list[dict[str, Any]], params: SamplingParams, *,
             on_text: Callable[[str], None], cancel: CancelToken | None = None,
             on_notice: Notice | None = None,
             on_socket: Callable[[socket.socket | None], None] | None = None) -> Completion:
        """Stream one answer; ``on_text`` gets each piece. Blocks until it ends.

        ``on_socket`` receives the connection's socket while a response is read, so a stop
        from another thread can shut it and wake a read that waits on a silent provider.
        """
        notice = on_notice or (lambda _text: None)
        body = request_body(model_id, messages, params)
        ref = f"{self.provider.name}:{model_id}"
        for attempt in range(2):
            try:  # timed from the request that answers (a 429's wait is said, not counted)
                return self._stream(model_id, body, time.perf_counter(), on_text, cancel,
                                    notice, on_socket)
            except RemoteError as exc:
                wait = exc.retry_after
                if exc.status != 429 or attempt or wait is None or wait > MAX_AUTO_WAIT_S:
                    raise
                notice(f"{self.provider.name} is rate-limiting requests (429); retrying "
                       f"{ref} in {wait:g} s as it asks")
                if _sleep(wait, cancel):
                    return Completion("", "cancelled", Stats(), model=ref)
        raise AssertionError("unreachable")

    def _stream(self, model_id: str, body: dict[str, Any], started: float,
                on_text: Callable[[str], None], cancel: CancelToken | None, notice: Notice,
                on_socket: Callable[[socket.socket | None], None] | None) -> Completion:
        name = self.provider.name
        ref = f"{name}:{model_id}"
        parts: list[str] = []
        state: dict[str, Any] = {"first": 0.0, "finish": "", "usage": None, "pieces": 0}
        try:
            with httpx.Client(timeout=self.timeout()) as http, \
                    http.stream("POST", self.url("chat/completions"), json=body,
                                headers=self.headers()) as resp:
                if resp.status_code >= 400:
                    raise status_error(name, resp.status_code, resp.read(),
                                       resp.headers.get("retry-after"), model_id,
                                       self.secrets())
                if on_socket is not None:
                    stream = resp.extensions.get("network_stream")
                    on_socket(stream.get_extra_info("socket") if stream is not None else None)
                try:
                    self._read(resp, parts, state, on_text, cancel)
                finally:
                    if on_socket is not None:
                        on_socket(None)
        except _Cut as cut:
            return self._cut(ref, parts, state, started, str(cut), notice, cancel)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            why = f"the connection to {name} closed mid-reply ({type(exc).__name__})"
            return self._cut(ref, parts, state, started, why, notice, cancel)
        except httpx.ReadTimeout as exc:
            if not parts:
                raise self.transport_error(exc, "answering") from None
            why = f"{name} sent nothing for {self.read_timeout:g} s"
            return self._cut(ref, parts, state, started, why, notice, cancel)
        except httpx.HTTPError as exc:
            if cancel is not None and cancel.cancelled:
                return self._cut(ref, parts, state, started, "", notice, cancel)
            raise self.transport_error(exc, "answering") from None
        return Completion("".join(parts), state["finish"] or "stop",
                          self._stats(state, started), model=ref)

    def _read(self, resp: httpx.Response, parts: list[str], state: dict[str, Any],
              on_text: Callable[[str], None], cancel: CancelToken | None) -> None:
        name = self.provider.name
        done = False
        for payload in sse_payloads(resp.iter_lines()):
            if cancel is not None and cancel.cancelled:
                raise _Cut("")
            if payload == "[DONE]":
                done = True
                break
            try:
                chunk = json.loads(payload)
            except ValueError:
                raise RemoteError(f"{name} sent a malformed stream chunk (not JSON): "
                                  f"{redact(payload[:80], *self.secrets())!r}") from None
            if not isinstance(chunk, dict):
                raise RemoteError(f"{name} sent a malformed stream chunk (not an object)")
            if "error" in chunk:
                err = status_error(name, int(chunk.get("status") or 502), json.dumps(chunk),
                                   secrets=self.secrets())
                if parts:
                    raise _Cut(str(err))
                raise err
            if isinstance(chunk.get("usage"), dict):
                state["usage"] = chunk["usage"]
            for choice in chunk.get("choices") or []:
                if not isinstance(choice, dict):
                    raise RemoteError(f"{name} sent a malformed stream chunk (bad choices)")
                delta = choice.get("delta") or {}
                text = delta.get("content") if isinstance(delta, dict) else None
                if isinstance(text, str) and text:
                    if not state["first"]:
                        state["first"] = time.perf_counter()
                    state["pieces"] += 1
                    parts.append(text)
                    on_text(text)
                if choice.get("finish_reason"):
                    state["finish"] = str(choice["finish_reason"])
        if cancel is not None and cancel.cancelled:
            raise _Cut("")
        if not done and not state["finish"]:
            raise _Cut(f"the stream from {name} ended before the reply was complete")

    def _cut(self, ref: str, parts: list[str], state: dict[str, Any], started: float,
             why: str, notice: Notice, cancel: CancelToken | None) -> Completion:
        stats = self._stats(state, started)
        if cancel is not None and cancel.cancelled:
            return Completion("".join(parts), "cancelled", stats, model=ref)
        if not parts:
            raise RemoteError(redact(why, *self.secrets()) + " (nothing was written)")
        log.warning("%s: reply cut: %s", ref, why)
        notice(f"{why}; the partial reply is kept, marked as cut")
        return Completion("".join(parts), "cut", stats, model=ref)

    @staticmethod
    def _stats(state: dict[str, Any], started: float) -> Stats:
        end = time.perf_counter()
        first = state["first"] or end
        usage = state["usage"] or {}
        completion = int(usage.get("completion_tokens") or state["pieces"])
        decode_s = end - first
        return Stats(ttft_s=first - started,
                     decode_tokens_per_s=(completion - 1) / decode_s
                     if completion > 1 and decode_s > 0 else 0.0,
                     prompt_tokens=int(usage.get("prompt_tokens") or 0),
                     completion_tokens=completion, total_s=end - started)


def _sleep(seconds: float, cancel: CancelToken | None) -> bool:
    """Wait ``seconds``; True if stopped meanwhile."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cancel is not None and cancel.cancelled:
            return True
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))
    return bool(cancel is not None and cancel.cancelled)


class ShutOnCancel(CancelToken):
    """A stop flag that also shuts the live connection, waking a read blocked on silence."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
        if sock is not None and self.cancelled:
            self._shut()

    def cancel(self) -> None:
        super().cancel()
        self._shut()

    def _shut(self) -> None:
        with self._lock:
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
