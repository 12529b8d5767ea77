"""Screenshot Settings → Providers in the real window on a real X server.

Two providers against the loopback stand-in (``tests/remote_provider.py``): Groq from its preset
(base URL pointed at the stand-in through ``FIRESIDE_PRESET_URL_GROQ``) after a successful
"Test connection", and a vLLM box on the LAN turned off. Run under Xvfb + openbox::

    Xvfb :92 -screen 0 1600x1000x24 & DISPLAY=:92 openbox &
    DISPLAY=:92 QT_QPA_PLATFORM=xcb .venv/bin/python tests/remote/screenshot_providers.py \\
        --out docs/screenshots/providers.png
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots/providers.png"))
    parser.add_argument("--theme", default="light")
    args = parser.parse_args()
    from remote_provider import GRANTED_KEY, Faults, Provider

    standin = Provider(Faults()).start()
    os.environ["FIRESIDE_HOME"] = tempfile.mkdtemp(prefix="fireside-providers-shot-")
    os.environ["FIRESIDE_PRESET_URL_GROQ"] = standin.base_url
    os.environ["FIRESIDE_THEME"] = args.theme
    from PySide6.QtCore import QEventLoop

    from fireside.core import context
    from fireside.core.models import starter
    from fireside.core.remote.providers import Provider as Config
    from fireside.gui.app import create_window, ensure_app

    ctx = context.build()
    starter.obtain(ctx.library, Path(os.environ.get(
        "FIRESIDE_STARTER_CACHE", Path.home() / ".cache" / "fireside-dev" / "starter")))
    ctx.remote.store.save(Config("vllm-lab", "http://192.168.1.40:8000/v1", enabled=False,
                                 model_filter="meta-llama/*"), "")
    app = ensure_app(["fireside"])

    def pump(until: Callable[[], bool], timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while not until():
            if time.monotonic() > end:
                raise TimeoutError("the window did not get there in time")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        for _ in range(20):
            app.processEvents()

    win = create_window(ctx)
    win.resize(1100, 900)
    win.show()
    panel = win.providers
    win.nav.setCurrentRow(win._keys.index("settings"))
    panel.preset.setCurrentIndex(panel.preset.findData("groq"))
    panel.api_key.setText(GRANTED_KEY)
    panel.add()
    pump(lambda: "groq" in panel.rows and panel.status.text().startswith("✓"))
    panel.preset.setCurrentIndex(panel.preset.findData("custom"))
    panel.name.setText("lan")
    panel.base_url.setText("http://192.168.1.20:8080/v1")
    win.settings_page.ensureWidgetVisible(panel.status, 0, 40)
    pump(lambda: True)
    time.sleep(0.5)
    pump(lambda: True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-window", str(int(win.winId())), str(args.out)], check=True)
    print(args.out)
    win.close()
    standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
