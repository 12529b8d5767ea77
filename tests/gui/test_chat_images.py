"""Images in the chat window: attach (file chooser or drop), send to a vision model, see the
thumbnail in the transcript and again after reopening; a file that is not an image and a model
that cannot read images are each said plainly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.test_vision import BLUE, RED
from hardware.vision import write_vision_pair
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from fireside.core.store import Store
from fireside.gui.main_window import MainWindow


def _pick(qtbot: QtBot, win: MainWindow, name: str) -> None:
    chat = win.chat
    chat.refresh_models()
    qtbot.waitUntil(lambda: chat.settings.model.findData(name) >= 0, timeout=10_000)
    chat.settings.model.activated.emit(chat.settings.model.findData(name))


def _attach(qtbot: QtBot, win: MainWindow, *paths: Path) -> None:
    composer = win.chat.composer
    before = len(composer.attachments.names())
    composer.attach_requested.emit(list(paths))
    qtbot.waitUntil(composer.send.isEnabled, timeout=10_000)
    qtbot.waitUntil(lambda: len(composer.attachments.names()) > before
                    or win.chat.banners.error_bar.isVisible(), timeout=10_000)


def test_an_attached_image_goes_to_a_vision_model_and_stays(
        window: MainWindow, qtbot: QtBot, wait_idle: Any, tmp_path: Path) -> None:
    write_vision_pair(window.bridge.ctx.paths.models / "vision")
    _pick(qtbot, window, "tiny-vision")
    chat, composer = window.chat, window.chat.composer
    red = tmp_path / "red.png"
    red.write_bytes(RED)
    _attach(qtbot, window, red)
    assert composer.attachments.isVisible() and len(composer.attachments.names()) == 1
    # a file dropped on the composer attaches too
    blue = tmp_path / "blue.png"
    blue.write_bytes(BLUE)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(blue))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    composer.dropEvent(drop)  # Qt delivers a drop only inside a real drag session
    qtbot.waitUntil(lambda: len(composer.attachments.names()) == 2, timeout=10_000)
    composer.input.setPlainText("What colours are these?")
    composer.send.click()
    wait_idle(window)
    assert not chat.banners.error_bar.isVisible(), chat.banners.error_label.text()
    user, reply = chat.messages
    assert len(user.images) == 2 and reply.role == "assistant"
    assert reply.stats["prompt_tokens"] > 2 * 16  # both images were read by the model
    assert not composer.attachments.isVisible()  # the chips went with the message
    shown = [w for w in chat.transcript.bubbles()[0].findChildren(QLabel)
             if w.objectName() == "messageImage"]
    assert len(shown) == 2 and all(not w.pixmap().isNull() for w in shown)
    assert chat.flush_store() and chat.conv is not None
    store = Store(window.bridge.ctx.paths.database)
    try:
        kept = store.messages(chat.conv.id)[0].images
        assert [(store.attachments / n).read_bytes() for n in kept] == [RED, BLUE]
    finally:
        store.close()
    # Edit puts the message's images back as chips, so the resent message keeps them
    chat.transcript.bubbles()[0].edit_requested.emit(0)
    assert len(composer.attachments.names()) == 2
    composer.clear()
    assert composer.editing_position is None and composer.attachments.names() == []
    red.unlink()  # the conversation no longer needs the original
    conv_id = chat.conv.id
    chat.new_conversation()
    chat.open_conversation(conv_id)
    qtbot.waitUntil(lambda: len(chat.transcript.bubbles()) == 2, timeout=10_000)
    assert len([w for w in chat.transcript.bubbles()[0].findChildren(QLabel)
                if w.objectName() == "messageImage"]) == 2
    qtbot.waitUntil(composer.regenerate.isEnabled, timeout=10_000)
    composer.regenerate.click()  # the kept copies are sent again
    wait_idle(window)
    assert chat.messages[-1].role == "assistant" and not chat.banners.error_bar.isVisible()


def test_not_an_image_and_a_text_model_are_said(window: MainWindow, qtbot: QtBot,
                                                wait_idle: Any, tmp_path: Path) -> None:
    chat = window.chat
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    _attach(qtbot, window, notes)
    assert "not an image" in chat.banners.error_label.text()
    assert chat.composer.attachments.names() == []
    red = tmp_path / "red.png"
    red.write_bytes(RED)
    _attach(qtbot, window, red)
    chat.composer.input.setPlainText("What is this?")
    chat.composer.send.click()
    wait_idle(window)
    assert "image input is not supported" in chat.banners.error_label.text()
