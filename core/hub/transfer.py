"""The byte pipe under a download: one ranged GET, read in large blocks into reused buffers,
written and hashed on a second thread.

Why not httpx for the body: its h11 machinery handles every 64 KiB read as Python events,
which costs more CPU than the bytes themselves on a fast link (receive only, loopback:
~1.1-1.3 GB/s through ``iter_raw`` against 2.2-4 GB/s with ``readinto1`` into a 4 MiB buffer).
Metadata calls (repo info, HEAD for etag/size) still go through huggingface_hub.

Why a second thread: ``write`` and ``sha256.update`` both release the GIL on large buffers,
so hashing overlaps the receive instead of adding to it. A buffer goes back to the pool only
once it is on disk *and* hashed, and ``state.offset`` advances only then, so after any failure
the offset, the digest and the bytes on disk agree and a resume starts from the right byte.
"""

from __future__ import annotations

import base64
import http.client
import queue
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from fireside.core.errors import DownloadError

BLOCK = 4 * 1024 * 1024  # one buffer: large enough that per-block overhead is noise
DEPTH = 4  # buffers in flight: the receiver runs ahead of the disk by at most this many
FLUSH_S = 0.1  # hand over a partly filled block after this long, so slow links show progress
MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)
_TRANSIENT = (429, 500, 502, 503, 504)


class TransportError(Exception):
    """The connection failed, stalled or dropped: worth a retry from the bytes on disk.

    Not an ``OSError`` on purpose, so it is never mistaken for a disk error.
    """


class Digest(Protocol):
    def update(self, data: Any, /) -> None: ...

    def hexdigest(self) -> str: ...


@dataclass
class State:
    """Bytes on disk and their running sha256; advanced only by the sink."""

    offset: int
    digest: Digest


@dataclass
class Response:
    """An open GET whose headers are read and whose body is not."""

    status: int
    headers: http.client.HTTPMessage
    url: str
    conn: http.client.HTTPConnection
    raw: http.client.HTTPResponse

    def header(self, name: str) -> str:
        return self.headers.get(name, "") or ""

    def close(self) -> None:
        self.raw.close()
        self.conn.close()

    def reader(self) -> Callable[[memoryview], int]:
        """``read(buffer) -> n``: at most one socket read, 0 at the end of the body."""
        raw = self.raw
        if raw.chunked or raw.length is None:  # rare for file bytes: let http.client decode

            def read_framed(mv: memoryview) -> int:
                data = _net(raw.read1, len(mv))
                mv[:len(data)] = data
                return len(data)

            return read_framed
        fp, left = raw.fp, [raw.length]

        def read(mv: memoryview) -> int:
            if not left[0]:
                return 0
            n = _net(fp.readinto1, mv[:left[0]]) or 0
            left[0] -= n
            return n

        return read


