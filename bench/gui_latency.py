"""Worst GUI event-loop stall while a reply streams at full speed, against a same-run peer.

Interleaved repetitions with the real starter model, on a throwaway FIRESIDE_HOME, offscreen:
  * engine: the engine decodes in a plain thread while the event loop has nothing to draw;
  * window: the real MainWindow streaming the same reply (same prompt, seed, length) into the
    transcript, Markdown and all.
Targets: the window's decode tok/s >= 0.95x the engine's own (same run, medians), worst stall
< 50 ms, p99 < 16 ms.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_latency.py [--tokens 400] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
CACHE = Path(os.environ.get("FIRESIDE_STARTER_CACHE",
                            Path.home() / ".cache" / "fireside-dev" / "starter"))
PROMPT = ("Write a long story about a lighthouse keeper who learns to program, with a Python "
          "code example and a Markdown list of lessons.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="fireside-bench-")
    os.environ["FIRESIDE_HOME"] = home

    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from fireside.core import context
    from fireside.core.inference.types import CancelToken, SamplingParams
    from fireside.core.models import starter
    from fireside.gui.app import create_window, ensure_app
    from fireside.gui.lifetime import settle_heap
    from fireside.gui.stall import StallMeter

    _app = ensure_app(["fireside-bench"])  # keep the QApplication alive for the run
    ctx = context.build()
    model = starter.obtain(ctx.library, CACHE)
    params = SamplingParams(temperature=0.0, max_tokens=args.tokens, seed=1)

    def pump_until(done: threading.Event | None, check: object = None,
                   timeout: float = 300.0) -> None:
        """Run a real, blocking event loop (as the app does) until the condition holds.

        A processEvents() spin would keep a core busy and slow llama.cpp's own threads.
        """
        end = time.monotonic() + timeout
        loop = QEventLoop()
        ok = [False]

        def poll() -> None:
            if (done is not None and done.is_set()) or (callable(check) and check()):
                ok[0] = True
                loop.quit()
            elif time.monotonic() > end:
                loop.quit()

        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(poll)
        timer.start()
        poll()
        if not ok[0]:
            loop.exec()
        timer.stop()
        if not ok[0]:
            raise TimeoutError("reply did not end")

    ctx.engine.load(model.path, name=model.name)
    win = create_window(ctx)
    win.resize(1200, 800)
    win.show()
    chat = win.chat
    pump_until(None, lambda: chat.settings.current_model() != "", 30)
    chat.settings.set_sampling(params)
    settle_heap()  # as gui.app.run does once the window is up

    def engine_alone() -> dict[str, float]:
        """The engine streaming in a thread while the event loop has nothing to draw."""
        meter = StallMeter()
        done = threading.Event()
        out: dict[str, float] = {}

        def decode() -> None:
            result = ctx.engine.chat([{"role": "user", "content": PROMPT}], params,
                                     on_token=lambda _t: None, cancel=CancelToken())
            out.update(tokens=result.stats.completion_tokens,
                       decode_tokens_per_s=result.stats.decode_tokens_per_s)
            done.set()

        meter.start()
        threading.Thread(target=decode, daemon=True).start()
        pump_until(done)
        meter.stop()
        return {**out, "worst_ms": meter.worst_ms, "p99_ms": meter.percentile_ms(0.99)}

    def window_streaming() -> dict[str, float]:
        """The real window streaming the same reply into its transcript."""
        chat.new_conversation()
        meter = StallMeter()
        chat.send(PROMPT)
        pump_until(None, lambda: chat.reply is not None and chat.reply.text != "", 60)
        meter.start()
        pump_until(None, lambda: chat.reply is None)
        meter.stop()
        reply = chat.messages[-1]
        return {"tokens": reply.stats.get("completion_tokens", 0),
                "decode_tokens_per_s": reply.stats.get("decode_tokens_per_s", 0.0),
                "worst_ms": meter.worst_ms, "p99_ms": meter.percentile_ms(0.99)}

    runs: dict[str, list[dict[str, float]]] = {"engine": [], "window": []}
    for _ in range(args.reps):  # interleaved, so background noise lands on both
        runs["engine"].append(engine_alone())
        runs["window"].append(window_streaming())
    win.close()
    QCoreApplication.processEvents()

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    engine_tps, window_tps = median("engine", "decode_tokens_per_s"), median(
        "window", "decode_tokens_per_s")
    ratio = window_tps / engine_tps if engine_tps else 0.0
    worst = max(r["worst_ms"] for r in runs["window"])
    p99 = median("window", "p99_ms")
    ok = ratio >= 0.95 and worst < 50 and p99 < 16
    result = {"runs": runs, "engine_decode_tokens_per_s": engine_tps,
              "window_decode_tokens_per_s": window_tps, "ratio": ratio,
              "window_worst_ms": worst, "window_p99_ms": p99, "load_average": os.getloadavg(),
              "targets": {"ratio": 0.95, "worst_ms": 50, "p99_ms": 16}, "ok": ok}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        load = result["load_average"]
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
              f"{args.reps} interleaved reps of {args.tokens} tokens, medians")
        print(f"engine alone (thread, idle loop): {engine_tps:.1f} tok/s, worst stall "
              f"{median('engine', 'worst_ms'):.1f} ms")
        print(f"window streaming:                 {window_tps:.1f} tok/s, worst stall "
              f"{worst:.1f} ms (of all reps), p99 {p99:.1f} ms")
        print(f"window/engine {ratio:.3f} (target >= 0.95); worst < 50 ms; p99 < 16 ms: "
              f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
