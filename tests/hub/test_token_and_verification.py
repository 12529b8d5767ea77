"""The Hub token goes to https URLs of the configured endpoint only (http only where the
endpoint itself is http), never across a redirect to another scheme or host; and `fireside
pull` says "sha256 verified" only when a sha256 was checked.

Reproduced first: with an https endpoint, the byte GET to an http URL on the same host carried
``Authorization: Bearer hf_...`` in clear (seen here through the hub stand-in acting as the
HTTP proxy), and a pull of a file the Hub gave no sha256 for printed "sha256 verified".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hub_server import HubServer

from fireside.core.context import AppContext
from fireside.core.errors import DownloadError
from fireside.core.hub import transfer
from fireside.core.hub.common import HubConfig
from fireside.core.hub.download import Fetcher, FilePlan, download_verified
from fireside.core.models.starter import sha256_of

MIT = "fireside-test/Tiny-MIT-GGUF"
MIT_FILE = "tiny-mit-gguf.Q4_K_M.gguf"
TOKEN = "hf_secret_token_value"


def test_token_only_for_the_endpoints_own_scheme_and_host() -> None:
    https = HubConfig("https://hub.example", TOKEN)
    assert https.auth_for("https://hub.example/a/resolve/main/f.gguf")
    assert https.auth_for("http://hub.example/a/resolve/main/f.gguf") == {}
    assert https.auth_for("https://cdn.example/f.gguf") == {}
    assert https.auth_for("https://hub.example:8443/f.gguf") == {}
    plain = HubConfig("http://127.0.0.1:8765", TOKEN)  # a local mirror configured as http
    assert plain.auth_for("http://127.0.0.1:8765/a/resolve/main/f.gguf")
    assert plain.auth_for("https://127.0.0.1:8765/f.gguf") == {}


def test_no_token_in_clear_to_http_on_an_https_hub(hub: HubServer, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The Hub is https://hub.test; a URL for its bytes says http://hub.test. The hub
    stand-in, as the HTTP proxy, sees what would have crossed the wire in clear."""
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", hub.url)
    served = hub.repos[MIT].file(MIT_FILE)
    assert served is not None
    plan = FilePlan(MIT, MIT_FILE, f"http://hub.test/{MIT}/resolve/main/{MIT_FILE}",
                    served.size, served.sha256, served.sha256, hub.repos[MIT].sha)
    got = Fetcher(HubConfig("https://hub.test", TOKEN)).fetch(plan, tmp_path / "f.part",
                                                              lambda _n: None)
    assert got == served.sha256
    gets = hub.file_gets(MIT_FILE)
    assert [(g.host, g.authorized) for g in gets] == [("hub.test", False)]


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/x.gguf", "file:///etc/passwd"])
def test_redirect_to_another_scheme_is_refused(hub: HubServer, app_ctx: AppContext,
                                               target: str) -> None:
    hub.faults.redirect_to = target
    config = HubConfig(hub.url, TOKEN)
    with pytest.raises(DownloadError, match="refusing a redirect from http:// to"):
        download_verified(config, app_ctx.library, app_ctx.paths.downloads, MIT, [MIT_FILE])
    assert len(hub.file_gets(MIT_FILE)) == 1  # refused at once, not retried
    assert app_ctx.library.list() == []


def test_https_to_http_redirect_is_refused() -> None:
    with pytest.raises(DownloadError, match="never drop from https to http"):
        transfer.follow("https://hub.example/a/f.gguf", "http://hub.example/b/f.gguf")
    assert transfer.follow("http://h/a/f.gguf", "/cdn/f.gguf") == "http://h/cdn/f.gguf"
    assert transfer.follow("https://h/a", "https://cdn/b") == "https://cdn/b"


def test_redirect_to_another_host_drops_the_token(hub: HubServer, app_ctx: AppContext) -> None:
    hub.faults.redirect_to = f"http://localhost:{hub.port}/_cdn/{MIT}/{MIT_FILE}"
    config = HubConfig(hub.url, TOKEN)
    model, verified = download_verified(config, app_ctx.library, app_ctx.paths.downloads,
                                        MIT, [MIT_FILE])
    assert verified.sha256_verified
    gets = hub.file_gets(MIT_FILE)
    assert [(g.host.split(":")[0], g.authorized) for g in gets] == [
        ("127.0.0.1", True), ("localhost", False)]
    assert sha256_of(model.path) == hub.repos[MIT].file(MIT_FILE).sha256  # type: ignore[union-attr]


def _pull(hub: HubServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HF_ENDPOINT=hub.url, FIRESIDE_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "fireside", "pull", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_pull_says_sha256_verified_only_when_it_was(hub: HubServer, fireside_home: Path) -> None:
    hub.faults.no_sha256 = {f"{MIT}/{MIT_FILE}"}
    r = _pull(hub, fireside_home, MIT)
    assert r.returncode == 0, r.stderr
    assert "sha256 verified" not in r.stderr
    served = hub.repos[MIT].file(MIT_FILE)
    assert served is not None
    assert (f"size checked ({served.size:,} bytes); not sha256-verified: the source gave no "
            "sha256") in r.stderr
    hub.faults.no_sha256 = set()
    r = _pull(hub, fireside_home, "fireside-test/Tiny-CC-BY-GGUF", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["verification"]["sha256_verified"] is True
    assert data["verification"]["summary"] == "sha256 verified"


def test_header_reads_follow_the_same_redirect_rule(hub: HubServer) -> None:
    """Discover's Range reads (httpx) drop the token off the Hub's host, refuse ftp://."""
    from fireside.core.hub.remote_header import fetch_remote_meta

    url = f"{hub.url}/{MIT}/resolve/main/{MIT_FILE}"
    config = HubConfig(hub.url, TOKEN)
    hub.faults.redirect_to = f"http://localhost:{hub.port}/_cdn/{MIT}/{MIT_FILE}"
    assert fetch_remote_meta(config, url).architecture == "llama"
    gets = hub.file_gets(MIT_FILE)
    assert [(g.host.split(":")[0], g.authorized) for g in gets[:2]] == [
        ("127.0.0.1", True), ("localhost", False)]
    hub.faults.redirect_to = "ftp://127.0.0.1/x.gguf"
    with pytest.raises(DownloadError, match="refusing a redirect from http:// to ftp://"):
        fetch_remote_meta(config, url)
