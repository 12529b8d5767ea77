"""The chat pane end to end with the real starter model: send, stream, stop, regenerate, edit,
restart, and a model that fails to load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from fireside.core.store import Store
from fireside.gui.main_window import MainWindow

REQUIRED_NAMES = {"Message", "Send", "Stop", "Regenerate", "New conversation", "Model",
                  "System prompt"}


def _send(qtbot: QtBot, win: MainWindow, text: str) -> None:
    box = win.chat.composer.input
    box.setFocus()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def _stored(win: MainWindow) -> list[tuple[str, str]]:
    assert win.chat.flush_store()
    assert win.chat.conv is not None
    store = Store(win.bridge.ctx.paths.database)
    try:
        return [(m.role, m.content) for m in store.messages(win.chat.conv.id)]
    finally:
        store.close()


def test_required_accessible_names(window: MainWindow) -> None:
    names = {w.accessibleName() for w in window.findChildren(QWidget)}
    assert REQUIRED_NAMES <= names
    for widget in window.findChildren(QWidget):
        if widget.accessibleName() in REQUIRED_NAMES:
            assert widget.objectName(), widget.accessibleName()


def test_type_and_send_streams_a_reply(window: MainWindow, qtbot: QtBot,
                                       wait_idle: Any) -> None:
    chunks: list[str] = []
    window.bridge.token_ready.connect(lambda _rid, text: chunks.append(text))
    box = window.chat.composer.input
    qtbot.keyClicks(box, "Hello")
    qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert box.toPlainText() == "Hello\n"  # Shift+Enter is a newline, not a send
    qtbot.keyClicks(box, "Name a colour.")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.toPlainText() == ""
    qtbot.waitUntil(lambda: window.chat.reply is not None and window.chat.reply.text != "",
                    timeout=60_000)
    assert window.chat.composer.stop.isVisible()
    wait_idle(window)
    assert len(chunks) >= 2  # it streamed in pieces, not all at the end
    user, reply = window.chat.messages
    assert user.content == "Hello\nName a colour." and reply.role == "assistant"
    assert reply.content.strip() and reply.content == "".join(chunks)
    assert window.chat.transcript.bubbles()[-1].text == reply.content
    assert reply.stats["decode_tokens_per_s"] > 0 and reply.stats["ttft_s"] > 0
    assert "tok/s" in window.chat.stats.text()
    assert "/ 4,096" in window.chat.status.meter.format()
    assert _stored(window) == [("user", "Hello\nName a colour."), ("assistant", reply.content)]
    assert window.chat.list_model.rowCount() == 1


def test_stop_mid_reply(window: MainWindow, qtbot: QtBot, wait_idle: Any) -> None:
    window.chat.settings.max_tokens.setValue(1000)
    _send(qtbot, window, "Write a very long story about a dragon and a lighthouse.")
    qtbot.waitUntil(lambda: window.chat.reply is not None and len(window.chat.reply.text) > 20,
                    timeout=60_000)
    qtbot.keyClick(window.chat.composer.input, Qt.Key.Key_Escape)
    wait_idle(window, timeout=10_000)
    reply = window.chat.messages[-1]
    assert reply.finish_reason == "cancelled"
    assert 0 < reply.stats.get("completion_tokens", 1) < 1000
    assert "stopped" in window.chat.stats.text()
    assert window.chat.composer.send.isVisible()


def test_regenerate_replaces_the_last_reply(window: MainWindow, qtbot: QtBot,
                                            wait_idle: Any) -> None:
    _send(qtbot, window, "Say a word.")
    wait_idle(window)
    first = window.chat.messages[-1]
    window.chat.settings.temperature.setValue(1.5)
    window.chat.settings.seed.setValue(12345)
    qtbot.mouseClick(window.chat.composer.regenerate, Qt.MouseButton.LeftButton)
    wait_idle(window)
    msgs = window.chat.messages
    assert [m.role for m in msgs] == ["user", "assistant"]
    assert msgs[-1].id != first.id and msgs[-1].sampling["temperature"] == 1.5
    assert len(window.chat.transcript.bubbles()) == 2
    assert _stored(window) == [("user", "Say a word."), ("assistant", msgs[-1].content)]


def test_edit_a_past_message_and_resend(window: MainWindow, qtbot: QtBot,
                                        wait_idle: Any) -> None:
    _send(qtbot, window, "First question")
    wait_idle(window)
    _send(qtbot, window, "Second question")
    wait_idle(window)
    assert len(window.chat.messages) == 4
    first_bubble = window.chat.transcript.bubbles()[0]
    qtbot.mouseClick(first_bubble.edit, Qt.MouseButton.LeftButton)
    box = window.chat.composer.input
    assert box.toPlainText() == "First question"
    assert window.chat.composer.edit_banner.isVisible()
    box.setPlainText("Edited question")
    qtbot.mouseClick(window.chat.composer.send, Qt.MouseButton.LeftButton)
    wait_idle(window)
    roles = [(m.role, m.content if m.role == "user" else "") for m in window.chat.messages]
    assert roles == [("user", "Edited question"), ("assistant", "")]
    assert [r for r, _ in _stored(window)] == ["user", "assistant"]
    assert _stored(window)[0] == ("user", "Edited question")


def test_restart_finds_the_conversation(make_window: Any, window: MainWindow, qtbot: QtBot,
                                        wait_idle: Any) -> None:
    _send(qtbot, window, "Remember me")
    wait_idle(window)
    reply = window.chat.messages[-1].content
    window.close()
    again: MainWindow = make_window()
    qtbot.waitUntil(lambda: len(again.chat.messages) == 2, timeout=10_000)
    assert again.chat.list_model.rowCount() == 1
    assert again.chat.conv is not None and again.chat.conv.title == "Remember me"
    assert [b.text for b in again.chat.transcript.bubbles()] == ["Remember me", reply]
    assert "tok/s" in again.chat.transcript.bubbles()[-1].footer.text()


def test_load_error_shows_and_the_app_lives(window: MainWindow, qtbot: QtBot,
                                            wait_idle: Any) -> None:
    models_dir = window.bridge.ctx.paths.models
    (models_dir / "broken.gguf").write_bytes(b"definitely not a gguf file" * 1000)
    chat = window.chat
    chat.refresh_models()
    qtbot.waitUntil(lambda: chat.settings.model.findData("broken") >= 0, timeout=10_000)
    starter_name = chat.settings.current_model()
    chat.settings.model.activated.emit(chat.settings.model.findData("broken"))
    qtbot.waitUntil(chat.banners.error_bar.isVisible, timeout=30_000)
    assert "broken" in chat.banners.error_label.text() or "GGUF" in chat.banners.error_label.text()
    assert not chat.settings.load_bar.isVisible()
    # Still alive: pick the good model again and chat.
    chat.settings.model.activated.emit(chat.settings.model.findData(starter_name))
    _send(qtbot, window, "Still there?")
    wait_idle(window)
    assert chat.messages[-1].role == "assistant" and chat.messages[-1].content
    assert not chat.banners.error_bar.isVisible()


def test_conversation_list_rename_search_delete_undo(window: MainWindow, qtbot: QtBot,
                                                     wait_idle: Any) -> None:
    chat = window.chat
    _send(qtbot, window, "About penguins")
    wait_idle(window)
    qtbot.mouseClick(chat.sidebar.new, Qt.MouseButton.LeftButton)
    assert chat.conv is None and not chat.transcript.bubbles()
    _send(qtbot, window, "About volcanoes")
    wait_idle(window)
    assert chat.list_model.rowCount() == 2
    chat.list_model.setData(chat.list_model.index(0), "Lava talk")
    assert chat.conv is not None and chat.conv.title == "Lava talk"
    chat.sidebar.search.setText("penguin")
    qtbot.waitUntil(lambda: chat.list_model.rowCount() == 1, timeout=5_000)
    chat.sidebar.search.setText("")
    qtbot.waitUntil(lambda: chat.list_model.rowCount() == 2, timeout=5_000)
    chat.sidebar.select(chat.conv.id)
    qtbot.mouseClick(chat.sidebar.delete, Qt.MouseButton.LeftButton)
    assert chat.list_model.rowCount() == 1 and chat.sidebar.undo_bar.isVisible()
    assert chat.conv is None
    qtbot.mouseClick(chat.sidebar.undo, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chat.list_model.rowCount() == 2, timeout=5_000)
    qtbot.waitUntil(lambda: chat.conv is not None and chat.conv.title == "Lava talk",
                    timeout=5_000)


def test_context_overflow_is_said_and_drop_oldest_fixes_it(
        make_window: Any, installed_starter: Path, qtbot: QtBot, wait_idle: Any) -> None:
    from fireside.core import context
    from fireside.core.inference.types import LoadSettings

    store = context.build().settings
    settings = store.read()
    settings.load["smollm2-135m-instruct-q4_1"] = LoadSettings(n_ctx=256)
    store.write(settings)
    win: MainWindow = make_window()
    chat = win.chat
    qtbot.waitUntil(lambda: chat.settings.current_model() != "", timeout=10_000)
    chat.settings.max_tokens.setValue(20)
    chat.settings.temperature.setValue(0.0)
    long_text = "apple " * 110  # two of these overflow 256 tokens, one fits
    chat.send(long_text)
    wait_idle(win)
    chat.send(long_text)
    wait_idle(win)
    assert chat.banners.context_bar.isVisible()
    assert "no longer fits" in chat.banners.context_label.text()
    assert chat.messages[-1].role == "user"  # the question is kept, nothing cut silently
    assert _meter_used(chat.status.meter.format()) > 256  # it said how much too big
    seen: list[tuple[str, bool]] = []  # the meter as the trimmed signal left it
    win.bridge.trimmed.connect(
        lambda *_: seen.append((chat.status.meter.format(), chat.reply is not None)))
    qtbot.mouseClick(chat.banners.drop_oldest, Qt.MouseButton.LeftButton)
    wait_idle(win)
    # The meter follows the moment turns are dropped, not when the reply ends.
    assert seen and seen[0][1] and _meter_used(seen[0][0]) <= 256
    last = chat.messages[-1]
    assert last.role == "assistant" and last.stats["dropped_messages"] >= 2
    assert "left out" in chat.stats.text()
    dropped = [b for b in chat.transcript.bubbles() if not b.dropped.isHidden()]
    assert len(dropped) == last.stats["dropped_messages"]
    assert dropped[0].position == 0  # the oldest turns are the ones marked


def _meter_used(text: str) -> int:
    """``Context: 1,234 / 4,096`` → 1234."""
    used = text.split(":", 1)[1].split("/", maxsplit=1)[0].strip().replace(",", "")
    return int(used) if used.isdigit() else 0


def test_status_says_reading_then_writing(window: MainWindow, qtbot: QtBot,
                                          wait_idle: Any) -> None:
    chat = window.chat
    said: list[str] = []
    window.bridge.reading.connect(lambda *_: said.append(chat.stats.text()))
    window.bridge.token_ready.connect(lambda *_: said.append(chat.stats.text()))
    chat.send("Please summarise: " + "the keeper climbed the stairs and lit the lamp. " * 60)
    wait_idle(window)
    reading = [s for s in said if s.startswith("Reading the prompt")]
    assert reading and any("%" in s for s in reading)  # with llama.cpp's progress
    assert "Writing…" in said
    assert said.index("Writing…") > said.index(reading[0])
    assert "tok/s" in chat.stats.text()  # and the figures once it ended


def test_the_chat_pane_follows_a_load_made_by_the_server(window: MainWindow, qtbot: QtBot,
                                                         installed_starter: Path) -> None:
    chat = window.chat
    window.bridge.ctx.engine.load(installed_starter, name="server-pick", by="server")
    qtbot.waitUntil(lambda: "The local server loaded server-pick"
                    in chat.settings.model_status.text(), timeout=10_000)
    window.bridge.ctx.engine.unload()
    qtbot.waitUntil(lambda: chat.settings.model_status.text() == "No model loaded",
                    timeout=10_000)
