"""Opening the window from the CLI, without ever dying in Qt's own abort.

With no display and no ``QT_QPA_PLATFORM``, Qt's xcb plugin calls abort() (SIGABRT) when its
libraries are missing. We probe for a usable platform in a child process first, and if it
cannot start, explain what is missing and what works instead.

Qt's own error only ever names ``libxcb-cursor0``, whichever library is really absent (on one
machine it was ``libxcb-icccm4`` and ``libxcb-keysyms1``), so the hint that names the cure asks
the dynamic loader instead: ``ldd`` on the xcb plugin lists each library it cannot find.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("fireside.cli.window")

PROBE = ("from PySide6.QtWidgets import QApplication; import sys; "
         "app = QApplication(sys.argv[:1]); print(app.platformName())")
GENERIC_INSTALL = "install Qt's xcb dependencies, e.g. `sudo apt-get install libxcb-cursor0`"
HELP = """fireside: cannot open the window: {reason}
  What works without a display:
    fireside run starter "Hello"      chat in the terminal
    fireside serve                    the OpenAI-compatible local server
    QT_QPA_PLATFORM=offscreen fireside   render the window offscreen (tests, screenshots)
  To get the window on Linux, run it inside a desktop session (DISPLAY or WAYLAND_DISPLAY),
  and {install}."""

# The Debian/Ubuntu package of each library Qt's xcb plugin links that a desktop-less system
# may lack. Debian names library packages after the soname (policy 8.1), which
# ``package_for`` falls back on; the table holds the common ones and the exceptions.
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}

# glibc's ldd: "\tlibxcb-icccm.so.4 => not found"
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)
_SONAME = re.compile(r"^(lib.+?)\.so\.(\d+)(?:\.\d+)*$")


@dataclass(frozen=True)
class DisplayProblem:
    """Why the window cannot open, and what the loader said of Qt's xcb plugin: the libraries
    it cannot find, ``()`` when it finds them all, None when it could not tell (then the
    message keeps the generic hint)."""

    reason: str
    missing: tuple[str, ...] | None = None


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ldd reports as "not found", in order, once each.

    A pure function over ldd's text so that every shape of it can be tested without
    uninstalling anything from the machine the tests run on.
    """
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def package_for(soname: str) -> str:
    """The Debian package that ships ``soname``: the table, else Debian's naming rule
    (``libfoo.so.1`` -> ``libfoo1``, ``libfoo-2.so.3`` -> ``libfoo-2-3``), lower-cased."""
    if soname in DEBIAN_PACKAGES:
        return DEBIAN_PACKAGES[soname]
    match = _SONAME.match(soname)
    if match is None:
        return soname.lower()
    name, version = match.groups()
    joiner = "-" if name[-1].isdigit() else ""
    return f"{name}{joiner}{version}".lower()


def install_line(missing: list[str] | tuple[str, ...]) -> str:
    """The one ``apt-get install`` line that installs every missing library."""
    packages = dict.fromkeys(package_for(soname) for soname in missing)
    return "sudo apt-get install " + " ".join(packages)


def needs_sentence(missing: list[str] | tuple[str, ...]) -> str:
    """'Qt's xcb plugin needs A, B — install them with: sudo apt-get install a b'."""
    pronoun = "it" if len(missing) == 1 else "them"
    return (f"Qt's xcb plugin needs {', '.join(missing)} — install {pronoun} with: "
            f"{install_line(missing)}")


def xcb_plugin_files(pyside_dir: Path | None = None) -> list[Path]:
    """Qt's xcb platform plugin and the xcb library it links, where they exist.

    ``pyside_dir`` defaults to PySide6's package folder, found without importing PySide6
    (``core/`` never imports Qt, and importing it is what may abort).
    """
    if pyside_dir is None:
        spec = importlib.util.find_spec("PySide6")
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations:
            return []
        pyside_dir = Path(locations[0])
    candidates = [pyside_dir / "Qt" / "plugins" / "platforms" / "libqxcb.so",
                  pyside_dir / "Qt" / "lib" / "libQt6XcbQpa.so.6"]
    return [path for path in candidates if path.is_file()]


