"""Loopback by default, a key for the LAN, Host checks against DNS rebinding, CORS allow-list."""

from __future__ import annotations

import httpx
import pytest

from fireside.core.inference.engine import Engine
from fireside.core.server.runner import ServerRunner
from fireside.core.server.security import BindRefusedError, host_name, is_loopback
from fireside.core.settings import ServerSettings

from .conftest import MakeServer


def test_default_bind_is_loopback(server: ServerRunner) -> None:
    assert ServerSettings().host == "127.0.0.1"
    assert server.base_url.startswith("http://127.0.0.1:")


def test_lan_bind_without_key_is_refused(engine: Engine) -> None:
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        runner = ServerRunner(engine, ServerSettings(host=host, port=0))
        with pytest.raises(BindRefusedError, match="API key"):
            runner.start()
        assert not runner.running


def test_lan_bind_with_key_starts(make_server: MakeServer) -> None:
    server = make_server(host="0.0.0.0", api_key="k" * 20)
    resp = httpx.get(f"http://127.0.0.1:{server.port}/v1/models",
                     headers={"authorization": "Bearer " + "k" * 20})
    assert resp.status_code == 200


def test_foreign_host_header_is_refused(server: ServerRunner) -> None:
    url = server.base_url + "/models"
    for host in ("evil.example", "evil.example:8080", "127.0.0.1.nip.io"):
        resp = httpx.get(url, headers={"host": host})
        assert resp.status_code == 403, host
        assert resp.json()["error"]["code"] == "host_not_allowed"
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "[::1]"):
        assert httpx.get(url, headers={"host": host}).status_code == 200, host


def test_allowed_hosts_extend_the_list(make_server: MakeServer) -> None:
    server = make_server(allowed_hosts=["fireside.lan"])
    url = server.base_url + "/models"
    assert httpx.get(url, headers={"host": "fireside.lan:8080"}).status_code == 200
    assert httpx.get(url, headers={"host": "other.lan"}).status_code == 403


def test_cors_off_by_default_and_allow_listed(make_server: MakeServer) -> None:
    plain = make_server()
    resp = httpx.get(plain.base_url + "/models", headers={"origin": "https://site.example"})
    assert resp.status_code == 403 and "access-control-allow-origin" not in resp.headers
    local = httpx.get(plain.base_url + "/models", headers={"origin": "http://localhost:3000"})
    assert local.status_code == 200 and "access-control-allow-origin" not in local.headers
    listed = make_server(cors_origins=["https://app.example"])
    ok = httpx.options(listed.base_url + "/chat/completions", headers={
        "origin": "https://app.example", "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.get(listed.base_url + "/models", headers={"origin": "https://evil.example"})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers


def test_host_parsing() -> None:
    assert host_name("Example.com:80") == "example.com"
    assert host_name("[::1]:8080") == "::1"
    assert is_loopback("127.0.0.5") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")
