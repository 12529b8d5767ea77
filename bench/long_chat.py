"""Opening a long conversation: how soon the newest messages show, and the worst GUI stall.

For each size (1,000 and 10,000 messages of ~400 bytes of Markdown with code, tables and
lists, written into the store with the app closed), on a throwaway FIRESIDE_HOME, offscreen:
  * start-up: the window opens on that conversation (it is the most recent one); timed from
    the window's first show (building the window itself is reported apart);
  * switch: from another conversation to it;
  * scroll: 40 jumps to the top, each building older history.
Reported: ms until the newest message is on screen, worst and p99 stall while opening and
while scrolling, widgets built, and RSS growth. Targets: newest visible < 300 ms, worst stall
while opening < 50 ms.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/long_chat.py [--sizes 1000 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
TARGET_VISIBLE_MS = 300
TARGET_STALL_MS = 50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [measure(n) for n in args.sizes]
    ok = all(r["switch"]["visible_ms"] < TARGET_VISIBLE_MS
             and r["startup"]["visible_ms"] < TARGET_VISIBLE_MS
             and r["switch"]["worst_ms"] < TARGET_STALL_MS for r in results)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"results": results, "load_average": load, "ok": ok}, indent=2))
    else:
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        for r in results:
            print(f"{r['messages']:>6} messages, window : built and shown in "
                  f"{r['startup']['window_ms']:.0f} ms (every view, before the conversation)")
            for phase in ("startup", "switch"):
                p = r[phase]
                print(f"{r['messages']:>6} messages, {phase:<7}: newest visible in "
                      f"{p['visible_ms']:.0f} ms; stall while opening worst {p['worst_ms']:.1f}"
                      f" ms, p99 {p['p99_ms']:.1f} ms; {p['built']} widgets built")
            s = r["scroll"]
            print(f"{r['messages']:>6} messages, scroll : 40 jumps to the top built "
                  f"{s['built']} bubbles; worst stall {s['worst_ms']:.1f} ms, "
                  f"p99 {s['p99_ms']:.1f} ms")
            print(f"{r['messages']:>6} messages, memory : RSS +{r['rss_growth_mib']:.1f} MiB "
                  f"after opening and scrolling")
        print(f"targets (newest visible < {TARGET_VISIBLE_MS} ms, worst stall while opening "
              f"< {TARGET_STALL_MS} ms): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


def measure(count: int) -> dict[str, Any]:
    import psutil
    from PySide6.QtCore import QEventLoop, QTimer

    from fireside.core import context
    from fireside.core.models import starter
    from fireside.gui.app import create_window, ensure_app
    from fireside.gui.lifetime import dispose, settle_heap
    from fireside.gui.stall import StallMeter
    from tests.gui.long_chat import seed

    os.environ["FIRESIDE_HOME"] = tempfile.mkdtemp(prefix="fireside-bench-long-")
    app = ensure_app(["fireside-bench"])
    ctx = context.build()
    starter.obtain(ctx.library, Path(os.environ.get(
        "FIRESIDE_STARTER_CACHE", Path.home() / ".cache" / "fireside-dev" / "starter")))
    short = seed(ctx.paths.database, 4, title="A short chat")
    long_id = seed(ctx.paths.database, count)  # saved last: the one opened at start-up
    proc = psutil.Process()

    def run_until(check: Callable[[], bool], timeout: float = 120.0) -> float:
        started = time.perf_counter()
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(1)

        def poll() -> None:
            if check() or time.perf_counter() - started > timeout:
                loop.quit()
        timer.timeout.connect(poll)
        timer.start()
        loop.exec()
        timer.stop()
        if not check():
            raise TimeoutError("condition not reached")
        return (time.perf_counter() - started) * 1000

    def settle(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def newest_visible() -> bool:
        chat = win.chat
        if chat.conv is None or chat.conv.id != want[0] or not chat.messages:
            return False
        bubbles = chat.transcript.bubbles()
        return bool(bubbles) and bubbles[-1].position == chat.messages[-1].position \
            and not bubbles[-1].visibleRegion().isEmpty()

    rss0 = proc.memory_info().rss
    meter = StallMeter()
    want = [long_id]
    started = time.perf_counter()
    win = create_window(ctx)
    win.resize(1280, 800)
    win.show()
    app.processEvents()  # the first show: every view polished and laid out once
    settle_heap()  # as gui.app.run does once the window is up
    shown = time.perf_counter()
    meter.start()
    run_until(newest_visible)
    visible = (time.perf_counter() - shown) * 1000
    settle(1000)
    meter.stop()
    startup = {"window_ms": (shown - started) * 1000, "visible_ms": visible,
               "worst_ms": meter.worst_ms, "p99_ms": meter.percentile_ms(0.99),
               "built": len(win.chat.transcript.bubbles())}

    want[0] = short
    win.chat.open_conversation(short)
    run_until(newest_visible)
    settle(300)
    want[0] = long_id
    meter.start()
    win.chat.open_conversation(long_id)
    visible = run_until(newest_visible)
    settle(1000)
    meter.stop()
    switch = {"visible_ms": visible, "worst_ms": meter.worst_ms,
              "p99_ms": meter.percentile_ms(0.99), "built": len(win.chat.transcript.bubbles())}

    bar = win.chat.transcript.verticalScrollBar()
    meter.start()
    for _ in range(40):
        bar.setValue(0)
        settle(60)
    meter.stop()
    scroll = {"built": len(win.chat.transcript.bubbles()), "worst_ms": meter.worst_ms,
              "p99_ms": meter.percentile_ms(0.99)}
    rss_growth = (proc.memory_info().rss - rss0) / 2**20
    win.close()
    dispose(win)
    del app
    return {"messages": count, "startup": startup, "switch": switch, "scroll": scroll,
            "rss_growth_mib": rss_growth}


if __name__ == "__main__":
    sys.exit(main())
