"""Render docs/screenshots/server.png: the server panel running, with requests in its log.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python tests/server/render_screenshot.py [OUT.png]
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FIRESIDE_HOME", tempfile.mkdtemp(prefix="fireside-shot-"))
KEY = "fs-demo-key-for-the-screenshot"


def _traffic(base: str, model: str) -> None:
    import openai

    client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0)
    client.models.list()
    client.chat.completions.create(model=model, max_tokens=24, messages=[
        {"role": "user", "content": "Name three colours."}])
    for _ in client.chat.completions.create(model=model, max_tokens=40, stream=True, messages=[
            {"role": "user", "content": "Write a haiku about a campfire."}]):
        pass
    client.completions.create(model=model, prompt="Once upon a time", max_tokens=16)
    client.embeddings.create(model=model, input=["a cat", "a dog"])
    try:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user",
                                                                  "content": "hi"}])
    except openai.NotFoundError:
        pass
    try:
        openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).models.list()
    except openai.AuthenticationError:
        pass
    client.chat.completions.create(model=model, max_tokens=60, response_format={
        "type": "json_object"}, messages=[{"role": "user", "content": "A city as JSON."}])


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from fireside.core import context
    from fireside.core.inference.types import LoadSettings
    from fireside.core.models import starter
    from fireside.gui import theme
    from fireside.gui.bridge import Bridge
    from fireside.gui.views.server import ServerView

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/server.png")
    app = QApplication.instance() or QApplication([])
    theme.apply(app)  # type: ignore[arg-type]
    ctx = context.build()
    path = Path.home() / ".cache" / "fireside-dev" / "starter" / starter.FILENAME
    ctx.engine.load(path, LoadSettings(n_ctx=4096), name=starter.NAME)
    bridge = Bridge(ctx)
    view = ServerView(bridge)
    view.resize(1100, 760)
    view.show()

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    view.api_key.setText(KEY)
    view.cors.setText("http://localhost:3000")
    view.port.setValue(int(os.environ.get("FIRESIDE_SHOT_PORT", "8765")))
    view.toggle.click()
    end = time.monotonic() + 20
    while not view.running and time.monotonic() < end:
        pump(0.1)
    worker = threading.Thread(target=_traffic, args=(view.url.text(), starter.NAME))
    worker.start()
    while worker.is_alive():
        pump(0.1)
    pump(1)
    out.parent.mkdir(parents=True, exist_ok=True)
    view.grab().save(str(out))
    print(out)
    view.shutdown()
    bridge.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
