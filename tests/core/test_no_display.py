"""The no-display message names the library that is really missing, as the loader sees it.

Qt's own error blames libxcb-cursor0 whatever is absent; these tests check that the message is
built from ldd's answer instead. The parsing is tested on ldd's real output shapes (nothing is
uninstalled from this machine), the wiring with a stand-in ldd, and the real function on the
real plugin here, where every library is present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fireside.core.cli import window

# glibc ldd on PySide6's libqxcb.so with two libraries absent (addresses as ldd prints them).
LDD_TWO_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd4a3f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f1)
\tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x00007fa583fe0000)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007fa583f8d000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007fa583f86000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007fa583f77000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-randr.so.0 => /lib/x86_64-linux-gnu/libxcb-randr.so.0 (0x00007fa583f5e000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fa58221e000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007fa584142000)
"""
# ldd lists a missing library once per object that needs it: the plugin and libQt6XcbQpa.
LDD_REPEATED = LDD_TWO_MISSING + "\tlibxcb-icccm.so.4 => not found\n"
LDD_ALL_FOUND = "\n".join(ln for ln in LDD_TWO_MISSING.splitlines() if "not found" not in ln)
LDD_NOT_DYNAMIC = "\tnot a dynamic executable\n"
LDD_NO_FILE = "ldd: /nowhere/libqxcb.so: No such file or directory\n"
EXPECTED = ("Qt's xcb plugin needs libxcb-icccm.so.4, libxcb-keysyms.so.1 — install them with: "
            "sudo apt-get install libxcb-icccm4 libxcb-keysyms1")


@pytest.mark.parametrize(("output", "missing"), [
    (LDD_TWO_MISSING, ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]),
    (LDD_REPEATED, ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]),
    (LDD_ALL_FOUND, []),
    (LDD_NOT_DYNAMIC, []),
    (LDD_NO_FILE, []),
    ("", []),
])
def test_missing_libraries_from_ldd_output(output: str, missing: list[str]) -> None:
    assert window.missing_libraries(output) == missing


@pytest.mark.parametrize(("soname", "package"), [
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libEGL.so.1", "libegl1"),
    ("libdbus-1.so.3", "libdbus-1-3"),
    ("libglib-2.0.so.0", "libglib2.0-0"),
    # Not in the table: Debian's soname rule.
    ("libxcb-present.so.0", "libxcb-present0"),
    ("libfoo2.so.1", "libfoo2-1"),
])
def test_package_for_soname(soname: str, package: str) -> None:
    assert window.package_for(soname) == package


def test_one_line_names_the_libraries_and_the_install_command() -> None:
    missing = window.missing_libraries(LDD_TWO_MISSING)
    assert window.needs_sentence(missing) == EXPECTED
    assert window.needs_sentence(["libGL.so.1"]).endswith(
        "install it with: sudo apt-get install libgl1")
    # Two sonames from one package: the package once.
    assert window.install_line(["libglib-2.0.so.0", "libgthread-2.0.so.0"]) == (
        "sudo apt-get install libglib2.0-0")


def test_help_keeps_the_alternatives_and_falls_back_to_the_old_wording() -> None:
    known = window.help_text(window.DisplayProblem(EXPECTED, ("libxcb-icccm.so.4",
                                                              "libxcb-keysyms.so.1")))
    assert known.splitlines()[0] == f"fireside: cannot open the window: {EXPECTED}"
    assert "fireside serve" in known and "offscreen" in known
    assert "`sudo apt-get install libxcb-icccm4 libxcb-keysyms1`" in known
    assert "libxcb-cursor0" not in known
    unknown = window.help_text(window.DisplayProblem("no display"))
    assert "fireside serve" in unknown and "sudo apt-get install libxcb-cursor0" in unknown


def fake_pyside(tmp_path: Path) -> Path:
    """A folder shaped like PySide6's, with empty files where the xcb plugin lives."""
    root = tmp_path / "PySide6"
    (root / "Qt" / "plugins" / "platforms").mkdir(parents=True)
    (root / "Qt" / "lib").mkdir(parents=True)
    (root / "Qt" / "plugins" / "platforms" / "libqxcb.so").write_bytes(b"")
    (root / "Qt" / "lib" / "libQt6XcbQpa.so.6").write_bytes(b"")
    return root


