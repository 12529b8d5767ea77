"""A stand-in for a hosted OpenAI-compatible provider (Groq, vLLM, OpenRouter…) on loopback.

It speaks the real protocol over real HTTP/1.1: ``GET /v1/models`` in vLLM's dialect (each model
with ``max_model_len``) and ``POST /v1/chat/completions``, JSON or an SSE stream sent with
chunked transfer encoding (``stream_options.include_usage`` honoured). What a real provider does
on a bad day is switched on per test through :class:`Faults`: refuse the key (401), not know the
model (404 with a message), rate-limit (429 with ``Retry-After``), stall, drop the connection
mid-stream, send malformed chunks. Every request is recorded (path, headers, body) and so is a
client that went away mid-stream, so tests can see what the provider saw.

Fireside is pointed at it with a provider's base URL (``http://127.0.0.1:PORT/v1``), or, for a
preset, ``FIRESIDE_PRESET_URL_<PRESET>``. Run alone::

    python tests/remote_provider.py --port 8790   # prints READY <base url>
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GRANTED_KEY = "sk-standin-0123456789abcdef"
MODELS = {"meta-llama/Llama-3.1-8B-Instruct": 32768, "llama-3.1-8b-instant": 131072,
          "mistral:7b": 8192}
REPLY = ["The", " sky", " is", " blue", " because", " of", " Rayleigh", " scattering", "."]


@dataclass
class Faults:
    require_key: bool = True
    rate_limit_times: int = 0  # answer 429 to this many chat requests first
    retry_after: str = "1"
    stall_after: int = -1  # chunks sent before going silent (-1: never)
    stall_s: float = 30.0
    drop_after: int = -1  # chunks sent before the connection is closed mid-stream
    malformed_after: int = -1  # chunks sent before a chunk that is not JSON
    token_delay_s: float = 0.0
    tokens: int = 0  # reply length in pieces (0: REPLY once)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that left (the point of several tests) is not worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Provider:
    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.requests: list[Seen] = []
        self.client_gone = threading.Event()
        self._server: ThreadingHTTPServer = _Server(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Provider:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _json(self, status: int, data: Any, headers: dict[str, str] | None = None
                      ) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _authorized(self) -> bool:
                if not provider.faults.require_key:
                    return True
                if self.headers.get("authorization") == f"Bearer {GRANTED_KEY}":
                    return True
                self._json(401, {"error": {"message": "Invalid API Key",
                                           "type": "invalid_request_error",
                                           "code": "invalid_api_key"}})
                return False

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                provider.requests.append(Seen(self.path, dict(self.headers), None))
                if self.path.rstrip("/") != "/v1/models":
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if not self._authorized():
                    return
                self._json(200, {"object": "list", "data": [
                    {"id": mid, "object": "model", "created": 1700000000, "owned_by": "vllm",
                     "root": mid, "parent": None, "max_model_len": n,
                     "permission": [{"id": "modelperm-1", "object": "model_permission"}]}
                    for mid, n in MODELS.items()]})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                provider.requests.append(Seen(self.path, dict(self.headers), body))
                if self.path != "/v1/chat/completions" or not isinstance(body, dict):
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if not self._authorized():
                    return
                faults = provider.faults
                if faults.rate_limit_times > 0:
                    faults.rate_limit_times -= 1
                    self._json(429, {"error": {"message": "Rate limit reached for requests",
                                               "type": "requests", "code": "rate_limit_exceeded"}},
                               {"retry-after": faults.retry_after})
                    return
                model = body.get("model")
                if model not in MODELS:
                    self._json(404, {"error": {"message": f"The model `{model}` does not exist "
                                               "or you do not have access to it.",
                                               "type": "invalid_request_error",
                                               "code": "model_not_found"}})
                    return
                pieces = REPLY if not faults.tokens else \
                    [f" w{i}" for i in range(faults.tokens)]
                usage = {"prompt_tokens": 11, "completion_tokens": len(pieces),
                         "total_tokens": 11 + len(pieces)}
                if not body.get("stream"):
                    self._json(200, {"id": "chatcmpl-standin", "object": "chat.completion",
                                     "created": int(time.time()), "model": model,
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant",
                                                              "content": "".join(pieces)}}],
                                     "usage": usage})
                    return
                self._stream(model, pieces, usage, body)

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _event(self, payload: Any) -> None:
                text = payload if isinstance(payload, str) else json.dumps(payload)
                self._chunk(f"data: {text}\n\n".encode())

            def _stream(self, model: str, pieces: list[str], usage: dict[str, int],
                        body: dict[str, Any]) -> None:
                faults = provider.faults
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                base = {"id": "chatcmpl-standin", "object": "chat.completion.chunk",
                        "created": int(time.time()), "model": model}
                try:
                    self._event({**base, "choices": [{"index": 0, "finish_reason": None,
                                                      "delta": {"role": "assistant"}}]})
                    for i, piece in enumerate(pieces):
                        if i == faults.drop_after:
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        if i == faults.stall_after:
                            time.sleep(faults.stall_s)
                        if i == faults.malformed_after:
                            self._event('{"choices": [{"delta": {"content": "oops"')
                        if faults.token_delay_s:
                            time.sleep(faults.token_delay_s)
                        self._event({**base, "choices": [{"index": 0, "finish_reason": None,
                                                          "delta": {"content": piece}}]})
                    self._event({**base, "choices": [{"index": 0, "finish_reason": "stop",
                                                      "delta": {}}]})
                    if (body.get("stream_options") or {}).get("include_usage"):
                        self._event({**base, "choices": [], "usage": usage})
                    self._event("[DONE]")
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    provider.client_gone.set()

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-key", action="store_true")
    parser.add_argument("--tokens", type=int, default=0, help="pieces per reply")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds per piece")
    args = parser.parse_args()
    p = Provider(Faults(require_key=not args.no_key, tokens=args.tokens,
                        token_delay_s=args.token_delay))
    if args.port:
        p._server.server_close()
        p._server = _Server(("127.0.0.1", args.port), p._handler())
        p.base_url = f"http://127.0.0.1:{args.port}/v1"
    print(f"READY {p.base_url}", flush=True)
    p._server.serve_forever()


if __name__ == "__main__":
    main()