def missing_xcb_libraries(pyside_dir: Path | None = None,
                          ldd: str = "ldd") -> list[str] | None:
    """The libraries the dynamic loader cannot find for Qt's xcb plugin.

    None when it cannot tell (no ldd, no plugin, ldd failed on every file), so callers keep
    the generic hint rather than claim that nothing is missing.
    """
    ldd_path = shutil.which(ldd)
    files = xcb_plugin_files(pyside_dir)
    if ldd_path is None or not files:
        log.debug("cannot ask the loader about Qt's xcb plugin (ldd: %s, files: %s)",
                  ldd_path, files)
        return None
    missing: list[str] = []
    answered = False
    for path in files:
        try:
            result = subprocess.run([ldd_path, str(path)], capture_output=True, text=True,
                                    timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.debug("ldd %s failed: %s", path, exc)
            continue
        found = missing_libraries(result.stdout + result.stderr)
        answered = answered or result.returncode == 0 or bool(found)
        missing.extend(found)
        log.debug("ldd %s: status %d, not found: %s", path, result.returncode, found)
    return list(dict.fromkeys(missing)) if answered else None


def diagnose(env: dict[str, str] | None = None, *, pyside_dir: Path | None = None,
             ldd: str = "ldd") -> DisplayProblem | None:
    """Why Qt cannot start here (with the libraries to install, when ldd names them), or
    None when it can."""
    env = dict(os.environ) if env is None else env
    if importlib.util.find_spec("PySide6") is None:
        return DisplayProblem("PySide6 is not installed (pip install 'fireside[gui]')")
    if env.get("QT_QPA_PLATFORM") in ("offscreen", "minimal"):
        return None
    linux = sys.platform.startswith("linux")
    if linux and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        if not env.get("QT_QPA_PLATFORM"):
            # A first run on a bare server: say now what the window will also need.
            missing = _as_tuple(missing_xcb_libraries(pyside_dir, ldd))
            reason = "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
            if missing:
                reason += f"; also, {needs_sentence(missing)}"
            return DisplayProblem(reason, missing)
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    if result.returncode != 0:
        detail = [ln for ln in result.stderr.splitlines() if ln.strip()]
        hint = detail[-1] if detail else f"exit status {result.returncode}"
        missing = None
        if linux and "xcb" in result.stderr:
            missing = _as_tuple(missing_xcb_libraries(pyside_dir, ldd))
            if missing:
                return DisplayProblem(needs_sentence(missing), missing)
        if missing is not None:
            # Qt names libxcb-cursor0 whenever its xcb plugin fails, even when the loader finds
            # every library and the display merely refused the connection: say that instead.
            hint = next((ln for ln in detail if ln.startswith("qt.qpa.xcb:")), hint)
        elif "xcb-cursor" in result.stderr:
            hint = "Qt's xcb platform plugin needs libxcb-cursor0, which is not installed"
        return DisplayProblem(f"Qt could not start ({hint})", missing)
    return None


def _as_tuple(missing: list[str] | None) -> tuple[str, ...] | None:
    return None if missing is None else tuple(missing)


def display_problem(env: dict[str, str] | None = None) -> str | None:
    """Why Qt cannot start here, or None when it can."""
    problem = diagnose(env)
    return None if problem is None else problem.reason


def help_text(problem: DisplayProblem) -> str:
    """The message: the reason, what works without a display, and how to get the window."""
    if problem.missing:
        install = f"install what Qt's xcb plugin lacks: `{install_line(problem.missing)}`"
    elif problem.missing is not None:
        install = "no library is missing: the loader finds all that Qt's xcb plugin needs"
    else:
        install = GENERIC_INSTALL
    return HELP.format(reason=problem.reason, install=install)


def open_window(argv: list[str]) -> int:
    problem = diagnose()
    if problem is not None:
        log.debug("the window cannot open: %s", problem.reason)
        print(help_text(problem), file=sys.stderr)
        return 2
    try:
        from fireside.gui.app import run  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        print(f"fireside: the window is not available in this build ({exc})", file=sys.stderr)
        return 2
    return int(run(argv))
