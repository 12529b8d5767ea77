"""The server panel: a port another program holds is found before Start (and the next free
one offered), a switch with a coloured state, errors in the error colour, and snippets that
name a real model.

Seen before: 8080 taken showed as small grey text after Start failed; Start and Stop were the
same orange button; "Running" was grey; the snippet said "MODEL-NAME" until a model loaded.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractButton
from pytestqt.qtbot import QtBot

from fireside.core import context
from fireside.gui import theme
from fireside.gui.bridge import Bridge
from fireside.gui.lifetime import dispose
from fireside.gui.views import server as server_view
from fireside.gui.views.server import PLACEHOLDER_MODEL, ServerView
from fireside.gui.views.server_state import state_color

from .test_reachable import by_name

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
WAIT = 20_000


@pytest.fixture
def held() -> Iterator[int]:
    """A port another program listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield int(sock.getsockname()[1])
    sock.close()


@pytest.fixture
def make_view(qtbot: QtBot, app_ctx: context.AppContext, qapp: object) -> Iterator[object]:
    theme.apply(qapp)  # type: ignore[arg-type]
    made: list[tuple[ServerView, Bridge]] = []

    def build(port: int) -> ServerView:
        app_ctx.settings.update(lambda s: setattr(s.server, "port", port))
        bridge = Bridge(app_ctx)
        view = ServerView(bridge)
        qtbot.addWidget(view)
        view.show()
        made.append((view, bridge))
        return view

    yield build
    for view, bridge in made:
        view.shutdown()
        bridge.shutdown()
        dispose(view, bridge)
    app_ctx.engine.unload()


def _color(state: str) -> str:
    return state_color(state)


def test_a_chosen_port_that_is_taken_gets_the_next_free_one_offered(
        make_view: object, held: int, qtbot: QtBot) -> None:
    view: ServerView = make_view(held)  # type: ignore[operator]
    offer = by_name(view, QAbstractButton, "Use the free port")
    qtbot.waitUntil(offer.isVisible, timeout=WAIT)
    assert view.state == "error" and f"Port {held} is in use" in view.status.text()
    assert _color("error") in view.status.styleSheet()
    free = int(offer.text().rsplit(" ", 1)[1])
    assert free > held
    offer.click()
    assert view.port.value() == free and view.state == "stopped"
    view.toggle.click()
    qtbot.waitUntil(lambda: view.running and view.state == "running", timeout=WAIT)
    assert f":{free}/v1" in view.status.text()
    assert _color("running") in view.status.styleSheet()  # green, not grey
    assert view.toggle.text() == "On"
    view.toggle.click()
    qtbot.waitUntil(lambda: not view.running and view.state == "stopped", timeout=WAIT)
    assert _color("stopped") in view.status.styleSheet() and view.toggle.text() == "Off"


def test_the_untouched_default_moves_to_a_free_port_by_itself(
        make_view: object, held: int, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_view, "DEFAULT_PORT", held)  # as if 8080 were the held one
    view: ServerView = make_view(held)  # type: ignore[operator]
    qtbot.waitUntil(lambda: view.port.value() != held, timeout=WAIT)
    assert view.state == "warning" and f"will use {view.port.value()}" in view.status.text()


def test_a_port_taken_after_the_check_fails_start_in_the_error_colour(
        make_view: object, qtbot: QtBot) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    view: ServerView = make_view(port)  # type: ignore[operator]
    qtbot.wait(300)  # the check found it free
    with socket.socket() as sock:  # then another program took it
        sock.bind(("127.0.0.1", port))
        sock.listen(1)
        view.toggle.click()
        qtbot.waitUntil(lambda: view.state == "error", timeout=WAIT)
        assert "Could not start" in view.status.text() and not view.toggle.isChecked()
        assert _color("error") in view.status.styleSheet()
        qtbot.waitUntil(view.state_line.offer.isVisible, timeout=WAIT)


def test_the_snippet_names_a_real_model(make_view: object, installed_starter: Path,
                                        qtbot: QtBot) -> None:
    view: ServerView = make_view(8080)  # type: ignore[operator]
    name = context.build().library.list()[0].name
    qtbot.waitUntil(lambda: name in view.curl.toPlainText(), timeout=WAIT)  # none loaded yet
    assert PLACEHOLDER_MODEL not in view.python.toPlainText()
    view.bridge.ctx.engine.load(installed_starter, name="renamed-for-the-api")
    qtbot.waitUntil(lambda: "renamed-for-the-api" in view.curl.toPlainText(), timeout=WAIT)


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_status_colours_are_distinct_and_readable_in_both_themes() -> None:
    from fireside.gui.status_colors import STATUS_COLORS

    for index, colors in ((0, theme.LIGHT), (1, theme.DARK)):
        used = [pair[index] for pair in STATUS_COLORS.values()] + [colors.muted]
        assert len(set(used)) == len(used)  # running, error, warning, stopped all differ
        for color in used:
            light, dark = sorted((_luminance(color), _luminance(colors.window)), reverse=True)
            ratio = (light + 0.05) / (dark + 0.05)
            assert ratio >= 4.5, f"{color} on {colors.window}: {ratio:.2f}:1"
