"""Fixtures for Hub tests: one local hub server per session, faults reset per test.

``HF_ENDPOINT`` is set here at import time — before anything imports huggingface_hub, whose
constants read it once — to a port chosen now and bound by the session server.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HUB_PORT = _free_port()
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{HUB_PORT}"
os.environ.pop("HF_TOKEN", None)
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

from hub_server import Faults, HubRepo, HubServer, demo_repos  # noqa: E402

from fireside.core.hub.common import HubConfig  # noqa: E402


@pytest.fixture(scope="session")
def hub_repos(tmp_path_factory: pytest.TempPathFactory, starter_file: Path) -> list[HubRepo]:
    return demo_repos(tmp_path_factory.mktemp("hub-files"), starter_file)


@pytest.fixture(scope="session")
def _hub_session(hub_repos: list[HubRepo]) -> Iterator[HubServer]:
    server = HubServer(hub_repos, port=HUB_PORT, max_page=3).start()
    yield server
    server.stop()


@pytest.fixture
def hub(_hub_session: HubServer, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    """The running hub server with no faults and an empty request log."""
    _hub_session.faults = Faults()
    _hub_session.cdn_host = None
    _hub_session.granted_tokens = {"hf_granted_test_token"}
    with _hub_session.lock:
        _hub_session.requests.clear()
    monkeypatch.setenv("HF_ENDPOINT", _hub_session.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return _hub_session


@pytest.fixture
def config(hub: HubServer) -> HubConfig:


    return HubConfig(endpoint=hub.url, token=None)
