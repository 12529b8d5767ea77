"""Run ``fireside run FILE hi`` for many files in one process, to pay Python's start once.

``python drive.py OUT_DIR TIMEOUT_S FIRST FILE...`` calls the CLI's own entry point
(``fireside.core.cli.main.main``, what the ``fireside`` script runs) once per file, with that
call's file descriptor 2 sent to ``OUT_DIR/<n>.err`` (Python's and llama.cpp's output alike;
files are numbered from FIRST). Progress goes to ``OUT_DIR/progress-FIRST.log`` (stdout is the
answers'), one line each: ``start N`` before a file and ``end N RC`` after it,
so when a file kills this process, the parent knows which one it was and starts a new driver
on the files after it. A file still running after TIMEOUT_S prints ``hang N`` and ends the
process with status 3. Each call's engines are unloaded before the next file.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from fireside.core import context
from fireside.core.cli.main import main

_built: list[Any] = []
_original_build = context.build


def _recording_build(*args: Any, **kwargs: Any) -> Any:
    ctx = _original_build(*args, **kwargs)
    _built.append(ctx)
    return ctx


_progress: list[Any] = []


def _say(line: str) -> None:
    _progress[0].write(line + "\n")
    _progress[0].flush()


def _watchdog(index: int, timeout: float, done: threading.Event) -> None:
    if not done.wait(timeout):
        _say(f"hang {index}")
        os._exit(3)


def _one(index: int, path: str, out_dir: Path, timeout: float) -> int:
    argv = ["run", path, "hi", "--max-tokens", "4", "--ctx", "256", "--temp", "0",
            "--seed", "1"]
    done = threading.Event()
    threading.Thread(target=_watchdog, args=(index, timeout, done), daemon=True).start()
    sys.stderr.flush()
    saved = os.dup(2)
    with (out_dir / f"{index}.err").open("wb") as err:
        os.dup2(err.fileno(), 2)
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse and friends
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - an escaped exception is what `fireside` shows
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
    done.set()
    for ctx in _built:
        ctx.engine.unload()
        ctx.engine.release_thread(5)
    _built.clear()
    return code


def run(out_dir: Path, timeout: float, files: list[str], first: int) -> None:
    context.build = _recording_build  # type: ignore[assignment]
    _progress.append((out_dir / f"progress-{first}.log").open("a", encoding="utf-8"))
    for offset, path in enumerate(files):
        index = first + offset
        _say(f"start {index}")
        _say(f"end {index} {_one(index, path, out_dir, timeout)}")


if __name__ == "__main__":
    run(Path(sys.argv[1]), float(sys.argv[2]), sys.argv[4:], int(sys.argv[3]))
