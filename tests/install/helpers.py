"""Running an installed Fireside (a wheel in a fresh venv, or the bundle) as a person would."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

WINDOW_OPEN = "window open (platform offscreen)"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """No venv, no PYTHONPATH, no repo on the path: only what the install itself brings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update(FIRESIDE_HOME=str(home), QT_QPA_PLATFORM="offscreen", **extra)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if ".venv" not in p)
    return env


def open_window_and_quit(cmd: list[str], home: Path, cwd: Path,
                         timeout_s: float = 120) -> float:
    """Start the window offscreen, wait for it to be shown, SIGTERM it; returns the seconds
    from the start to the window being open. Fails on a non-zero exit or a Qt warning."""
    log_file = home / "logs" / "fireside.log"
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=clean_env(home), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    opened = None
    try:
        while time.monotonic() - start < timeout_s:
            if proc.poll() is not None:
                break
            if log_file.exists() and WINDOW_OPEN in log_file.read_text(errors="replace"):
                opened = time.monotonic() - start
                break
            time.sleep(0.05)
        assert opened is not None, f"no window: {proc.poll()} {_tail(proc, log_file)}"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = log_file.read_text(errors="replace")
    assert proc.returncode == 0, f"exit {proc.returncode}: {out}\n{log[-2000:]}"
    qt_warnings = [ln for ln in log.splitlines() if " WARNING fireside.qt" in ln]
    assert not qt_warnings, qt_warnings
    return opened


def _tail(proc: subprocess.Popen[str], log_file: Path) -> str:
    log = log_file.read_text(errors="replace") if log_file.exists() else ""
    return log[-2000:]
