"""A local stand-in for GitHub's releases API, its objects host and a plain file server.

Speaks what Fireside uses of the real protocol: ``GET /repos/{o}/{r}/releases/latest`` and
``/releases/tags/{tag}`` (assets with ``name``, ``size``, ``digest: "sha256:…"`` and
``browser_download_url``), ``GET /repos/{o}/{r}/license`` (``license.spdx_id``), and asset
downloads that answer 302 to a second server on another port (GitHub's objects host), which
serves byte ranges with 206. A third server serves plain files and ignores Range (always 200),
as some static hosts do. Tests point ``FIRESIDE_GITHUB_API`` at :attr:`GitHubStandIn.api` and
read :attr:`requests` to see which host got which header (a token must never reach objects).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Asset:
    name: str
    data: bytes
    digest: str | None = None  # None: the real sha256; "": no digest field (older assets)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Seen:
    server: str  # "api" | "objects" | "plain"
    path: str
    range: str
    authorization: str


@dataclass
class StandInState:
    releases: dict[str, list[tuple[str, list[Asset]]]] = field(default_factory=dict)
    licenses: dict[str, str] = field(default_factory=dict)  # "o/r" -> spdx id
    plain: dict[str, bytes] = field(default_factory=dict)  # path -> bytes (both file hosts)
    throttle_bps: int = 0
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    blobs: dict[str, bytes] = field(default_factory=dict)


class _Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_name_ = "api"
    st: StandInState

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _seen(self) -> None:
        with self.st.lock:
            self.st.requests.append(Seen(self.server_name_, self.path,
                                         self.headers.get("Range", ""),
                                         self.headers.get("Authorization", "")))

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
              ) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self._write(body)

    def _write(self, body: bytes) -> None:
        step = 64 * 1024
        for i in range(0, len(body), step):
            self.wfile.write(body[i:i + step])
            if self.st.throttle_bps:
                time.sleep(step / self.st.throttle_bps)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()


class _Api(_Base):
    def do_GET(self) -> None:  # noqa: N802
        self._seen()
        parts = [urllib.parse.unquote(p) for p in urllib.parse.urlsplit(self.path).path
                 .split("/")[1:]]
        if len(parts) >= 4 and parts[0] == "repos":
            key = f"{parts[1]}/{parts[2]}"
            if parts[3] == "license":
                spdx = self.st.licenses.get(key)
                if spdx is None:
                    return self._json(404, {"message": "Not Found"})
                return self._json(200, {"name": "LICENSE", "license": {
                    "key": spdx.lower(), "name": spdx, "spdx_id": spdx}})
            if parts[3] == "releases":
                rels = self.st.releases.get(key, [])
                rel = None
                if parts[4:] == ["latest"] and rels:
                    rel = rels[0]
                elif len(parts) == 6 and parts[4] == "tags":
                    rel = next((r for r in rels if r[0] == parts[5]), None)
                if rel is None:
                    return self._json(404, {"message": "Not Found"})
                return self._json(200, self._release(key, *rel))
        if len(parts) == 6 and parts[2:4] == ["releases", "download"]:
            key = f"{parts[0]}/{parts[1]}"
            for tag, assets in self.st.releases.get(key, []):
                for a in assets:
                    if tag == parts[4] and a.name == parts[5]:
                        blob = hashlib.sha1(f"{key}/{tag}/{a.name}".encode()).hexdigest()
                        self.st.blobs[blob] = a.data
                        loc = f"{self.server.objects_url}/blob/{blob}?sig=signed"  # type: ignore[attr-defined]
                        return self._send(302, b"", {"Location": loc})
        return self._json(404, {"message": "Not Found"})

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _release(self, key: str, tag: str, assets: list[Asset]) -> dict[str, Any]:
        base = self.server.api_url  # type: ignore[attr-defined]
        out = []
        for i, a in enumerate(assets):
            item: dict[str, Any] = {
                "id": i + 1, "name": a.name, "size": len(a.data),
                "content_type": "application/octet-stream", "state": "uploaded",
                "browser_download_url": f"{base}/{key}/releases/download/{tag}/"
                                        f"{urllib.parse.quote(a.name, safe='')}"}
            if a.digest != "":
                item["digest"] = f"sha256:{a.sha256 if a.digest is None else a.digest}"
            out.append(item)
        return {"tag_name": tag, "name": tag, "assets": out}


class _Objects(_Base):
    server_name_ = "objects"

    def do_GET(self) -> None:  # noqa: N802
        self._seen()
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        data = (self.st.blobs.get(path.rsplit("/", 1)[-1]) if path.startswith("/blob/")
                else self.st.plain.get(path))  # plain files too, here with Range
        if data is None:
            return self._send(404)
        rng = self.headers.get("Range", "")
        start, end = 0, len(data) - 1
        if rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a or 0)
            end = min(int(b), len(data) - 1) if b else len(data) - 1
            if start >= len(data):
                return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
            return self._send(206, data[start:end + 1], {
                "Content-Range": f"bytes {start}-{end}/{len(data)}", "Accept-Ranges": "bytes"})
        return self._send(200, data, {"Accept-Ranges": "bytes"})


class _Plain(_Base):
    server_name_ = "plain"

    def do_GET(self) -> None:  # noqa: N802
        self._seen()
        data = self.st.plain.get(urllib.parse.unquote(urllib.parse.urlsplit(self.path).path))
        if data is None:
            return self._send(404)
        self._send(200, data)  # Range ignored, as some static hosts do


def _serve(handler: type[_Base], st: StandInState) -> ThreadingHTTPServer:
    cls = type(handler.__name__, (handler,), {"st": st})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), cls)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class GitHubStandIn:
    """Three servers on three ports sharing one :class:`StandInState`."""

    def __init__(self) -> None:
        self.state = StandInState()
        self._objects = _serve(_Objects, self.state)
        self._api = _serve(_Api, self.state)
        self._plain = _serve(_Plain, self.state)
        self.objects = f"http://127.0.0.1:{self._objects.server_address[1]}"
        self.api = f"http://127.0.0.1:{self._api.server_address[1]}"
        self.plain = f"http://127.0.0.1:{self._plain.server_address[1]}"
        self._api.api_url = self.api  # type: ignore[attr-defined]
        self._api.objects_url = self.objects  # type: ignore[attr-defined]

    def release(self, repo: str, tag: str, assets: list[Asset], *, spdx: str | None = None
                ) -> None:
        self.state.releases.setdefault(repo, []).insert(0, (tag, assets))
        if spdx is not None:
            self.state.licenses[repo] = spdx

    @property
    def requests(self) -> list[Seen]:
        with self.state.lock:
            return list(self.state.requests)

    def stop(self) -> None:
        for srv in (self._api, self._objects, self._plain):
            srv.shutdown()
            srv.server_close()



def main(argv: list[str] | None = None) -> int:
    """Run the stand-in as its own process with a demo release (for screenshots, by hand):
    ``python tests/github_server.py DIR`` prints ``READY <api url>``; Ctrl-C stops it."""
    import sys

    from hub_server import write_tiny_gguf

    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0] if args else "/tmp/fireside-github-demo")
    stand_in = GitHubStandIn()
    assets = [Asset(f"tiny-llama-{q}.gguf", write_tiny_gguf(
        root / f"tiny-llama-{q}.gguf", name=f"tiny-llama-{q}", license="apache-2.0",
        file_type=ft, pad_mib=mib).read_bytes()) for q, ft, mib in (
        ("Q4_K_M", 15, 2.0), ("Q8_0", 7, 4.0))]
    stand_in.release("acme-ai/tiny-llama", "v1.2", assets, spdx="Apache-2.0")
    print(f"READY {stand_in.api}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        stand_in.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
