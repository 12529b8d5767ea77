"""A 1,000-message conversation opens at once and builds its history as the person scrolls;
Find reaches messages that are not built yet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from fireside.core import context
from fireside.gui.main_window import MainWindow
from fireside.gui.stall import StallMeter
from fireside.gui.views.chat_transcript import MAX_BUILT, PAGE

from .long_chat import seed

COUNT = 1000
STALL_BOUND_MS = 250  # generous; bench/long_chat.py holds the 50 ms target


def _open(make_window: Any, qtbot: QtBot, marker: tuple[int, str] | None = None,
          meter: StallMeter | None = None) -> MainWindow:
    seed(context.build().paths.database, COUNT, marker=marker)
    win: MainWindow = make_window()
    if meter is not None:  # from the window's first event-loop turn on
        meter.start()
    chat = win.chat
    qtbot.waitUntil(lambda: len(chat.messages) == COUNT, timeout=20_000)
    qtbot.waitUntil(lambda: bool(chat.transcript.bubbles()), timeout=10_000)
    return win


def test_latest_messages_show_first_and_few_are_built(make_window: Any, installed_starter: Path,
                                                       qtbot: QtBot) -> None:
    meter = StallMeter()
    win = _open(make_window, qtbot, meter=meter)
    transcript = win.chat.transcript
    qtbot.wait(500)  # let the background paging settle
    meter.stop()
    bubbles = transcript.bubbles()
    assert bubbles[-1].position == COUNT - 1  # the newest message is on screen
    assert len(bubbles) < 100, len(bubbles)  # the rest waits until scrolled to
    assert transcript.unbuilt > COUNT - 100
    assert meter.worst_ms < STALL_BOUND_MS, f"worst stall {meter.worst_ms:.0f} ms"
    bar = transcript.verticalScrollBar()
    assert bar.value() == bar.maximum()


def test_scrolling_up_builds_older_messages_in_order(make_window: Any, installed_starter: Path,
                                                     qtbot: QtBot) -> None:
    win = _open(make_window, qtbot)
    transcript = win.chat.transcript
    qtbot.wait(300)
    oldest_before = transcript.bubbles()[0].position
    for _ in range(8):
        transcript.verticalScrollBar().setValue(0)
        qtbot.wait(150)
    qtbot.waitUntil(lambda: not transcript.building, timeout=10_000)
    after = transcript.bubbles()
    positions = [b.position for b in after]
    assert positions[0] < oldest_before - PAGE  # older history was built
    assert positions == list(range(positions[0], positions[-1] + 1))  # in order, no gaps
    assert len(after) <= MAX_BUILT  # and the newest were let go: the window stays small
    assert transcript.verticalScrollBar().value() > 0  # the view stayed where it was read
    bar = transcript.verticalScrollBar()
    for _ in range(40):  # and back down to the newest
        bar.setValue(bar.maximum())
        qtbot.wait(60)
        if transcript.at_end:
            break
    bar.setValue(bar.maximum())
    qtbot.wait(100)
    assert transcript.at_end and transcript.bubbles()[-1].position == COUNT - 1


def test_find_reaches_an_unbuilt_message(make_window: Any, installed_starter: Path,
                                         qtbot: QtBot) -> None:
    win = _open(make_window, qtbot, marker=(17, "zanzibar"))
    chat = win.chat
    assert chat.transcript.entries[17].widget is None
    chat.header.open_find()
    chat.header.find_bar.query.setText("Zanzibar")
    assert chat.header.find_bar.hits == [17]
    qtbot.waitUntil(lambda: chat.transcript.entries[17].widget is not None, timeout=20_000)
    target = chat.transcript.entries[17].widget
    qtbot.waitUntil(lambda: not target.visibleRegion().isEmpty(), timeout=5_000)
    assert chat.header.find_bar.count.text() == "1 of 1"


def test_a_find_result_is_built_before_it_is_shown(make_window: Any, installed_starter: Path,
                                                   qtbot: QtBot) -> None:
    """Find landing while a page was still being built in slices (seen under load): the next
    slice found nothing left to build and ran the find's "show it" before the found message
    existed, so it was never scrolled into view."""
    win = _open(make_window, qtbot)
    transcript = win.chat.transcript
    qtbot.waitUntil(lambda: not transcript.building, timeout=10_000)
    built_when_shown: list[bool] = []
    transcript._pump.start()  # a slice of an earlier page is due
    transcript.show_entry(17, lambda: built_when_shown.append(
        transcript.entries[17].widget is not None))
    qtbot.waitUntil(lambda: bool(built_when_shown), timeout=20_000)
    assert built_when_shown == [True]


def test_a_page_that_fails_to_render_comes_as_plain_text(make_window: Any,
                                                          installed_starter: Path, qtbot: QtBot,
                                                          monkeypatch: Any) -> None:
    """Markdown failing on one message of a page: the page is built as plain text (before, the
    transcript waited for it for good: no more paging, and Find never showed its result)."""
    from fireside.gui import markdown

    real = markdown.segments

    def segments(text: str, style: str = "friendly") -> list[markdown.Segment]:
        if "zanzibar" in text:
            raise ValueError("a renderer bug")
        return real(text, style)

    monkeypatch.setattr(markdown, "segments", segments)
    win = _open(make_window, qtbot, marker=(17, "zanzibar"))
    chat = win.chat
    chat.header.open_find()
    chat.header.find_bar.query.setText("Zanzibar")
    qtbot.waitUntil(lambda: chat.transcript.entries[17].widget is not None, timeout=20_000)
    qtbot.waitUntil(lambda: not chat.transcript.building, timeout=10_000)  # paging goes on
