"""A reasoning model's thinking reads well: folded as "Thought for N s", openable, never pasted
or sent back to the model with the next turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from fireside.core.inference.handle import Handle
from fireside.core.inference.types import ChatRequest
from fireside.core.store import Conversation, Message, Store, new_id
from fireside.gui.main_window import MainWindow
from fireside.gui.views.chat_bubble import MessageBubble
from fireside.gui.views.chat_thinking import ThinkingSection

THOUGHT = "The user wants a colour. Blue is calm; I will suggest blue."
REPLY = f"<think>\n{THOUGHT}\n</think>\n\nTry **blue**."


def _answer_text(bubble: MessageBubble) -> str:
    return " ".join(label.text() for label in bubble.findChildren(QLabel)
                    if label.objectName() == "messageText")


def test_a_streamed_reply_folds_its_thinking(qtbot: QtBot) -> None:
    bubble = MessageBubble("assistant", 1, "Assistant")
    qtbot.addWidget(bubble)
    bubble.resize(600, 200)
    bubble.show()
    for end in range(1, len(REPLY) + 1, 7):  # token-sized pieces, tags split across them
        bubble.stream(REPLY[:end], "friendly")
        if len("<think>") <= end < REPLY.index("</think>"):
            (section,) = bubble.findChildren(ThinkingSection)
            assert "Thinking…" in section.toggle.text()
            assert "<think" not in _answer_text(bubble)
    bubble.stream(REPLY, "friendly")
    bubble.set_thought_seconds(12.4)
    (section,) = bubble.findChildren(ThinkingSection)
    assert section.toggle.text() == "▸ Thought for 12 s"
    assert section.body.isHidden()  # folded by default
    assert "blue" in _answer_text(bubble) and "calm" not in _answer_text(bubble)
    section.toggle.click()
    assert not section.body.isHidden() and "calm" in section.body.text()
    assert section.toggle.accessibleName() == "Hide the model's thinking"
    bubble.copy.click()
    assert QApplication.clipboard().text() == "Try **blue**."


def test_a_stored_reply_shows_how_long_it_thought(make_window: Any, installed_starter: Path,
                                                  qtbot: QtBot) -> None:
    win = _window_with_thinking_chat(make_window, qtbot)
    bubbles = [b for b in win.chat.findChildren(MessageBubble) if b.role == "assistant"]
    (section,) = bubbles[0].findChildren(ThinkingSection)
    assert section.toggle.text() == "▸ Thought for 12 s"


def test_the_next_turn_leaves_the_thinking_out(make_window: Any, installed_starter: Path,
                                               qtbot: QtBot, wait_idle: Any) -> None:
    win = _window_with_thinking_chat(make_window, qtbot)
    engine = win.bridge.ctx.engine
    sent: list[list[dict[str, Any]]] = []
    real = engine.submit

    def submit(request: Any, **kwargs: Any) -> Handle:
        if isinstance(request, ChatRequest):
            sent.append(request.messages)
        return real(request, **kwargs)

    engine.submit = submit  # type: ignore[method-assign]
    try:
        win.chat.settings.max_tokens.setValue(4)
        win.chat.send("And a second colour?")
        qtbot.waitUntil(lambda: bool(sent), timeout=60_000)
        wait_idle(win)
    finally:
        del engine.submit
    assistant = [m["content"] for m in sent[0] if m["role"] == "assistant"]
    assert assistant == ["Try **blue**."]


def _window_with_thinking_chat(make_window: Any, qtbot: QtBot) -> MainWindow:
    from fireside.core import context

    store = Store(context.build().paths.database)
    try:
        conv = Conversation(id=new_id(), title="Colours", model="smollm2-135m-instruct-q4_1")
        store.save_conversation(conv)
        store.add_message(Message(new_id(), conv.id, 0, "user", "Suggest a colour."))
        store.add_message(Message(new_id(), conv.id, 1, "assistant", REPLY,
                                  stats={"thinking_s": 12.4, "completion_tokens": 30}))
    finally:
        store.close()
    win: MainWindow = make_window()
    qtbot.waitUntil(lambda: any(b.role == "assistant"
                                for b in win.chat.findChildren(MessageBubble)), timeout=20_000)
    return win
