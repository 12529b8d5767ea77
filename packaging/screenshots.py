"""Render the window offscreen with a real conversation with the starter model.

Writes docs/screenshots/{welcome,chat-light,chat-dark}.png. Uses a throwaway FIRESIDE_HOME and
the starter cache (FIRESIDE_STARTER_CACHE, default ~/.cache/fireside-dev/starter).

    .venv/bin/python packaging/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_SCALE_FACTOR", "1")
log = logging.getLogger("fireside.screenshots")
CACHE = Path(os.environ.get("FIRESIDE_STARTER_CACHE",
                            Path.home() / ".cache" / "fireside-dev" / "starter"))
QUESTIONS = [
    "What is a good name for a cat?",
    "Write a Python function that checks whether a word is a palindrome.",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["FIRESIDE_HOME"] = tempfile.mkdtemp(prefix="fireside-shots-")

    from PySide6.QtCore import QEventLoop  # noqa: TID251 - a GUI script
    from PySide6.QtWidgets import QApplication  # noqa: TID251

    from fireside.core import context
    from fireside.core.inference.types import SamplingParams
    from fireside.core.models import starter
    from fireside.gui import theme
    from fireside.gui.app import create_window, ensure_app

    app = ensure_app(["fireside"])
    app.setFont(app.font())

    def pump(until: Callable[[], bool], timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while not until():
            if time.monotonic() > end:
                raise TimeoutError("the window did not get there in time")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        for _ in range(10):
            app.processEvents()

    def shoot(widget: object, name: str) -> None:
        for _ in range(5):
            app.processEvents()
        path = args.out / name
        widget.grab().save(str(path))  # type: ignore[attr-defined]
        print(path)

    # First run: nothing installed, the welcome takes the chat page.
    ctx = context.build()
    win = create_window(ctx)
    win.resize(1200, 800)
    win.show()
    pump(lambda: win.chat_stack.currentWidget() is win.welcome, 20)
    shoot(win, "welcome.png")
    win.close()

    # A real conversation with the starter model.
    starter.obtain(ctx.library, CACHE)
    ctx = context.build()
    win = create_window(ctx)
    win.resize(1200, 800)
    win.show()
    chat = win.chat
    pump(lambda: chat.settings.current_model() != "", 30)
    chat.send("Plan a weekend trip to the mountains")
    pump(lambda: chat.reply is None)
    chat.new_conversation()
    chat.settings.set_sampling(SamplingParams(temperature=0.2, seed=3, max_tokens=220),
                               "You are a concise, friendly assistant.")
    for question in QUESTIONS:
        chat.send(question)
        pump(lambda: chat.reply is None)
    chat.transcript.verticalScrollBar().setValue(chat.transcript.verticalScrollBar().maximum())
    shoot(win, "chat-light.png")

    os.environ["FIRESIDE_THEME"] = "dark"
    app_instance = QApplication.instance()
    assert isinstance(app_instance, QApplication)
    theme.apply(app_instance)
    chat.restyle()
    shoot(win, "chat-dark.png")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
