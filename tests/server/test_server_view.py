"""The window's server panel starts and stops a real server and logs its requests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytestqt.qtbot import QtBot

from fireside.core import context
from fireside.core.server import snippets
from fireside.gui.bridge import Bridge
from fireside.gui.lifetime import dispose
from fireside.gui.views.server import LOG_COLUMNS, ServerView

# the offscreen platform's complaint about window size hints, not ours
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def view(qtbot: QtBot, app_ctx: context.AppContext, starter_file: Path) -> Iterator[ServerView]:
    app_ctx.engine.load(starter_file, name="starter-under-test")
    bridge = Bridge(app_ctx)
    widget = ServerView(bridge)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    bridge.shutdown()
    dispose(widget, bridge)  # deleted on the GUI thread before the next test
    app_ctx.engine.unload()


def test_toggle_starts_and_stops_the_server_and_logs_requests(view: ServerView,
                                                               qtbot: QtBot) -> None:
    assert view.toggle.accessibleName() == "Local server"
    assert view.port.accessibleName() == "Port"
    port = _free_port()
    view.port.setValue(port)
    view.toggle.click()
    qtbot.waitUntil(lambda: view.running and "Running" in view.status.text(), timeout=20_000)
    base = f"http://127.0.0.1:{port}"
    assert view.url.text() == base + "/v1"
    assert "starter-under-test" in view.curl.toPlainText()
    resp = httpx.post(base + "/v1/chat/completions", timeout=60, json={
        "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3})
    assert resp.status_code == 200
    qtbot.waitUntil(lambda: view.table.rowCount() >= 1, timeout=10_000)
    row = {LOG_COLUMNS[c]: view.table.item(0, c).text() for c in range(len(LOG_COLUMNS))}
    assert row["Method"] == "POST" and row["Path"] == "/v1/chat/completions"
    assert row["Model"] == "starter-under-test" and row["Status"] == "200"
    assert int(row["Tokens"]) > 3
    assert row["Queued"].endswith(" ms")  # how long it waited for the engine
    assert "only you can read" in view.key_where.text()  # tests keep secrets in the 0600 file
    assert not view.port.isEnabled()  # settings are fixed while it runs
    view.toggle.click()
    qtbot.waitUntil(lambda: not view.running and view.status.text() == "Stopped",
                    timeout=20_000)
    with pytest.raises(httpx.HTTPError):
        httpx.get(base + "/health", timeout=2)
    assert view.port.isEnabled() and not view.toggle.isChecked()


def test_lan_without_key_is_refused_in_the_panel(view: ServerView) -> None:
    view.bind.setCurrentIndex(1)
    view.api_key.setText("")
    view.toggle.click()
    assert not view.toggle.isChecked() and not view.running
    assert "API key" in view.status.text()


def test_snippets_carry_the_key() -> None:
    assert 'Bearer k1' in snippets.curl("http://127.0.0.1:8080/v1", "m", "k1")
    assert 'api_key="k1"' in snippets.python("http://127.0.0.1:8080/v1", "m", "k1")