def _net(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a socket operation, turning any network failure into a TransportError."""
    try:
        return fn(*args)
    except (OSError, http.client.HTTPException) as exc:  # resets, timeouts, bad framing
        raise TransportError(f"{type(exc).__name__}: {exc}") from exc


_TLS: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    """The same CA bundle httpx (and so huggingface_hub) trusts."""
    global _TLS
    if _TLS is None:
        try:
            import certifi

            _TLS = ssl.create_default_context(cafile=certifi.where())
        except ImportError:
            _TLS = ssl.create_default_context()
    return _TLS


def _connect(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
    """A connection for ``url`` honouring ``*_proxy``/``no_proxy`` as httpx does.

    Returns the connection, the request target and extra headers for the proxy.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"unsupported URL scheme in {parts.scheme}://{parts.netloc}")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname):
        if https:
            return (http.client.HTTPSConnection(parts.hostname, port, timeout=timeout,
                                                context=_tls()), target, {})
        return http.client.HTTPConnection(parts.hostname, port, timeout=timeout), target, {}
    p = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    extra: dict[str, str] = {}
    if p.username:
        cred = f"{urllib.parse.unquote(p.username)}:{urllib.parse.unquote(p.password or '')}"
        extra["Proxy-Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
    proxy_host, proxy_port = p.hostname or "", p.port or (443 if p.scheme == "https" else 80)
    if https:  # CONNECT tunnel; TLS is then checked against the real host
        conn = http.client.HTTPSConnection(proxy_host, proxy_port, timeout=timeout,
                                           context=_tls())
        conn.set_tunnel(parts.hostname, port, headers=extra)
        return conn, target, {}
    return http.client.HTTPConnection(proxy_host, proxy_port, timeout=timeout), url, extra


def open_get(url: str, headers_for: Callable[[str], dict[str, str]], *,
             connect_timeout: float = 20.0, stall_timeout: float = 30.0) -> Response:
    """GET ``url``, following redirects; ``headers_for(url)`` is asked again at every hop,
    so a token meant for the Hub is never sent to the host a redirect points at."""
    for _hop in range(MAX_REDIRECTS + 1):
        conn, target, extra = _connect(url, connect_timeout)
        headers = {"User-Agent": "fireside", "Accept-Encoding": "identity", **extra,
                   **headers_for(url)}
        try:
            _net(conn.request, "GET", target, None, headers)
            raw = _net(conn.getresponse)
            if conn.sock is not None:
                conn.sock.settimeout(stall_timeout)  # a stalled read raises, then retries
        except BaseException:
            conn.close()
            raise
        location = raw.getheader("Location")
        if raw.status in _REDIRECTS and location:
            raw.close()
            conn.close()
            url = follow(url, location)
            continue
        if raw.status in _TRANSIENT:
            raw.close()
            conn.close()
            raise TransportError(f"the server answered {raw.status}")
        return Response(raw.status, raw.msg, url, conn, raw)
    raise TransportError(f"more than {MAX_REDIRECTS} redirects")


def follow(url: str, location: str) -> str:
    """The next hop of a redirect, refusing other schemes and https → http downgrades.

    The token is asked for again at each hop (``headers_for``); refusing the downgrade also
    keeps the file's bytes off plain HTTP once the Hub chose TLS.
    """
    nxt = urllib.parse.urljoin(url, location)
    here, there = urllib.parse.urlsplit(url).scheme, urllib.parse.urlsplit(nxt).scheme
    if there not in ("http", "https") or (here == "https" and there == "http"):
        shown = urllib.parse.urlsplit(nxt)
        raise DownloadError(f"refusing a redirect from {here}:// to "
                            f"{shown.scheme}://{shown.netloc}: downloads stay on http(s), "
                            "and never drop from https to http")
    return nxt


class Sink:
    """Writes, then hashes, blocks on two threads of their own; hands emptied buffers back.

    Three stages (receive, write, hash) on three threads: each releases the GIL for the
    bulk of its work, so on two or more cores the slowest stage sets the pace instead of the
    sum of them. Blocks pass through both stages in order; a buffer returns to the pool, and
    ``state.offset`` advances, only once its bytes are on disk *and* in the digest.
    """

    def __init__(self, fh: BinaryIO, state: State, on_bytes: Callable[[int], None], *,
                 block: int = BLOCK, depth: int = DEPTH) -> None:
        self.fh, self.state, self.on_bytes = fh, state, on_bytes
        self.free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(depth):
            self.free.put(bytearray(block))
        self.to_write: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self.to_hash: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self.threads = [threading.Thread(target=self._write, name="download-write", daemon=True),
                        threading.Thread(target=self._hash, name="download-hash", daemon=True)]
        for thread in self.threads:
            thread.start()

    def _write(self) -> None:
        while (item := self.to_write.get()) is not None:
            buf, n = item
            try:
                if self.error is None:
                    self.fh.write(memoryview(buf)[:n])
                    self.to_hash.put(item)
                    continue
            except BaseException as exc:  # noqa: BLE001 - re-raised on the receiving thread
                self.error = exc
            self.free.put(buf)  # not written: skip the hash, keep the offset where it is
        self.to_hash.put(None)

    def _hash(self) -> None:
        while (item := self.to_hash.get()) is not None:
            buf, n = item
            try:
                self.state.digest.update(memoryview(buf)[:n])
                self.state.offset += n
                self.on_bytes(self.state.offset)
            except BaseException as exc:  # noqa: BLE001 - re-raised on the receiving thread
                self.error = exc
            finally:
                self.free.put(buf)

    def take(self) -> bytearray:
        """An empty buffer; waits while the disk is behind (every buffer comes back)."""
        return self.free.get()

    def put(self, buf: bytearray, n: int) -> None:
        if n:
            self.to_write.put((buf, n))
        else:
            self.free.put(buf)
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        """Wait for every block handed over; re-raise a write error."""
        self.to_write.put(None)
        for thread in self.threads:
            thread.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def pump(read: Callable[[memoryview], int], sink: Sink, remaining: int,
         check: Callable[[], None]) -> None:
    """Move ``remaining`` body bytes from ``read`` into ``sink``, ``check()`` between blocks.

    Bytes received before a drop are handed over too, so they are kept for the resume.
    """
    while remaining > 0:
        buf = sink.take()
        view = memoryview(buf)
        want = min(len(buf), remaining)
        filled = 0
        deadline = time.monotonic() + FLUSH_S
        try:
            while filled < want:
                n = read(view[filled:want])
                if n <= 0:
                    raise TransportError("the server ended the file early")
                filled += n
                if time.monotonic() > deadline:
                    break
        finally:
            sink.put(buf, filled)
        remaining -= filled
        check()