def fake_ldd(tmp_path: Path, output: str, status: int = 0) -> Path:
    script = tmp_path / "ldd"
    (tmp_path / "ldd.out").write_text(output)
    script.write_text(f"#!/bin/sh\ncat '{tmp_path / 'ldd.out'}'\nexit {status}\n")
    script.chmod(0o755)
    return script


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux's")
def test_no_display_message_names_what_ldd_found(tmp_path: Path) -> None:
    pyside = fake_pyside(tmp_path)
    ldd = fake_ldd(tmp_path, LDD_TWO_MISSING)
    assert window.missing_xcb_libraries(pyside, str(ldd)) == [
        "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    problem = window.diagnose({}, pyside_dir=pyside, ldd=str(ldd))
    assert problem is not None
    assert problem.reason.startswith("no display")
    assert problem.reason.endswith(EXPECTED)
    assert problem.missing == ("libxcb-icccm.so.4", "libxcb-keysyms.so.1")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux's")
def test_without_an_answer_from_ldd_the_old_wording_stays(tmp_path: Path) -> None:
    pyside = fake_pyside(tmp_path)
    assert window.missing_xcb_libraries(pyside, str(tmp_path / "no-ldd")) is None
    assert window.missing_xcb_libraries(tmp_path / "empty", "ldd") is None
    failing = fake_ldd(tmp_path, LDD_NOT_DYNAMIC, status=1)
    assert window.missing_xcb_libraries(pyside, str(failing)) is None
    problem = window.diagnose({}, pyside_dir=pyside, ldd=str(failing))
    assert problem == window.DisplayProblem(
        "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)")
    assert "sudo apt-get install libxcb-cursor0" in window.help_text(problem)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux's")
def test_when_ldd_finds_everything_libxcb_cursor0_is_not_blamed(tmp_path: Path) -> None:
    """Qt prints its libxcb-cursor0 line whenever the xcb plugin fails, a refused display
    connection included; with ldd's word that nothing is missing, the message says so."""
    pyside = fake_pyside(tmp_path)
    problem = window.diagnose({}, pyside_dir=pyside, ldd=str(fake_ldd(tmp_path, LDD_ALL_FOUND)))
    assert problem is not None and problem.missing == ()
    text = window.help_text(problem)
    assert "no library is missing" in text and "libxcb-cursor0" not in text
    # The real probe (a child process running Qt) against a display nobody serves.
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["DISPLAY"] = ":4917"
    problem = window.diagnose(env, pyside_dir=pyside,
                              ldd=str(fake_ldd(tmp_path, LDD_ALL_FOUND)))
    assert problem is not None and problem.missing == ()
    assert problem.reason.startswith("Qt could not start") and "cursor" not in problem.reason
    problem = window.diagnose(env, pyside_dir=pyside,
                              ldd=str(fake_ldd(tmp_path, LDD_TWO_MISSING)))
    assert problem == window.DisplayProblem(EXPECTED, ("libxcb-icccm.so.4",
                                                       "libxcb-keysyms.so.1"))


@pytest.mark.skipif(shutil.which("ldd") is None or not window.xcb_plugin_files()
                    or shutil.which("Xvfb") is None,
                    reason="needs ldd, PySide6's xcb plugin and a machine set up for the real "
                    "window (Xvfb installed, as packaging/xshots.sh asks)")
def test_real_plugin_here_has_nothing_missing() -> None:
    """A machine set up to run the window under Xvfb has every library the plugin loads: the
    set-up list in packaging/xshots.sh is complete."""
    files = window.xcb_plugin_files()
    assert files[0].name == "libqxcb.so"
    assert window.missing_xcb_libraries() == []


def test_locating_the_plugin_does_not_import_qt() -> None:
    code = ("import sys; from fireside.core.cli import window; "
            "window.missing_xcb_libraries(); assert 'PySide6' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
