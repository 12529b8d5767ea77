"""Settings → Providers and the chat pane with a remote model, in the real window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QWidget
from pytestqt.qtbot import QtBot
from remote_provider import GRANTED_KEY, Provider

from fireside.core import context
from fireside.gui import theme
from fireside.gui.lifetime import dispose
from fireside.gui.main_window import MainWindow

REF = "groq:llama-3.1-8b-instant"


@pytest.fixture
def win(qtbot: QtBot, qapp: object, installed_starter: Path, standin: Provider,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    from fireside.gui.app import create_window

    monkeypatch.setenv("FIRESIDE_PRESET_URL_GROQ", standin.base_url)
    theme.apply(qapp)  # type: ignore[arg-type]
    window = create_window(context.build())
    qtbot.addWidget(window)
    window.show()
    yield window
    engine = window.bridge.ctx.engine
    if shiboken6.isValid(window):
        window.close()
    dispose(window)
    engine.unload()


def _add_groq(qtbot: QtBot, win: MainWindow, key: str) -> None:
    panel = win.providers
    panel.preset.setCurrentIndex(panel.preset.findData("groq"))
    assert panel.name.text() == "groq" and panel.base_url.text().startswith("http://127.0.0.1")
    assert panel.api_key.echoMode() == QLineEdit.EchoMode.Password
    panel.api_key.setText(key)
    qtbot.mouseClick(panel.add_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "groq" in panel.rows, timeout=10_000)
    qtbot.waitUntil(lambda: panel.status.text().startswith(("✓", "✗")), timeout=10_000)


def test_providers_page_add_test_refresh_toggle_remove(qtbot: QtBot, win: MainWindow,
                                                       standin: Provider) -> None:
    panel = win.providers
    _add_groq(qtbot, win, "sk-wrong-key-1234")
    assert panel.status.text() == "✗ groq refused the key (401): Invalid API Key"
    assert panel.api_key.text() == ""  # not left on screen
    qtbot.mouseClick(panel.rows["groq"].remove_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "groq" not in panel.rows, timeout=10_000)
    _add_groq(qtbot, win, GRANTED_KEY)
    assert panel.status.text().startswith("✓ groq answered in") and "3 models" in \
        panel.status.text()
    row = panel.rows["groq"]
    qtbot.mouseClick(row.refresh_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "offers 3 models" in panel.status.text(), timeout=10_000)
    picker = win.chat.settings.model
    qtbot.waitUntil(lambda: picker.findData(REF) >= 0, timeout=10_000)
    tip = picker.itemData(picker.findData(REF), Qt.ItemDataRole.ToolTipRole)
    assert tip == "runs on groq — your messages leave this computer"
    labels = [picker.itemText(i) for i in range(picker.count())]
    assert labels.index("On this computer") < labels.index(
        "Remote: your messages leave this computer") < picker.findData(REF)
    row.enabled.setChecked(False)
    qtbot.waitUntil(lambda: picker.findData(REF) < 0, timeout=10_000)
    interactive = (QAbstractButton, QLineEdit, QComboBox)
    for widget in panel.findChildren(QWidget):
        if isinstance(widget, interactive) and widget.isVisibleTo(panel):
            assert widget.accessibleName() and widget.objectName(), widget


def test_chat_with_a_remote_model_streams_stops_and_saves(qtbot: QtBot, win: MainWindow,
                                                          standin: Provider) -> None:
    _add_groq(qtbot, win, GRANTED_KEY)
    chat = win.chat
    qtbot.waitUntil(lambda: chat.settings.model.findData(REF) >= 0, timeout=10_000)
    chat.choose_model(REF)
    assert "your messages leave this computer" in chat.settings.model_status.text()
    loaded_before = win.bridge.ctx.engine.loaded
    box = chat.composer.input
    qtbot.keyClicks(box, "The sky is")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: chat.reply is None and len(chat.messages) == 2, timeout=20_000)
    reply = chat.messages[-1]
    assert reply.content == "The sky is blue because of Rayleigh scattering."
    assert reply.stats["completion_tokens"] == 9 and reply.stats["ttft_s"] > 0
    assert win.bridge.ctx.engine.loaded is loaded_before  # nothing was loaded for it
    standin.faults.tokens = 300
    standin.faults.token_delay_s = 0.05
    qtbot.keyClicks(box, "Go on")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: chat.reply is not None and len(chat.reply.text) > 10,
                    timeout=20_000)
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: chat.reply is None, timeout=5_000)
    assert chat.messages[-1].finish_reason == "cancelled"
    assert standin.client_gone.wait(5)
