"""A malformed model picked in the window is refused on screen; the window and its chats live.

The file would abort llama.cpp (and with it every open chat) if it were loaded in the app's
process; the preflight child takes the crash instead, and the window says why in one line.
"""

from __future__ import annotations

from pathlib import Path

from corpus.generate import write_model
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from fireside.core import context
from fireside.core.inference.types import LoadSettings

LOAD_TIMEOUT_MS = 120_000


def _visible_texts(window: object) -> list[str]:
    return [label.text() for label in window.findChildren(QLabel)  # type: ignore[attr-defined]
            if label.isVisible() and label.text()]


def test_a_crashing_file_is_refused_in_the_window_and_the_app_lives(
        make_window: object, qtbot: QtBot, tmp_path: Path) -> None:
    # dropped into the models folder by hand: the library lists it, nothing checked it yet
    models = context.build().library.models_dir
    bad = write_model(models / "crasher.gguf", kv={"llama.block_count": 0})
    good = write_model(models / "fine.gguf")
    window = make_window()  # type: ignore[operator]
    bridge = window.bridge

    with qtbot.waitSignal(bridge.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        bridge.load_model(bad, LoadSettings(n_ctx=256), "crasher")
    message = failed.args[1]
    assert message.startswith("crasher.gguf: llama.cpp crashed (SIGABRT)")
    assert "\n" not in message
    qtbot.waitUntil(lambda: any("crashed (SIGABRT)" in t for t in _visible_texts(window)),
                    timeout=10_000)  # the refusal is on screen, not only in a log
    assert bridge.ctx.engine.loaded is None

    # the same window goes on: a good model loads and answers
    with qtbot.waitSignal(bridge.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        bridge.load_model(good, LoadSettings(n_ctx=256), "fine")
    assert loaded.args[1] is not None and loaded.args[1].name == "fine"
    reply = bridge.ctx.engine.chat([{"role": "user", "content": "hi"}])
    assert reply.stats.completion_tokens >= 1
