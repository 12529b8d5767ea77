"""Render docs/screenshots/hardware.png: the panel after some seconds with the starter loaded.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python tests/hardware/render_screenshot.py [OUT.png]
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


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from fireside.core import context
    from fireside.core.inference.types import LoadSettings, SamplingParams
    from fireside.core.models import starter
    from fireside.gui.bridge import Bridge
    from fireside.gui.views.hardware import HardwareView

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/hardware.png")
    app = QApplication.instance() or QApplication([])
    ctx = context.build()
    path = Path.home() / ".cache" / "fireside-dev" / "starter" / starter.FILENAME
    bridge = Bridge(ctx)
    view = HardwareView(bridge)
    view.resize(1100, 760)
    view.show()

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    pump(4)
    bridge.load_model(path, LoadSettings(n_ctx=8192), name=starter.NAME)
    pump(4)
    worker = threading.Thread(target=lambda: ctx.engine.complete(
        "Once upon a time", SamplingParams(max_tokens=400, temperature=0.8)))
    worker.start()
    pump(8)
    worker.join()
    pump(4)
    out.parent.mkdir(parents=True, exist_ok=True)
    view.grab().save(str(out))
    print(out)
    bridge.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
