"""Opening the window from the CLI, without ever dying in Qt's own abort.

With no display and no ``QT_QPA_PLATFORM``, Qt's xcb plugin calls abort() (SIGABRT) when its
libraries (e.g. libxcb-cursor0) are missing. We probe for a usable platform in a child process
first, and if it cannot start, explain what is missing and what works instead.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

PROBE = ("from PySide6.QtWidgets import QApplication; import sys; "
         "app = QApplication(sys.argv[:1]); print(app.platformName())")
HELP = """fireside: cannot open the window: {reason}
  What works without a display:
    fireside run starter "Hello"      chat in the terminal
    fireside serve                    the OpenAI-compatible local server
    QT_QPA_PLATFORM=offscreen fireside   render the window offscreen (tests, screenshots)
  To get the window on Linux, run it inside a desktop session (DISPLAY or WAYLAND_DISPLAY),
  and install Qt's xcb dependencies, e.g. `sudo apt-get install libxcb-cursor0`."""


def display_problem(env: dict[str, str] | None = None) -> str | None:
    """Why Qt cannot start here, or None when it can."""
    env = dict(os.environ) if env is None else env
    if importlib.util.find_spec("PySide6") is None:
        return "PySide6 is not installed (pip install 'fireside[gui]')"
    if env.get("QT_QPA_PLATFORM") in ("offscreen", "minimal"):
        return None
    if sys.platform.startswith("linux") and not (env.get("DISPLAY") or
                                                  env.get("WAYLAND_DISPLAY")):
        if not env.get("QT_QPA_PLATFORM"):
            return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    if result.returncode != 0:
        detail = [ln for ln in result.stderr.splitlines() if ln.strip()]
        hint = detail[-1] if detail else f"exit status {result.returncode}"
        if "xcb-cursor" in result.stderr:
            hint = "Qt's xcb platform plugin needs libxcb-cursor0, which is not installed"
        return f"Qt could not start ({hint})"
    return None


def open_window(argv: list[str]) -> int:
    problem = display_problem()
    if problem is not None:
        print(HELP.format(reason=problem), file=sys.stderr)
        return 2
    try:
        from fireside.gui.app import run  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        print(f"fireside: the window is not available in this build ({exc})", file=sys.stderr)
        return 2
    return int(run(argv))
